"""VAD segmentation beside a straightforward pure-Python framing loop over webrtcvad.

The peer ("python-loop") is what a Python user writes today: slice the buffer into
frames, call ``webrtcvad.Vad(mode).is_speech`` on each, and run the same segmentation
rules as :class:`waav.audio.VadSegmenter` (min speech, hangover, pre-roll, max
utterance) in Python, returning the same events. Before timing, each case checks that
waav and the loop agree (identical events; at 16 kHz both run webrtcvad on the same
frames, so the decisions are identical too). Inputs: 10 s of ``speech_like`` audio
(1.2 s bursts, 0.8 s pauses), 20 ms frames, mode 2, default segmentation parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import webrtcvad

import waav.audio as A
from waav.testing.signals import speech_like

FRAME_MS = 20
MODE = 2


def python_loop(
    pcm: bytes,
    rate: int,
    frame_ms: int = FRAME_MS,
    mode: int = MODE,
    pre_roll_ms: float = 300,
    hangover_ms: float = 300,
    min_speech_ms: float = 100,
    max_utterance_s: float = 30.0,
) -> list[tuple[Any, ...]]:
    """The peer: frames -> is_speech -> start/end events with utterance audio, in Python."""
    vad = webrtcvad.Vad(mode)
    n = rate * frame_ms // 1000
    min_speech = max(1, math.ceil(min_speech_ms / frame_ms))
    hangover = max(1, math.ceil(hangover_ms / frame_ms))
    pre_roll = round(pre_roll_ms * rate / 1000)
    max_len = round(max_utterance_s * rate)
    events: list[tuple[Any, ...]] = []
    speaking, run, quiet, last, start, prev_end = False, 0, 0, 0, 0, 0

    def end_at(end: int) -> None:
        events.append(("end", (last + 1) * n / rate, pcm[2 * start : 2 * end], start / rate, end / rate))

    for k in range(len(pcm) // (2 * n)):
        speech = vad.is_speech(pcm[2 * n * k : 2 * n * (k + 1)], rate)
        if not speaking:
            run = run + 1 if speech else 0
            if run < min_speech:
                continue
            k0 = k - min_speech + 1
            speaking, quiet, last = True, 0, k
            start = max(k0 * n - pre_roll, prev_end, 0)
            events.append(("start", k0 * n / rate, None, None, None))
        elif speech:
            last, quiet = k, 0
        else:
            quiet += 1
        end = (k + 1) * n
        if quiet >= hangover:
            end_at(end)
            speaking, run, prev_end = False, 0, end
        elif end - start >= max_len:
            end_at(end)
            speaking, run, prev_end = False, 0, end
            if speech:
                speaking, quiet, last, start = True, 0, k, end
                events.append(("start", end / rate, None, None, None))
    if speaking:
        end_at(len(pcm) // 2)
    return events


def waav_segment(pcm: bytes, rate: int, classifier: str = "webrtc") -> list[tuple[Any, ...]]:
    seg = A.VadSegmenter(rate, FRAME_MS, classifier, MODE)
    events = seg.process(pcm) + seg.flush()
    return [(e.kind, e.time, e.audio, e.start, e.end) for e in events]


PCM = {rate: speech_like(10.0, rate, seed=1) for rate in (16000, 48000)}


def _stream(pcm: bytes, rate: int, classifier: str = "webrtc") -> Callable[[], object]:
    chunk = 2 * rate * FRAME_MS // 1000
    chunks = [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]

    def run() -> None:
        seg = A.VadSegmenter(rate, FRAME_MS, classifier, MODE)
        for c in chunks:
            seg.process(c)
        seg.flush()

    return run


# op -> size -> impl -> callable; "waav" is the one the ratio is about.
CASES: dict[tuple[str, str], dict[str, Callable[[], object]]] = {
    ("vad_segment_webrtc", "10s@16k"): {
        "waav": lambda: waav_segment(PCM[16000], 16000),
        "python-loop": lambda: python_loop(PCM[16000], 16000),
    },
    ("vad_segment_webrtc", "10s@48k"): {
        "waav": lambda: waav_segment(PCM[48000], 48000),
        "python-loop": lambda: python_loop(PCM[48000], 48000),
    },
    # the energy classifier against the webrtc Python loop (the target is vs that loop)
    ("vad_segment_energy", "10s@16k"): {
        "waav": lambda: waav_segment(PCM[16000], 16000, "energy"),
        "python-loop": lambda: python_loop(PCM[16000], 16000),
    },
    ("vad_segment_webrtc_20ms_chunks", "10s@16k"): {
        "waav": _stream(PCM[16000], 16000),
        "python-loop": lambda: python_loop(PCM[16000], 16000),
    },
    ("vad_segment_webrtc_20ms_chunks", "10s@48k"): {
        "waav": _stream(PCM[48000], 48000),
        "python-loop": lambda: python_loop(PCM[48000], 48000),
    },
    ("frame_decisions", "10s@16k"): {
        "waav": lambda: A.frame_decisions(PCM[16000], 16000, FRAME_MS, MODE),
        "python-loop": lambda: [
            v.is_speech(PCM[16000][i : i + 640], 16000)
            for v in [webrtcvad.Vad(MODE)]
            for i in range(0, len(PCM[16000]) - 639, 640)
        ],
    },
}

PARAMS = [
    pytest.param(op, size, impl, id=f"{op}-{size}-{impl}")
    for (op, size), impls in CASES.items()
    for impl in impls
]


def test_same_events() -> None:
    """The loop is a fair peer: at 16 kHz it gives exactly waav's events."""
    assert waav_segment(PCM[16000], 16000) == python_loop(PCM[16000], 16000)
    decisions = A.frame_decisions(PCM[16000], 16000, FRAME_MS, MODE)
    assert decisions.tolist() == CASES[("frame_decisions", "10s@16k")]["python-loop"]()
    # at 48 kHz waav classifies a 16 kHz decimation: same utterances, boundaries within a frame
    ours, theirs = waav_segment(PCM[48000], 48000), python_loop(PCM[48000], 48000)
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    assert np.allclose([e[1] for e in ours], [e[1] for e in theirs], atol=0.02 + 1e-9)


@pytest.mark.parametrize(("op", "size", "impl"), PARAMS)
def test_vad(benchmark, op: str, size: str, impl: str) -> None:
    benchmark.group = f"{op} {size}"
    benchmark.extra_info.update(op=op, size=size, impl=impl)
    benchmark(CASES[(op, size)][impl])
