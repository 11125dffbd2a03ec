"""waav's public audio API: native kernels with pure-Python twins.

Every function accepts bytes-like PCM (``bytes``, ``bytearray``, ``memoryview``) or numpy
arrays, validates it, and raises :class:`waav.AudioFormatError` (a ``ValueError``) with a
message naming the problem. Empty input gives empty output.
"""

from __future__ import annotations

from waav._compat import native_modules
from waav.audio.gate import NoiseGate, noise_gate
from waav.audio.pcm import (
    alaw_decode,
    alaw_encode,
    apply_gain,
    float32_to_int16,
    int16_to_float32,
    mono_to_stereo,
    peak_dbfs,
    rms_dbfs,
    stereo_to_mono,
    ulaw_decode,
    ulaw_encode,
)
from waav.audio.resample import Resampler, resample
from waav.audio.vad import VadEvent, VadSegmenter, frame_decisions

__all__ = [
    "NoiseGate",
    "Resampler",
    "VadEvent",
    "VadSegmenter",
    "alaw_decode",
    "alaw_encode",
    "apply_gain",
    "float32_to_int16",
    "frame_decisions",
    "implementation",
    "int16_to_float32",
    "mono_to_stereo",
    "noise_gate",
    "peak_dbfs",
    "resample",
    "rms_dbfs",
    "stereo_to_mono",
    "ulaw_decode",
    "ulaw_encode",
]


def implementation() -> dict[str, str]:
    """Map each kernel module to what runs it: a native build's module name, or ``"python"``."""
    return {name: loaded or "python" for name, loaded in native_modules().items()}
