"""Pure-Python twin of :mod:`waav._native._phf`: the same names and answers, from a dict.

It is the specification of the native lookup: ``resolve(kind, name)`` is
``table[kind].get(name.lower())`` restricted to ASCII names (the native table lower-cases
ASCII only, so a non-ASCII name such as the Kelvin sign ``"\\u212a"`` must not match via
``str.lower``).
"""

from __future__ import annotations

import sys

from waav.plugin._catalog import CATALOG_SHA256, KINDS, catalog

__all__ = ["CATALOG_SHA256", "KINDS", "MAX_KEY_LEN", "canonical_ids", "entries", "resolve"]

_TABLES: dict[str, dict[str, str]] = {k: {} for k in KINDS}
_CANON: dict[str, list[str]] = {k: [] for k in KINDS}
for _e in catalog():
    _cid = sys.intern(_e.id)
    _CANON[_e.kind.value].append(_cid)
    for _name in (_e.id, *_e.aliases):
        _TABLES[_e.kind.value][_name] = _cid
del _e, _cid, _name

#: Longest catalog name.
MAX_KEY_LEN: int = max(len(n) for t in _TABLES.values() for n in t)


def _table(kind: str) -> dict[str, str]:
    table = _TABLES.get(kind) if isinstance(kind, str) else None
    if table is None:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(KINDS)}")
    return table


def resolve(kind: str, name: str) -> str | None:
    """Canonical id of ``name`` among the catalog's ``kind`` names (ids and aliases), or None."""
    table = _table(kind)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not name.isascii():
        return None
    return table.get(name.lower())


def entries() -> list[tuple[str, str, str]]:
    """Every (kind, name, canonical id) of the catalog."""
    return [(k, n, c) for k, t in _TABLES.items() for n, c in t.items()]


def canonical_ids(kind: str) -> list[str]:
    """The canonical ids of one kind, in catalog order."""
    _table(kind)
    return list(_CANON[kind])
