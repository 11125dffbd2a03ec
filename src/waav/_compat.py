"""The one switch between native kernels and their pure-Python twins.

``WAAV_NO_EXTENSIONS`` is read once, here. Every public module picks its
implementation through :func:`load_native`, so the whole process runs either
native or pure, never a mix chosen by accident.

Hot modules are built once per x86-64 ISA level (see ``setup.py``); :func:`load_native`
loads the best build this CPU runs. ``WAAV_SIMD`` caps the level: ``baseline``, ``v3``
or ``v4`` (for testing, or to compare builds).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["NO_EXTENSIONS", "SIMD_CAP", "isa_levels", "load_native", "native_modules"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


#: True when the user asked for the pure-Python implementation.
NO_EXTENSIONS: bool = _env_flag("WAAV_NO_EXTENSIONS")

#: Highest ISA variant to load ("" = baseline only), or None for the best available.
SIMD_CAP: str | None = {"baseline": "", "v3": "v3", "v4": "v4"}.get(
    os.environ.get("WAAV_SIMD", "").strip().lower()
)

_ORDER = ("v4", "v3", "")
_loaded: dict[str, str | None] = {}


def isa_levels() -> tuple[str, ...]:
    """ISA variant tags this CPU runs, best first; ``""`` is the baseline build."""
    try:
        from waav._native import _cpu
    except ImportError:
        return ("",)
    levels: tuple[str, ...] = _cpu.isa_levels()
    if SIMD_CAP is not None:
        levels = tuple(lv for lv in levels if _ORDER.index(lv) >= _ORDER.index(SIMD_CAP))
    return levels


def _install_error_type() -> None:
    """Have native validation errors raise :class:`waav.AudioFormatError` (once)."""
    try:
        from waav._native import _buf
    except ImportError:
        return
    from waav._exceptions import AudioFormatError

    if _buf.get_error_type() is not AudioFormatError:
        _buf.set_error_type(AudioFormatError)


def load_native(name: str, level: str | None = None) -> ModuleType | None:
    """Return the best build of ``waav._native.<name>``, or None when disabled or not built.

    ``level`` asks for one variant exactly (tests use it to check every build).
    A missing extension is not an error (a pure install is legitimate); the test
    suite's guard test fails if extensions were expected but did not load.
    """
    if NO_EXTENSIONS:
        _loaded[name] = None
        return None
    _install_error_type()
    for tag in (level,) if level is not None else isa_levels():
        module_name = f"waav._native.{name}__{tag}" if tag else f"waav._native.{name}"
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if level is None:
            _loaded[name] = module_name
        return module
    if level is None:
        _loaded[name] = None
    return None


def native_modules() -> dict[str, str | None]:
    """Which native modules the process asked for, and which build of each loaded (or None)."""
    return dict(_loaded)
