"""Name resolution through the build-time perfect hash.

:func:`resolve` is the native ``waav._native._phf.resolve`` itself (no Python wrapper: a
lookup costs one C call) unless ``WAAV_NO_EXTENSIONS=1`` or the extension is not built, in
which case it is the dict-based twin :func:`waav.plugin._phf_py.resolve`.
"""

from __future__ import annotations

from types import ModuleType

from waav._compat import load_native
from waav.plugin import _phf_py

__all__ = ["IMPLEMENTATION", "PHF", "canonical_ids", "resolve"]

#: The module the lookup comes from (the native table or the pure twin).
PHF: ModuleType = load_native("_phf") or _phf_py
IMPLEMENTATION: str = PHF.__name__

resolve = PHF.resolve
canonical_ids = PHF.canonical_ids
