"""The offline ``whisper`` STT: real speech (hibari) in, exact sentences out, off the event loop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import waav
from waav import audio
from waav.plugin import global_registry
from waav.providers.base import STTConfig
from waav.providers.local.whisper import WhisperSTT
from waav.testing.fakes import STTCollector

from ._speech import RATE, SENTENCES, frames, normalise, silence

OPTS = {"cpu_threads": 2}


def session(**config: object) -> tuple[WhisperSTT, STTCollector]:
    cfg = {"provider": "whisper", "sample_rate": RATE, "options": dict(OPTS), **config}
    stt = global_registry().create_stt("whisper", cfg)
    assert isinstance(stt, WhisperSTT)
    return stt, STTCollector(stt)


async def run(stt: WhisperSTT, chunks: list[bytes]) -> None:
    await stt.connect()
    for chunk in chunks:
        await stt.send_audio(chunk)
    await stt.disconnect()


async def test_loopback_returns_each_sentence_exactly(conversation: bytes) -> None:
    """hibari → 16 kHz → 20 ms frames → VAD → whisper: one final per sentence, word for word."""
    stt, got = session()
    await run(stt, frames(conversation))
    assert not got.errors
    assert [normalise(t) for t in got.transcripts] == [normalise(s) for s in SENTENCES]
    assert all(r.is_final and r.is_speech_final for r in got.results)
    assert all(0.0 < r.confidence <= 1.0 for r in got.results)
    assert stt.utterances == 3


async def test_split_and_whole_give_identical_results(conversation: bytes) -> None:
    """The VAD cuts the same utterances whatever the chunking, so whisper sees the same audio."""
    rng = np.random.default_rng(7)
    cuts = np.cumsum(rng.integers(1, 9000, size=len(conversation) // 1000))
    cuts = cuts[cuts < len(conversation)]
    pieces = [conversation[a:b] for a, b in zip([0, *cuts], [*cuts, len(conversation)], strict=True)]
    split_stt, split = session()
    await run(split_stt, pieces)
    whole_stt, whole = session()
    await run(whole_stt, [conversation])
    assert [(r.transcript, r.confidence) for r in split.results] == [
        (r.transcript, r.confidence) for r in whole.results
    ]
    assert len(whole.results) == 3


async def test_any_input_format_is_converted_natively(conversation: bytes) -> None:
    """48 kHz stereo float32 from the client: down-mixed and resampled to 16 kHz inline."""
    mono48 = audio.resample(conversation, RATE, 48000)
    x = audio.int16_to_float32(audio.mono_to_stereo(mono48))
    data = x.astype("<f4").tobytes()
    stt, got = session(sample_rate=48000, channels=2, encoding="float32")
    await run(stt, frames(data, 48 * 20 * 2 * 4))
    assert [normalise(t) for t in got.transcripts] == [normalise(s) for s in SENTENCES]


async def test_word_timestamps_are_stream_times(speech: list[bytes]) -> None:
    stt, got = session(options={**OPTS, "word_timestamps": True})
    await run(stt, frames(silence(2.0) + speech[0] + silence(1.0)))
    (result,) = got.finals
    assert result.words is not None
    assert [normalise(w.word) for w in result.words] == normalise(SENTENCES[0]).split()
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    # the speech starts after 2 s of silence: times are from the stream start, not the utterance
    assert 1.7 < starts[0] < 2.6


async def test_transcription_does_not_block_other_sessions(speech: list[bytes]) -> None:
    """While one long utterance is being transcribed, a second session keeps taking 20 ms
    frames in real time: the model runs on the engine pool, not on the event loop."""
    long_utterance = b"".join(speech) * 2  # ~17 s; a long hangover keeps it one utterance
    busy, busy_got = session(options={**OPTS, "hangover_ms": 1500})
    other, other_got = session()
    await busy.connect()
    await other.connect()
    for chunk in frames(silence(0.5) + long_utterance):
        await busy.send_audio(chunk)
    finishing = asyncio.create_task(busy.disconnect())  # flushes the open utterance to whisper
    await asyncio.sleep(0)
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    while not finishing.done():
        await other.send_audio(silence(0.02))
        sent.append(loop.time())
        await asyncio.sleep(0.02)
    await finishing
    await other.disconnect()
    assert len(busy_got.finals) == 1
    assert normalise(busy_got.transcripts[0]).startswith(normalise(SENTENCES[0]))
    assert not other_got.results
    assert not other_got.errors
    # the transcription took a while, and frames kept flowing the whole time
    assert sent[-1] - sent[0] > 0.3, "transcription finished too fast to prove anything"
    assert len(sent) >= 10
    gaps = np.diff(sent)
    assert gaps.max() < 0.25, f"the event loop stalled for {gaps.max():.3f} s"


async def test_disconnect_transcribes_an_open_utterance(speech: list[bytes]) -> None:
    stt, got = session()
    await run(stt, frames(silence(0.5) + speech[1]))  # no trailing silence: still open at the end
    assert [normalise(t) for t in got.transcripts] == [normalise(SENTENCES[1])]


async def test_silence_gives_no_results() -> None:
    stt, got = session()
    await run(stt, frames(silence(2.0)))
    assert got.results == []
    assert got.errors == []


def test_bad_config_is_refused_with_a_clear_error(tmp_path: object) -> None:
    stt = WhisperSTT(STTConfig(provider="whisper", model="large-v3"))
    with pytest.raises(waav.ConfigError, match="not bundled"):
        stt.load()
    stt = WhisperSTT(STTConfig(provider="whisper", options={"model_path": str(tmp_path)}))
    with pytest.raises(waav.ConfigError, match="not a CTranslate2 Whisper model directory"):
        stt.load()
    with pytest.raises(waav.ConfigError, match="cpu_threads"):
        WhisperSTT(STTConfig(provider="whisper", options={"cpu_threads": "many"})).load()
    with pytest.raises(waav.ConfigError, match="vad_mode"):
        WhisperSTT(STTConfig(provider="whisper", options={"vad_mode": 7}))


async def test_unsupported_encoding_fails_at_connect() -> None:
    stt = WhisperSTT(STTConfig(provider="whisper", encoding="mp3"))
    with pytest.raises(waav.AudioFormatError, match="linear16"):
        await stt.connect()
    assert not stt.is_connected


async def test_send_before_connect_is_an_error() -> None:
    stt = WhisperSTT(STTConfig(provider="whisper"))
    with pytest.raises(waav.ProviderError, match="not connected"):
        await stt.send_audio(b"\0\0" * 320)
