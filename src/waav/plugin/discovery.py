"""Plugin registration records and where plugins come from.

``PluginConstructor`` is the Python analogue of the upstream's compile-time
``inventory::submit!`` records: a small immutable description (kind, id, metadata
function, factory, aliases) that the registry turns into a registration. Plugins expose
them in three ways:

* an **entry point** in the group ``waav.plugins`` of an installed distribution, whose
  object is a ``PluginConstructor``, a capability object, a list of those, or a
  zero-argument callable returning them. ``global_registry()`` loads every entry point once,
  lazily (on its first use); a broken one is logged and listed with state ``failed``;
* a Python file or package in ``plugins.plugin_dir`` with a module attribute ``plugins``
  (a list) or ``plugin`` (one) of the same; these can be hot-reloaded;
* direct calls: ``registry.register(PluginConstructor...)`` or ``registry.register_stt(...)``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waav._exceptions import PluginError
from waav.plugin.capabilities import (
    AudioProcessorCapability,
    AuthCapability,
    MiddlewareCapability,
    RealtimeCapability,
    STTCapability,
    TTSCapability,
    WSHandlerCapability,
)
from waav.plugin.lifecycle import PluginLifecycle
from waav.plugin.metadata import PluginKind, ProviderMetadata

__all__ = ["ENTRY_POINT_GROUP", "PluginConstructor", "constructors_from", "import_plugin_file"]

#: The entry-point group waav scans for plugins.
ENTRY_POINT_GROUP = "waav.plugins"


@dataclass(frozen=True)
class PluginConstructor:
    """How to register one plugin. Build with the kind-named class methods.

    ``factory`` signatures by kind: STT/TTS/realtime ``factory(config) -> BaseSTT/BaseTTS/
    BaseRealtime``; processor ``factory(options: dict) -> AudioProcessor``; middleware
    ``factory(app, options) -> app``; auth ``factory(options) -> AuthStrategy``; WS handler
    ``async handler(payload, ctx) -> WSResponse | None``.
    """

    kind: PluginKind
    id: str
    factory: Callable[..., Any]
    metadata_fn: Callable[[], ProviderMetadata] | None = None
    aliases: tuple[str, ...] = ()
    priority: int = 100
    lifecycle: PluginLifecycle | None = None
    #: WS handlers only: the ``message_type`` it answers.
    message_type: str | None = None

    @classmethod
    def stt(
        cls, id: str, metadata_fn: Callable[[], ProviderMetadata] | None, factory: Callable[..., Any]
    ) -> PluginConstructor:
        return cls(PluginKind.STT, id, factory, metadata_fn)

    @classmethod
    def tts(
        cls, id: str, metadata_fn: Callable[[], ProviderMetadata] | None, factory: Callable[..., Any]
    ) -> PluginConstructor:
        return cls(PluginKind.TTS, id, factory, metadata_fn)

    @classmethod
    def realtime(
        cls, id: str, metadata_fn: Callable[[], ProviderMetadata] | None, factory: Callable[..., Any]
    ) -> PluginConstructor:
        return cls(PluginKind.REALTIME, id, factory, metadata_fn)

    @classmethod
    def processor(
        cls, id: str, metadata_fn: Callable[[], ProviderMetadata] | None, factory: Callable[..., Any]
    ) -> PluginConstructor:
        return cls(PluginKind.PROCESSOR, id, factory, metadata_fn)

    @classmethod
    def middleware(
        cls,
        id: str,
        metadata_fn: Callable[[], ProviderMetadata] | None,
        factory: Callable[..., Any],
        *,
        priority: int = 100,
    ) -> PluginConstructor:
        return cls(PluginKind.MIDDLEWARE, id, factory, metadata_fn, priority=priority)

    @classmethod
    def auth(
        cls, id: str, metadata_fn: Callable[[], ProviderMetadata] | None, factory: Callable[..., Any]
    ) -> PluginConstructor:
        return cls(PluginKind.AUTH, id, factory, metadata_fn)

    @classmethod
    def ws_handler(
        cls,
        message_type: str,
        handler: Callable[..., Any],
        *,
        id: str | None = None,
        metadata_fn: Callable[[], ProviderMetadata] | None = None,
    ) -> PluginConstructor:
        return cls(PluginKind.WS_HANDLER, id or message_type, handler, metadata_fn, message_type=message_type)

    @classmethod
    def capability(cls, obj: Any) -> PluginConstructor:
        """A constructor for a capability object (any of the seven ABCs)."""
        lc = obj if isinstance(obj, PluginLifecycle) else None
        if isinstance(obj, STTCapability):
            return cls(PluginKind.STT, obj.provider_id, obj.create_stt, obj.metadata, lifecycle=lc)
        if isinstance(obj, TTSCapability):
            return cls(PluginKind.TTS, obj.provider_id, obj.create_tts, obj.metadata, lifecycle=lc)
        if isinstance(obj, RealtimeCapability):
            return cls(PluginKind.REALTIME, obj.provider_id, obj.create_realtime, obj.metadata, lifecycle=lc)
        if isinstance(obj, AudioProcessorCapability):
            return cls(
                PluginKind.PROCESSOR, obj.processor_id, obj.create_processor, obj.metadata, lifecycle=lc
            )
        if isinstance(obj, MiddlewareCapability):
            return cls(
                PluginKind.MIDDLEWARE,
                obj.middleware_id,
                obj.create_middleware,
                obj.metadata,
                priority=obj.priority,
                lifecycle=lc,
            )
        if isinstance(obj, AuthCapability):
            return cls(PluginKind.AUTH, obj.strategy_id, obj.create_strategy, obj.metadata, lifecycle=lc)
        if isinstance(obj, WSHandlerCapability):
            return cls(
                PluginKind.WS_HANDLER,
                obj.message_type,
                obj.handle,
                obj.metadata,
                lifecycle=lc,
                message_type=obj.message_type,
            )
        raise PluginError(f"{obj!r} is not a waav capability object")

    def with_aliases(self, aliases: Iterable[str]) -> PluginConstructor:
        return dataclasses.replace(self, aliases=self.aliases + tuple(aliases))

    def with_lifecycle(self, lifecycle: PluginLifecycle) -> PluginConstructor:
        return dataclasses.replace(self, lifecycle=lifecycle)

    def with_priority(self, priority: int) -> PluginConstructor:
        return dataclasses.replace(self, priority=priority)


_CAPABILITIES = (
    STTCapability,
    TTSCapability,
    RealtimeCapability,
    AudioProcessorCapability,
    MiddlewareCapability,
    AuthCapability,
    WSHandlerCapability,
)


def constructors_from(obj: Any, where: str) -> list[PluginConstructor]:
    """Normalise what an entry point or plugin module exposes into constructors."""
    if isinstance(obj, types.ModuleType):
        found = getattr(obj, "plugins", None)
        if found is None:
            found = getattr(obj, "plugin", None)
        if found is None:
            raise PluginError(f"{where}: module {obj.__name__} defines neither 'plugins' nor 'plugin'")
        obj = found
    if isinstance(obj, PluginConstructor):
        return [obj]
    if isinstance(obj, _CAPABILITIES):
        return [PluginConstructor.capability(obj)]
    if callable(obj) and not isinstance(obj, type):
        return constructors_from(obj(), where)
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        out: list[PluginConstructor] = []
        for item in obj:
            out.extend(constructors_from(item, where))
        return out
    raise PluginError(f"{where}: expected a PluginConstructor, a capability or a list of them, got {obj!r}")


_PKG = "waav_plugins"


def import_plugin_file(path: Path) -> types.ModuleType:
    """Import a plugin file (``x.py``) or package (``x/__init__.py``) as a fresh module.

    Each call executes the source again (that is how hot reload picks up edits); the module
    is registered as ``waav_plugins.<name>`` so it can import its own submodules.
    """
    if _PKG not in sys.modules:
        pkg = types.ModuleType(_PKG)
        pkg.__path__ = []
        sys.modules[_PKG] = pkg
    name = path.stem if path.is_file() else path.name
    modname = f"{_PKG}.{name}"
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            modname, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise PluginError(f"cannot import plugin {path}")
    module = importlib.util.module_from_spec(spec)
    for key in [k for k in sys.modules if k == modname or k.startswith(modname + ".")]:
        del sys.modules[key]
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


def plugin_dir_entries(directory: Path) -> list[Path]:
    """Plugin files and packages in a directory, sorted (files starting with ``_`` or ``.`` skipped)."""
    out = []
    for p in sorted(directory.iterdir()):
        if p.name.startswith(("_", ".")):
            continue
        if (p.is_file() and p.suffix == ".py") or (p.is_dir() and (p / "__init__.py").is_file()):
            out.append(p)
    return out
