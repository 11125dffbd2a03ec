"""Server configuration: ``ServerConfig`` from YAML and environment variables.

Sources and precedence follow the upstream gateway's code (``config/merge.rs``): **YAML >
environment > defaults** (the upstream README claims the reverse; its code does this).
The YAML layout is the upstream's: ``server``, ``livekit``, ``providers``, ``recording``,
``cache``, ``auth``, ``sip``, ``security``, ``plugins``, plus waav's ``gateway`` (session limits,
default providers, processors; :class:`GatewayConfig`). ``plugins.providers`` (what the
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
    "GatewayConfig",
    "JwtConfig",
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


#: Algorithms the ``jwt`` strategy may be configured with (never ``none``).
JWT_ALGORITHMS = (
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


@config_class
class JwtConfig:
    """The ``jwt`` auth strategy (``auth.jwt`` in YAML, ``WAAV_JWT_*`` variables).

    Keys: an HMAC ``secret`` (HS*) and/or public keys (RS*/PS*/ES*/EdDSA), each either PEM text
    or the path of a PEM file. Each key only verifies the algorithms of its own family, so
    ``alg: none`` and HS/RS confusion are rejected. ``algorithms`` empty: HS256 for the secret,
    RS256 for RSA keys, ES256/ES384/ES512 for EC keys by curve, EdDSA for Ed25519/Ed448 keys.
    """

    secret: str | None = None
    public_key: str | None = None
    public_keys: list[str] = dataclasses.field(default_factory=list)
    algorithms: list[str] = dataclasses.field(default_factory=list)
    issuer: str | None = None
    audience: list[str] = dataclasses.field(default_factory=list)
    #: Seconds of clock skew tolerated on ``exp`` / ``nbf`` / ``iat``.
    leeway_seconds: float = 0.0
    #: Reject tokens without an ``exp`` claim.
    require_exp: bool = True

    def _check(self) -> None:
        for i, alg in enumerate(self.algorithms):
            if alg not in JWT_ALGORITHMS:
                raise FieldError(
                    ("algorithms", i),
                    f"unsupported JWT algorithm {alg!r}; allowed: {', '.join(JWT_ALGORITHMS)}",
                    owner="JwtConfig",
                )
        if self.leeway_seconds < 0:
            raise FieldError(("leeway_seconds",), "must be >= 0", owner="JwtConfig")
        if self.secret is not None and not self.secret:
            raise FieldError(("secret",), "must not be empty", owner="JwtConfig")

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key or self.public_keys)


@config_class
class AuthConfig:
    """Client authentication of the gateway (off unless ``required``).

    ``strategies`` is the ordered list of auth strategy plugins to try (first that accepts
    wins); empty means every built-in strategy that is configured, in the order ``api-key``
    (``api_secrets`` / ``api_secret``), ``jwt`` (``auth.jwt``), ``auth-service``
    (``service_url``). ``public_paths`` never need credentials.
    """

    required: bool = False
    service_url: str | None = None
    signing_key_path: str | None = None
    api_secrets: list[ApiSecret] = dataclasses.field(default_factory=list)
    api_secret: str | None = None
    api_secret_id: str = "default"
    timeout_seconds: int = 5
    strategies: list[str] = dataclasses.field(default_factory=list)
    jwt: JwtConfig = dataclasses.field(default_factory=JwtConfig)
    public_paths: list[str] = dataclasses.field(default_factory=lambda: ["/", "/health"])

    def _check(self) -> None:
        for i, name in enumerate(self.strategies):
            if not name.strip():
                raise FieldError(("strategies", i), "must not be empty", owner="AuthConfig")
        for i, path in enumerate(self.public_paths):
            if not path.startswith("/"):
                raise FieldError(
                    ("public_paths", i), f"must start with '/', got {path!r}", owner="AuthConfig"
                )
        if self.timeout_seconds <= 0:
            raise FieldError(("timeout_seconds",), "must be > 0", owner="AuthConfig")


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


#: ``rate_limit_requests_per_second`` at or above this disables rate limiting (as upstream).
RATE_LIMIT_DISABLED_AT = 100_000.0


@config_class
class SecurityConfig:
    """CORS, rate limits and WebSocket connection caps (``security`` in YAML).

    ``rate_limit_requests_per_second`` is the refill rate of each client's token bucket and
    ``rate_limit_burst_size`` its size (the upstream's limiter gave 1 request every *n* seconds;
    this is *n* per second). ``trust_forwarded_for`` makes the client address come from
    ``X-Forwarded-For`` (the ``forwarded_hops``-th entry from the right, i.e. the address your
    proxies saw) or ``X-Real-IP``; leave it off unless a proxy you control sets those headers.
    """

    cors_allowed_origins: str | None = None
    rate_limit_requests_per_second: float = 60.0
    rate_limit_burst_size: int = 10
    #: Bound on remembered clients; the least recently seen bucket is dropped beyond it.
    rate_limit_max_clients: int = 100_000
    max_websocket_connections: int | None = None
    max_connections_per_ip: int | None = 100
    trust_forwarded_for: bool = False
    forwarded_hops: int = 1

    def _check(self) -> None:
        if not self.rate_limit_requests_per_second > 0:
            raise FieldError(("rate_limit_requests_per_second",), "must be > 0", owner="SecurityConfig")
        for name in ("rate_limit_burst_size", "rate_limit_max_clients", "forwarded_hops"):
            if getattr(self, name) < 1:
                raise FieldError((name,), "must be >= 1", owner="SecurityConfig")
        for name in ("max_websocket_connections", "max_connections_per_ip"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise FieldError((name,), "must be >= 1 (or unset for no limit)", owner="SecurityConfig")

    @property
    def rate_limit_enabled(self) -> bool:
        return self.rate_limit_requests_per_second < RATE_LIMIT_DISABLED_AT


@config_class
class GatewayConfig:
    """Session behaviour of the gateway (``gateway:`` in YAML, ``WAAV_*`` environment variables).

    Not in the upstream's config: its values were hard-coded there (1 MiB / 5 MiB frames,
    300 s idle timeout, 30 s provider readiness).
    """

    #: Close a /ws or /realtime session after this many seconds without a client frame.
    idle_timeout_seconds: float = 300.0
    #: Largest text frame accepted (bigger ones get an ``error``; the session continues).
    max_text_frame_bytes: int = 1024 * 1024
    #: Largest binary (audio) frame accepted.
    max_binary_frame_bytes: int = 5 * 1024 * 1024
    #: Provider used when a session's ``stt_config`` / ``tts_config`` (or ``/speak``) names none.
    #: None: automatic (:mod:`waav.providers.local.defaults`): the first cloud provider whose
    #: credentials are configured, else the offline engine ``whisper`` / ``hibari`` (``waav[local]``).
    default_stt_provider: str | None = None
    default_tts_provider: str | None = None
    #: Rate the gateway resamples client audio to before the STT provider (0: client rate).
    stt_sample_rate: int = 16000
    #: Audio processors run on client audio before resampling, for every session that does
    #: not name its own (``processors`` in the ``config`` message), e.g. ``["noise-gate", "vad"]``.
    processors: list[str] = dataclasses.field(default_factory=list)
    #: Options per processor name (``{"vad": {"mode": 3}}``).
    processor_options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: Seconds a provider may take to connect, accept a call, or make progress on a request.
    provider_timeout_seconds: float = 30.0
    #: Duration of each binary TTS frame sent to the client, 10–20 ms.
    tts_frame_ms: int = 20
    #: An utterance spoken in pieces (``speak`` with ``continue: true``) that gets no piece for
    #: this many seconds is finished with the text it has, and the client gets an ``error``.
    tts_continue_timeout_seconds: float = 10.0
    #: Seconds a graceful shutdown waits for sessions to finish.
    drain_timeout_seconds: float = 10.0
    #: After a final STT result that does not end the turn, send a synthetic speech-final
    #: (``transcript ""``, ``is_speech_final`` true) if the provider sends none within this
    #: many seconds (upstream VoiceManager: 1.8 s); 0 disables it.
    speech_final_wait_seconds: float = 1.8

    def _check(self) -> None:
        for name in (
            "idle_timeout_seconds",
            "provider_timeout_seconds",
            "drain_timeout_seconds",
            "tts_continue_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise FieldError((name,), "must be > 0", owner="GatewayConfig")
        for name in ("max_text_frame_bytes", "max_binary_frame_bytes"):
            if getattr(self, name) <= 0:
                raise FieldError((name,), "must be > 0", owner="GatewayConfig")
        if self.speech_final_wait_seconds < 0:
            raise FieldError(("speech_final_wait_seconds",), "must be >= 0", owner="GatewayConfig")
        if self.stt_sample_rate < 0:
            raise FieldError(("stt_sample_rate",), "must be >= 0", owner="GatewayConfig")
        if not 10 <= self.tts_frame_ms <= 20:
            raise FieldError(("tts_frame_ms",), "must be between 10 and 20", owner="GatewayConfig")


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
    gateway: GatewayConfig = dataclasses.field(default_factory=GatewayConfig)

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
    "WAAV_AUTH_STRATEGIES": (("auth", "strategies"), "list"),
    "WAAV_AUTH_PUBLIC_PATHS": (("auth", "public_paths"), "list"),
    "WAAV_JWT_SECRET": (("auth", "jwt", "secret"), "str"),
    "WAAV_JWT_PUBLIC_KEY": (("auth", "jwt", "public_key"), "str"),
    "WAAV_JWT_ALGORITHMS": (("auth", "jwt", "algorithms"), "list"),
    "WAAV_JWT_ISSUER": (("auth", "jwt", "issuer"), "str"),
    "WAAV_JWT_AUDIENCE": (("auth", "jwt", "audience"), "list"),
    "WAAV_JWT_LEEWAY_SECONDS": (("auth", "jwt", "leeway_seconds"), "float"),
    "WAAV_JWT_REQUIRE_EXP": (("auth", "jwt", "require_exp"), "bool"),
    "SIP_ROOM_PREFIX": (("sip", "room_prefix"), "str"),
    "SIP_NAMING_PREFIX": (("sip", "naming_prefix"), "str"),
    "SIP_ALLOWED_ADDRESSES": (("sip", "allowed_addresses"), "list"),
    "SIP_HOOK_SECRET": (("sip", "hook_secret"), "str"),
    "SIP_HOOKS_JSON": (("sip", "hooks"), "json"),
    "CORS_ALLOWED_ORIGINS": (("security", "cors_allowed_origins"), "str"),
    "RATE_LIMIT_REQUESTS_PER_SECOND": (("security", "rate_limit_requests_per_second"), "float"),
    "RATE_LIMIT_BURST_SIZE": (("security", "rate_limit_burst_size"), "int"),
    "WAAV_RATE_LIMIT_MAX_CLIENTS": (("security", "rate_limit_max_clients"), "int"),
    "WAAV_TRUST_FORWARDED_FOR": (("security", "trust_forwarded_for"), "bool"),
    "WAAV_FORWARDED_HOPS": (("security", "forwarded_hops"), "int"),
    "MAX_WEBSOCKET_CONNECTIONS": (("security", "max_websocket_connections"), "int"),
    "MAX_CONNECTIONS_PER_IP": (("security", "max_connections_per_ip"), "int"),
    "PLUGINS_ENABLED": (("plugins", "enabled"), "bool"),
    "PLUGINS_DIR": (("plugins", "plugin_dir"), "str"),
    "WAAV_IDLE_TIMEOUT_SECONDS": (("gateway", "idle_timeout_seconds"), "float"),
    "WAAV_MAX_TEXT_FRAME_BYTES": (("gateway", "max_text_frame_bytes"), "int"),
    "WAAV_MAX_BINARY_FRAME_BYTES": (("gateway", "max_binary_frame_bytes"), "int"),
    # the names waav.providers.local.defaults reads, so the CLI and the gateway agree
    "WAAV_DEFAULT_STT": (("gateway", "default_stt_provider"), "str"),
    "WAAV_DEFAULT_TTS": (("gateway", "default_tts_provider"), "str"),
    "WAAV_STT_SAMPLE_RATE": (("gateway", "stt_sample_rate"), "int"),
    "WAAV_PROCESSORS": (("gateway", "processors"), "list"),
    "WAAV_PROVIDER_TIMEOUT_SECONDS": (("gateway", "provider_timeout_seconds"), "float"),
    "WAAV_TTS_FRAME_MS": (("gateway", "tts_frame_ms"), "int"),
    "WAAV_TTS_CONTINUE_TIMEOUT_SECONDS": (("gateway", "tts_continue_timeout_seconds"), "float"),
    "WAAV_DRAIN_TIMEOUT_SECONDS": (("gateway", "drain_timeout_seconds"), "float"),
    "WAAV_SPEECH_FINAL_WAIT_SECONDS": (("gateway", "speech_final_wait_seconds"), "float"),
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
