"""Plugin kinds and ``ProviderMetadata`` (immutable, built fluently, serialisable to JSON)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from waav._exceptions import ConfigError

__all__ = ["PluginKind", "ProviderMetadata"]


class PluginKind(str, enum.Enum):
    """The seven capability kinds (values are what ``resolve`` and the CLI take)."""

    STT = "stt"
    TTS = "tts"
    REALTIME = "realtime"
    PROCESSOR = "processor"
    MIDDLEWARE = "middleware"
    WS_HANDLER = "ws_handler"
    AUTH = "auth"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | PluginKind) -> PluginKind:
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(
                f"unknown plugin kind {value!r}; expected one of {', '.join(k.value for k in cls)}"
            ) from None


@dataclass(frozen=True)
class ProviderMetadata:
    """What a plugin says about itself: shown by ``waav providers`` and ``GET /plugins``.

    Build it fluently; every ``with_*`` returns a new record::

        ProviderMetadata.stt("my-stt", "My STT").with_description("…").with_aliases(["mine"])
    """

    name: str
    display_name: str
    kind: PluginKind
    description: str = ""
    version: str = "1.0.0"
    required_config_keys: tuple[str, ...] = ("api_key",)
    optional_config_keys: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    supported_languages: tuple[str, ...] = ()
    supported_models: tuple[str, ...] = ()
    features: frozenset[str] = frozenset()
    #: Extra facts for listings (transport, base_url, credential env vars for built-ins).
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    # builders ---------------------------------------------------------------------------
    @classmethod
    def stt(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.STT)

    @classmethod
    def tts(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.TTS)

    @classmethod
    def realtime(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.REALTIME)

    @classmethod
    def processor(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.PROCESSOR, required_config_keys=())

    @classmethod
    def middleware(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.MIDDLEWARE, required_config_keys=())

    @classmethod
    def ws_handler(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.WS_HANDLER, required_config_keys=())

    @classmethod
    def auth(cls, name: str, display_name: str) -> ProviderMetadata:
        return cls(name=name, display_name=display_name, kind=PluginKind.AUTH, required_config_keys=())

    @classmethod
    def for_kind(cls, kind: PluginKind | str, name: str, display_name: str) -> ProviderMetadata:
        builder = getattr(cls, PluginKind.parse(kind).value)
        result: ProviderMetadata = builder(name, display_name)
        return result

    def with_description(self, description: str) -> ProviderMetadata:
        return dataclasses.replace(self, description=description)

    def with_version(self, version: str) -> ProviderMetadata:
        return dataclasses.replace(self, version=version)

    def with_alias(self, alias: str) -> ProviderMetadata:
        return self.with_aliases([alias])

    def with_aliases(self, aliases: Iterable[str]) -> ProviderMetadata:
        new = tuple(a for a in aliases if a not in self.aliases)
        return dataclasses.replace(self, aliases=self.aliases + new)

    def with_feature(self, feature: str) -> ProviderMetadata:
        return self.with_features([feature])

    def with_features(self, features: Iterable[str]) -> ProviderMetadata:
        return dataclasses.replace(self, features=self.features | frozenset(features))

    def with_languages(self, languages: Iterable[str]) -> ProviderMetadata:
        return dataclasses.replace(self, supported_languages=tuple(languages))

    def with_models(self, models: Iterable[str]) -> ProviderMetadata:
        return dataclasses.replace(self, supported_models=tuple(models))

    def with_required_config(self, keys: Iterable[str]) -> ProviderMetadata:
        return dataclasses.replace(self, required_config_keys=tuple(keys))

    def with_optional_config(self, keys: Iterable[str]) -> ProviderMetadata:
        return dataclasses.replace(self, optional_config_keys=tuple(keys))

    def with_extra(self, **extra: Any) -> ProviderMetadata:
        return dataclasses.replace(self, extra={**self.extra, **extra})

    # serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "provider_type": self.kind.value,
            "description": self.description,
            "version": self.version,
            "required_config_keys": list(self.required_config_keys),
            "optional_config_keys": list(self.optional_config_keys),
            "aliases": list(self.aliases),
            "supported_languages": list(self.supported_languages),
            "supported_models": list(self.supported_models),
            "features": sorted(self.features),
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProviderMetadata:
        return cls(
            name=data["name"],
            display_name=data.get("display_name", data["name"]),
            kind=PluginKind.parse(data["provider_type"]),
            description=data.get("description", ""),
            version=data.get("version", "1.0.0"),
            required_config_keys=tuple(data.get("required_config_keys", ("api_key",))),
            optional_config_keys=tuple(data.get("optional_config_keys", ())),
            aliases=tuple(data.get("aliases", ())),
            supported_languages=tuple(data.get("supported_languages", ())),
            supported_models=tuple(data.get("supported_models", ())),
            features=frozenset(data.get("features", ())),
            extra=dict(data.get("extra", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> ProviderMetadata:
        return cls.from_dict(json.loads(text))
