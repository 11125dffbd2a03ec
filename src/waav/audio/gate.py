"""Noise gates: the stateless threshold gate and the click-free streaming :class:`NoiseGate`.

Native (``waav._native._gate``) unless ``WAAV_NO_EXTENSIONS=1``; the pure twin is
:mod:`waav.audio._gate_py`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from waav._compat import load_native
from waav.audio import _gate_py

__all__ = ["IMPLEMENTATION", "NoiseGate", "noise_gate"]

_impl: ModuleType = load_native("_gate") or _gate_py

#: The module the names below come from (a native build or the pure twin).
IMPLEMENTATION: str = _impl.__name__

noise_gate: Callable[[Any, float], bytes] = _impl.noise_gate
NoiseGate: type[_gate_py.NoiseGate] = _impl.NoiseGate  # the twin's class documents the interface
