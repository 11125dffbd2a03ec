"""``PluginRegistry``: one place that knows every plugin of the seven kinds.

* **Names.** Built-in names (catalog ids and aliases) resolve through the build-time perfect
  hash first (:func:`waav.plugin.resolve`); names registered at run time through a dict of
  ASCII-lower-cased names. Aliases are names, never extra registrations, so listings and
  counts show each plugin once (the upstream double-registered aliases).
* **Catalog.** The 25 built-in provider ids are known from the start, in state
  ``discovered``. Creating one whose adapter is not installed raises
  :class:`waav.PluginUnavailableError` saying so; an adapter registering the id (normally
  through an entry point of waav itself) moves it to ``registered``.
* **Threads.** Registration takes a lock; lookups read dicts that are only ever replaced
  whole or updated in an order that keeps every read consistent.
* **Isolation.** Every factory call and every call the gateway makes into a plugin goes
  through the plugin's :class:`~waav.plugin.isolation.Isolation` (see that module).
* **Lifecycle.** :meth:`start_all` / :meth:`shutdown_all` drive every entry through the
  enforced state machine of :mod:`waav.plugin.lifecycle`, with timeouts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, TypeVar

from waav._exceptions import (
    ConfigError,
    PluginError,
    PluginNotFoundError,
    PluginUnavailableError,
    WaavError,
)
from waav.plugin._catalog import CatalogEntry, CredentialSpec, catalog, catalog_entry
from waav.plugin._provider_base import BaseRealtime, BaseSTT, BaseTTS
from waav.plugin._provider_config import RealtimeConfig, STTConfig, TTSConfig
from waav.plugin._typed import fields_set
from waav.plugin.capabilities import (
    ASGIApp,
    AudioProcessor,
    AuthStrategy,
    WSContext,
    WSResponse,
)
from waav.plugin.config import PluginConfig
from waav.plugin.discovery import (
    ENTRY_POINT_GROUP,
    PluginConstructor,
    constructors_from,
    import_plugin_file,
    plugin_dir_entries,
)
from waav.plugin.dispatch import resolve as phf_resolve
from waav.plugin.isolation import IsolatedAuthStrategy, IsolatedProcessor, Isolation, IsolationPolicy
from waav.plugin.lifecycle import PluginContext, PluginEntry, PluginHealth, PluginLifecycle, PluginState
from waav.plugin.metadata import PluginKind, ProviderMetadata

__all__ = ["PluginInfo", "PluginRegistry", "global_registry"]

log = logging.getLogger("waav.plugin")
C = TypeVar("C", STTConfig, TTSConfig, RealtimeConfig)
K = PluginKind

_KIND_LABEL = {
    K.STT: "STT provider",
    K.TTS: "TTS provider",
    K.REALTIME: "realtime provider",
    K.PROCESSOR: "audio processor",
    K.MIDDLEWARE: "middleware",
    K.WS_HANDLER: "WS handler",
    K.AUTH: "auth strategy",
}
_NAME_RE = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces
_CREATABLE = (PluginState.REGISTERED, PluginState.READY, PluginState.RUNNING)


def _lower(name: str) -> str:
    return name.lower() if name.isascii() else name


@dataclass
class _Plugin:
    key: str
    kind: PluginKind | None  # None: an entry point that failed before saying what it is
    id: str
    aliases: tuple[str, ...]
    metadata: ProviderMetadata | None
    factory: Callable[..., Any] | None
    entry: PluginEntry
    isolation: Isolation
    source: str
    builtin: bool = False
    lifecycle: PluginLifecycle | None = None
    priority: int = 100
    message_type: str | None = None
    catalog: CatalogEntry | None = None


@dataclass(frozen=True)
class PluginInfo:
    """A snapshot of one plugin for listings (CLI ``waav providers``, ``GET /plugins``)."""

    key: str
    kind: str
    id: str
    aliases: tuple[str, ...]
    source: str
    builtin: bool
    available: bool
    state: str
    health: str
    stats: dict[str, Any]
    metadata: dict[str, Any] | None = None
    priority: int | None = None
    message_type: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "id": self.id,
            "aliases": list(self.aliases),
            "source": self.source,
            "builtin": self.builtin,
            "available": self.available,
            "state": self.state,
            "health": self.health,
            **self.stats,
            "metadata": self.metadata,
            **({"priority": self.priority} if self.priority is not None else {}),
            **({"message_type": self.message_type} if self.message_type is not None else {}),
            **({"note": self.note} if self.note else {}),
        }


CredentialSource = Callable[[CredentialSpec], "str | None"]


def env_credentials(spec: CredentialSpec) -> str | None:
    """Credential from the process environment (the upstream env var), else its default."""
    value = os.environ.get(spec.env)
    return value if value else spec.default


@dataclass
class _Config:
    plugins: PluginConfig = field(default_factory=PluginConfig)
    credentials: CredentialSource = env_credentials
    gateway_config: Any = None


class PluginRegistry:
    """Registry of plugins of every kind. Most programs use :func:`global_registry`."""

    def __init__(self, *, builtins: bool = True, policy: IsolationPolicy | None = None) -> None:
        self._lock = threading.RLock()
        self._plugins: dict[str, _Plugin] = {}
        self._names: dict[PluginKind, dict[str, str]] = {k: {} for k in PluginKind}
        self._ws: dict[str, list[str]] = {}
        self._sources: dict[str, Path] = {}  # plugin_dir module name -> path
        self._cfg = _Config()
        self._policy = policy or self._cfg.plugins.isolation_policy()
        self._started = False
        self._discovered = False
        if builtins:
            for entry in catalog():
                self._add_catalog_entry(entry)
            from waav.plugin.pipeline import builtin_processors

            for ctor in builtin_processors():
                self.register(ctor, source="builtin")

    # --- configuration -----------------------------------------------------------------------
    def configure(
        self,
        plugins: PluginConfig | None = None,
        *,
        credentials: CredentialSource | None = None,
        gateway_config: Any = None,
        load_plugin_dir: bool = True,
    ) -> None:
        """Apply a :class:`PluginConfig` (policy, provider_config; loads ``plugin_dir`` if set)."""
        if plugins is not None:
            for name in plugins.provider_config:
                if not any(self._resolve_id(k, name) for k in (K.STT, K.TTS, K.REALTIME)):
                    log.warning("plugins.provider_config names %r, which is not a known provider", name)
            self._cfg.plugins = plugins
            self._policy = plugins.isolation_policy()
            for p in self._plugins.values():
                p.isolation.policy = self._policy
        if credentials is not None:
            self._cfg.credentials = credentials
        if gateway_config is not None:
            self._cfg.gateway_config = gateway_config
        if plugins is not None and load_plugin_dir and plugins.enabled and plugins.plugin_dir:
            self.load_plugin_dir(plugins.plugin_dir)

    @property
    def plugin_config(self) -> PluginConfig:
        return self._cfg.plugins

    # --- registration --------------------------------------------------------------------------
    def _new_plugin(self, key: str, state: PluginState, **kw: Any) -> _Plugin:
        entry = PluginEntry(key, state)
        return _Plugin(key=key, entry=entry, isolation=Isolation(entry, self._policy), **kw)

    def _add_catalog_entry(self, entry: CatalogEntry) -> None:
        key = f"{entry.kind.value}:{entry.id}"
        self._plugins[key] = self._new_plugin(
            key,
            PluginState.DISCOVERED,
            kind=entry.kind,
            id=entry.id,
            aliases=entry.aliases,
            metadata=entry.metadata,
            factory=None,
            source="builtin",
            builtin=True,
            catalog=entry,
        )

    def register(self, ctor: PluginConstructor, *, source: str = "runtime") -> str:
        """Register a plugin from its constructor; returns its key (``"<kind>:<id>"``)."""
        kind = ctor.kind
        pid = ctor.id
        if not isinstance(pid, str) or not _NAME_RE.match(pid):
            raise PluginError(f"invalid plugin id {pid!r}: use printable ASCII without spaces")
        cat = catalog_entry(kind, pid) if kind in (K.STT, K.TTS, K.REALTIME) else None
        if ctor.metadata_fn is not None:
            meta = ctor.metadata_fn()
            if not isinstance(meta, ProviderMetadata):
                raise PluginError(f"metadata function of {kind.value} plugin {pid!r} returned {meta!r}")
        elif cat is not None:
            meta = cat.metadata
        else:
            meta = ProviderMetadata.for_kind(kind, pid, pid)
        aliases = tuple(dict.fromkeys(a for a in (*meta.aliases, *ctor.aliases) if _lower(a) != _lower(pid)))
        if cat is not None:  # a built-in id keeps its catalog aliases
            aliases = tuple(dict.fromkeys((*cat.aliases, *aliases)))
        for a in aliases:
            if not isinstance(a, str) or not _NAME_RE.match(a):
                raise PluginError(f"invalid alias {a!r} of {kind.value} plugin {pid!r}")
        key = f"{kind.value}:{pid.lower()}" if kind is not K.WS_HANDLER else f"ws_handler:{pid.lower()}"
        with self._lock:
            names = dict(self._names[kind])
            for name in (pid, *aliases):
                owner = phf_resolve(kind.value, name) if kind.value in ("stt", "tts", "realtime") else None
                owner = owner or names.get(_lower(name))
                if owner is not None and owner != pid.lower() and kind is not K.WS_HANDLER:
                    raise PluginError(
                        f"{_KIND_LABEL[kind]} name {name!r} of plugin {pid!r} is already taken by {owner!r}",
                        plugin_id=pid,
                    )
            old = self._plugins.get(key)
            if old is not None and old.factory is not None:
                self._drop_names(old)
            if old is not None and old.catalog is not None and old.factory is None:
                plugin = old  # an adapter for a catalog id: keep the entry and its stats
                plugin.entry.transition(PluginState.REGISTERED)
            elif old is not None and old.entry.state is not PluginState.FAILED:
                plugin = old  # re-registration replaces the factory, keeps the stats
            else:
                plugin = self._new_plugin(
                    key,
                    PluginState.DISCOVERED,
                    kind=kind,
                    id=pid,
                    aliases=(),
                    metadata=None,
                    factory=None,
                    source=source,
                )
                plugin.entry.transition(PluginState.REGISTERED)
            plugin.metadata = meta
            plugin.aliases = aliases
            plugin.factory = ctor.factory
            plugin.lifecycle = ctor.lifecycle
            plugin.priority = ctor.priority
            # a catalog entry served by someone else's adapter shows both; waav's own is "builtin"
            builtin_entry = plugin.catalog is not None and source != "builtin"
            plugin.source = f"builtin+{source}" if builtin_entry else source
            plugin.message_type = ctor.message_type
            plugin.catalog = cat
            plugin.builtin = cat is not None or source == "builtin"
            self._plugins[key] = plugin
            for name in (pid, *aliases):
                names[_lower(name)] = pid.lower() if kind is not K.WS_HANDLER else pid
            self._names[kind] = names  # replaced whole: readers never see half an update
            if kind is K.WS_HANDLER:
                mt = _lower(ctor.message_type or pid)
                handlers = [k for k in self._ws.get(mt, []) if k != key]
                self._ws = {**self._ws, mt: [*handlers, key]}
        return key

    def _drop_names(self, plugin: _Plugin) -> None:
        if plugin.kind is None:
            return
        names = dict(self._names[plugin.kind])
        for name in (plugin.id, *plugin.aliases):
            if names.get(_lower(name)) in (plugin.id, plugin.id.lower()):
                del names[_lower(name)]
        self._names[plugin.kind] = names
        if plugin.kind is K.WS_HANDLER:
            mt = _lower(plugin.message_type or plugin.id)
            self._ws = {**self._ws, mt: [k for k in self._ws.get(mt, []) if k != plugin.key]}
            if not self._ws[mt]:
                del self._ws[mt]

    def unregister(self, key: str) -> None:
        """Remove a plugin (a built-in id goes back to its catalog-only state)."""
        with self._lock:
            plugin = self._plugins.get(key)
            if plugin is None:
                raise PluginNotFoundError(f"no plugin {key!r}", plugin_id=key)
            self._drop_names(plugin)
            del self._plugins[key]
            if plugin.catalog is not None:
                self._add_catalog_entry(plugin.catalog)

    def register_capability(self, obj: Any, *, source: str = "runtime") -> str:
        return self.register(PluginConstructor.capability(obj), source=source)

    def _register_fn(
        self,
        kind: PluginKind,
        id: str,
        factory: Callable[..., Any],
        metadata: ProviderMetadata | None,
        aliases: Iterable[str],
        **kw: Any,
    ) -> str:
        meta_fn = (lambda: metadata) if metadata is not None else None
        return self.register(PluginConstructor(kind, id, factory, meta_fn, tuple(aliases), **kw))

    def register_stt(
        self,
        id: str,
        factory: Callable[[STTConfig], BaseSTT],
        metadata: ProviderMetadata | None = None,
        *,
        aliases: Iterable[str] = (),
    ) -> str:
        return self._register_fn(K.STT, id, factory, metadata, aliases)

    def register_tts(
        self,
        id: str,
        factory: Callable[[TTSConfig], BaseTTS],
        metadata: ProviderMetadata | None = None,
        *,
        aliases: Iterable[str] = (),
    ) -> str:
        return self._register_fn(K.TTS, id, factory, metadata, aliases)

    def register_realtime(
        self,
        id: str,
        factory: Callable[[RealtimeConfig], BaseRealtime],
        metadata: ProviderMetadata | None = None,
        *,
        aliases: Iterable[str] = (),
    ) -> str:
        return self._register_fn(K.REALTIME, id, factory, metadata, aliases)

    def register_audio_processor(
        self,
        id: str,
        factory: Callable[[Mapping[str, Any]], AudioProcessor],
        metadata: ProviderMetadata | None = None,
        *,
        aliases: Iterable[str] = (),
    ) -> str:
        return self._register_fn(K.PROCESSOR, id, factory, metadata, aliases)

    def register_middleware(
        self,
        id: str,
        factory: Callable[[ASGIApp, Mapping[str, Any]], ASGIApp],
        metadata: ProviderMetadata | None = None,
        *,
        priority: int = 100,
    ) -> str:
        return self._register_fn(K.MIDDLEWARE, id, factory, metadata, (), priority=priority)

    def register_auth_strategy(
        self,
        id: str,
        factory: Callable[[Mapping[str, Any]], AuthStrategy],
        metadata: ProviderMetadata | None = None,
        *,
        aliases: Iterable[str] = (),
    ) -> str:
        return self._register_fn(K.AUTH, id, factory, metadata, aliases)

    def register_ws_handler(
        self,
        message_type: str,
        handler: Callable[..., Any],
        *,
        id: str | None = None,
        metadata: ProviderMetadata | None = None,
    ) -> str:
        meta_fn = (lambda: metadata) if metadata is not None else None
        return self.register(PluginConstructor.ws_handler(message_type, handler, id=id, metadata_fn=meta_fn))

    # --- lookup --------------------------------------------------------------------------------
    def resolve(self, kind: PluginKind | str, name: str) -> str | None:
        """Canonical id for a name of ``kind`` (built-in via the perfect hash, then runtime names)."""
        return self._resolve_id(PluginKind.parse(kind), name)

    def _resolve_id(self, kind: PluginKind, name: str) -> str | None:
        if not isinstance(name, str):
            raise TypeError(f"provider name must be a str, got {type(name).__name__}")
        cid: str | None = phf_resolve(kind.value, name)
        if cid is not None:
            return cid
        return self._names[kind].get(_lower(name))

    def _find(self, kind: PluginKind, name: str) -> _Plugin:
        cid = self._resolve_id(kind, name)
        plugin = self._plugins.get(f"{kind.value}:{cid}") if cid is not None else None
        if plugin is None:
            label = _KIND_LABEL[kind]
            label = label[0].upper() + label[1:] if not label.startswith(("STT", "TTS", "WS")) else label
            raise PluginNotFoundError(
                f"Unknown {label}: '{name}'. Available providers: {self.names(kind)}", plugin_id=name
            )
        return plugin

    def has(self, kind: PluginKind | str, name: str) -> bool:
        k = PluginKind.parse(kind)
        cid = self._resolve_id(k, name)
        return cid is not None and f"{k.value}:{cid}" in self._plugins

    def names(self, kind: PluginKind | str) -> list[str]:
        """Canonical ids of one kind, sorted (aliases are not listed as separate names)."""
        k = PluginKind.parse(kind).value
        return sorted(p.id for p in list(self._plugins.values()) if p.kind is not None and p.kind.value == k)

    def metadata(self, kind: PluginKind | str, name: str) -> ProviderMetadata | None:
        k = PluginKind.parse(kind)
        cid = self._resolve_id(k, name)
        plugin = self._plugins.get(f"{k.value}:{cid}") if cid is not None else None
        return plugin.metadata if plugin is not None else None

    def has_stt_provider(self, name: str) -> bool:
        return self.has(K.STT, name)

    def has_tts_provider(self, name: str) -> bool:
        return self.has(K.TTS, name)

    def has_realtime_provider(self, name: str) -> bool:
        return self.has(K.REALTIME, name)

    def has_audio_processor(self, name: str) -> bool:
        return self.has(K.PROCESSOR, name)

    def has_middleware(self, name: str) -> bool:
        return self.has(K.MIDDLEWARE, name)

    def has_auth_strategy(self, name: str) -> bool:
        return self.has(K.AUTH, name)

    def get_stt_provider_names(self) -> list[str]:
        return self.names(K.STT)

    def get_tts_provider_names(self) -> list[str]:
        return self.names(K.TTS)

    def get_realtime_provider_names(self) -> list[str]:
        return self.names(K.REALTIME)

    def get_audio_processor_names(self) -> list[str]:
        return self.names(K.PROCESSOR)

    def get_middleware_names(self) -> list[str]:
        """Middleware ids in the order they run (lower priority first)."""
        mws = [p for p in list(self._plugins.values()) if p.kind is K.MIDDLEWARE]
        return [p.id for p in sorted(mws, key=lambda p: (p.priority, p.id))]

    def get_auth_strategy_names(self) -> list[str]:
        return self.names(K.AUTH)

    def stt_provider_count(self) -> int:
        return len(self.names(K.STT))

    def tts_provider_count(self) -> int:
        return len(self.names(K.TTS))

    def realtime_provider_count(self) -> int:
        return len(self.names(K.REALTIME))

    def get_stt_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.STT, name)

    def get_tts_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.TTS, name)

    def get_realtime_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.REALTIME, name)

    def get_audio_processor_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.PROCESSOR, name)

    def get_middleware_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.MIDDLEWARE, name)

    def get_auth_strategy_metadata(self, name: str) -> ProviderMetadata | None:
        return self.metadata(K.AUTH, name)

    # --- creation ------------------------------------------------------------------------------
    def _check_creatable(self, plugin: _Plugin) -> Callable[..., Any]:
        label = _KIND_LABEL[plugin.kind] if plugin.kind else "plugin"
        if plugin.factory is None:
            if plugin.catalog is not None:
                raise PluginUnavailableError(
                    f"{label} '{plugin.id}' is in the catalog but its adapter is not installed/implemented "
                    "yet: no plugin has registered a factory for it",
                    plugin_id=plugin.key,
                )
            raise PluginUnavailableError(
                f"{label} '{plugin.id}' failed to load: {plugin.entry.last_error}", plugin_id=plugin.key
            )
        state = plugin.entry.state
        if state not in _CREATABLE:
            raise PluginUnavailableError(
                f"{label} '{plugin.id}' is {state.value}"
                + (f" ({plugin.entry.last_error})" if plugin.entry.last_error else ""),
                plugin_id=plugin.key,
            )
        if state is PluginState.REGISTERED and plugin.lifecycle is not None:
            raise PluginUnavailableError(
                f"{label} '{plugin.id}' has lifecycle hooks and has not been started; "
                "call `await registry.start_all()` first",
                plugin_id=plugin.key,
            )
        return plugin.factory

    def _provider_config(self, plugin: _Plugin, config: Any, cls: type[C]) -> C:
        if config is None:
            config = cls()
        elif isinstance(config, Mapping):
            config = cls(**config)
        elif not isinstance(config, cls):
            raise ConfigError(f"{plugin.kind} config must be a {cls.__name__} or a mapping, got {config!r}")
        explicit = fields_set(config)
        values: dict[str, Any] = {name: getattr(config, name) for name in explicit}
        options = dict(config.options)
        field_names = set(cls.__dataclass_fields__)
        # provider_config of the server: under the canonical id or any of its names
        server: dict[str, Any] = {}
        for name, section in self._cfg.plugins.provider_config.items():
            assert plugin.kind is not None
            if self._resolve_id(plugin.kind, name) == plugin.id or _lower(name) == plugin.id:
                server.update(section)
        for key, value in server.items():
            if key == "options" and isinstance(value, Mapping):
                for k, v in value.items():
                    options.setdefault(k, v)
            elif key in field_names and key not in ("provider", "options"):
                values.setdefault(key, value)
            else:
                options.setdefault(key, value)
        values.setdefault("provider", plugin.id)
        # credentials (built-ins: the upstream env vars / YAML providers section)
        if plugin.catalog is not None:
            for spec in plugin.catalog.credentials:
                if spec.option == "api_key":
                    if not values.get("api_key"):
                        value = self._cfg.credentials(spec)
                        if value:
                            values["api_key"] = value
                elif spec.option not in options:
                    value = self._cfg.credentials(spec)
                    if value is not None:
                        options[spec.option] = value
        if values.get("base_url") is None:
            env = os.environ.get(f"WAAV_{re.sub(r'[^A-Z0-9]', '_', plugin.id.upper())}_BASE_URL")
            if env:
                values["base_url"] = env
        values["options"] = options
        return cls(**values)

    def _create(self, kind: PluginKind, name: str, config: Any, cls: type[C], base: type) -> Any:
        plugin = self._find(kind, name)
        factory = self._check_creatable(plugin)
        cfg = self._provider_config(plugin, config, cls)

        def make() -> Any:
            obj: Any = factory(cfg)
            if not isinstance(obj, base):
                raise TypeError(f"factory returned {type(obj).__name__}, not a {base.__name__}")
            provider: Any = obj  # narrowed to `object` by the isinstance above
            if not getattr(provider, "provider_id", ""):
                provider.provider_id = plugin.id
            return provider

        return plugin.isolation.call(f"create_{kind.value}", make)

    def create_stt(self, name: str, config: STTConfig | Mapping[str, Any] | None = None) -> BaseSTT:
        """Create an STT session for ``name`` (id or alias, any case)."""
        result: BaseSTT = self._create(K.STT, name, config, STTConfig, BaseSTT)
        return result

    def create_tts(self, name: str, config: TTSConfig | Mapping[str, Any] | None = None) -> BaseTTS:
        result: BaseTTS = self._create(K.TTS, name, config, TTSConfig, BaseTTS)
        return result

    def create_realtime(
        self, name: str, config: RealtimeConfig | Mapping[str, Any] | None = None
    ) -> BaseRealtime:
        result: BaseRealtime = self._create(K.REALTIME, name, config, RealtimeConfig, BaseRealtime)
        return result

    def create_audio_processor(self, name: str, config: Mapping[str, Any] | None = None) -> AudioProcessor:
        """Create a processor; every call into it is isolated (:class:`IsolatedProcessor`)."""
        plugin = self._find(K.PROCESSOR, name)
        factory = self._check_creatable(plugin)
        opts = dict(config or {})

        def make() -> AudioProcessor:
            obj = factory(opts)
            if not isinstance(obj, AudioProcessor):
                raise TypeError(f"factory returned {type(obj).__name__}, not an AudioProcessor")
            return obj

        return IsolatedProcessor(plugin.isolation.call("create_processor", make), plugin.isolation)

    def create_auth_strategy(self, name: str, config: Mapping[str, Any] | None = None) -> AuthStrategy:
        plugin = self._find(K.AUTH, name)
        factory = self._check_creatable(plugin)
        opts = dict(config or {})

        def make() -> AuthStrategy:
            obj = factory(opts)
            if not isinstance(obj, AuthStrategy):
                raise TypeError(f"factory returned {type(obj).__name__}, not an AuthStrategy")
            return obj

        return IsolatedAuthStrategy(plugin.isolation.call("create_strategy", make), plugin.isolation)

    def create_middleware(self, name: str, app: ASGIApp, config: Mapping[str, Any] | None = None) -> ASGIApp:
        plugin = self._find(K.MIDDLEWARE, name)
        factory = self._check_creatable(plugin)
        result: ASGIApp = plugin.isolation.call("create_middleware", factory, app, dict(config or {}))
        return result

    def build_middleware_stack(
        self,
        app: ASGIApp,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        only: Iterable[str] | None = None,
    ) -> ASGIApp:
        """Wrap ``app`` in every (or ``only`` the named) middleware, lowest priority outermost.

        The outermost middleware sees a request first, so lower ``priority`` runs earlier.
        A middleware whose creation fails is skipped (logged, counted), not fatal.
        """
        order = self.get_middleware_names()
        if only is not None:
            wanted = {self._resolve_id(K.MIDDLEWARE, n) for n in only}
            order = [n for n in order if n in wanted]
        for mid in reversed(order):
            try:
                app = self.create_middleware(mid, app, (configs or {}).get(mid))
            except (PluginError, WaavError) as exc:
                log.error("middleware %r not installed: %s", mid, exc)
        return app

    # --- WS handlers ---------------------------------------------------------------------------
    def get_ws_handlers(self, message_type: str) -> list[Callable[..., Any]]:
        keys = self._ws.get(_lower(message_type), [])
        return [p.factory for k in keys if (p := self._plugins.get(k)) is not None and p.factory is not None]

    def has_ws_handler(self, message_type: str) -> bool:
        return bool(self._ws.get(_lower(message_type)))

    def get_ws_message_types(self) -> list[str]:
        return sorted(self._ws)

    def ws_handler_count(self) -> int:
        return sum(len(v) for v in self._ws.values())

    async def dispatch_ws(
        self, message_type: str, payload: Any, ctx: WSContext
    ) -> list[dict[str, Any] | bytes]:
        """Run every handler of ``message_type`` in registration order; return the frames to send.

        JSON replies become ``{"type": "plugin_response", "message_type", "payload"}``, binary
        replies binary frames; a failing handler yields ``{"type": "error", ...}`` and the next
        handler still runs (upstream §2.8 semantics, plus isolation and timeouts).
        """
        keys = self._ws.get(_lower(message_type), [])
        if not keys:
            return [{"type": "error", "message": f"Unknown custom message type: {message_type}"}]
        out: list[dict[str, Any] | bytes] = []
        for key in keys:
            plugin = self._plugins.get(key)
            if plugin is None or plugin.factory is None:
                continue
            try:
                reply = await plugin.isolation.acall("handle", plugin.factory, payload, ctx)
            except WaavError as exc:
                out.append({"type": "error", "message": f"Plugin handler error: {exc}"})
                continue
            self._emit(reply, message_type, out, top=True)
        return out

    def _emit(self, reply: Any, message_type: str, out: list[dict[str, Any] | bytes], top: bool) -> None:
        if reply is None:
            return
        if not isinstance(reply, WSResponse):
            reply = WSResponse.json(reply)
        if reply.kind == "json":
            out.append({"type": "plugin_response", "message_type": message_type, "payload": reply.payload})
        elif reply.kind == "binary":
            out.append(bytes(reply.payload))
        elif top:
            for item in reply.items:
                self._emit(item, message_type, out, top=False)
        else:
            log.warning("nested WSResponse.multiple from a %r handler ignored", message_type)

    # --- listing ---------------------------------------------------------------------------------
    def plugins(self, kind: PluginKind | str | None = None) -> list[PluginInfo]:
        """Snapshots of every plugin (optionally of one kind), sorted by kind and id."""
        k = PluginKind.parse(kind) if kind is not None else None
        out = []
        for p in sorted(list(self._plugins.values()), key=lambda p: (p.kind.value if p.kind else "~", p.id)):
            if k is not None and p.kind is not k:
                continue
            snap = p.entry.snapshot()
            state, health = snap.pop("state"), snap.pop("health")
            note = ""
            if p.factory is None and p.catalog is not None:
                note = "adapter not installed/implemented yet"
            available = p.factory is not None and p.entry.state in _CREATABLE
            out.append(
                PluginInfo(
                    key=p.key,
                    kind=p.kind.value if p.kind else "unknown",
                    id=p.id,
                    aliases=p.aliases,
                    source=p.source,
                    builtin=p.builtin,
                    available=available,
                    state=state,
                    health=health,
                    stats=snap,
                    metadata=p.metadata.to_dict() if p.metadata else None,
                    priority=p.priority if p.kind is K.MIDDLEWARE else None,
                    message_type=p.message_type,
                    note=note,
                )
            )
        return out

    def plugin(self, key: str) -> PluginInfo:
        for info in self.plugins():
            if info.key == key or info.id == key:
                return info
        raise PluginNotFoundError(f"no plugin {key!r}", plugin_id=key)

    def reset(self, key: str) -> None:
        """Return a failed plugin to ``registered`` and clear its failure streak."""
        plugin = self._plugins.get(key)
        if plugin is None:
            raise PluginNotFoundError(f"no plugin {key!r}", plugin_id=key)
        if plugin.factory is None:
            raise PluginUnavailableError(f"plugin {key!r} has nothing to reset to", plugin_id=key)
        plugin.entry.transition(PluginState.REGISTERED)
        plugin.entry.reset_counters()

    # --- lifecycle ---------------------------------------------------------------------------------
    def _ctx(self, plugin: _Plugin) -> PluginContext:
        section: dict[str, Any] = {}
        for name, s in self._cfg.plugins.provider_config.items():
            if _lower(name) == plugin.id.lower():
                section = dict(s)
        return PluginContext(plugin.key, section, self._cfg.gateway_config)

    async def _start_one(self, plugin: _Plugin, timeout: float) -> None:
        entry = plugin.entry
        lc = plugin.lifecycle
        try:
            if entry.state in (PluginState.REGISTERED, PluginState.STOPPED):
                entry.transition(PluginState.INITIALIZING)
                if lc is not None:
                    await plugin.isolation.acall("init", lc.init, self._ctx(plugin), timeout=timeout)
                entry.transition(PluginState.READY)
            if entry.state is PluginState.READY:
                if lc is not None:
                    await plugin.isolation.acall("start", lc.start, self._ctx(plugin), timeout=timeout)
                entry.transition(PluginState.RUNNING)
                entry.health = PluginHealth.HEALTHY
        except WaavError as exc:
            if entry.state is not PluginState.FAILED:
                entry.transition(PluginState.FAILED)
            entry.last_error = str(exc)
            entry.health = PluginHealth.UNHEALTHY
            log.error("plugin %r failed to start: %s", plugin.key, exc)

    async def start_all(self, *, timeout: float | None = None) -> dict[str, str]:
        """Initialise and start every registered plugin (concurrently, each with a timeout).

        A plugin whose ``init``/``start`` raises or times out is marked ``failed``; the others
        start anyway. Returns ``{key: state}`` for the plugins it touched.
        """
        t = timeout if timeout is not None else self._policy.lifecycle_timeout
        todo = [
            p
            for p in list(self._plugins.values())
            if p.factory is not None
            and p.entry.state in (PluginState.REGISTERED, PluginState.STOPPED, PluginState.READY)
        ]
        await asyncio.gather(*(self._start_one(p, t) for p in todo))
        self._started = True
        return {p.key: p.entry.state.value for p in todo}

    async def _stop_one(self, plugin: _Plugin, timeout: float) -> None:
        entry = plugin.entry
        entry.transition(PluginState.STOPPING)
        try:
            if plugin.lifecycle is not None:
                await plugin.isolation.acall("shutdown", plugin.lifecycle.shutdown, timeout=timeout)
            entry.transition(PluginState.STOPPED)
        except WaavError as exc:
            if entry.state is not PluginState.FAILED:
                entry.transition(PluginState.FAILED)
            entry.last_error = str(exc)
            log.error("plugin %r failed to shut down cleanly: %s", plugin.key, exc)

    async def shutdown_all(
        self, *, timeout: float | None = None, keys: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Stop every ready/running plugin (concurrently, each with a timeout); with ``keys``,
        only those (e.g. the ones a gateway started itself, leaving the rest of a shared
        registry as it found them)."""
        t = timeout if timeout is not None else self._policy.lifecycle_timeout
        only = None if keys is None else set(keys)
        todo = [
            p
            for p in list(self._plugins.values())
            if p.entry.state in (PluginState.RUNNING, PluginState.READY) and (only is None or p.key in only)
        ]
        await asyncio.gather(*(self._stop_one(p, t) for p in todo))
        self._started = False
        return {p.key: p.entry.state.value for p in todo}

    async def health(self) -> dict[str, str]:
        """Ask every running plugin with lifecycle hooks for its health (isolated, with timeouts)."""
        out = {}
        for p in list(self._plugins.values()):
            if p.lifecycle is not None and p.entry.state is PluginState.RUNNING:
                try:
                    h = await p.isolation.acall("health", p.lifecycle.health)
                    p.entry.health = PluginHealth(h)
                except WaavError:
                    p.entry.health = PluginHealth.UNHEALTHY
            out[p.key] = p.entry.health.value
        return out

    # --- discovery -------------------------------------------------------------------------------
    def _record_failed(self, key: str, source: str, message: str) -> None:
        with self._lock:
            plugin = self._new_plugin(
                key,
                PluginState.DISCOVERED,
                kind=None,
                id=key,
                aliases=(),
                metadata=None,
                factory=None,
                source=source,
            )
            plugin.entry.transition(PluginState.FAILED)
            plugin.entry.last_error = message
            plugin.entry.health = PluginHealth.UNHEALTHY
            self._plugins[key] = plugin

    def discover(self, group: str = ENTRY_POINT_GROUP, *, third_party: bool = True) -> list[str]:
        """Load every entry point of ``group``; return the keys registered.

        Entry points of the ``waav`` distribution itself are built-ins and always load;
        others load only when ``third_party`` (``plugins.enabled``). A failing entry point is
        logged and listed as ``entry_point:<name>`` in state ``failed``; the rest still load.
        """
        keys: list[str] = []
        for ep in sorted(importlib_metadata.entry_points(group=group), key=lambda e: e.name):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
            own = dist.lower() == "waav"
            if not own and not third_party:
                continue
            source = f"entry_point:{dist}:{ep.name}"
            try:
                ctors = constructors_from(ep.load(), f"entry point {ep.name!r} ({ep.value})")
                for ctor in ctors:
                    keys.append(self.register(ctor, source=source if not own else "builtin"))
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                log.error("plugin entry point %r (%s) failed to load: %s", ep.name, ep.value, msg)
                self._record_failed(f"entry_point:{ep.name}", source, msg)
        self._discovered = True
        return keys

    def load_plugin_dir(self, directory: str | os.PathLike[str]) -> list[str]:
        """Import every plugin file/package in ``directory``; return the keys registered."""
        path = Path(directory)
        if not path.is_dir():
            raise ConfigError(f"plugins.plugin_dir {str(path)!r} is not a directory")
        keys: list[str] = []
        for item in plugin_dir_entries(path):
            name = item.stem if item.is_file() else item.name
            try:
                keys += self._load_source(name, item)
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                log.error("plugin %s failed to load: %s", item, msg)
                self._record_failed(f"plugin_dir:{name}", f"plugin_dir:{item}", msg)
        return keys

    def _load_source(self, name: str, item: Path) -> list[str]:
        module = import_plugin_file(item)
        ctors = constructors_from(module, str(item))
        keys = [self.register(c, source=f"plugin_dir:{item}") for c in ctors]
        self._plugins.pop(f"plugin_dir:{name}", None)  # a previous failure of this file
        self._sources[name] = item
        return keys

    async def reload(self, plugin_id: str) -> list[str]:
        """Hot-reload a ``plugin_dir`` plugin (by module name, key or id) without a restart.

        The file is imported afresh first; if that fails the old version keeps serving and a
        :class:`waav.PluginError` is raised. Otherwise the old registrations are shut down (if
        running) and replaced, and the new ones started if the registry has been started.
        Sessions that already hold provider objects keep the old code until they end.
        """
        name = self._source_name(plugin_id)
        item = self._sources[name]
        try:
            module = import_plugin_file(item)
            ctors = constructors_from(module, str(item))
        except Exception as exc:
            raise PluginError(
                f"reloading plugin {name!r} failed; the old version stays: {exc}", plugin_id=name
            ) from exc
        source = f"plugin_dir:{item}"
        old = [p for p in list(self._plugins.values()) if p.source == source]
        for p in old:
            if p.entry.state in (PluginState.RUNNING, PluginState.READY):
                await self._stop_one(p, self._policy.lifecycle_timeout)
            self.unregister(p.key)
        keys = [self.register(c, source=source) for c in ctors]
        if self._started:
            await asyncio.gather(
                *(self._start_one(self._plugins[k], self._policy.lifecycle_timeout) for k in keys)
            )
        return keys

    def _source_name(self, plugin_id: str) -> str:
        if plugin_id in self._sources:
            return plugin_id
        for p in self._plugins.values():
            if plugin_id in (p.key, p.id) and p.source.startswith("plugin_dir:"):
                for name, path in self._sources.items():
                    if p.source == f"plugin_dir:{path}":
                        return name
        raise PluginNotFoundError(
            f"no plugin_dir plugin {plugin_id!r}; "
            "only plugins loaded from plugins.plugin_dir can be reloaded",
            plugin_id=plugin_id,
        )


_GLOBAL: PluginRegistry | None = None
_GLOBAL_LOCK = threading.Lock()


def global_registry() -> PluginRegistry:
    """The process-wide registry: built-ins, then every installed entry point (loaded once, lazily).

    ``PLUGINS_ENABLED`` (default true) gates third-party entry points and ``PLUGINS_DIR``
    names a plugin directory, as in the upstream. The gateway then calls
    :meth:`PluginRegistry.configure` with the server's :class:`PluginConfig`.
    """
    global _GLOBAL
    reg = _GLOBAL
    if reg is not None:
        return reg
    with _GLOBAL_LOCK:
        if _GLOBAL is None:
            from waav.plugin._env import plugin_config_from_env

            cfg = plugin_config_from_env()
            reg = PluginRegistry()
            reg.configure(cfg, load_plugin_dir=False)
            reg.discover(third_party=cfg.enabled)
            if cfg.enabled and cfg.plugin_dir:
                reg.load_plugin_dir(cfg.plugin_dir)
            _GLOBAL = reg
        return _GLOBAL
