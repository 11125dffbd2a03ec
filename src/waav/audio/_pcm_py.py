"""Pure-Python/numpy twin of ``waav._native._pcm``: the readable spec and the test oracle.

Every function here has the same name, signature, validation and result as its native
counterpart; tests assert they agree exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from waav._exceptions import AudioFormatError
from waav.audio._buffers import as_float, as_int16, as_raw, as_real

__all__ = [
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


# --- G.711 (ITU-T G.711), scalar definitions ------------------------------------------
# Like CPython's audioop at width 2, µ-law encodes the top 14 bits (s >> 2) and A-law the
# top 13 bits (s >> 3) of the 16-bit sample.


def _ulaw_from14(v: int) -> int:
    mask = 0x7F if v < 0 else 0xFF
    v = min(abs(v), 8159) + 33  # clip the magnitude, add the bias (0x84 >> 2)
    seg = 0
    while seg < 8 and v >= (0x40 << seg):  # segment end points 0x3F, 0x7F, ... 0x1FFF
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask


def _alaw_from13(v: int) -> int:
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    seg = 0
    while seg < 8 and v >= (0x20 << seg):  # segment end points 0x1F, 0x3F, ... 0xFFF
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    shift = 1 if seg < 2 else seg
    return ((seg << 4) | ((v >> shift) & 0xF)) ^ mask


def _ulaw_to16(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _alaw_to16(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


# Tables indexed like the native ones: encoders by the shifted sample plus an offset.
_ULAW_ENC = np.array([_ulaw_from14(v) for v in range(-8192, 8192)], dtype=np.uint8)
_ALAW_ENC = np.array([_alaw_from13(v) for v in range(-4096, 4096)], dtype=np.uint8)
_ULAW_DEC = np.array([_ulaw_to16(c) for c in range(256)], dtype="<i2")
_ALAW_DEC = np.array([_alaw_to16(c) for c in range(256)], dtype="<i2")


def int16_to_float32(data: Any) -> npt.NDArray[np.float32]:
    """Convert int16 PCM to float32 samples in [-1, 1): ``x / 32768`` (exact)."""
    x = as_int16(data, "data").astype(np.float32)
    x /= np.float32(32768.0)
    return x


def float32_to_int16(samples: Any) -> bytes:
    """Scale by 32768, round half to even, saturate to int16, NaN -> 0; return PCM bytes."""
    x = as_float(samples, "samples")
    with np.errstate(over="ignore", invalid="ignore"):  # inf saturates, NaN becomes 0 below
        v = np.multiply(x, 32768.0, dtype=x.dtype)  # in the input precision, like the native kernel
    v = np.clip(np.where(np.isnan(v), 0, v), -32768.0, 32767.0)
    return bytes(np.rint(v).astype("<i2"))


def ulaw_encode(pcm16: Any) -> bytes:
    """Encode int16 PCM to G.711 µ-law, one byte per sample."""
    x = as_int16(pcm16, "pcm16").astype(np.int32)
    return bytes(_ULAW_ENC[(x >> 2) + 8192])


def alaw_encode(pcm16: Any) -> bytes:
    """Encode int16 PCM to G.711 A-law, one byte per sample."""
    x = as_int16(pcm16, "pcm16").astype(np.int32)
    return bytes(_ALAW_ENC[(x >> 3) + 4096])


def ulaw_decode(data: Any) -> bytes:
    """Decode G.711 µ-law bytes to little-endian int16 PCM."""
    return _ULAW_DEC[as_raw(data, "data")].tobytes()


def alaw_decode(data: Any) -> bytes:
    """Decode G.711 A-law bytes to little-endian int16 PCM."""
    return _ALAW_DEC[as_raw(data, "data")].tobytes()


def stereo_to_mono(pcm16: Any) -> bytes:
    """Mix interleaved stereo int16 PCM to mono: ``floor((L + R) / 2)`` per frame."""
    x = as_int16(pcm16, "pcm16")
    if x.size % 2:
        raise AudioFormatError(
            f"stereo pcm16 has {x.size} samples, not a whole number of frames (2 samples each)"
        )
    pairs = x.reshape(-1, 2).astype(np.int32)
    return ((pairs[:, 0] + pairs[:, 1]) >> 1).astype("<i2").tobytes()


def mono_to_stereo(pcm16: Any) -> bytes:
    """Duplicate mono int16 PCM into interleaved stereo (L = R = input)."""
    return np.repeat(as_int16(pcm16, "pcm16"), 2).tobytes()


def apply_gain(pcm16: Any, gain: float) -> bytes:
    """Multiply int16 PCM by ``gain`` (float64 math), round half to even, saturate."""
    g = as_real(gain, "gain")
    if not math.isfinite(g):
        raise AudioFormatError(f"gain must be a finite number, got {gain!r}")
    x = as_int16(pcm16, "pcm16").astype(np.float64)
    return np.rint(np.clip(x * g, -32768.0, 32767.0)).astype("<i2").tobytes()


def rms_dbfs(pcm16: Any) -> float:
    """RMS level in dB relative to full scale (32768); -inf for silence or empty input."""
    x = as_int16(pcm16, "pcm16").astype(np.int64)
    ss = int(np.dot(x, x))  # exact integer sum of squares
    if ss == 0:
        return -math.inf
    return 10.0 * math.log10(ss / x.size / 1073741824.0)  # 1073741824 = 32768**2


def peak_dbfs(pcm16: Any) -> float:
    """Peak level in dB relative to full scale (32768); -inf for silence or empty input."""
    x = as_int16(pcm16, "pcm16")
    peak = int(np.abs(x.astype(np.int32)).max()) if x.size else 0
    if peak == 0:
        return -math.inf
    return 20.0 * math.log10(peak / 32768.0)
