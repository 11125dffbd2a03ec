"""PCM conversion kernels: int16<->float32, G.711 µ-law/A-law, channel mixing, gain, levels.

Native (``waav._native._pcm``) unless ``WAAV_NO_EXTENSIONS=1`` or the extension is not
built, in which case the pure twin :mod:`waav.audio._pcm_py` runs; both behave the same.
Small frames (20 ms) cost well under a microsecond, so call these inline on the event loop.
"""

from __future__ import annotations

from types import ModuleType

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

int16_to_float32 = _impl.int16_to_float32
float32_to_int16 = _impl.float32_to_int16
ulaw_encode = _impl.ulaw_encode
ulaw_decode = _impl.ulaw_decode
alaw_encode = _impl.alaw_encode
alaw_decode = _impl.alaw_decode
stereo_to_mono = _impl.stereo_to_mono
mono_to_stereo = _impl.mono_to_stereo
apply_gain = _impl.apply_gain
rms_dbfs = _impl.rms_dbfs
peak_dbfs = _impl.peak_dbfs
