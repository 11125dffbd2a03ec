"""Creating and connecting session providers, with errors a client can act on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from waav._exceptions import PluginNotFoundError, PluginUnavailableError, ProviderTimeoutError, WaavError
from waav.config import ServerConfig
from waav.plugin import PluginRegistry
from waav.plugin.metadata import PluginKind

__all__ = [
    "LOCAL_ENGINES",
    "bounded",
    "connect_or_discard",
    "create_provider",
    "default_provider_for",
    "describe_error",
]

T = TypeVar("T")

#: The offline engines that are the default providers; they come with ``waav[local]``.
LOCAL_ENGINES = {"stt": "whisper", "tts": "hibari"}
_LABEL = {"stt": "STT", "tts": "TTS", "realtime": "realtime"}


async def bounded(aw: Awaitable[T], seconds: float, what: str, provider: str) -> T:
    """Await a provider call for at most ``seconds`` (a hung vendor must not hang the session)."""
    try:
        return await asyncio.wait_for(aw, seconds)
    except asyncio.TimeoutError:
        raise ProviderTimeoutError(
            f"{provider}: {what} did not finish within {seconds:g} s", provider=provider
        ) from None


class _Connectable(Protocol):
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...


async def connect_or_discard(provider: _Connectable, seconds: float, name: str) -> None:
    """Connect ``provider`` within ``seconds``; if that fails (or is cancelled), disconnect it
    (best effort, 2 s) so a half-open vendor connection is not left behind, and re-raise."""
    try:
        await bounded(provider.connect(), seconds, "connect", name)
    except BaseException:
        with contextlib.suppress(Exception):
            await bounded(provider.disconnect(), 2.0, "disconnect", name)
        raise


def default_provider_for(config: ServerConfig, registry: PluginRegistry, kind: str) -> str:
    """The provider of a session whose config names none (the CLI's rule, see
    :mod:`waav.providers.local.defaults`); raises a clear error when there is none."""
    from waav.providers.local.defaults import default_provider

    explicit = getattr(config.gateway, f"default_{kind}_provider")
    choice = default_provider(kind, explicit, credentials=config.credential, registry=registry)
    if choice.provider is None:
        raise PluginNotFoundError(
            f"No {_LABEL[kind]} provider for this session: its {kind}_config names none, and {choice.reason}"
        )
    return choice.provider


def create_provider(registry: PluginRegistry, kind: str, name: str, config: Any) -> Any:
    """``registry.create_<kind>(name, config)`` with a message naming the provider (and the
    ``waav[local]`` extra for the default offline engines) when it is not installed."""
    label = _LABEL[kind]
    try:
        if kind == "stt":
            return registry.create_stt(name, config)
        if kind == "tts":
            return registry.create_tts(name, config)
        return registry.create_realtime(name, config)
    except (PluginNotFoundError, PluginUnavailableError) as exc:
        if name.lower() == LOCAL_ENGINES.get(kind) and not _installed(registry, kind, name):
            raise PluginNotFoundError(
                f"{label} provider '{name}' is not available: it is the offline engine of the optional "
                f"extra `pip install waav[local]` (if that is installed, this gateway's plugin registry "
                f"was built without waav's entry points); or name another provider in {kind}_config"
            ) from exc
        if isinstance(exc, PluginNotFoundError):
            raise PluginNotFoundError(f"Unknown {label} provider '{name}'") from exc
        raise


def _installed(registry: PluginRegistry, kind: str, name: str) -> bool:
    key = registry.resolve(PluginKind(kind), name)
    if key is None:
        return False
    try:
        return any(i.available for i in registry.plugins(kind) if i.id == key)
    except WaavError:
        return False


def describe_error(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an ``error`` message."""
    if isinstance(exc, WaavError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
