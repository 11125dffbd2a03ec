"""The offline engines: real-time factors and latencies on this machine.

Workload: ~40 s of hibari speech (a paragraph of 13 sentences, 16 kHz mono), made once.
Each case checks its output before it is timed (the transcript must match the text).

* ``whisper_file`` — ``waav.providers.local.batch.transcribe`` (VAD-cut utterances packed
  into ≤ 30 s pieces → tiny.en, int8, 2 CPU threads, beam 5), and faster-whisper on the
  whole file as the peer;
* ``pocketsphinx_file`` — the same through PocketSphinx;
* ``hibari_synth`` — the paragraph synthesised sentence by sentence and resampled to 16 kHz;
* ``hibari_first_audio`` — the first sentence only: the time to first audio of a request;
* ``stt_final_latency`` — a streaming whisper session fed in real time: time from the end
  of speech (last frame above -50 dBFS) to the final result (includes the VAD's 300 ms hangover);
* ``demo`` — ``waav demo`` through an in-process gateway's ``/ws`` (``waav._demo``): time to
  first audio of ``speak`` and end of speech → final transcript, over a few runs.

Run: ``pytest benchmarks/bench_local.py`` (pytest-benchmark table), or
``python benchmarks/bench_local.py [--demo]`` for the figures against the targets
(whisper ≥ 15x, hibari ≥ 100x with first audio ≤ 50 ms, end of speech → final ≤ 0.8 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from waav import audio
from waav._demo import DemoResult, end_of_speech, run_demo
from waav.providers.local import batch, hibari, whisper

RATE = 16000
PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. A gentle breeze moved across the quiet lake. "
    "Please call me back when you get home. The old library closes early on the weekend. "
    "She packed a small bag and walked to the station. We watched the sun go down behind the hills. "
    "The coffee in this little shop is very good. He forgot his umbrella and got wet in the rain. "
    "The children played in the garden until dinner was ready. Our train was late because of the snow. "
    "They painted the kitchen a bright shade of yellow. I would like to learn how to play the piano. "
    "The market is busy every morning before noon."
)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).split()


def wer(hyp: str, ref: str) -> float:
    """Word error rate (Levenshtein over words)."""
    h, r = words(hyp), words(ref)
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / max(1, len(r))


_speech: bytes | None = None


def speech() -> bytes:
    """The paragraph at 16 kHz mono int16 (made once)."""
    global _speech
    if _speech is None:
        _speech = batch.synthesize(PARAGRAPH, sample_rate=RATE).pcm16
    return _speech


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / RATE


def whisper_vad() -> str:
    return batch.transcribe(speech(), RATE, provider="whisper", options={"cpu_threads": 2}).text


def whisper_whole() -> str:
    eng = whisper.engine_for(None, cpu_threads=2)
    segments, _ = eng.model.transcribe(audio.int16_to_float32(speech()), language="en", beam_size=5)
    return " ".join(s.text.strip() for s in segments)


def sphinx() -> str:
    return batch.transcribe(speech(), RATE, provider="pocketsphinx").text


def hibari_paragraph() -> bytes:
    return batch.synthesize(PARAGRAPH, sample_rate=RATE).pcm16


def hibari_first() -> bytes:
    """What a TTS request does before its first audio: split, synthesise one sentence, resample."""
    eng = hibari.engine()
    first = eng.sentences(PARAGRAPH)[0]
    rs = audio.Resampler(hibari.RATE, RATE, dtype="int16")
    out: bytes = rs.process(audio.float32_to_int16(eng.synthesize(first)))
    return out


async def _final_latency(**options: Any) -> float:
    """Feed one sentence in real time (20 ms frames) into a whisper session (extra
    ``options``); return the seconds from the last frame of speech to the final result."""
    from waav.plugin import global_registry

    pcm = batch.synthesize("Please call me back when you get home.", sample_rate=RATE).pcm16
    cfg = {"sample_rate": RATE, "options": {"cpu_threads": 2, **options}}
    stt = global_registry().create_stt("whisper", cfg)
    done = asyncio.Event()
    stt.on_result(lambda r: done.set() if r.is_final else None)
    await stt.connect()
    frame = 640
    lead = b"\0\0" * (RATE // 2)
    for i in range(0, len(lead), frame):
        await stt.send_audio(lead[i : i + frame])
    t_end = 0.0
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    # hibari ends a sentence with ~0.5 s of digital silence: the end of speech is the last
    # frame above -50 dBFS, not the end of the buffer
    last = end_of_speech(pcm)
    for i in range(0, len(pcm), frame):
        await stt.send_audio(pcm[i : i + frame])
        n += 1
        if n == last:
            t_end = loop.time()
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
    silence = b"\0\0" * (frame // 2)
    while not done.is_set():
        await stt.send_audio(silence)
        n += 1
        with contextlib.suppress(asyncio.TimeoutError):  # not the builtin on Python 3.10
            await asyncio.wait_for(done.wait(), max(0.0, start + n * 0.02 - loop.time()))
        if loop.time() - t_end > 10:
            raise TimeoutError("no final result within 10 s")
    latency = loop.time() - t_end
    await stt.disconnect()
    return latency


def final_latency(**options: Any) -> float:
    return asyncio.run(_final_latency(**options))


DEMO_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A gentle breeze moved across the quiet lake.",
    "Please call me back when you get home.",
)


def demo_runs(rounds: int) -> list[DemoResult]:
    """``waav demo`` against one in-process gateway, ``rounds`` times (sentences in turn);
    the first run (model loading) is a warm-up and is not returned."""
    from waav.config import ServerConfig, ServerSection
    from waav.gateway import GatewayServer

    async def go() -> list[DemoResult]:
        async with GatewayServer(ServerConfig(server=ServerSection(host="127.0.0.1", port=0))) as gw:
            out = []
            for i in range(rounds + 1):
                r = await run_demo(gw.ws_url, DEMO_SENTENCES[i % len(DEMO_SENTENCES)])
                assert r.match, f"demo heard {r.transcript!r} for {r.text!r}"
                out.append(r)
            return out[1:]

    return asyncio.run(go())


DEMO_ROUNDS = 6

CHECKS: dict[str, Callable[[], Any]] = {
    "whisper_file-vad": lambda: wer(whisper_vad(), PARAGRAPH) <= 0.02,
    "whisper_file-whole": lambda: wer(whisper_whole(), PARAGRAPH) <= 0.05,
    "pocketsphinx_file-vad": lambda: wer(sphinx(), PARAGRAPH) <= 0.35,
    "hibari_synth-16k": lambda: seconds(hibari_paragraph()) > 30,
    "hibari_first_audio-16k": lambda: seconds(hibari_first()) > 1,
}
CASES: dict[str, tuple[Callable[[], Any], int]] = {
    "whisper_file-vad": (whisper_vad, 3),
    "whisper_file-whole": (whisper_whole, 3),
    "pocketsphinx_file-vad": (sphinx, 3),
    "hibari_synth-16k": (hibari_paragraph, 5),
    "hibari_first_audio-16k": (hibari_first, 20),
}


@pytest.mark.parametrize("case", list(CASES))
def test_local(benchmark: Any, case: str) -> None:
    op, impl = case.split("-")
    func, rounds = CASES[case]
    assert CHECKS[case](), f"{case}: wrong output"  # also the warm-up (models loaded)
    benchmark.group = f"local {op}"
    benchmark.extra_info.update(op=op, size="40s@16k", impl=impl, audio_s=seconds(speech()))
    benchmark.pedantic(func, rounds=rounds, iterations=1)


@pytest.mark.benchmark(group="local stt_final_latency")
def test_final_latency(benchmark: Any) -> None:
    benchmark.extra_info.update(op="stt_final_latency", size="sentence@16k", impl="whisper")
    latency = benchmark.pedantic(final_latency, rounds=1, iterations=1)
    assert latency < 5.0


@pytest.mark.benchmark(group="local demo")
def test_demo(benchmark: Any) -> None:
    benchmark.extra_info.update(op="demo", size="sentence@16k", impl="hibari+whisper over /ws")
    (r,) = benchmark.pedantic(demo_runs, args=(1,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        time_to_first_audio_s=r.time_to_first_audio_s, final_latency_s=r.final_latency_s
    )
    assert 0 < r.time_to_first_audio_s < 5
    assert 0 < r.final_latency_s < 5


def _median(func: Callable[[], Any], rounds: int) -> float:
    func()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    audio_s = seconds(speech())
    print(f"workload: {audio_s:.1f} s of hibari speech at 16 kHz (13 sentences)")
    for case in CASES:
        assert CHECKS[case](), f"{case}: wrong output"
    whisper_wer = wer(whisper_vad(), PARAGRAPH)
    sphinx_wer = wer(sphinx(), PARAGRAPH)
    rows = [
        (
            "whisper tiny.en, VAD-cut, packed (waav transcribe)",
            audio_s / _median(whisper_vad, 3),
            ">= 15x",
            whisper_wer,
        ),
        ("whisper tiny.en, whole file (faster-whisper)", audio_s / _median(whisper_whole, 3), "", None),
        ("pocketsphinx en-us, VAD-cut", audio_s / _median(sphinx, 3), "", sphinx_wer),
        ("hibari heart -> 16 kHz", audio_s / _median(hibari_paragraph, 5), ">= 100x", None),
    ]
    for name, xrt, target, err in rows:
        extra = f", WER {100 * err:.1f} %" if err is not None else ""
        print(f"  {name:48s} {xrt:7.1f}x real time {target}{extra}")
    first = _median(hibari_first, 20)
    print(f"  {'hibari time to first audio':48s} {first * 1000:7.1f} ms (target <= 50 ms)")
    lat = statistics.median(final_latency() for _ in range(3))
    print(f"  {'whisper end of speech -> final (streaming)':48s} {lat * 1000:7.0f} ms (target <= 800 ms)")
    demo_report()
    return 0


def streaming_report(rounds: int = 6) -> None:
    final_latency()  # warm-up: loads the model
    print(f"whisper streaming, end of speech -> final, {rounds} runs after a warm-up: median [min-max]")
    for name, options in (
        ("eager (default: eager_silence_ms=120)", {}),
        ("not eager (eager_silence_ms=0)", {"eager_silence_ms": 0}),
    ):
        xs = [final_latency(**options) for _ in range(rounds)]
        print(
            f"  {name:48s} {statistics.median(xs) * 1000:7.0f} ms "
            f"[{min(xs) * 1000:.0f}-{max(xs) * 1000:.0f}] (target <= 800 ms)"
        )


def demo_report() -> None:
    runs = demo_runs(DEMO_ROUNDS)
    ttfa = [r.time_to_first_audio_s for r in runs]
    final = [r.final_latency_s for r in runs]
    print(f"waav demo over /ws (in-process gateway), {len(runs)} runs after a warm-up: median [min-max]")
    for name, xs, target in (
        ("time to first audio (speak -> first frame)", ttfa, "<= 50 ms"),
        ("end of speech -> final transcript", final, "<= 800 ms"),
    ):
        print(
            f"  {name:48s} {statistics.median(xs) * 1000:7.0f} ms "
            f"[{min(xs) * 1000:.0f}-{max(xs) * 1000:.0f}] (target {target})"
        )
    for name, xs2 in (("TTS x real time (POST /speak)", [r.tts_rtf for r in runs]),
                      ("STT x real time (unpaced /ws)", [r.stt_rtf for r in runs])):  # fmt: skip
        print(f"  {name:48s} {statistics.median(xs2):7.1f}x [{min(xs2):.1f}-{max(xs2):.1f}]")


if __name__ == "__main__":
    if sys.argv[1:] == ["--demo"]:  # only the demo's latencies (about a minute)
        demo_report()
        sys.exit(0)
    if sys.argv[1:] == ["--streaming"]:  # only the streaming final latency, eager on and off
        streaming_report()
        sys.exit(0)
    sys.exit(main())
