"""PCM conversion kernels: int16<->float32, G.711 µ-law/A-law, channel mixing, gain, levels.

Native (``waav._native._pcm``) unless ``WAAV_NO_EXTENSIONS=1`` or the extension is not
built, in which case the pure twin :mod:`waav.audio._pcm_py` runs; both behave the same.
Small frames (20 ms) cost well under a microsecond, so call these inline on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from waav._compat import load_native
from waav.audio import _pcm_py

__all__ = [
    "IMPLEMENTATION",
    "alaw_decode",
    "alaw_encode",
    "apply_gain",
    "float32_to_int16",
    "int16_to_float32",
    "mono_to_stereo",
    "peak_dbfs",
    "rms_dbfs",
    "stereo_to_mono",
    "ulaw_decode",
    "ulaw_encode",
]

_impl: ModuleType = load_native("_pcm") or _pcm_py

#: The module the functions below come from (a native build or the pure twin).
IMPLEMENTATION: str = _impl.__name__

# Annotated here so users (and mypy) see the signatures whichever implementation runs.
int16_to_float32: Callable[[Any], npt.NDArray[np.float32]] = _impl.int16_to_float32
float32_to_int16: Callable[[Any], bytes] = _impl.float32_to_int16
ulaw_encode: Callable[[Any], bytes] = _impl.ulaw_encode
ulaw_decode: Callable[[Any], bytes] = _impl.ulaw_decode
alaw_encode: Callable[[Any], bytes] = _impl.alaw_encode
alaw_decode: Callable[[Any], bytes] = _impl.alaw_decode
stereo_to_mono: Callable[[Any], bytes] = _impl.stereo_to_mono
mono_to_stereo: Callable[[Any], bytes] = _impl.mono_to_stereo
apply_gain: Callable[[Any, float], bytes] = _impl.apply_gain
rms_dbfs: Callable[[Any], float] = _impl.rms_dbfs
peak_dbfs: Callable[[Any], float] = _impl.peak_dbfs
