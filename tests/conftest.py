"""Shared fixtures: every test of a kernel runs against the pure twin and each native build."""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest

from waav._compat import NO_EXTENSIONS, isa_levels, load_native
from waav.audio import _gate_py, _pcm_py, _resample_py, _vad_py
from waav.audio.vad import _install_factories as _install_vad_factories


def _implementations(name: str, twin: ModuleType) -> list[tuple[str, ModuleType]]:
    impls = [("py", twin)]
    if not NO_EXTENSIONS:
        for level in isa_levels():
            module = load_native(name, level)
            if module is not None:
                impls.append((f"native-{level}" if level else "native", module))
    return impls


PCM_IMPLS = _implementations("_pcm", _pcm_py)
GATE_IMPLS = _implementations("_gate", _gate_py)
RESAMPLE_IMPLS = _implementations("_resample", _resample_py)
VAD_IMPLS = _implementations("_vad", _vad_py)
for _, _module in VAD_IMPLS:  # every ISA build gets the resampler and Silero hooks
    _install_vad_factories(_module)


@pytest.fixture(params=[m for _, m in PCM_IMPLS], ids=[i for i, _ in PCM_IMPLS])
def pcm(request: pytest.FixtureRequest) -> ModuleType:
    """A PCM kernel module: the pure twin, then every native ISA build this CPU runs."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[m for _, m in GATE_IMPLS], ids=[i for i, _ in GATE_IMPLS])
def gate(request: pytest.FixtureRequest) -> ModuleType:
    """A noise-gate module: the pure twin, then every native ISA build this CPU runs."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[m for _, m in RESAMPLE_IMPLS], ids=[i for i, _ in RESAMPLE_IMPLS])
def rsm(request: pytest.FixtureRequest) -> ModuleType:
    """A resampler module: the pure twin, then every native ISA build this CPU runs."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[m for _, m in VAD_IMPLS], ids=[i for i, _ in VAD_IMPLS])
def vad(request: pytest.FixtureRequest) -> ModuleType:
    """A VAD module: the pure twin, then every native ISA build this CPU runs."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def native_pcm() -> list[ModuleType]:
    """The native PCM builds (empty in a pure run)."""
    return [m for i, m in PCM_IMPLS if i != "py"]


@pytest.fixture(scope="session")
def audioop() -> ModuleType:
    """CPython's audioop (stdlib up to 3.12, ``audioop-lts`` after): the G.711 oracle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as mod
    return mod


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)
