"""The offline ``hibari`` TTS: streamed per sentence, converted natively to the asked format."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import waav
from waav import audio
from waav.plugin import global_registry
from waav.providers.base import TTSConfig
from waav.providers.local import hibari
from waav.providers.local.hibari import HibariTTS
from waav.testing.fakes import AudioCollector

from ._speech import SENTENCES

TEXT = " ".join(SENTENCES)


async def session(**config: object) -> tuple[HibariTTS, AudioCollector]:
    tts = global_registry().create_tts("hibari", {"provider": "hibari", **config})
    assert isinstance(tts, HibariTTS)
    got = AudioCollector()
    tts.on_audio(got)
    await tts.connect()
    return tts, got


def native_pcm(text: str) -> bytes:
    """What the engine says at 24 kHz (seed 0, as the session uses), sentence by sentence."""
    eng = hibari.engine()
    return b"".join(audio.float32_to_int16(eng.synthesize(s)) for s in eng.sentences(text))


async def test_streams_one_chunk_per_sentence_then_completes() -> None:
    tts, got = await session(sample_rate=24000)
    await tts.speak(TEXT)
    await got.wait_done(1, timeout=30)
    assert got.events.count("audio") >= 3
    assert got.events[-1] == "complete"
    assert got.events.index("complete") == len(got.events) - 1
    assert all(a.sample_rate == 24000 and a.format == "linear16" for a in got.audio)
    assert got.data == native_pcm(TEXT)  # at the native rate nothing is changed
    assert 5.0 < len(got.data) / 2 / 24000 < 15.0
    assert tts.last_first_audio_s is not None
    assert tts.last_first_audio_s < 0.5
    await tts.disconnect()


async def test_resampled_natively_to_the_requested_rate() -> None:
    """One streaming resampler per request: the sentence joins are seamless, so the stream
    equals the one-shot resampling of the whole native audio."""
    tts, got = await session(sample_rate=16000)
    await tts.speak(TEXT)
    await got.wait_done(1, timeout=30)
    assert all(a.sample_rate == 16000 for a in got.audio)
    assert got.data == audio.resample(native_pcm(TEXT), 24000, 16000)
    await tts.disconnect()


async def test_telephony_format() -> None:
    tts, got = await session(sample_rate=8000, audio_format="mulaw")
    await tts.speak(SENTENCES[0])
    await got.wait_done(1, timeout=30)
    assert got.data == audio.ulaw_encode(audio.resample(native_pcm(SENTENCES[0]), 24000, 8000))
    assert got.audio[0].format == "mulaw"
    await tts.disconnect()


async def test_flush_false_holds_text_until_flush() -> None:
    tts, got = await session(sample_rate=24000)
    await tts.speak(SENTENCES[0], flush=False)
    await tts.speak(SENTENCES[1], flush=False)
    await asyncio.sleep(0.2)
    assert got.events == []
    await tts.flush()
    await got.wait_done(1, timeout=30)
    assert got.completions == 1
    assert got.data == native_pcm(f"{SENTENCES[0]} {SENTENCES[1]}")
    await tts.disconnect()


async def test_clear_stops_the_request_in_flight() -> None:
    tts, got = await session(sample_rate=24000)
    await tts.speak(" ".join([TEXT] * 6))
    await got.wait_for(lambda g: g.events.count("audio") >= 1, timeout=30)
    await tts.clear()
    n = len(got.audio)
    await asyncio.sleep(0.3)
    assert len(got.audio) == n
    assert got.completions == 0
    await tts.speak(SENTENCES[2])  # the session still works after a barge-in
    await got.wait_done(1, timeout=30)
    assert got.completions == 1
    await tts.disconnect()


async def test_speaking_rate_changes_duration() -> None:
    slow, got_slow = await session(sample_rate=24000, speaking_rate=0.8)
    fast, got_fast = await session(sample_rate=24000, speaking_rate=1.25)
    for tts in (slow, fast):
        await tts.speak(SENTENCES[0])
    await got_slow.wait_done(1, timeout=30)
    await got_fast.wait_done(1, timeout=30)
    assert len(got_slow.data) > 1.3 * len(got_fast.data)
    for tts in (slow, fast):
        await tts.disconnect()


async def test_other_voices_are_refused() -> None:
    with pytest.raises(waav.ConfigError, match="not available offline"):
        HibariTTS(TTSConfig(provider="hibari", voice_id="emma"))
    # the config default (a Deepgram voice name) counts as "not chosen"
    assert HibariTTS(TTSConfig(provider="hibari")).provider_info()["voice"] == "heart"


async def test_speak_before_connect_is_an_error() -> None:
    with pytest.raises(waav.ProviderError, match="not connected"):
        await HibariTTS(TTSConfig(provider="hibari")).speak("hello")


async def test_unknown_format_fails_at_connect() -> None:
    tts = HibariTTS(TTSConfig(provider="hibari", audio_format="mp3"))
    with pytest.raises(waav.AudioFormatError):
        await tts.connect()


def test_same_text_same_audio() -> None:
    eng = hibari.engine()
    a, b = eng.synthesize(SENTENCES[0]), eng.synthesize(SENTENCES[0])
    assert np.array_equal(a, b)
    assert a.dtype == np.float32
    assert np.abs(a).max() > 0.05
