"""Sample-rate conversion: the streaming :class:`Resampler` and one-shot :func:`resample`.

Native (``waav._native._resample``, polyphase windowed-sinc FIR) unless
``WAAV_NO_EXTENSIONS=1``; the pure twin is :mod:`waav.audio._resample_py`. A 20 ms chunk
costs a few microseconds: call ``Resampler.process`` inline on the event loop. Whole
files release the GIL, so they can go to a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from waav._compat import load_native
from waav.audio import _resample_py

__all__ = ["IMPLEMENTATION", "QUALITIES", "Resampler", "resample"]

_impl: ModuleType = load_native("_resample") or _resample_py

#: The module the names below come from (a native build or the pure twin).
IMPLEMENTATION: str = _impl.__name__

#: The quality presets: "voip", "hq" (the default) and "vhq".
QUALITIES: tuple[str, ...] = tuple(_resample_py.QUALITIES)

Resampler: type[_resample_py.Resampler] = _impl.Resampler  # the twin's class documents the interface
resample: Callable[..., Any] = _impl.resample
