"""Deepgram Aura TTS adapter against FakeDeepgramTTS."""

from __future__ import annotations

import json

import numpy as np
import pytest

import waav
from waav.providers.base import Pronunciation
from waav.providers.tts.deepgram import DeepgramTTS
from waav.testing.fakes import FakeDeepgramTTS, Faults, synth_pcm16

from . import _contract as C


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(DeepgramTTS, FakeDeepgramTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(DeepgramTTS, FakeDeepgramTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(DeepgramTTS, FakeDeepgramTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(DeepgramTTS, FakeDeepgramTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("deepgram", "DEEPGRAM_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("deepgram", "DEEPGRAM_API_KEY", FakeDeepgramTTS, monkeypatch)


async def test_request_shape() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(DeepgramTTS, fake, voice_id="aura-2-thalia-en", speaking_rate=1.2)
        await tts.speak("hi")
        await col.wait_done()
        req = fake.requests[0]
        assert req.method == "POST"
        assert req.path == "/v1/speak"
        assert req.headers["authorization"] == "Token test-key"
        assert req.query == {
            "model": "aura-2-thalia-en",
            "encoding": "linear16",
            "sample_rate": "24000",
            "container": "none",
            "speed": "1.2",
        }
        assert json.loads(req.body) == {"text": "hi"}
        await tts.disconnect()


async def test_mulaw_8k_is_requested_natively_and_passed_through() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(DeepgramTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("telephony")
        await col.wait_done()
        assert fake.requests[0].query["encoding"] == "mulaw"
        assert fake.requests[0].query["sample_rate"] == "8000"
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("telephony", 8000))
        assert {(a.format, a.sample_rate) for a in col.audio} == {("mulaw", 8000)}
        await tts.disconnect()


async def test_float32_is_converted_from_linear16() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(DeepgramTTS, fake, audio_format="float32")
        await tts.speak("ab")
        await col.wait_done()
        assert fake.requests[0].query["encoding"] == "linear16"
        expected = waav.audio.int16_to_float32(synth_pcm16("ab", 24000))
        np.testing.assert_array_equal(np.frombuffer(col.data, np.float32), expected)
        await tts.disconnect()


async def test_unsupported_rate_is_resampled_to_the_client_rate() -> None:
    # Deepgram has no 22.05 kHz PCM: the adapter asks for 24 kHz and resamples.
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(DeepgramTTS, fake, sample_rate=22050)
        await tts.speak("a" * 20)
        await col.wait_done()
        assert not col.errors, col.errors
        assert fake.requests[0].query["sample_rate"] == "24000"
        out = np.frombuffer(col.data, "<i2")
        assert abs(len(out) - 20 * 441 // 2) <= 8  # 200 ms at 22.05 kHz
        assert np.all(np.abs(out[len(out) // 4 : 3 * len(out) // 4].astype(int) - 97) <= 2)
        assert {a.sample_rate for a in col.audio} == {22050}
        await tts.disconnect()


async def test_mp3_is_passed_through() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(DeepgramTTS, fake, audio_format="mp3")
        await tts.speak("compressed")
        await col.wait_done()
        assert fake.requests[0].query == {"model": "aura-asteria-en", "encoding": "mp3"}
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_pronunciations_are_applied() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, col = await C.session(
            DeepgramTTS, fake, pronunciations=[Pronunciation(word="SQL", pronunciation="sequel")]
        )
        await tts.speak("SQL or SQLite")
        await col.wait_done()
        assert json.loads(fake.requests[0].body) == {"text": "sequel or SQLite"}
        await tts.disconnect()


async def test_list_voices() -> None:
    async with FakeDeepgramTTS() as fake:
        tts, _ = await C.session(DeepgramTTS, fake)
        voices = await tts.list_voices()
        assert [v.id for v in voices] == ["aura-2-thalia-en", "aura-orion-en"]
        assert voices[0].gender == "female"
        assert voices[0].accent == "American"
        assert voices[0].language == "en"
        assert voices[0].sample.endswith(".wav")
        assert fake.requests[-1].headers["authorization"] == "Token test-key"
        fake.faults = Faults(reject_auth=True)
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()
        await tts.disconnect()
