"""Pure-Python/numpy twin of ``waav._native._resample``: the readable spec and the test oracle.

The resampler is a polyphase FIR: a Kaiser-windowed sinc, designed once per
(ratio, quality) and cached, is evaluated at the exact rational positions of the output
samples. Everything below (filter design, sample accounting, summation order) is what the
native module does too, so both give identical int16 output and float32 output equal to
the last bit.

Sample accounting
-----------------
With ``g = gcd(in_rate, out_rate)``, ``L = out_rate / g`` and ``M = in_rate / g``, output
sample ``j`` is the band-limited input at input position ``j * M / L``: the output is
aligned with the input, like soxr's. Computing it needs ``K2`` input frames beyond that
position, so a stream holds back ``D = ceil(K2 * L / M)`` output frames: after ``N`` input
frames it has returned exactly ``max(0, ceil(N * L / M) - D)`` frames, whatever the chunk
sizes, and ``last=True`` returns the rest, for ``ceil(N * L / M)`` in all -- the samples
:func:`resample` returns. ``delay = D / out_rate`` seconds is the algorithmic delay: once
the first ``D`` are out, each chunk of ``c`` input frames returns ``c * L / M`` frames
(rounded the same way every time: never an empty 20 ms chunk).

Filter
------
Output ``j`` reads ``K`` consecutive input frames ``n - K1 + 1 … n + K2`` where
``n = floor((j - D) * M / L)``; its weights are the kernel at ``t = (j - D) * M / L - i``:
``h(t) = sinc(2 fc u) · I0(β √(1 - (u / H)²)) / I0(β)`` with ``u = t · min(L, M) / M``
the time in samples of the lower rate. Each phase's weights are normalised to unit DC
gain, then rounded to float32. ``K`` is a multiple of 16: the dot product runs in 16
float32 lanes (lane ``l`` sums taps ``l, l + 16, …`` in order), then the lanes are added
pairwise (8, 4, 2, 1). When ``L`` is too large for a table of ``L`` phases (unusual rate
pairs), the table holds ``P`` phases and the weights are interpolated linearly between
the two nearest ones.

Presets (low-rate samples; measured numbers are in the README and ``resample_quality``):

======  ===========  =========  =====  ======  =====================================
preset  half-width H  cutoff fc  β      phases  design target
======  ===========  =========  =====  ======  =====================================
voip    25           0.448      8.15   1024    passband ±0.01 dB to 0.80, stop ≥ 80 dB
hq      61           0.473      10.3   1024    passband ±0.01 dB to 0.90, stop ≥ 100 dB
vhq     79           0.4715     14.1   4096    passband ±0.01 dB to 0.90, stop ≥ 130 dB
======  ===========  =========  =====  ======  =====================================

Measured with float32 I/O over 48k→16k, 8k→16k, 44.1k→16k, 24k↔16k and 16k→48k
(``benchmarks/resample_quality.py``; worst case over the pairs):

======  ==================  ========  ===========  ==========================
preset  passband            stopband  SINAD 1 kHz  delay 48k→16k / 8k→16k
======  ==================  ========  ===========  ==========================
voip    -0.0079…+0.0006 dB  -84.7 dB  90.6 dB      1.56 ms / 3.12 ms
hq      -0.0082…0 dB        -103.3 dB 113.6 dB     3.81 ms / 7.62 ms
vhq     -0.0086…0 dB        -133.7 dB 131.4 dB     4.94 ms / 9.88 ms
======  ==================  ========  ===========  ==========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from waav._exceptions import AudioFormatError

__all__ = ["MAX_RATE", "QUALITIES", "Resampler", "resample"]

#: Highest sample rate accepted, in Hz.
MAX_RATE = 384_000
MAX_CHANNELS = 64
MAX_TAPS = 1 << 16  # taps per output: caps the ratio (48 kHz -> 8 Hz would need 700 000)

#: Preset name -> (half-width H in low-rate samples, cutoff fc in cycles per low-rate
#: sample, Kaiser β, interpolated-table phases per low-rate sample).
QUALITIES: dict[str, tuple[float, float, float, int]] = {
    "voip": (25.0, 0.448, 8.15, 1024),
    "hq": (61.0, 0.473, 10.3, 1024),
    "vhq": (79.0, 0.4715, 14.1, 4096),
}

LANES = 16  # float32 lanes of the dot product (one AVX-512 register)
EXACT_TABLE_MAX = 1 << 18  # up to this many weights, one table row per phase (no interpolation)
SEQ_MAX_L, SEQ_MAX_M = 16, 64  # few phases, short period: taps summed in order (see _dot_seq)
I0_TERMS = 48  # power-series terms of I0; enough for β <= 20

_F32 = np.float32


# --- filter design: only IEEE-exact operations (+ - * / sqrt floor), so that the native
# --- module, which runs the same operations in the same order in C, gets the same table.

_SIN_COEF = [(-1.0) ** k / math.factorial(2 * k + 1) for k in range(13)]  # Taylor, y**(2k+1)


def _sinpi(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """sin(pi x) from a Taylor polynomial after reduction to |r| <= 1/2 (accurate to ~1e-16)."""
    k = np.floor(x + 0.5)
    r = x - k
    y = r * math.pi
    y2 = y * y
    s = np.full_like(x, _SIN_COEF[12])
    for c in reversed(_SIN_COEF[:12]):
        s = s * y2 + c
    s = s * y
    odd = np.floor(k * 0.5) * 2.0 != k
    return np.where(odd, -s, s)


def _i0(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Modified Bessel function I0 by its power series, a fixed number of terms."""
    q = (x * 0.5) * (x * 0.5)
    term = np.ones_like(x)
    total = np.ones_like(x)
    for k in range(1, I0_TERMS + 1):
        term = term * q / float(k * k)
        total = total + term
    return total


@dataclass(frozen=True)
class _Filter:
    L: int  # output samples per M input samples (reduced ratio)
    M: int
    K: int  # taps per output sample (multiple of LANES)
    K1: int  # taps at or before the output position
    K2: int  # taps after it (look-ahead)
    D: int  # algorithmic delay in output samples
    P: int  # table phases per input sample (== L when exact)
    exact: bool
    seq: bool  # summation order: taps in order (True), or 16 lanes + pairwise tree
    table: npt.NDArray[np.float32]  # (P, K) exact, (P + 1, K) interpolated
    diff: npt.NDArray[np.float32] | None  # table[r + 1] - table[r] (interpolated only)


def _geometry(L: int, M: int, quality: str) -> tuple[int, int, int, int, int, bool, float]:
    half, _fc, _beta, phases_lo = QUALITIES[quality]
    s = min(L, M) / M  # low-rate samples per input sample
    h_in = half / s  # kernel half-width in input samples
    K2 = math.ceil(h_in)
    K = -(-(K2 + math.floor(h_in) + 1) // LANES) * LANES
    K1 = K - K2
    D = -(-(K2 * L) // M)
    p_interp = -(-(phases_lo * min(L, M)) // M)
    exact = p_interp >= L or L * K <= EXACT_TABLE_MAX
    P = L if exact else p_interp
    return K, K1, K2, D, P, exact, s


@lru_cache(maxsize=64)
def _design(L: int, M: int, quality: str) -> _Filter:
    half, fc, beta, _ = QUALITIES[quality]
    K, K1, K2, D, P, exact, s = _geometry(L, M, quality)
    rows = P if exact else P + 1
    phi = np.arange(rows, dtype=np.float64) / float(P)  # fractional position of each row
    taps = np.arange(K1 - 1, K1 - 1 - K, -1, dtype=np.float64)  # K1 - 1 - m
    t = taps[None, :] + phi[:, None]  # kernel argument in input samples
    u = t * s  # ... in low-rate samples
    v = u / half
    inside = 1.0 - v * v
    z = u * (2.0 * fc)
    zero = z == 0.0
    sinc = np.where(zero, 1.0, _sinpi(z) / np.where(zero, 1.0, z * math.pi))
    window = _i0(np.sqrt(np.maximum(inside, 0.0)) * beta) / _i0(np.array([beta]))[0]
    h = np.where(inside > 0.0, sinc * window, 0.0)
    dc = np.add.accumulate(h, axis=1)[:, -1]  # sequential sum per row (the native order)
    table = (h / dc[:, None]).astype(_F32)
    diff = None if exact else (table[1:] - table[:-1])
    table.setflags(write=False)
    if diff is not None:
        diff.setflags(write=False)
    seq = exact and L <= SEQ_MAX_L and M <= SEQ_MAX_M
    return _Filter(L, M, K, K1, K2, D, P, exact, seq, table, diff)


# --- validation ---------------------------------------------------------------------------


def _check_rate(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AudioFormatError(f"{name} must be a positive integer number of Hz, got {value!r}")
    if not 0 < value <= MAX_RATE:
        raise AudioFormatError(f"{name} must be in 1..{MAX_RATE} Hz, got {value!r}")
    return int(value)


def _check_channels(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AudioFormatError(f"channels must be a positive integer, got {value!r}")
    if not 0 < value <= MAX_CHANNELS:
        raise AudioFormatError(f"channels must be in 1..{MAX_CHANNELS}, got {value!r}")
    return int(value)


def _check_quality(value: Any) -> str:
    q = value.lower() if isinstance(value, str) else None
    if q not in QUALITIES:
        raise AudioFormatError(f'quality must be one of "voip", "hq", "vhq", got {value!r}')
    return q


def _dtype_name(value: Any) -> str:
    if isinstance(value, str):
        name = value
    else:
        try:
            name = np.dtype(value).name
        except TypeError:
            name = repr(value)
    if name not in ("int16", "float32"):
        raise AudioFormatError(f'dtype must be "int16" or "float32", got {value!r}')
    return name


_RAW_FORMATS = {"B", "b", "c"}


def _samples(chunk: Any, dtype: str | None, channels: int, what: str) -> tuple[np.ndarray, bool, int, str]:
    """View ``chunk`` as a flat interleaved array of ``dtype`` (None: infer int16/float32).

    Returns (samples, is_ndarray, ndim, dtype).
    """
    if isinstance(chunk, np.ndarray):
        if not chunk.flags.c_contiguous:
            raise AudioFormatError(
                f"{what} is not a C-contiguous buffer; pass numpy.ascontiguousarray(x) or bytes(x)"
            )
        name = chunk.dtype.name if chunk.dtype.byteorder in "=|<" else "big-endian " + chunk.dtype.name
        if dtype is None:
            if name not in ("int16", "float32"):
                raise AudioFormatError(f"{what} must be int16 or float32 samples, got dtype {chunk.dtype}")
            dtype = name
        elif name != dtype:
            raise AudioFormatError(f"{what} has dtype {chunk.dtype}, but the stream's dtype is {dtype}")
        if chunk.ndim == 2:
            if chunk.shape[1] != channels:
                raise AudioFormatError(
                    f"{what} has shape {chunk.shape}: a 2-D chunk must be (frames, {channels}) "
                    f"for {channels} channel(s)"
                )
        elif chunk.ndim != 1:
            raise AudioFormatError(f"{what} must be 1-D (interleaved) or 2-D (frames, channels)")
        flat = chunk.reshape(-1)
        if flat.size % channels:
            raise AudioFormatError(
                f"{what} has {flat.size} samples, not a whole number of {channels}-channel frames"
            )
        return flat, True, chunk.ndim, dtype
    try:
        view = memoryview(chunk)
    except TypeError:
        raise AudioFormatError(
            f"{what} must be a bytes-like object or a numpy array, got {type(chunk).__name__}"
        ) from None
    if not view.c_contiguous:
        raise AudioFormatError(
            f"{what} is not a C-contiguous buffer; pass numpy.ascontiguousarray(x) or bytes(x)"
        )
    fmt = view.format.lstrip("@=<")
    kind = {"h": "int16", "f": "float32"}.get(fmt, "raw" if fmt in _RAW_FORMATS else "other")
    if kind == "other" or (dtype is not None and kind not in ("raw", dtype)):
        want = dtype or "int16 or float32"
        raise AudioFormatError(
            f"{what} must be {want} samples or raw bytes, got buffer format {view.format!r}"
        )
    if dtype is None:
        dtype = "int16" if kind == "raw" else kind
    width = 2 if dtype == "int16" else 4
    if view.nbytes % (width * channels):
        raise AudioFormatError(
            f"{what} has {view.nbytes} bytes, not a whole number of {channels}-channel {dtype} frames "
            f"({width * channels} bytes each)"
        )
    return np.frombuffer(view.cast("B"), dtype="<i2" if dtype == "int16" else "<f4"), False, 1, dtype


def _to_float(x: np.ndarray) -> npt.NDArray[np.float32]:
    f: npt.NDArray[np.float32] = x.astype(_F32, copy=False)
    if x.dtype.kind == "i":
        f = f * _F32(1.0 / 32768.0)  # exact: a power of two
    return f


def _to_int16(y: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    """Scale by 32768, saturate, round half to even, NaN -> 0 (like ``float32_to_int16``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = y * _F32(32768.0)
    v = np.where(np.isnan(v), _F32(0), v)
    v = np.clip(v, _F32(-32768.0), _F32(32767.0))
    out: npt.NDArray[np.int16] = np.rint(v).astype("<i2")
    return out


def _wrap(y: np.ndarray, like_ndarray: bool, ndim: int, channels: int) -> Any:
    if like_ndarray:
        return y.reshape(-1, channels) if ndim == 2 else y.reshape(-1)
    return y.tobytes()


# --- the streaming resampler --------------------------------------------------------------


class Resampler:
    """Streaming polyphase resampler from ``in_rate`` to ``out_rate`` Hz.

    Parameters
    ----------
    in_rate, out_rate : int
        Sample rates in Hz, 1 … 384000. Equal rates pass samples through unchanged.
    channels : int
        Interleaved channels per frame (1 … 64).
    dtype : {"int16", "float32"}
        Sample type of the chunks (int16 is little-endian PCM).
    quality : {"voip", "hq", "vhq"}
        Filter preset (measured, float32 I/O, worst over six common pairs): ``"hq"`` is flat
        within -0.0082 dB to 0.90 of the lower Nyquist, stops ≥ 103 dB above it, SINAD
        ≥ 113 dB, delay 3.8 ms at 48k→16k and 7.6 ms at 8k→16k; ``"vhq"`` stops ≥ 133 dB,
        SINAD ≥ 131 dB, 4.9 / 9.9 ms; ``"voip"`` is flat to 0.80, stops ≥ 84 dB, 1.6 / 3.1 ms.

    Notes
    -----
    ``process`` returns ``bytes`` for bytes-like input and an ndarray (same ndim:
    interleaved 1-D or ``(frames, channels)``) for ndarray input. The output is aligned with
    the input and held back by :attr:`delay` seconds: after ``N`` input frames the stream
    has returned exactly ``max(0, ceil(N * out_rate / in_rate) - delay * out_rate)``
    frames, whatever the chunk sizes, and ``last=True`` (or :meth:`flush`) returns the
    rest: ``ceil(N * out_rate / in_rate)`` in all, the samples of :func:`resample`. One
    instance per stream; not safe to share between threads.
    """

    def __init__(
        self,
        in_rate: int,
        out_rate: int,
        channels: int = 1,
        dtype: str = "int16",
        quality: str = "hq",
    ) -> None:
        self.in_rate = _check_rate(in_rate, "in_rate")
        self.out_rate = _check_rate(out_rate, "out_rate")
        self.channels = _check_channels(channels)
        self.dtype = _dtype_name(dtype)
        self.quality = _check_quality(quality)
        g = math.gcd(self.in_rate, self.out_rate)
        self._L, self._M = self.out_rate // g, self.in_rate // g
        self._filter = None
        if self._L != self._M:
            taps = _geometry(self._L, self._M, self.quality)[0]
            if taps > MAX_TAPS:
                raise AudioFormatError(
                    f"{self.in_rate} Hz -> {self.out_rate} Hz is too large a ratio: the filter would "
                    f"need {taps} taps per output sample (at most {MAX_TAPS})"
                )
            self._filter = _design(self._L, self._M, self.quality)
        self.reset()

    @property
    def delay(self) -> float:
        """Algorithmic delay of the stream output, in seconds (0 for equal rates)."""
        return 0.0 if self._filter is None else self._filter.D / self.out_rate

    def reset(self) -> None:
        """Forget all input (e.g. on barge-in) and start a new stream."""
        self._frames_in = 0  # input frames consumed
        self._done = False
        self._last_ndim = 0
        f = self._filter
        if f is not None:
            # Output j is computed once ceil(frames_in * L / M) > j + D (the "stream index"
            # j + D starts at D); zeros stand for the input before the stream started.
            self._emitted = f.D  # stream index of the next output
            self._hist_start = -f.K1 + 1
            self._hist = np.zeros((self.channels, f.K1 - 1), _F32)

    def process(self, chunk: Any, last: bool = False) -> Any:
        """Resample one chunk; ``last=True`` also returns the held-back tail and ends the stream."""
        x, is_nd, ndim, _ = _samples(chunk, self.dtype, self.channels, "chunk")
        self._last_ndim = ndim if is_nd else 0
        if self._done:
            raise AudioFormatError(
                "the stream has ended (last=True or flush() was called); call reset() to start a new one"
            )
        self._done = bool(last)
        if self._filter is None:  # equal rates: pass through
            if isinstance(chunk, (bytes, np.ndarray)):
                return chunk
            return x.tobytes()
        f = self._filter
        frames = x.size // self.channels
        self._frames_in += frames
        target = -(-(self._frames_in * f.L) // f.M)
        if last:
            target += f.D
        planar = _to_float(x).reshape(frames, self.channels).T
        self._hist = np.concatenate([self._hist, planar], axis=1)
        if last:  # zeros after the end, as far as the last output's window reaches
            n_last = ((target - 1 - f.D) * f.M) // f.L
            need = n_last + f.K2 + 1 - (self._hist_start + self._hist.shape[1])
            if need > 0:
                self._hist = np.concatenate([self._hist, np.zeros((self.channels, need), _F32)], axis=1)
        y = self._run(self._emitted, max(target, self._emitted))
        self._emitted = max(target, self._emitted)
        keep = ((self._emitted - f.D) * f.M) // f.L - f.K1 + 1 - self._hist_start
        if keep > 0:
            self._hist = self._hist[:, keep:].copy()
            self._hist_start += keep
        out = _to_int16(y) if self.dtype == "int16" else y
        return _wrap(out.reshape(-1), is_nd, ndim, self.channels)

    def flush(self) -> Any:
        """Return the held-back tail and end the stream (``process(empty, last=True)``).

        The tail has the type of the last chunk (bytes, or an array of the same ndim).
        """
        if self._last_ndim == 0:
            return self.process(b"", last=True)
        shape = (0, self.channels) if self._last_ndim == 2 else (0,)
        return self.process(np.zeros(shape, self.dtype), last=True)

    def _run(self, j0: int, j1: int) -> npt.NDArray[np.float32]:
        """Stream outputs ``j0 … j1 - 1`` as interleaved float32 (frames, channels)."""
        f = self._filter
        assert f is not None
        out = np.empty((j1 - j0, self.channels), _F32)
        for b0 in range(j0, j1, 2048):  # batches bound the (outputs, K) temporaries
            j = np.arange(b0, min(b0 + 2048, j1), dtype=np.int64)
            u = (j - f.D) * f.M
            n, p = u // f.L, u % f.L
            start = n - f.K1 + 1 - self._hist_start
            if f.exact:
                coef = f.table[p]
            else:
                assert f.diff is not None
                pp = p * f.P
                row, rem = pp // f.L, pp % f.L
                frac = rem.astype(_F32) / _F32(f.L)
                coef = f.table[row] + frac[:, None] * f.diff[row]
            idx = start[:, None] + np.arange(f.K)
            for ch in range(self.channels):
                dot = _dot_seq if f.seq else _dot
                out[b0 - j0 : b0 - j0 + len(j), ch] = dot(self._hist[ch][idx], coef)
        return out

    def __repr__(self) -> str:
        return (
            f"Resampler(in_rate={self.in_rate}, out_rate={self.out_rate}, channels={self.channels}, "
            f"dtype={self.dtype!r}, quality={self.quality!r})"
        )


def _dot(x: npt.NDArray[np.float32], c: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise dot products in the native order: 16 lanes, then a pairwise lane tree."""
    prod = x * c
    acc = np.zeros((x.shape[0], LANES), _F32)
    for r in range(0, x.shape[1], LANES):
        acc = acc + prod[:, r : r + LANES]
    for width in (8, 4, 2, 1):
        acc = acc[:, :width] + acc[:, width : 2 * width]
    return acc[:, 0]


def _dot_seq(x: npt.NDArray[np.float32], c: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise dot products, taps added in order (the phase-run kernel's order)."""
    acc = np.zeros(x.shape[0], _F32)
    for m in range(x.shape[1]):
        acc = acc + x[:, m] * c[:, m]
    return acc


def resample(data: Any, in_rate: int, out_rate: int, channels: int = 1, quality: str = "hq") -> Any:
    """Resample a whole signal; the output is aligned with the input (delay-compensated).

    Parameters
    ----------
    data : bytes-like or numpy.ndarray
        int16 PCM (bytes-like or int16 array) or float32 samples (float32 array),
        interleaved 1-D or ``(frames, channels)``.
    in_rate, out_rate : int
        Sample rates in Hz.
    channels : int
        Interleaved channels per frame.
    quality : {"voip", "hq", "vhq"}
        Filter preset.

    Returns
    -------
    bytes or numpy.ndarray
        Exactly ``ceil(frames * out_rate / in_rate)`` frames of the input's type.
    """
    rs_in, rs_out = _check_rate(in_rate, "in_rate"), _check_rate(out_rate, "out_rate")
    ch = _check_channels(channels)
    q = _check_quality(quality)
    _, _, _, dtype = _samples(data, None, ch, "data")
    return Resampler(rs_in, rs_out, ch, dtype, q).process(data, last=True)
