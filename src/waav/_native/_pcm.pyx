"""Native PCM kernels: int16<->float32, G.711, channel mixing, gain, levels.

The pure twin with the same names and semantics is :mod:`waav.audio._pcm_py`.
"""

cimport numpy as cnp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.math cimport INFINITY, isfinite, log10
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t
from libc.string cimport memcpy

from waav._native._buf cimport (
    InBuf, KIND_F64, NOGIL_MIN_SAMPLES, acquire_float, acquire_int16, acquire_raw, as_double,
    format_error, release,
)
from waav._native._g711 cimport alaw_from13, alaw_to16, ulaw_from14, ulaw_to16

cnp.import_array()

# --- lookup tables, built once at import from the scalar codecs ---------------------
# Encoders index by the shifted sample, so the tables are 16 KiB and 8 KiB: L1 resident.
cdef uint8_t ULAW_ENC[16384]     # index (s >> 2) + 8192
cdef uint8_t ALAW_ENC[8192]      # index (s >> 3) + 4096
cdef int16_t ULAW_DEC[256]
cdef int16_t ALAW_DEC[256]


cdef void _build_tables() noexcept nogil:
    cdef int i
    for i in range(16384):
        ULAW_ENC[i] = ulaw_from14(i - 8192)
    for i in range(8192):
        ALAW_ENC[i] = alaw_from13(i - 4096)
    for i in range(256):
        ULAW_DEC[i] = ulaw_to16(<uint8_t>i)
        ALAW_DEC[i] = alaw_to16(<uint8_t>i)


_build_tables()


# Round to nearest, ties to even, for |v| <= 2**22 (float) / 2**51 (double): adding and
# subtracting 1.5 * 2**mantissa_bits leaves only the integer part, rounded by the FPU's
# default mode. Unlike rint(), which is a libm call on baseline x86-64, this vectorises.
# Exact because setup.py forbids contraction/reassociation (-ffp-contract=off, no fast-math).
cdef inline float round_even_f(float v) noexcept nogil:
    return (v + <float>12582912.0) - <float>12582912.0


cdef inline double round_even_d(double v) noexcept nogil:
    return (v + 6755399441055744.0) - 6755399441055744.0


# --- kernels: typed loops, no Python objects, safe without the GIL -------------------

cdef void _i16_to_f32(const int16_t* x, float* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef float scale = 1.0 / 32768.0     # exact: a power of two
    for i in range(n):
        y[i] = <float>x[i] * scale


cdef void _f32_to_i16(const float* x, int16_t* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef float v
    for i in range(n):
        v = x[i] * <float>32768.0
        v = v if v == v else <float>0.0               # NaN -> 0
        v = v if v > <float>-32768.0 else <float>-32768.0
        v = v if v < <float>32767.0 else <float>32767.0
        y[i] = <int16_t><int32_t>round_even_f(v)


cdef void _f64_to_i16(const double* x, int16_t* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef double v
    for i in range(n):
        v = x[i] * 32768.0
        v = v if v == v else 0.0
        v = v if v > -32768.0 else -32768.0
        v = v if v < 32767.0 else 32767.0
        y[i] = <int16_t><int32_t>round_even_d(v)


cdef void _ulaw_enc(const int16_t* x, uint8_t* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = ULAW_ENC[(x[i] >> 2) + 8192]


cdef void _alaw_enc(const int16_t* x, uint8_t* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = ALAW_ENC[(x[i] >> 3) + 4096]


cdef void _g711_dec(const uint8_t* x, int16_t* y, Py_ssize_t n, const int16_t* table) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[i] = table[x[i]]


cdef void _stereo_to_mono(const int16_t* x, int16_t* y, Py_ssize_t frames) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(frames):
        # floor((L + R) / 2): arithmetic shift of the exact int32 sum
        y[i] = <int16_t>((<int32_t>x[2 * i] + <int32_t>x[2 * i + 1]) >> 1)


cdef void _mono_to_stereo(const int16_t* x, int16_t* y, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        y[2 * i] = x[i]
        y[2 * i + 1] = x[i]


cdef void _gain(const int16_t* x, int16_t* y, Py_ssize_t n, double g) noexcept nogil:
    cdef Py_ssize_t i
    cdef double v
    for i in range(n):
        v = <double>x[i] * g
        v = v if v < 32767.0 else 32767.0
        v = v if v > -32768.0 else -32768.0
        y[i] = <int16_t><int32_t>round_even_d(v)


cdef int64_t _sum_squares(const int16_t* x, Py_ssize_t n) noexcept nogil:
    # Exact: each square is < 2**31, so int64 cannot overflow below 2**32 samples.
    cdef Py_ssize_t i
    cdef int64_t acc = 0
    cdef int32_t s
    for i in range(n):
        s = x[i]
        acc += s * s
    return acc


cdef int32_t _peak(const int16_t* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef int32_t s, m = 0
    for i in range(n):
        s = x[i]
        s = s if s >= 0 else -s
        m = s if s > m else m
    return m


# --- Python wrappers: validate and allocate with the GIL, one call to the kernel --------

def int16_to_float32(data):
    """Convert int16 PCM to float32 samples in [-1, 1): ``x / 32768`` (exact).

    Parameters
    ----------
    data : bytes-like or numpy.ndarray
        Little-endian int16 PCM as bytes/bytearray/memoryview, or an int16 array.

    Returns
    -------
    numpy.ndarray
        1-D float32 array with one element per sample.
    """
    cdef InBuf b
    cdef Py_ssize_t n
    cdef cnp.npy_intp dims
    cdef float* op
    acquire_int16(data, &b, &n, "data")
    try:
        dims = n
        out = cnp.PyArray_EMPTY(1, &dims, cnp.NPY_FLOAT32, 0)
        op = <float*>cnp.PyArray_DATA(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _i16_to_f32(<const int16_t*>b.ptr, op, n)
        else:
            _i16_to_f32(<const int16_t*>b.ptr, op, n)
    finally:
        release(&b)
    return out


def float32_to_int16(samples):
    """Convert float samples to int16 PCM bytes.

    Each sample is multiplied by 32768, rounded to nearest (ties to even) and saturated
    to [-32768, 32767]; NaN becomes 0.

    Parameters
    ----------
    samples : numpy.ndarray or bytes-like
        float32 or float64 array, or raw bytes holding float32 samples.

    Returns
    -------
    bytes
        Little-endian int16 PCM.
    """
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int16_t* op
    acquire_float(samples, &b, &n, "samples")
    try:
        out = PyBytes_FromStringAndSize(NULL, 2 * n)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if b.kind == KIND_F64:
            if n >= NOGIL_MIN_SAMPLES:
                with nogil:
                    _f64_to_i16(<const double*>b.ptr, op, n)
            else:
                _f64_to_i16(<const double*>b.ptr, op, n)
        elif n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _f32_to_i16(<const float*>b.ptr, op, n)
        else:
            _f32_to_i16(<const float*>b.ptr, op, n)
    finally:
        release(&b)
    return out


ctypedef void (*encoder_t)(const int16_t*, uint8_t*, Py_ssize_t) noexcept nogil


cdef bytes _encode(object pcm16, bint alaw):
    cdef InBuf b
    cdef Py_ssize_t n
    cdef uint8_t* op
    cdef encoder_t kernel = _alaw_enc if alaw else _ulaw_enc
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        out = PyBytes_FromStringAndSize(NULL, n)
        op = <uint8_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                kernel(<const int16_t*>b.ptr, op, n)
        else:
            kernel(<const int16_t*>b.ptr, op, n)
    finally:
        release(&b)
    return out


cdef bytes _decode(object data, const int16_t* table):
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int16_t* op
    acquire_raw(data, &b, "data")
    try:
        n = b.nbytes
        out = PyBytes_FromStringAndSize(NULL, 2 * n)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _g711_dec(<const uint8_t*>b.ptr, op, n, table)
        else:
            _g711_dec(<const uint8_t*>b.ptr, op, n, table)
    finally:
        release(&b)
    return out


def ulaw_encode(pcm16):
    """Encode int16 PCM to G.711 µ-law, one byte per sample (bit-exact with audioop)."""
    return _encode(pcm16, False)


def alaw_encode(pcm16):
    """Encode int16 PCM to G.711 A-law, one byte per sample (bit-exact with audioop)."""
    return _encode(pcm16, True)


def ulaw_decode(data):
    """Decode G.711 µ-law bytes to little-endian int16 PCM (bit-exact with audioop)."""
    return _decode(data, ULAW_DEC)


def alaw_decode(data):
    """Decode G.711 A-law bytes to little-endian int16 PCM (bit-exact with audioop)."""
    return _decode(data, ALAW_DEC)


def stereo_to_mono(pcm16):
    """Mix interleaved stereo int16 PCM to mono: ``floor((L + R) / 2)`` per frame."""
    cdef InBuf b
    cdef Py_ssize_t n, frames
    cdef int16_t* op
    acquire_int16(pcm16, &b, &n, "pcm16")
    if n & 1:
        release(&b)
        raise format_error(
            f"stereo pcm16 has {n} samples, not a whole number of frames (2 samples each)"
        )
    try:
        frames = n >> 1
        out = PyBytes_FromStringAndSize(NULL, 2 * frames)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _stereo_to_mono(<const int16_t*>b.ptr, op, frames)
        else:
            _stereo_to_mono(<const int16_t*>b.ptr, op, frames)
    finally:
        release(&b)
    return out


def mono_to_stereo(pcm16):
    """Duplicate mono int16 PCM into interleaved stereo (L = R = input)."""
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int16_t* op
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        out = PyBytes_FromStringAndSize(NULL, 4 * n)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _mono_to_stereo(<const int16_t*>b.ptr, op, n)
        else:
            _mono_to_stereo(<const int16_t*>b.ptr, op, n)
    finally:
        release(&b)
    return out


def apply_gain(pcm16, gain):
    """Multiply int16 PCM by ``gain``, rounding to nearest (ties to even) and saturating."""
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int16_t* op
    cdef double g = as_double(gain, "gain")
    if not isfinite(g):
        raise format_error(f"gain must be a finite number, got {gain!r}")
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        out = PyBytes_FromStringAndSize(NULL, 2 * n)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _gain(<const int16_t*>b.ptr, op, n, g)
        else:
            _gain(<const int16_t*>b.ptr, op, n, g)
    finally:
        release(&b)
    return out


def rms_dbfs(pcm16):
    """RMS level of int16 PCM in dB relative to full scale (32768); -inf for silence/empty."""
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int64_t ss
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                ss = _sum_squares(<const int16_t*>b.ptr, n)
        else:
            ss = _sum_squares(<const int16_t*>b.ptr, n)
    finally:
        release(&b)
    if ss == 0:
        return -INFINITY
    return 10.0 * log10(<double>ss / <double>n / 1073741824.0)   # 1073741824 = 32768**2


def peak_dbfs(pcm16):
    """Peak level of int16 PCM in dB relative to full scale (32768); -inf for silence/empty."""
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int32_t m
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                m = _peak(<const int16_t*>b.ptr, n)
        else:
            m = _peak(<const int16_t*>b.ptr, n)
    finally:
        release(&b)
    if m == 0:
        return -INFINITY
    return 20.0 * log10(<double>m / 32768.0)
