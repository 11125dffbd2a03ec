"""Speculative (eager) end-of-turn decoding in the streaming ``whisper`` session."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

import waav
from waav.plugin import global_registry
from waav.providers.base import STTConfig
from waav.providers.local.whisper import WhisperSTT
from waav.testing.fakes import STTCollector

from ._speech import RATE, SENTENCES, frames, normalise, silence

OPTS = {"cpu_threads": 2}


def session(**options: object) -> tuple[WhisperSTT, STTCollector]:
    cfg = {"provider": "whisper", "sample_rate": RATE, "options": {**OPTS, **options}}
    stt = global_registry().create_stt("whisper", cfg)
    assert isinstance(stt, WhisperSTT)
    return stt, STTCollector(stt)


async def run(stt: WhisperSTT, chunks: list[bytes], pace: float = 0.0) -> None:
    await stt.connect()
    for chunk in chunks:
        await stt.send_audio(chunk)
        await asyncio.sleep(pace)
    await stt.disconnect()


def audible(pcm: bytes) -> bytes:
    """``pcm`` without its leading and trailing near-silence (hibari pads ~0.3-0.4 s)."""
    x = np.frombuffer(pcm, "<i2")
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) > 10)
    return x[loud[0] : loud[-1] + 1].tobytes()


def key(got: STTCollector) -> list[tuple[str, float]]:
    return [(r.transcript, r.confidence) for r in got.results]


async def test_eager_on_and_off_give_identical_results_in_order(conversation: bytes) -> None:
    """Same audio decoded either way: identical transcripts and confidences, in order."""
    eager, eager_got = session()
    await run(eager, frames(conversation), pace=0.002)  # some time for speculation to start
    plain, plain_got = session(eager_silence_ms=0)
    await run(plain, frames(conversation))
    assert [normalise(t) for t in eager_got.transcripts] == [normalise(s) for s in SENTENCES]
    assert key(eager_got) == key(plain_got)
    assert not eager_got.errors
    assert not plain_got.errors
    assert eager.speculative_hits >= 1, "no final came from a speculative decode"
    assert plain.speculative_decodes == 0
    assert eager.utterances == plain.utterances == 3


async def test_a_short_pause_does_not_end_the_turn(speech: list[bytes]) -> None:
    """A 200 ms pause between the audible parts (the VAD sees ~180 ms of it: more than the
    120 ms that starts a speculative decode, less than the 300 ms hangover) starts a decode
    of the first sentence; the speech that follows makes it stale: it is dropped, and the
    one final is the whole utterance, as without speculation."""
    audio = silence(0.5) + audible(speech[0]) + silence(0.2) + audible(speech[1]) + silence(1.0)
    eager, eager_got = session()
    await run(eager, frames(audio), pace=0.002)
    plain, plain_got = session(eager_silence_ms=0)
    await run(plain, frames(audio))
    # the pause's decode was started and dropped (the real end may get one too, unless the
    # dropped one is still running then: one speculation in flight at most)
    assert eager.speculative_decodes >= 1
    assert eager.speculative_decodes - eager.speculative_hits >= 1
    assert len(eager_got.finals) == 1
    assert normalise(eager_got.transcripts[0]).startswith(normalise(SENTENCES[0]))
    assert normalise(eager_got.transcripts[0]).endswith(normalise(SENTENCES[1]))
    assert key(eager_got) == key(plain_got)


async def _latency(stt: WhisperSTT, got: STTCollector, speech: bytes) -> float:
    """Feed speech then silence in real-time 20 ms frames; seconds from the end of the
    speech audio to the final."""
    await stt.connect()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    spoken = 0.0
    speech_end: float | None = None
    for chunk in frames(silence(0.3) + speech + silence(2.0)):
        await stt.send_audio(chunk)
        spoken += len(chunk) / 2 / RATE
        if speech_end is None and spoken >= 0.3 + len(speech) / 2 / RATE:
            speech_end = loop.time()
        if got.finals:
            break
        await asyncio.sleep(max(0.0, t0 + spoken - loop.time()))
    await got.wait_for(lambda: got.finals, timeout=10.0)
    arrived = loop.time()
    await stt.disconnect()
    assert speech_end is not None
    return arrived - speech_end


async def test_eager_final_arrives_sooner(speech: list[bytes]) -> None:
    """With an 800 ms hangover the turn is confirmed late. Without speculation the decode
    starts then, so the final comes a decode time ``D`` after; the speculative decode starts
    120 ms into the pause and is done by then (``D`` < 680 ms), so the final comes at once.
    Asserted: sooner by more than half of ``D`` measured here (the fastest of two decodes)."""
    eager, eager_got = session(hangover_ms=800)
    plain, plain_got = session(hangover_ms=800, eager_silence_ms=0)
    fast = await _latency(eager, eager_got, speech[2])
    slow = await _latency(plain, plain_got, speech[2])
    engine = plain.engine
    assert engine is not None
    decode = []
    for _ in range(2):
        t0 = time.perf_counter()
        await asyncio.to_thread(engine.transcribe, speech[2])
        decode.append(time.perf_counter() - t0)
    assert normalise(eager_got.transcripts[0]) == normalise(plain_got.transcripts[0])
    assert normalise(eager_got.transcripts[0]) == normalise(SENTENCES[2])
    assert eager.speculative_hits == 1
    assert slow - fast > 0.5 * min(decode), f"eager {fast:.3f} s, not eager {slow:.3f} s, decode {decode}"


def test_eager_options() -> None:
    assert WhisperSTT(STTConfig(provider="whisper"))._eager_ms == 120.0
    assert WhisperSTT(STTConfig(provider="whisper", options={"tail_ms": 0}))._eager_ms == 120.0
    # the snapshot must hold the whole tail: a shorter pause is raised to it
    opts = {"tail_ms": 200, "eager_silence_ms": 60}
    assert WhisperSTT(STTConfig(provider="whisper", options=opts))._eager_ms == 200.0
    # a pause as long as the hangover is the end of the turn: nothing to speculate on
    opts = {"hangover_ms": 100, "eager_silence_ms": 100}
    assert WhisperSTT(STTConfig(provider="whisper", options=opts))._eager_ms == 0.0
    assert WhisperSTT(STTConfig(provider="whisper", options={"eager_silence_ms": 0}))._eager_ms == 0.0


def test_eager_options_are_checked() -> None:
    with pytest.raises(waav.ConfigError, match="eager_silence_ms"):
        WhisperSTT(STTConfig(provider="whisper", options={"eager_silence_ms": 5000}))
    with pytest.raises(waav.ConfigError, match="tail_ms"):
        WhisperSTT(STTConfig(provider="whisper", options={"tail_ms": -1}))
    with pytest.raises(waav.ConfigError, match="eager_silence_ms"):
        WhisperSTT(STTConfig(provider="whisper", options={"eager_silence_ms": "soon"}))
