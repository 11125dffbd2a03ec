"""Server configuration: ``ServerConfig`` from YAML and environment variables.

Sources and precedence follow the upstream gateway's code (``config/merge.rs``): **YAML >
environment > defaults** (the upstream README claims the reverse; its code does this).
The YAML layout is the upstream's: ``server``, ``livekit``, ``providers``, ``recording``,
``cache``, ``auth``, ``sip``, ``security``, ``plugins``. ``plugins.providers`` (what the
upstream code reads) and ``plugins.provider_config`` (what its docs say) are both accepted.

Every error names where the bad value came from: ``waav.yaml:12: plugins.enabled: must be
a boolean, got str 'maybe'``, or ``environment variable PORT='x': must be an integer``.
Unknown keys are rejected with the closest valid key.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from waav._exceptions import ConfigError
from waav.plugin._catalog import CredentialSpec, catalog
from waav.plugin._env import parse_bool
from waav.plugin._typed import FieldError, config_class, dotted, from_mapping, unknown_key_error
from waav.plugin.config import PluginConfig

__all__ = [
    "AuthConfig",
    "CacheConfig",
    "LiveKitConfig",
    "RecordingConfig",
    "SecurityConfig",
    "ServerConfig",
    "ServerSection",
    "SipConfig",
    "TLSConfig",
    "load_config",
]


@config_class
class TLSConfig:
    enabled: bool = False
    cert_path: str | None = None
    key_path: str | None = None


@config_class
class ServerSection:
    host: str = "0.0.0.0"
    port: int = 3001
    tls: TLSConfig = dataclasses.field(default_factory=TLSConfig)


@config_class
class LiveKitConfig:
    url: str = "ws://localhost:7880"
    public_url: str = "http://localhost:7880"
    api_key: str | None = None
    api_secret: str | None = None


@config_class
class RecordingConfig:
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_prefix: str | None = None


@config_class
class CacheConfig:
    path: str | None = None
    ttl_seconds: int = 2_592_000


@config_class
class ApiSecret:
    id: str
    secret: str


@config_class
class AuthConfig:
    required: bool = False
    service_url: str | None = None
    signing_key_path: str | None = None
    api_secrets: list[ApiSecret] = dataclasses.field(default_factory=list)
    api_secret: str | None = None
    api_secret_id: str = "default"
    timeout_seconds: int = 5


@config_class
class SipHook:
    host: str
    url: str
    secret: str | None = None


@config_class
class SipConfig:
    room_prefix: str | None = None
    naming_prefix: str | None = None
    allowed_addresses: list[str] = dataclasses.field(default_factory=list)
    hook_secret: str | None = None
    hooks: list[SipHook] = dataclasses.field(default_factory=list)


@config_class
class SecurityConfig:
    cors_allowed_origins: str | None = None
    rate_limit_requests_per_second: float = 60.0
    rate_limit_burst_size: int = 10
    max_websocket_connections: int | None = None
    max_connections_per_ip: int | None = None


def _credential_keys() -> dict[str, CredentialSpec]:
    return {spec.yaml: spec for entry in catalog() for spec in entry.credentials}


@config_class
class ServerConfig:
    """The gateway's whole configuration. Build with :func:`load_config` or directly."""

    server: ServerSection = dataclasses.field(default_factory=ServerSection)
    livekit: LiveKitConfig = dataclasses.field(default_factory=LiveKitConfig)
    #: Provider credentials by YAML key (``deepgram_api_key``, ``azure_speech_region``, …).
    providers: dict[str, str] = dataclasses.field(default_factory=dict)
    recording: RecordingConfig = dataclasses.field(default_factory=RecordingConfig)
    cache: CacheConfig = dataclasses.field(default_factory=CacheConfig)
    auth: AuthConfig = dataclasses.field(default_factory=AuthConfig)
    sip: SipConfig = dataclasses.field(default_factory=SipConfig)
    security: SecurityConfig = dataclasses.field(default_factory=SecurityConfig)
    plugins: PluginConfig = dataclasses.field(default_factory=PluginConfig)

    def _check(self) -> None:
        valid = _credential_keys()
        for key in self.providers:
            if key not in valid:
                raise unknown_key_error("providers", key, list(valid), ("providers",))

    def credential(self, spec: CredentialSpec) -> str | None:
        """A provider credential: the ``providers`` section (YAML, then env), else its default."""
        value = self.providers.get(spec.yaml)
        return value if value else spec.default

    def apply(self, registry: Any) -> None:
        """Configure a :class:`waav.plugin.PluginRegistry` with this config."""
        registry.configure(self.plugins, credentials=self.credential, gateway_config=self)


# --- environment --------------------------------------------------------------------------------

_ENV: dict[str, tuple[tuple[str, ...], str]] = {
    "HOST": (("server", "host"), "str"),
    "PORT": (("server", "port"), "int"),
    "TLS_ENABLED": (("server", "tls", "enabled"), "bool"),
    "TLS_CERT_PATH": (("server", "tls", "cert_path"), "str"),
    "TLS_KEY_PATH": (("server", "tls", "key_path"), "str"),
    "LIVEKIT_URL": (("livekit", "url"), "str"),
    "LIVEKIT_PUBLIC_URL": (("livekit", "public_url"), "str"),
    "LIVEKIT_API_KEY": (("livekit", "api_key"), "str"),
    "LIVEKIT_API_SECRET": (("livekit", "api_secret"), "str"),
    **{
        f"RECORDING_S3_{k.upper()}": (("recording", f"s3_{k}"), "str")
        for k in ("bucket", "region", "endpoint", "access_key", "secret_key", "prefix")
    },
    "CACHE_PATH": (("cache", "path"), "str"),
    "CACHE_TTL_SECONDS": (("cache", "ttl_seconds"), "int"),
    "AUTH_REQUIRED": (("auth", "required"), "bool"),
    "AUTH_SERVICE_URL": (("auth", "service_url"), "str"),
    "AUTH_SIGNING_KEY_PATH": (("auth", "signing_key_path"), "str"),
    "AUTH_API_SECRETS_JSON": (("auth", "api_secrets"), "json"),
    "AUTH_API_SECRET": (("auth", "api_secret"), "str"),
    "AUTH_API_SECRET_ID": (("auth", "api_secret_id"), "str"),
    "AUTH_TIMEOUT_SECONDS": (("auth", "timeout_seconds"), "int"),
    "SIP_ROOM_PREFIX": (("sip", "room_prefix"), "str"),
    "SIP_NAMING_PREFIX": (("sip", "naming_prefix"), "str"),
    "SIP_ALLOWED_ADDRESSES": (("sip", "allowed_addresses"), "list"),
    "SIP_HOOK_SECRET": (("sip", "hook_secret"), "str"),
    "SIP_HOOKS_JSON": (("sip", "hooks"), "json"),
    "CORS_ALLOWED_ORIGINS": (("security", "cors_allowed_origins"), "str"),
    "RATE_LIMIT_REQUESTS_PER_SECOND": (("security", "rate_limit_requests_per_second"), "float"),
    "RATE_LIMIT_BURST_SIZE": (("security", "rate_limit_burst_size"), "int"),
    "MAX_WEBSOCKET_CONNECTIONS": (("security", "max_websocket_connections"), "int"),
    "MAX_CONNECTIONS_PER_IP": (("security", "max_connections_per_ip"), "int"),
    "PLUGINS_ENABLED": (("plugins", "enabled"), "bool"),
    "PLUGINS_DIR": (("plugins", "plugin_dir"), "str"),
}


def _env_value(name: str, raw: str, kind: str) -> Any:
    try:
        if kind == "bool":
            return parse_bool(raw, name)
        if kind == "int":
            return int(raw.strip())
        if kind == "float":
            return float(raw.strip())
        if kind == "json":
            return json.loads(raw)
        if kind == "list":
            return [x.strip() for x in raw.split(",") if x.strip()]
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"environment variable {name}={raw!r}: {exc}") from None
    return raw


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    tree: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    for name, (path, kind) in _ENV.items():
        raw = env.get(name)
        if raw is not None and raw.strip():
            _set(tree, path, _env_value(name, raw, kind))
            origin[path] = name
    for key, spec in _credential_keys().items():
        raw = env.get(spec.env)
        if raw:
            _set(tree, ("providers", key), raw)
            origin[("providers", key)] = spec.env
    return tree, origin


# --- YAML -----------------------------------------------------------------------------------------


def _lines(
    node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int], where: str
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value
            if key in seen:
                raise ConfigError(f"{where}:{k.start_mark.line + 1}: {dotted((*path, key))}: duplicate key")
            seen.add(key)
            sub = (*path, key)
            out[sub] = k.start_mark.line + 1
            _lines(v, sub, out, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            item = (*path, i)
            out[item] = v.start_mark.line + 1
            _lines(v, item, out, where)


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {where}: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise ConfigError(f"{loc}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _lines(node, (), lines, where)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}:1: the top level must be a mapping of sections, got {type(data).__name__}"
        )
    plugins = data.get("plugins")
    if isinstance(plugins, dict) and "providers" in plugins:
        if "provider_config" in plugins:
            line = lines.get(("plugins", "provider_config"), 1)
            raise ConfigError(
                f"{where}:{line}: plugins: give either 'providers' or 'provider_config', not both"
            )
        plugins["provider_config"] = plugins.pop("providers")
        for p in [p for p in lines if p[:2] == ("plugins", "providers")]:
            renamed = ("plugins", "provider_config", *p[2:])
            lines[renamed] = lines[p]
    return data, lines


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict) and k != "provider_config":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> ServerConfig:
    """Load the server configuration: defaults, then environment, then the YAML file (if any)."""
    env_tree, env_origin = _from_env(os.environ if env is None else env)
    yaml_tree: dict[str, Any] = {}
    lines: dict[tuple[str | int, ...], int] = {}
    where = ""
    if path is not None:
        where = str(path)
        yaml_tree, lines = _read_yaml(Path(path))
    merged = _merge(env_tree, yaml_tree)
    try:
        return from_mapping(ServerConfig, merged)
    except FieldError as exc:
        raise ConfigError(_locate(exc, lines, where, env_origin)) from None


def _locate(
    exc: FieldError,
    lines: Mapping[tuple[str | int, ...], int],
    where: str,
    env_origin: Mapping[tuple[str, ...], str],
) -> str:
    path = exc.path
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return f"{where}:{lines[path[:n]]}: {dotted(path)}: {exc.problem}"
    for n in range(len(path), 0, -1):
        name = env_origin.get(tuple(str(p) for p in path[:n]))
        if name is not None:
            return f"environment variable {name}: {dotted(path)}: {exc.problem}"
    return f"{dotted(path)}: {exc.problem}" if path else exc.problem
