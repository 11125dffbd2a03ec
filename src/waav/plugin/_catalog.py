"""The built-in provider catalog at run time (read from the generated ``_catalog.json``).

``providers/catalog.json`` is the single source of truth; ``providers/gen_phf.py`` copies it
into the package as ``waav/plugin/_catalog.json`` at build time (pure builds included) and
compiles its names into the native perfect hash. This module turns it into
:class:`CatalogEntry` records with ready-made :class:`~waav.plugin.ProviderMetadata`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from waav.plugin.metadata import PluginKind, ProviderMetadata

__all__ = ["CATALOG_SHA256", "KINDS", "CatalogEntry", "CredentialSpec", "catalog", "catalog_entry"]


@dataclass(frozen=True)
class CredentialSpec:
    """Where one credential of a provider comes from: config option, env var, YAML key."""

    option: str
    env: str
    yaml: str
    default: str | None = None


@dataclass(frozen=True)
class CatalogEntry:
    kind: PluginKind
    id: str
    aliases: tuple[str, ...]
    transport: str
    base_url: str
    credentials: tuple[CredentialSpec, ...]
    metadata: ProviderMetadata


def _load() -> dict[str, Any]:
    try:
        text = resources.files("waav.plugin").joinpath("_catalog.json").read_text(encoding="utf-8")
    except FileNotFoundError:  # pragma: no cover - only in a source tree that was never built
        raise ImportError(
            "waav/plugin/_catalog.json is missing: it is generated from providers/catalog.json at "
            "build time; reinstall waav (pip install .) or run python providers/gen_phf.py"
        ) from None
    data: dict[str, Any] = json.loads(text)
    return data


def _entry(p: dict[str, Any]) -> CatalogEntry:
    kind = PluginKind(p["kind"])
    creds = tuple(
        CredentialSpec(c["option"], c["env"], c["yaml"], c.get("default")) for c in p["credentials"]
    )
    meta = (
        ProviderMetadata.for_kind(kind, p["id"], p["display_name"])
        .with_description(p["description"])
        .with_aliases(p["aliases"])
        .with_features(p["features"])
        .with_languages(p["languages"])
        .with_models(p["models"])
        .with_required_config(p["required_config"])
        .with_optional_config(p["optional_config"])
        .with_extra(
            builtin=True,
            transport=p["transport"],
            base_url=p["base_url"],
            credential_env={c.option: c.env for c in creds},
        )
    )
    return CatalogEntry(kind, p["id"], tuple(p["aliases"]), p["transport"], p["base_url"], creds, meta)


_DATA = _load()
#: SHA-256 of the providers/catalog.json the package was built from.
CATALOG_SHA256: str = _DATA["catalog_sha256"]
#: Plugin kinds in the perfect hash's id order.
KINDS: tuple[str, ...] = tuple(_DATA["kinds"])
_ENTRIES: tuple[CatalogEntry, ...] = tuple(_entry(p) for p in _DATA["providers"])
_BY_ID: dict[tuple[str, str], CatalogEntry] = {(e.kind.value, e.id): e for e in _ENTRIES}


def catalog(kind: PluginKind | str | None = None) -> list[CatalogEntry]:
    """The built-in entries, in catalog order (optionally of one kind)."""
    if kind is None:
        return list(_ENTRIES)
    k = PluginKind.parse(kind).value
    return [e for e in _ENTRIES if e.kind.value == k]


def catalog_entry(kind: PluginKind | str, provider_id: str) -> CatalogEntry | None:
    """The entry of a canonical id, or None."""
    return _BY_ID.get((PluginKind.parse(kind).value, provider_id))
