"""Native VAD: the framer, the segmenter state machine and the energy classifier.

The pure twin with the same names, rules and results is :mod:`waav.audio._vad_py`; its
module docstring is the specification (framing, classifier rates, event timing).

Layout of a :class:`VadSegmenter`:

* ``hist`` — input-rate audio from absolute sample ``hist_base`` on (the framer and the
  pre-roll/utterance store in one). Frames are read in place from it; a chunk is copied
  into it once. Dead audio (before the earliest sample a future event can need) is
  dropped with one ``memmove`` only when the buffer would otherwise have to grow, so the
  copy is amortised and the memory stays bounded by pre-roll + the longest utterance.
* ``cls`` — classifier-rate audio, used when the classifier does not run on the input
  itself (resampled input, or Silero's 512-sample windows).
* the segmenter state (``Seg``) and the energy classifier state (``Energy``) are C
  structs stepped by ``noexcept nogil`` functions; events are recorded as C structs and
  turned into :class:`VadEvent` objects once the GIL-free loop is done.

webrtcvad is called once per frame through its C module's ``process`` function with a
prebuilt argument tuple whose buffer object points at the frame (no slicing, no copy):
the same call ``webrtcvad.Vad.is_speech`` makes, minus the Python wrapper.
"""

from cpython.buffer cimport PyBuffer_FillInfo
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject_CallObject
from libc.math cimport ceil, exp, isfinite, isinf, isnan, pow
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from waav._native._buf cimport (
    InBuf, NOGIL_MIN_SAMPLES, acquire_int16, as_double, format_error, release,
)

import numpy

FRAME_MS = (10, 20, 30)
WEBRTC_RATES = (8000, 16000, 32000, 48000)
CLASSIFIERS = ("webrtc", "energy", "silero")
cdef long MIN_RATE = 4000
cdef long MAX_RATE = 384000
cdef double MAX_MS = 3_600_000.0
cdef double MAX_UTTERANCE_S = 1e7          # or inf: no limit
cdef double[4] THRESHOLD_DB = [6.0, 9.0, 12.0, 15.0]

cdef dict _factories = {"resampler": None, "resample": None, "silero": None}


def set_factories(resampler=None, resample=None, silero=None):
    """Install the resampler class, one-shot resample function and Silero factory."""
    _factories.update(resampler=resampler, resample=resample, silero=silero)


# --- events -------------------------------------------------------------------------

cdef class VadEvent:
    """A segmenter event: ``kind`` ``"start"`` or ``"end"`` at ``time`` seconds of stream time.

    An ``"end"`` event carries the utterance ``audio`` (int16 PCM at the input rate,
    pre-roll and hangover included) and its ``start``/``end`` times in seconds.
    """

    cdef readonly str kind
    cdef readonly double time
    cdef readonly object audio
    cdef readonly object start
    cdef readonly object end

    def __init__(self, str kind, double time, audio=None, start=None, end=None):
        self.kind = kind
        self.time = time
        self.audio = audio
        self.start = start
        self.end = end

    def _key(self):
        return (self.kind, self.time, self.audio, self.start, self.end)

    def __eq__(self, other):
        if not isinstance(other, VadEvent):
            return NotImplemented
        return self._key() == (<VadEvent>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        audio = "None" if self.audio is None else f"<{len(self.audio)} bytes>"
        return (f"VadEvent(kind={self.kind!r}, time={self.time!r}, audio={audio}, "
                f"start={self.start!r}, end={self.end!r})")


# --- validation (messages as in the twin) -------------------------------------------

cdef long _check_rate(object sample_rate) except -1:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise format_error(f"sample_rate must be an integer in Hz, got {sample_rate!r}")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise format_error(f"sample_rate must be in [{MIN_RATE}, {MAX_RATE}] Hz, got {sample_rate}")
    return sample_rate


cdef int _check_frame_ms(object frame_ms) except -1:
    if (isinstance(frame_ms, bool) or not isinstance(frame_ms, (int, float))
            or frame_ms not in FRAME_MS):
        raise format_error(f"frame_ms must be one of 10, 20, 30, got {frame_ms!r}")
    return int(frame_ms)


cdef int _check_mode(object mode) except -1:
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 3:
        raise format_error(f"mode must be an integer 0-3, got {mode!r}")
    return mode


cdef double _check_ms(object value, str name) except? -1.0:
    cdef double v = as_double(value, name)
    if not isfinite(v) or v < 0.0 or v > MAX_MS:
        raise format_error(f"{name} must be a duration in [0, {MAX_MS:.0f}] ms, got {value!r}")
    return v


cdef double _check_max_utterance(object value) except? -1.0:
    if value is None:
        return float("inf")
    cdef double v = as_double(value, "max_utterance_s")
    if isnan(v) or v <= 0.0 or (v > MAX_UTTERANCE_S and not isinf(v)):
        raise format_error(f"max_utterance_s must be a duration in (0, {MAX_UTTERANCE_S:.0e}] s "
                           f"or inf/None (no limit), got {value!r}")
    return v


def classifier_rate(str classifier, long sample_rate):
    """The rate a classifier runs at for input at ``sample_rate``."""
    if classifier == "energy":
        return sample_rate
    if classifier == "silero":
        return 16000
    if sample_rate == 8000 or sample_rate == 16000 or sample_rate == 32000:
        return sample_rate
    return 8000    # webrtcvad classifies 8 kHz audio in any case (see the twin's docstring)


# Round half to even for |v| <= 2**51, like Python's round() (see _pcm.pyx).
cdef inline double round_even_d(double v) noexcept nogil:
    return (v + 6755399441055744.0) - 6755399441055744.0


# --- webrtcvad, called per frame ----------------------------------------------------

cdef class _Span:
    """A read-only buffer over memory the caller owns; ``ptr``/``nbytes`` are set per use."""

    cdef const char* ptr
    cdef Py_ssize_t nbytes

    def __getbuffer__(self, Py_buffer* view, int flags):
        PyBuffer_FillInfo(view, self, <void*>self.ptr, self.nbytes, 1, flags)


cdef class _Webrtc:
    """One webrtcvad instance and a prebuilt ``process(handle, rate, frame, n)`` call."""

    cdef object module
    cdef object handle
    cdef object process
    cdef tuple args
    cdef _Span span
    cdef int mode

    def __init__(self, int mode, long rate, Py_ssize_t size):
        try:
            import _webrtcvad          # the C module behind webrtcvad.Vad
        except ImportError:
            raise ImportError("the 'webrtc' VAD classifier needs the webrtcvad-wheels package: "
                              "pip install webrtcvad-wheels") from None
        self.module = _webrtcvad
        self.mode = mode
        self.handle = _webrtcvad.create()
        self.reset()
        self.span = _Span()
        self.span.nbytes = 2 * size
        self.process = _webrtcvad.process
        self.args = (self.handle, rate, self.span, size)

    cdef reset(self):
        # exactly what webrtcvad.Vad(mode) does: create (once), init, set_mode
        self.module.init(self.handle)
        self.module.set_mode(self.handle, self.mode)

    cdef int decide(self, const int16_t* frame) except -1:
        self.span.ptr = <const char*>frame
        return PyObject_CallObject(self.process, self.args) is True


# --- energy classifier --------------------------------------------------------------

cdef struct Energy:
    double ratio         # speech when p > floor * ratio ...
    double speech_min    # ... and p >= speech_min
    double floor_min
    double init_max
    double fall          # smoothing coefficients per frame
    double rise
    double creep         # floor growth factor per speech frame
    double floor         # < 0: not initialised


cdef double _db_power(double db) noexcept:
    return 1073741824.0 * pow(10.0, db / 10.0)


cdef void _energy_init(Energy* e, int frame_ms, int mode) noexcept:
    # constants: EnergyClassifier in the twin
    cdef double f = frame_ms / 1000.0
    e.ratio = pow(10.0, THRESHOLD_DB[mode] / 10.0)
    e.speech_min = _db_power(-60.0)
    e.floor_min = _db_power(-80.0)
    e.init_max = _db_power(-40.0)
    e.fall = 1.0 - exp(-f / 0.04)
    e.rise = 1.0 - exp(-f / 0.5)
    e.creep = pow(10.0, 1.0 * f / 10.0)
    e.floor = -1.0


# Sum of squares of int16 samples, exact in 64 bits. pmaddwd squares and adds sample
# pairs into 32-bit lanes: a*a + b*b <= 2**31, exact when read as *unsigned* 32 bits (only
# (-32768, -32768) reaches 2**31). The lanes are widened to 64 bits (mask/shift) and summed.
# Which branch compiles depends on the ISA build (baseline SSE2, x86-64-v3, x86-64-v4);
# every branch gives the same integer.
cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__SSE2__)
    #include <immintrin.h>
    #endif
    static inline uint64_t waav_sumsq(const int16_t* x, Py_ssize_t n) {
        uint64_t acc = 0;
        Py_ssize_t i = 0;
    #if defined(__AVX512BW__)
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
        const __m512i mask = _mm512_set1_epi64(0xFFFFFFFF);
        for (; i + 32 <= n; i += 32) {
            __m512i v = _mm512_loadu_si512((const void*)(x + i));
            __m512i m = _mm512_madd_epi16(v, v);
            lo = _mm512_add_epi64(lo, _mm512_and_si512(m, mask));
            hi = _mm512_add_epi64(hi, _mm512_srli_epi64(m, 32));
        }
        acc = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
    #elif defined(__AVX2__)
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        const __m256i mask = _mm256_set1_epi64x(0xFFFFFFFF);
        for (; i + 16 <= n; i += 16) {
            __m256i v = _mm256_loadu_si256((const __m256i*)(x + i));
            __m256i m = _mm256_madd_epi16(v, v);
            lo = _mm256_add_epi64(lo, _mm256_and_si256(m, mask));
            hi = _mm256_add_epi64(hi, _mm256_srli_epi64(m, 32));
        }
        uint64_t t[4];
        _mm256_storeu_si256((__m256i*)t, _mm256_add_epi64(lo, hi));
        acc = t[0] + t[1] + t[2] + t[3];
    #elif defined(__SSE2__)
        __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
        const __m128i mask = _mm_set_epi32(0, -1, 0, -1);
        for (; i + 8 <= n; i += 8) {
            __m128i v = _mm_loadu_si128((const __m128i*)(x + i));
            __m128i m = _mm_madd_epi16(v, v);
            lo = _mm_add_epi64(lo, _mm_and_si128(m, mask));
            hi = _mm_add_epi64(hi, _mm_srli_epi64(m, 32));
        }
        uint64_t t[2];
        _mm_storeu_si128((__m128i*)t, _mm_add_epi64(lo, hi));
        acc = t[0] + t[1];
    #endif
        for (; i < n; i++) {
            int32_t s = x[i];
            acc += (uint32_t)(s * s);
        }
        return acc;
    }
    """
    uint64_t _sumsq "waav_sumsq" (const int16_t* x, Py_ssize_t n) noexcept nogil


def sum_of_squares(pcm16):
    """``sum(s * s)`` over int16 PCM, exact (the energy classifier's kernel)."""
    cdef InBuf b
    cdef Py_ssize_t n
    cdef uint64_t acc
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        if n >= NOGIL_MIN_SAMPLES:
            with nogil:
                acc = _sumsq(<const int16_t*>b.ptr, n)
        else:
            acc = _sumsq(<const int16_t*>b.ptr, n)
    finally:
        release(&b)
    return acc


cdef inline bint _energy_decide(Energy* e, const int16_t* x, Py_ssize_t n) noexcept nogil:
    cdef double p = <double>_sumsq(x, n) / <double>n
    cdef double nf = e.floor
    cdef bint speech
    if nf < 0.0:
        nf = p if p > e.floor_min else e.floor_min
        nf = nf if nf < e.init_max else e.init_max
    speech = p > nf * e.ratio and p >= e.speech_min
    if p < nf:
        nf = nf + (p - nf) * e.fall
    elif not speech:
        nf = nf + (p - nf) * e.rise
    else:
        nf = nf * e.creep
    e.floor = nf if nf > e.floor_min else e.floor_min
    return speech


# --- segmenter state machine --------------------------------------------------------

cdef enum:
    EV_START = 0
    EV_END = 1

cdef struct Ev:
    int kind
    int64_t t            # sample of the event time
    int64_t a0, a1       # utterance audio [a0, a1) for EV_END

cdef struct Seg:
    int64_t rate
    int64_t frame_ms
    int64_t min_speech   # S frames
    int64_t hangover     # H frames
    int64_t pre_roll     # P samples
    int64_t max_len      # L samples, -1: no limit
    bint speaking
    int64_t run
    int64_t quiet
    int64_t last_speech
    int64_t utt_start
    int64_t prev_end
    Ev* ev               # events of the current call
    Py_ssize_t n_ev
    Py_ssize_t cap_ev
    bint oom


cdef inline int64_t _b(Seg* s, int64_t k) noexcept nogil:
    return k * s.frame_ms * s.rate // 1000


cdef inline void _emit(Seg* s, int kind, int64_t t, int64_t a0, int64_t a1) noexcept nogil:
    cdef Ev* grown
    cdef Py_ssize_t cap
    if s.n_ev == s.cap_ev:
        cap = 16 if s.cap_ev == 0 else 2 * s.cap_ev
        grown = <Ev*>realloc(s.ev, cap * sizeof(Ev))
        if grown == NULL:
            s.oom = True
            return
        s.ev = grown
        s.cap_ev = cap
    s.ev[s.n_ev].kind = kind
    s.ev[s.n_ev].t = t
    s.ev[s.n_ev].a0 = a0
    s.ev[s.n_ev].a1 = a1
    s.n_ev += 1


cdef inline void _end(Seg* s, int64_t end) noexcept nogil:
    _emit(s, EV_END, _b(s, s.last_speech + 1), s.utt_start, end)
    s.speaking = False
    s.run = 0
    s.prev_end = end


cdef void _step(Seg* s, bint speech, int64_t k) noexcept nogil:
    cdef int64_t k0, start, end
    if not s.speaking:
        s.run = s.run + 1 if speech else 0
        if s.run < s.min_speech:
            return
        k0 = k - s.min_speech + 1
        s.speaking = True
        s.quiet = 0
        s.last_speech = k
        start = _b(s, k0) - s.pre_roll
        start = start if start > s.prev_end else s.prev_end
        s.utt_start = start if start > 0 else 0
        _emit(s, EV_START, _b(s, k0), 0, 0)
    elif speech:
        s.last_speech = k
        s.quiet = 0
    else:
        s.quiet += 1
    end = _b(s, k + 1)
    if s.quiet >= s.hangover:
        _end(s, end)
    elif s.max_len >= 0 and end - s.utt_start >= s.max_len:
        _end(s, end)
        if speech:   # still talking: the next utterance starts at the cut
            s.speaking = True
            s.quiet = 0
            s.last_speech = k
            s.utt_start = end
            _emit(s, EV_START, end, 0, 0)


# --- growable int16 buffer ----------------------------------------------------------

cdef struct Buf:
    int16_t* data
    Py_ssize_t n         # samples held
    Py_ssize_t cap
    int64_t base         # absolute index of data[0]


cdef int _buf_append(Buf* b, const int16_t* x, Py_ssize_t n, int64_t keep_from) except -1:
    """Append ``n`` samples; drop samples before ``keep_from`` first if room is needed."""
    cdef Py_ssize_t drop, cap
    cdef int16_t* grown
    if b.n + n > b.cap:
        drop = <Py_ssize_t>(keep_from - b.base)
        if drop > 0:
            if drop > b.n:
                drop = b.n
            memmove(b.data, b.data + drop, (b.n - drop) * sizeof(int16_t))
            b.n -= drop
            b.base += drop
        if b.n + n > b.cap:
            cap = 2 * b.cap if 2 * b.cap > b.n + n else b.n + n
            cap = cap if cap > 4096 else 4096
            grown = <int16_t*>realloc(b.data, cap * sizeof(int16_t))
            if grown == NULL:
                raise MemoryError()
            b.data = grown
            b.cap = cap
    if n > 0:
        memcpy(b.data + b.n, x, n * sizeof(int16_t))
        b.n += n
    return 0


# --- frame_decisions ----------------------------------------------------------------

def frame_decisions(pcm16, sample_rate, frame_ms=20, mode=2):
    """Per-frame webrtcvad decisions for a whole buffer, as a bool array.

    At 8/16/32/48 kHz this is exactly ``[webrtcvad.Vad(mode).is_speech(f, sample_rate)
    for f in frames]`` (one fresh ``Vad`` for the buffer, frames in order, a trailing
    partial frame dropped). Other rates are first resampled (one-shot, delay-compensated)
    to 8 kHz, the rate webrtcvad classifies internally; there is one decision per
    complete ``frame_ms`` of input.
    """
    cdef long rate = _check_rate(sample_rate)
    cdef int fms = _check_frame_ms(frame_ms)
    cdef int m = _check_mode(mode)
    cdef InBuf b
    cdef Py_ssize_t n, k, n_frames, size
    cdef long crate
    cdef const int16_t* x
    cdef _Span span
    cdef _Webrtc vad
    cdef unsigned char[::1] op
    acquire_int16(pcm16, &b, &n, "pcm16")
    try:
        n_frames = n * 1000 // (rate * fms)
        x = <const int16_t*>b.ptr
        crate = rate
        if not (rate == 8000 or rate == 16000 or rate == 32000 or rate == 48000):
            crate = classifier_rate("webrtc", rate)
            if _factories["resample"] is None:
                raise format_error(f"webrtc needs a resampler at {rate} Hz: import waav.audio.vad")
            span = _Span()
            span.ptr = b.ptr
            span.nbytes = 2 * n
            y = _factories["resample"](span, rate, crate, quality="voip")
            if type(y) is not bytes:
                y = bytes(y)
            if PyBytes_GET_SIZE(y) < 2 * n_frames * (crate * fms // 1000):
                raise RuntimeError("the resampler returned too few samples")
            x = <const int16_t*>PyBytes_AS_STRING(y)
        size = crate * fms // 1000
        vad = _Webrtc(m, crate, size)
        out = bytearray(n_frames)
        op = out
        for k in range(n_frames):
            op[k] = vad.decide(x + k * size)
    finally:
        release(&b)
    return numpy.frombuffer(out, dtype=bool)


# --- the segmenter ------------------------------------------------------------------

cdef enum Kind:
    K_WEBRTC = 0
    K_ENERGY = 1
    K_SILERO = 2


cdef class VadSegmenter:
    """Cut a stream of int16 PCM into utterances: ``start``/``end`` :class:`VadEvent` s.

    See :mod:`waav.audio._vad_py` for the exact framing, classification and timing
    rules (both implementations give identical events). One instance per stream; not
    safe to share between threads.

    Parameters
    ----------
    sample_rate : int
        Input rate in Hz (4000–384000). The emitted audio stays at this rate.
    frame_ms : {10, 20, 30}
        Frame length.
    classifier : {"webrtc", "energy", "silero"}
        Per-frame speech classifier.
    mode : int
        Aggressiveness 0–3 (higher: fewer frames count as speech).
    pre_roll_ms, hangover_ms, min_speech_ms : float
        Audio kept before the start; non-speech that ends an utterance; speech that
        starts one.
    max_utterance_s : float or None
        Longest utterance (audio, pre-roll included) before an end is forced; ``None``
        or ``inf`` for no limit.
    """

    cdef readonly long sample_rate
    cdef readonly int frame_ms
    cdef readonly str classifier
    cdef readonly int mode
    cdef readonly double pre_roll_ms
    cdef readonly double hangover_ms
    cdef readonly double min_speech_ms
    cdef readonly double max_utterance_s
    cdef readonly long classifier_rate

    cdef Kind kind
    cdef bint uses_cls
    cdef Py_ssize_t csize        # classifier frame (samples at classifier_rate)
    cdef Seg seg
    cdef Energy energy
    cdef Buf hist
    cdef Buf cls
    cdef int64_t n_in
    cdef int64_t cls_total
    cdef int64_t cls_skip        # resampler delay samples still to drop
    cdef int64_t k               # next frame to classify
    cdef bint finished
    cdef _Webrtc vad
    cdef object silero
    cdef Py_ssize_t window       # silero window (samples at classifier_rate)
    cdef int64_t n_win
    cdef bint win_speech
    cdef object resampler
    cdef _Span span

    def __cinit__(self):
        self.hist.data = NULL
        self.cls.data = NULL
        self.seg.ev = NULL
        self.seg.cap_ev = 0

    def __dealloc__(self):
        free(self.hist.data)
        free(self.cls.data)
        free(self.seg.ev)

    def __init__(self, sample_rate, frame_ms=20, classifier="webrtc", mode=2, pre_roll_ms=300,
                 hangover_ms=300, min_speech_ms=100, max_utterance_s=30.0):
        cdef long rate = _check_rate(sample_rate)
        cdef int fms = _check_frame_ms(frame_ms)
        if not isinstance(classifier, str) or classifier not in CLASSIFIERS:
            raise format_error(f"unknown VAD classifier {classifier!r}; available: "
                               f"{', '.join(map(repr, CLASSIFIERS))}")
        cdef int m = _check_mode(mode)
        self.pre_roll_ms = _check_ms(pre_roll_ms, "pre_roll_ms")
        self.hangover_ms = _check_ms(hangover_ms, "hangover_ms")
        self.min_speech_ms = _check_ms(min_speech_ms, "min_speech_ms")
        self.max_utterance_s = _check_max_utterance(max_utterance_s)
        self.sample_rate = rate
        self.frame_ms = fms
        self.classifier = classifier
        self.mode = m
        self.classifier_rate = classifier_rate(classifier, rate)
        if self.classifier_rate != rate and _factories["resampler"] is None:
            # set by waav.audio.vad at import (native code imports nothing from waav)
            raise format_error(f"{classifier} needs a resampler at {rate} Hz: import waav.audio.vad")
        self.seg.rate = rate
        self.seg.frame_ms = fms
        self.seg.min_speech = max(1, <int64_t>ceil(self.min_speech_ms / fms))
        self.seg.hangover = max(1, <int64_t>ceil(self.hangover_ms / fms))
        self.seg.pre_roll = <int64_t>round_even_d(self.pre_roll_ms * rate / 1000.0)
        if isinf(self.max_utterance_s):
            self.seg.max_len = -1
        else:
            self.seg.max_len = <int64_t>round_even_d(self.max_utterance_s * rate)
        self.csize = self.classifier_rate * fms // 1000
        self.uses_cls = classifier == "silero" or self.classifier_rate != rate
        self.span = _Span()
        self.vad = None
        self.silero = None
        if classifier == "energy":
            self.kind = K_ENERGY
            _energy_init(&self.energy, fms, m)
        elif classifier == "webrtc":
            self.kind = K_WEBRTC
            self.vad = _Webrtc(m, self.classifier_rate, self.csize)
        else:
            self.kind = K_SILERO
            factory = _factories["silero"]
            if factory is None:
                raise ImportError("the 'silero' VAD classifier is not available")
            self.silero = factory(self.classifier_rate, m)
            self.window = self.silero.window
        self.resampler = None
        self.reset()

    def reset(self):
        """Start a new stream at time 0: forget all audio, decisions and classifier state."""
        self.hist.n = 0
        self.hist.base = 0
        self.cls.n = 0
        self.cls.base = 0
        self.n_in = 0
        self.cls_total = 0
        self.k = 0
        self.finished = False
        self.seg.speaking = False
        self.seg.run = 0
        self.seg.quiet = 0
        self.seg.last_speech = 0
        self.seg.utt_start = 0
        self.seg.prev_end = 0
        self.seg.n_ev = 0
        self.seg.oom = False
        self.n_win = 0
        self.win_speech = False
        self.energy.floor = -1.0
        if self.vad is not None:
            self.vad.reset()
        if self.silero is not None:
            self.silero.reset()
        self.cls_skip = 0
        if self.classifier_rate != self.sample_rate:
            self.resampler = _factories["resampler"](self.sample_rate, self.classifier_rate,
                                                     quality="voip")
            # drop the D delay samples: classifier sample j is then stream time j / C
            self.cls_skip = <int64_t>round_even_d(self.resampler.delay * self.classifier_rate)

    # -- feeding --------------------------------------------------------------------------

    cdef int64_t _keep_from(self) noexcept:
        """Earliest input sample a future event can need."""
        cdef int64_t keep
        if self.seg.speaking:
            return self.seg.utt_start
        keep = _b(&self.seg, self.k - self.seg.run) - self.seg.pre_roll
        keep = keep if keep > self.seg.prev_end else self.seg.prev_end
        return keep if keep > 0 else 0

    cdef int64_t _cls_keep_from(self) noexcept:
        if self.kind == K_SILERO:
            return self.n_win * self.window
        return self.k * self.csize

    cdef int _push_cls(self, object y) except -1:
        if type(y) is not bytes:
            y = bytes(y)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(y) >> 1
        cdef Py_ssize_t drop = <Py_ssize_t>(self.cls_skip if self.cls_skip < n else n)
        self.cls_skip -= drop
        _buf_append(&self.cls, <const int16_t*>PyBytes_AS_STRING(y) + drop, n - drop,
                    self._cls_keep_from())
        self.cls_total += n - drop
        return 0

    def process(self, chunk):
        """Feed a chunk of int16 PCM (any length) and return the events it completes."""
        cdef InBuf b
        cdef Py_ssize_t n
        acquire_int16(chunk, &b, &n, "chunk")
        try:
            if self.finished:
                raise format_error("process() after flush(): call reset() to start a new stream")
            _buf_append(&self.hist, <const int16_t*>b.ptr, n, self._keep_from())
            self.n_in += n
            if self.resampler is not None:
                self.span.ptr = b.ptr
                self.span.nbytes = 2 * n
                self._push_cls(self.resampler.process(self.span))
            elif self.uses_cls:
                _buf_append(&self.cls, <const int16_t*>b.ptr, n, self._cls_keep_from())
                self.cls_total += n
        finally:
            release(&b)
        self._classify()
        return self._events()

    def flush(self):
        """End the stream: classify what is complete and close an open utterance."""
        if self.finished:
            return []
        if self.resampler is not None:
            self._push_cls(self.resampler.flush())
        self._classify()
        if self.seg.speaking:
            _end(&self.seg, self.n_in)
        self.finished = True
        return self._events()

    @property
    def quiet_ms(self):
        """Milliseconds of consecutive non-speech frames ending the open utterance (0.0
        outside an utterance): how far into a possible hangover the speaker has paused."""
        return float(self.seg.quiet * self.seg.frame_ms) if self.seg.speaking else 0.0

    @property
    def speech_end(self):
        """Stream time (s) at the end of the open utterance's last speech frame, or None
        outside an utterance: the ``time`` its ``end`` event will carry if no speech follows."""
        if not self.seg.speaking:
            return None
        return _b(&self.seg, self.seg.last_speech + 1) / <double>self.sample_rate

    # -- classification -------------------------------------------------------------------

    cdef int64_t _n_ready(self) noexcept:
        """Frames complete at the input rate (and at the classifier rate, if separate)."""
        cdef int64_t n = self.n_in * 1000 // (self.seg.frame_ms * self.seg.rate)
        cdef int64_t c
        if self.kind == K_SILERO:
            # frame k needs the window holding its last classifier sample
            c = (self.cls_total // self.window) * self.window // self.csize
            # c frames end within complete windows (their last sample is < that bound)
            n = n if n < c else c
        elif self.uses_cls:
            c = self.cls_total // self.csize
            n = n if n < c else c
        return n

    cdef int _classify(self) except -1:
        cdef int64_t k, n_ready = self._n_ready()
        cdef const int16_t* x
        cdef bint speech
        if self.k >= n_ready:
            return 0
        if self.kind == K_ENERGY:
            if (n_ready - self.k) * self.csize >= NOGIL_MIN_SAMPLES:
                with nogil:
                    self._energy_frames(n_ready)
            else:
                self._energy_frames(n_ready)
        else:
            for k in range(self.k, n_ready):
                if self.kind == K_WEBRTC:
                    if self.uses_cls:
                        x = self.cls.data + (k * self.csize - self.cls.base)
                    else:
                        x = self.hist.data + (_b(&self.seg, k) - self.hist.base)
                    speech = self.vad.decide(x)
                else:
                    speech = self._silero_decide(k)
                _step(&self.seg, speech, k)
                self.k = k + 1      # per frame: a classifier error leaves a consistent state
        if self.seg.oom:
            self.seg.oom = False
            raise MemoryError()
        return 0

    cdef void _energy_frames(self, int64_t n_ready) noexcept nogil:
        cdef int64_t k, a, e
        cdef bint speech
        for k in range(self.k, n_ready):
            a = _b(&self.seg, k)
            e = _b(&self.seg, k + 1)
            speech = _energy_decide(&self.energy, self.hist.data + (a - self.hist.base), e - a)
            _step(&self.seg, speech, k)
        self.k = n_ready

    cdef bint _silero_decide(self, int64_t k) except -1:
        cdef int64_t j = ((k + 1) * self.csize - 1) // self.window
        cdef int64_t a
        while self.n_win <= j:   # j never decreases: frames are classified in order
            a = self.n_win * self.window - self.cls.base
            window = PyBytes_FromStringAndSize(<const char*>(self.cls.data + a),
                                               2 * self.window)
            self.win_speech = bool(self.silero(window))
            self.n_win += 1
        return self.win_speech

    cdef list _events(self):
        cdef list out = []
        cdef Py_ssize_t i
        cdef Ev* ev
        cdef double rate = <double>self.sample_rate
        for i in range(self.seg.n_ev):
            ev = &self.seg.ev[i]
            if ev.kind == EV_START:
                out.append(VadEvent("start", ev.t / rate))
            else:
                audio = PyBytes_FromStringAndSize(
                    <const char*>(self.hist.data + (ev.a0 - self.hist.base)),
                    2 * (ev.a1 - ev.a0))
                out.append(VadEvent("end", ev.t / rate, audio, ev.a0 / rate, ev.a1 / rate))
        self.seg.n_ev = 0
        return out

    def __repr__(self):
        return (f"VadSegmenter(sample_rate={self.sample_rate}, frame_ms={self.frame_ms}, "
                f"classifier={self.classifier!r}, mode={self.mode}, "
                f"pre_roll_ms={self.pre_roll_ms}, hangover_ms={self.hangover_ms}, "
                f"min_speech_ms={self.min_speech_ms}, max_utterance_s={self.max_utterance_s})")
