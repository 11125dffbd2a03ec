"""Native noise gates: the stateless threshold gate and a click-free streaming gate.

The pure twin with the same names and semantics is :mod:`waav.audio._gate_py`.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.math cimport ceil, isfinite, isnan, pow
from libc.stdint cimport int16_t, int32_t

from waav._native._buf cimport (
    InBuf, NOGIL_MIN_SAMPLES, acquire_int16, as_double, format_error, release,
)


cdef int32_t threshold_to_int(double level) noexcept:
    # abs(s) / 32768 < level  <=>  abs(s) < level * 32768  <=>  abs(s) < ceil(level * 32768)
    # for integer abs(s): exact, because / 32768 is exact in binary floating point.
    cdef double t = level * 32768.0
    if t > 32769.0:
        return 32769          # above every |sample|: everything is gated
    return <int32_t>ceil(t)


cdef void _gate(const int16_t* x, int16_t* y, Py_ssize_t n, int32_t t) noexcept nogil:
    cdef Py_ssize_t i
    cdef int32_t s
    for i in range(n):
        s = x[i]
        y[i] = <int16_t>(0 if (s < t and s > -t) else s)


def noise_gate(pcm16, threshold):
    """Zero every sample whose ``abs(s) / 32768 < threshold``; others pass unchanged.

    This is the noise-gate of the upstream plugin guide, sample for sample.

    Parameters
    ----------
    pcm16 : bytes-like or numpy.ndarray
        Little-endian int16 PCM.
    threshold : float
        Linear level in [0, inf); 0 passes everything.
    """
    cdef InBuf b
    cdef Py_ssize_t n
    cdef int32_t t
    cdef int16_t* op
    cdef double level = as_double(threshold, "threshold")
    if isnan(level) or level < 0.0:
        raise format_error(f"threshold must be a non-negative number, got {threshold!r}")
    t = threshold_to_int(level)
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        out = PyBytes_FromStringAndSize(NULL, 2 * n)
        op = <int16_t*>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                _gate(<const int16_t*>b.ptr, op, n, t)
        else:
            _gate(<const int16_t*>b.ptr, op, n, t)
    finally:
        release(&b)
    return out


cdef struct GateState:
    int32_t t              # open when abs(s) >= t
    double up              # gain step per sample while opening (1 / attack samples)
    double down            # gain step per sample while closing (1 / release samples)
    Py_ssize_t hold_len    # samples the gate stays open after the last loud sample
    Py_ssize_t hold        # hold samples left
    double g               # current gain in [0, 1]


# Round to nearest, ties to even, for |v| <= 2**51 (see _pcm.pyx for why not rint()).
cdef inline double round_even_d(double v) noexcept nogil:
    return (v + 6755399441055744.0) - 6755399441055744.0


cdef void _gate_stream(const int16_t* x, int16_t* y, Py_ssize_t n, GateState* st) noexcept nogil:
    cdef Py_ssize_t i
    cdef int32_t s
    cdef double g = st.g
    cdef Py_ssize_t hold = st.hold
    for i in range(n):
        s = x[i]
        if s >= st.t or s <= -st.t:
            hold = st.hold_len
            g = g + st.up
            g = g if g < 1.0 else 1.0
        elif hold > 0:
            hold -= 1
            g = g + st.up
            g = g if g < 1.0 else 1.0
        else:
            g = g - st.down
            g = g if g > 0.0 else 0.0
        # |s * g| <= 32768, and -32768 * 1.0 stays in range: no saturation needed.
        y[i] = <int16_t><int32_t>round_even_d(<double>s * g)
    st.g = g
    st.hold = hold


# One hour: longer ramps are a mistake, and the sample count must fit a Py_ssize_t.
cdef double MAX_MS = 3_600_000.0


cdef double _check_ms(object value, str name) except? -1.0:
    cdef double v = as_double(value, name)
    if not isfinite(v) or v < 0.0 or v > MAX_MS:
        raise format_error(f"{name} must be a number in [0, {MAX_MS:.0f}] ms, got {value!r}")
    return v


cdef Py_ssize_t _ms_to_samples(double ms, long rate) noexcept:
    # Round half to even, like Python's round(), so the twin agrees exactly.
    return <Py_ssize_t>round_even_d(ms * rate / 1000.0)


cdef class NoiseGate:
    """Click-free streaming noise gate with attack, hold and release.

    The gate opens while ``abs(s) / 32768 >= 10 ** (threshold_db / 20)`` and for
    ``hold_ms`` after the last such sample; its gain ramps linearly up over
    ``attack_ms`` and down over ``release_ms`` instead of jumping, so it never clicks.
    Output is identical whether a signal is fed whole or in any chunk sizes.
    One instance per stream; not safe to share between threads.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (> 0).
    threshold_db : float
        Opening level in dBFS (``-inf`` keeps the gate always open).
    attack_ms, hold_ms, release_ms : float
        Ramp-up time, hold time after the last loud sample, ramp-down time (>= 0).
    """

    cdef GateState st
    cdef readonly long sample_rate
    cdef readonly double threshold_db
    cdef readonly double attack_ms
    cdef readonly double hold_ms
    cdef readonly double release_ms

    def __init__(self, sample_rate, threshold_db=-40.0, attack_ms=1.0, hold_ms=50.0,
                 release_ms=50.0):
        cdef double db
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise format_error(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if sample_rate > 10_000_000:
            raise format_error(f"sample_rate {sample_rate} is out of range")
        db = as_double(threshold_db, "threshold_db")
        if isnan(db) or db > 0.0:
            # int16 never exceeds 0 dBFS, so a higher threshold could never open the gate.
            raise format_error(f"threshold_db must be a number <= 0 dBFS, got {threshold_db!r}")
        self.sample_rate = sample_rate
        self.threshold_db = db
        self.attack_ms = _check_ms(attack_ms, "attack_ms")
        self.hold_ms = _check_ms(hold_ms, "hold_ms")
        self.release_ms = _check_ms(release_ms, "release_ms")
        self.st.t = threshold_to_int(pow(10.0, db / 20.0))
        self.st.up = 1.0 / max(1, _ms_to_samples(self.attack_ms, sample_rate))
        self.st.down = 1.0 / max(1, _ms_to_samples(self.release_ms, sample_rate))
        self.st.hold_len = _ms_to_samples(self.hold_ms, sample_rate)
        self.reset()

    def reset(self):
        """Close the gate and forget the hold state (e.g. at a new utterance)."""
        self.st.g = 0.0
        self.st.hold = 0

    @property
    def gain(self):
        """Current gain in [0, 1] (after the last processed sample)."""
        return self.st.g

    def process(self, chunk):
        """Gate one chunk of int16 PCM and return the gated chunk (same length)."""
        cdef InBuf b
        cdef Py_ssize_t n
        cdef int16_t* op
        acquire_int16(chunk, &b, &n, "chunk")
        try:
            out = PyBytes_FromStringAndSize(NULL, 2 * n)
            op = <int16_t*>PyBytes_AS_STRING(out)
            if n >= NOGIL_MIN_SAMPLES:
                with nogil:
                    _gate_stream(<const int16_t*>b.ptr, op, n, &self.st)
            else:
                _gate_stream(<const int16_t*>b.ptr, op, n, &self.st)
        finally:
            release(&b)
        return out

    def __repr__(self):
        return (f"NoiseGate(sample_rate={self.sample_rate}, threshold_db={self.threshold_db}, "
                f"attack_ms={self.attack_ms}, hold_ms={self.hold_ms}, "
                f"release_ms={self.release_ms})")
