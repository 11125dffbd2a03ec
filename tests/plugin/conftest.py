"""Fixtures of the plugin tests: both lookup implementations, a fresh registry."""

from __future__ import annotations

from types import ModuleType

import pytest

from waav._compat import NO_EXTENSIONS, load_native
from waav.plugin import PluginRegistry, _phf_py

PHF_IMPLS: list[tuple[str, ModuleType]] = [("py", _phf_py)]
if not NO_EXTENSIONS:
    _native = load_native("_phf")
    if _native is not None:
        PHF_IMPLS.append(("native", _native))


@pytest.fixture(params=[m for _, m in PHF_IMPLS], ids=[i for i, _ in PHF_IMPLS])
def phf(request: pytest.FixtureRequest) -> ModuleType:
    """The name lookup: the pure dict twin, then the native perfect hash."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def registry() -> PluginRegistry:
    """A fresh registry with the built-ins (catalog + native processors), no entry points."""
    return PluginRegistry()
