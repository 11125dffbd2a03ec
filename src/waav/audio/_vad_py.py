"""Pure-Python twin of ``waav._native._vad``: the readable spec and the test oracle.

Three parts, the same in both implementations:

**Framer.** Input arrives in chunks of any size at the input rate ``R``. Frame ``k``
covers input samples ``[b(k), b(k+1))`` with ``b(k) = k * frame_ms * R // 1000`` (exact
integers; when ``R * frame_ms / 1000`` is not an integer, frames alternate between the
two neighbouring lengths). Frame ``k`` is classified once the input holds all of it,
i.e. once ``n_in * 1000 >= (k + 1) * frame_ms * R``; a trailing partial frame is never
classified, and only its audio reaches an open utterance at :meth:`VadSegmenter.flush`.

**Classifier.** One speech decision per frame:

* ``"webrtc"``: ``webrtcvad`` (mode 0–3). It runs at 8/16/32 kHz directly; any other
  input rate (48 kHz, 44.1 kHz, …) is first converted to the *classifier rate*, 8 kHz, by
  a streaming
  :class:`waav.audio.Resampler` (quality ``"voip"``). webrtcvad classifies 8 kHz audio
  whatever the input rate (at 16/32/48 kHz it first downsamples to 8 kHz itself; its
  48 kHz downsampler makes a 48 kHz frame 7–11× dearer than a 16 kHz one), so 8 kHz is
  both the cheapest rate to decimate to and the one it looks at anyway. Its first ``D`` output samples
  (the algorithmic delay, ``delay * C``) are dropped, so classifier sample ``j`` is
  stream time ``j / C``; frame ``k`` is classifier samples ``[k*M, (k+1)*M)``,
  ``M = C * frame_ms / 1000``, and still covers stream time ``[k*F, (k+1)*F)`` and input
  samples ``[b(k), b(k+1))``. The delay only makes decisions arrive ``D / C`` later;
  ``flush()`` drains it.
* ``"energy"``: mean power ``p = sum(s*s) / n`` of the frame at the input rate, compared
  with an adaptive noise floor (see :class:`EnergyClassifier`). No dependency.
* ``"silero"``: Silero VAD (optional extra ``waav[silero]``), 512-sample windows at
  16 kHz; frame ``k`` takes the decision of the window holding its last sample.

**Segmenter** (per frame, in order; ``S = max(1, ceil(min_speech_ms / frame_ms))``,
``H = max(1, ceil(hangover_ms / frame_ms))``, ``P = round(pre_roll_ms * R / 1000)``
samples, ``L = round(max_utterance_s * R)`` samples):

* *silence*: count consecutive speech frames (``run``). When ``run == S`` speech starts
  at the first frame of the run, ``k0 = k - S + 1``: emit ``start`` with
  ``time = b(k0) / R``. The utterance audio begins at ``max(b(k0) - P, prev_end, 0)``
  (pre-roll, never overlapping the previous utterance).
* *speech*: a speech frame resets the non-speech count; after ``H`` consecutive
  non-speech frames emit ``end`` with ``time = b(last_speech + 1) / R`` (end of the last
  speech frame) and the utterance audio ``[start, b(k + 1))`` — the pre-roll, the speech
  and the ``H`` hangover frames. ``start``/``end`` are those bounds in seconds.
* *max utterance*: when the utterance audio reaches ``L`` samples at a frame boundary,
  the utterance ends there (``end``, its ``time`` as above). If the frame that reached it
  was speech, a new utterance starts at once at that boundary (``start``, no pre-roll).
* *flush*: an open utterance ends with the audio up to the last input sample.

Times are ``sample_index / R`` in seconds of stream time. Feeding a stream whole or in
any chunk sizes gives identical events.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from waav._exceptions import AudioFormatError
from waav.audio._buffers import as_int16, as_real

__all__ = [
    "CLASSIFIERS",
    "FRAME_MS",
    "WEBRTC_RATES",
    "EnergyClassifier",
    "VadEvent",
    "VadSegmenter",
    "classifier_rate",
    "frame_decisions",
    "set_factories",
    "sum_of_squares",
]

#: Frame lengths the segmenter and ``frame_decisions`` accept (webrtcvad's).
FRAME_MS = (10, 20, 30)
#: Rates webrtcvad classifies directly.
WEBRTC_RATES = (8000, 16000, 32000, 48000)
#: Classifier names, in the order error messages list them.
CLASSIFIERS = ("webrtc", "energy", "silero")
MIN_RATE, MAX_RATE = 4000, 384_000
MAX_MS = 3_600_000.0  # one hour: a longer pre-roll or hangover is a mistake
MAX_UTTERANCE_S = 1e7  # or inf: no limit

# Set by waav.audio.vad at import: the streaming resampler class, the one-shot resample
# function, and the Silero window classifier factory (None until available).
_factories: dict[str, Any] = {"resampler": None, "resample": None, "silero": None}


def set_factories(
    resampler: Any = None, resample: Any = None, silero: Callable[[int, int], Any] | None = None
) -> None:
    """Install the resampler class, one-shot resample function and Silero factory."""
    _factories.update(resampler=resampler, resample=resample, silero=silero)


@dataclass(frozen=True, slots=True)
class VadEvent:
    """A segmenter event: ``kind`` ``"start"`` or ``"end"`` at ``time`` seconds of stream time.

    An ``"end"`` event carries the utterance ``audio`` (int16 PCM at the input rate,
    pre-roll and hangover included) and its ``start``/``end`` times in seconds.
    """

    kind: str
    time: float
    audio: bytes | None = None
    start: float | None = None
    end: float | None = None


# --- validation ---------------------------------------------------------------------


def _check_rate(sample_rate: Any) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise AudioFormatError(f"sample_rate must be an integer in Hz, got {sample_rate!r}")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioFormatError(f"sample_rate must be in [{MIN_RATE}, {MAX_RATE}] Hz, got {sample_rate}")
    return sample_rate


def _check_frame_ms(frame_ms: Any) -> int:
    if isinstance(frame_ms, bool) or not isinstance(frame_ms, (int, float)) or frame_ms not in FRAME_MS:
        raise AudioFormatError(f"frame_ms must be one of 10, 20, 30, got {frame_ms!r}")
    return int(frame_ms)


def _check_mode(mode: Any) -> int:
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 3:
        raise AudioFormatError(f"mode must be an integer 0-3, got {mode!r}")
    return mode


def _check_ms(value: Any, name: str) -> float:
    v = as_real(value, name)
    if not math.isfinite(v) or v < 0.0 or v > MAX_MS:
        raise AudioFormatError(f"{name} must be a duration in [0, {MAX_MS:.0f}] ms, got {value!r}")
    return v


def _check_max_utterance(value: Any) -> float:
    if value is None:
        return math.inf
    v = as_real(value, "max_utterance_s")
    if math.isnan(v) or v <= 0.0 or (v > MAX_UTTERANCE_S and not math.isinf(v)):
        raise AudioFormatError(
            f"max_utterance_s must be a duration in (0, {MAX_UTTERANCE_S:.0e}] s "
            f"or inf/None (no limit), got {value!r}"
        )
    return v


def classifier_rate(classifier: str, sample_rate: int) -> int:
    """The rate a classifier runs at for input at ``sample_rate``."""
    if classifier == "energy":
        return sample_rate
    if classifier == "silero":
        return 16000
    if sample_rate in (8000, 16000, 32000):
        return sample_rate
    return 8000  # webrtcvad classifies 8 kHz audio in any case (see the module docstring)


# --- classifiers --------------------------------------------------------------------


def _db_power(db: float) -> float:
    """Mean-square int16 power of a level in dBFS."""
    return 1073741824.0 * math.pow(10.0, db / 10.0)


def sum_of_squares(pcm16: Any) -> int:
    """``sum(s * s)`` over int16 PCM, exact (the energy classifier's kernel)."""
    x = as_int16(pcm16, "pcm16").astype(np.int64)
    return int(np.dot(x, x))


class EnergyClassifier:
    """Frame energy against an adaptive noise floor (the native one is nogil).

    Per frame: ``p = sum(s*s) / n`` (mean square of the int16 samples). The frame is
    speech when ``p > floor * 10 ** (T / 10)`` and ``p >= -60 dBFS``, with
    ``T = 6, 9, 12, 15`` dB for mode 0–3 (higher mode, fewer speech frames). Then the
    floor adapts: it starts at the first frame's power (clamped to [-80, -40] dBFS); a
    quieter frame pulls it down with a 40 ms time constant; a louder non-speech frame
    pulls it up with a 0.5 s time constant; during speech it creeps up by 1 dB/s (so a
    stationary loud noise is eventually learnt); it never goes below -80 dBFS.
    """

    FLOOR_MIN_DB = -80.0
    FLOOR_INIT_MAX_DB = -40.0
    SPEECH_MIN_DB = -60.0
    THRESHOLD_DB = (6.0, 9.0, 12.0, 15.0)
    FALL_TAU_S = 0.04
    RISE_TAU_S = 0.5
    SPEECH_CREEP_DB_PER_S = 1.0

    def __init__(self, frame_ms: int, mode: int) -> None:
        f = frame_ms / 1000.0
        self.ratio = math.pow(10.0, self.THRESHOLD_DB[mode] / 10.0)
        self.speech_min = _db_power(self.SPEECH_MIN_DB)
        self.floor_min = _db_power(self.FLOOR_MIN_DB)
        self.init_max = _db_power(self.FLOOR_INIT_MAX_DB)
        self.fall = 1.0 - math.exp(-f / self.FALL_TAU_S)
        self.rise = 1.0 - math.exp(-f / self.RISE_TAU_S)
        self.creep = math.pow(10.0, self.SPEECH_CREEP_DB_PER_S * f / 10.0)
        self.reset()

    def reset(self) -> None:
        self.floor = -1.0  # < 0: not initialised yet

    def __call__(self, frame: npt.NDArray[np.int16]) -> bool:
        p = sum_of_squares(frame) / len(frame)  # exact integer sum; one correctly rounded division
        nf = self.floor
        if nf < 0.0:
            nf = min(max(p, self.floor_min), self.init_max)
        speech = p > nf * self.ratio and p >= self.speech_min
        if p < nf:
            nf = nf + (p - nf) * self.fall
        elif not speech:
            nf = nf + (p - nf) * self.rise
        else:
            nf = nf * self.creep
        self.floor = max(nf, self.floor_min)
        return speech


def _webrtc_vad(mode: int) -> Any:
    try:
        import webrtcvad
    except ImportError:  # pragma: no cover - a runtime dependency
        raise ImportError(
            "the 'webrtc' VAD classifier needs the webrtcvad-wheels package: pip install webrtcvad-wheels"
        ) from None
    return webrtcvad.Vad(mode)


# --- frame_decisions ----------------------------------------------------------------


def frame_decisions(pcm16: Any, sample_rate: int, frame_ms: int = 20, mode: int = 2) -> npt.NDArray[np.bool_]:
    """Per-frame webrtcvad decisions for a whole buffer, as a bool array.

    At 8/16/32/48 kHz this is exactly ``[webrtcvad.Vad(mode).is_speech(f, sample_rate)
    for f in frames]`` (one fresh ``Vad`` for the buffer, frames in order, a trailing
    partial frame dropped). Other rates are first resampled (one-shot, delay-compensated)
    to 8 kHz, the rate webrtcvad classifies internally; there is one decision per
    complete ``frame_ms`` of input.
    """
    rate = _check_rate(sample_rate)
    fms = _check_frame_ms(frame_ms)
    m = _check_mode(mode)
    x = as_int16(pcm16, "pcm16")
    n_frames = len(x) * 1000 // (rate * fms)
    crate = rate if rate in WEBRTC_RATES else classifier_rate("webrtc", rate)
    if crate != rate:
        if _factories["resample"] is None:
            raise AudioFormatError(f"webrtc needs a resampler at {rate} Hz: import waav.audio.vad")
        x = np.frombuffer(_factories["resample"](x.tobytes(), rate, crate, quality="voip"), dtype="<i2")
    size = crate * fms // 1000
    vad = _webrtc_vad(m)
    buf = x.tobytes()
    return np.array(
        [vad.is_speech(buf[2 * size * k : 2 * size * (k + 1)], crate) for k in range(n_frames)], dtype=bool
    )


# --- the segmenter ------------------------------------------------------------------


class VadSegmenter:
    """Cut a stream of int16 PCM into utterances: ``start``/``end`` :class:`VadEvent` s.

    See the module docstring for the exact framing, classification and timing rules.
    One instance per stream; not safe to share between threads.

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

    def __init__(
        self,
        sample_rate: int,
        frame_ms: int = 20,
        classifier: str = "webrtc",
        mode: int = 2,
        pre_roll_ms: float = 300,
        hangover_ms: float = 300,
        min_speech_ms: float = 100,
        max_utterance_s: float | None = 30.0,
    ) -> None:
        rate = _check_rate(sample_rate)
        fms = _check_frame_ms(frame_ms)
        if not isinstance(classifier, str) or classifier not in CLASSIFIERS:
            raise AudioFormatError(
                f"unknown VAD classifier {classifier!r}; available: {', '.join(map(repr, CLASSIFIERS))}"
            )
        m = _check_mode(mode)
        self.pre_roll_ms = _check_ms(pre_roll_ms, "pre_roll_ms")
        self.hangover_ms = _check_ms(hangover_ms, "hangover_ms")
        self.min_speech_ms = _check_ms(min_speech_ms, "min_speech_ms")
        self.max_utterance_s = _check_max_utterance(max_utterance_s)
        self.sample_rate, self.frame_ms, self.classifier, self.mode = rate, fms, classifier, m
        self.classifier_rate = classifier_rate(classifier, rate)
        if self.classifier_rate != rate and _factories["resampler"] is None:  # pragma: no cover
            raise AudioFormatError(f"{classifier} needs a resampler at {rate} Hz: import waav.audio.vad")
        self._min_speech = max(1, math.ceil(self.min_speech_ms / fms))
        self._hangover = max(1, math.ceil(self.hangover_ms / fms))
        self._pre_roll = round(self.pre_roll_ms * rate / 1000.0)
        self._max_len = -1 if math.isinf(self.max_utterance_s) else round(self.max_utterance_s * rate)
        self._csize = self.classifier_rate * fms // 1000  # classifier frame, when not "energy"
        # classifier-rate audio is kept apart from the input when resampled, and for Silero
        # (whose windows do not line up with frames)
        self._uses_cls = classifier == "silero" or self.classifier_rate != rate
        self._energy: EnergyClassifier | None = None
        self._vad: Any = None
        self._silero: Any = None
        if classifier == "energy":
            self._energy = EnergyClassifier(fms, m)
        elif classifier == "webrtc":
            self._vad = _webrtc_vad(m)
        else:
            factory = _factories["silero"]
            if factory is None:  # pragma: no cover - set by waav.audio.vad
                raise ImportError("the 'silero' VAD classifier is not available")
            self._silero = factory(self.classifier_rate, m)
        self._resampler: Any = None
        self.reset()

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Start a new stream at time 0: forget all audio, decisions and classifier state."""
        self._hist = bytearray()  # input audio from absolute sample self._hist_base
        self._hist_base = 0
        self._n_in = 0
        self._cls = bytearray()  # classifier-rate audio from classifier sample self._cls_base
        self._cls_base = 0
        self._cls_total = 0
        self._k = 0  # next frame to classify
        self._speaking = False
        self._run = 0  # consecutive speech frames while silent
        self._quiet = 0  # consecutive non-speech frames while speaking
        self._last_speech = 0
        self._utt_start = 0
        self._prev_end = 0
        self._finished = False
        self._n_win = 0  # silero: windows classified so far, and the last one's decision
        self._win_speech = False
        if self._energy is not None:
            self._energy.reset()
        if self._vad is not None:
            self._vad = _webrtc_vad(self.mode)
        if self._silero is not None:
            self._silero.reset()
        self._cls_skip = 0
        if self.classifier_rate != self.sample_rate:
            self._resampler = _factories["resampler"](self.sample_rate, self.classifier_rate, quality="voip")
            # stream output j is the input at time (j - D) / C: drop the D delay samples so
            # classifier sample j is stream time j / C (flush() drains the D at the end)
            self._cls_skip = round(self._resampler.delay * self.classifier_rate)

    def _b(self, k: int) -> int:
        """First input sample of frame ``k``."""
        return k * self.frame_ms * self.sample_rate // 1000

    # -- public API ---------------------------------------------------------------------

    def process(self, chunk: Any) -> list[VadEvent]:
        """Feed a chunk of int16 PCM (any length) and return the events it completes."""
        x = as_int16(chunk, "chunk")
        if self._finished:
            raise AudioFormatError("process() after flush(): call reset() to start a new stream")
        raw = x.tobytes()
        self._hist += raw
        self._n_in += len(x)
        if self._resampler is not None:
            self._push_cls(self._resampler.process(raw))
        elif self._uses_cls:
            self._push_cls(raw)
        events = self._classify()
        self._trim()
        return events

    def flush(self) -> list[VadEvent]:
        """End the stream: classify what is complete and close an open utterance."""
        if self._finished:
            return []
        if self._resampler is not None:
            self._push_cls(self._resampler.flush())
        events = self._classify()
        if self._speaking:
            events.append(self._end(self._n_in))
        self._finished = True
        return events

    @property
    def quiet_ms(self) -> float:
        """Milliseconds of consecutive non-speech frames ending the open utterance (0.0
        outside an utterance): how far into a possible hangover the speaker has paused."""
        return float(self._quiet * self.frame_ms) if self._speaking else 0.0

    @property
    def speech_end(self) -> float | None:
        """Stream time (s) at the end of the open utterance's last speech frame, or None
        outside an utterance: the ``time`` its ``end`` event will carry if no speech follows."""
        return self._b(self._last_speech + 1) / self.sample_rate if self._speaking else None

    # -- internals ----------------------------------------------------------------------

    def _push_cls(self, y: bytes) -> None:
        drop = min(self._cls_skip, len(y) // 2)
        self._cls_skip -= drop
        self._cls += y[2 * drop :]
        self._cls_total += len(y) // 2 - drop

    def _frame_ready(self, k: int) -> bool:
        if self._n_in * 1000 < (k + 1) * self.frame_ms * self.sample_rate:
            return False
        if self._silero is not None:
            w: int = self._silero.window
            return self._cls_total >= (((k + 1) * self._csize - 1) // w + 1) * w
        if self._uses_cls:
            return self._cls_total >= (k + 1) * self._csize
        return True

    def _cls_frame(self, k: int) -> bytes:
        """Classifier-rate samples of frame ``k`` (the input itself at native rates)."""
        if not self._uses_cls:
            a, e = self._b(k) - self._hist_base, self._b(k + 1) - self._hist_base
            return bytes(self._hist[2 * a : 2 * e])
        a = k * self._csize - self._cls_base
        return bytes(self._cls[2 * a : 2 * (a + self._csize)])

    def _decide(self, k: int) -> bool:
        if self._energy is not None:
            return self._energy(np.frombuffer(self._cls_frame(k), dtype="<i2"))
        if self._vad is not None:
            return bool(self._vad.is_speech(self._cls_frame(k), self.classifier_rate))
        return self._silero_decision(k)

    def _silero_decision(self, k: int) -> bool:
        # windows of W classifier samples; frame k takes the window holding its last sample
        w = self._silero.window
        j = ((k + 1) * self._csize - 1) // w
        while self._n_win <= j:  # j never decreases: frames are classified in order
            a = self._n_win * w - self._cls_base
            self._win_speech = bool(self._silero(bytes(self._cls[2 * a : 2 * (a + w)])))
            self._n_win += 1
        return self._win_speech

    def _classify(self) -> list[VadEvent]:
        events: list[VadEvent] = []
        while self._frame_ready(self._k):
            self._step(self._decide(self._k), self._k, events)
            self._k += 1
        return events

    def _step(self, speech: bool, k: int, events: list[VadEvent]) -> None:
        rate = self.sample_rate
        if not self._speaking:
            self._run = self._run + 1 if speech else 0
            if self._run >= self._min_speech:
                k0 = k - self._min_speech + 1
                self._speaking, self._quiet, self._last_speech = True, 0, k
                self._utt_start = max(self._b(k0) - self._pre_roll, self._prev_end, 0)
                events.append(VadEvent("start", self._b(k0) / rate))
            else:
                return
        elif speech:
            self._last_speech, self._quiet = k, 0
        else:
            self._quiet += 1
        end = self._b(k + 1)
        if self._quiet >= self._hangover:
            events.append(self._end(end))
        elif self._max_len >= 0 and end - self._utt_start >= self._max_len:
            events.append(self._end(end))
            if speech:  # still talking: the next utterance starts at the cut
                self._speaking, self._quiet, self._last_speech, self._utt_start = True, 0, k, end
                events.append(VadEvent("start", end / rate))

    def _end(self, end: int) -> VadEvent:
        rate = self.sample_rate
        a, e = self._utt_start - self._hist_base, end - self._hist_base
        event = VadEvent(
            "end",
            self._b(self._last_speech + 1) / rate,
            bytes(self._hist[2 * a : 2 * e]),
            self._utt_start / rate,
            end / rate,
        )
        self._speaking, self._run, self._prev_end = False, 0, end
        return event

    def _trim(self) -> None:
        """Drop input audio no future event can need, and classified classifier samples."""
        if self._speaking:
            keep = self._utt_start
        else:
            keep = max(self._b(self._k - self._run) - self._pre_roll, self._prev_end, 0)
        if keep > self._hist_base:
            del self._hist[: 2 * (keep - self._hist_base)]
            self._hist_base = keep
        if self._uses_cls:
            ckeep = self._k * self._csize
            if self._silero is not None:
                ckeep = self._n_win * self._silero.window
            if ckeep > self._cls_base:
                del self._cls[: 2 * (ckeep - self._cls_base)]
                self._cls_base = ckeep

    def __repr__(self) -> str:
        return (
            f"VadSegmenter(sample_rate={self.sample_rate}, frame_ms={self.frame_ms}, "
            f"classifier={self.classifier!r}, mode={self.mode}, pre_roll_ms={self.pre_roll_ms}, "
            f"hangover_ms={self.hangover_ms}, min_speech_ms={self.min_speech_ms}, "
            f"max_utterance_s={self.max_utterance_s})"
        )
