"""LMNT TTS adapter against FakeLmntTTS."""

from __future__ import annotations

import json

import numpy as np
import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation, TTSConfig
from waav.providers.tts.lmnt import LmntTTS
from waav.testing.fakes import FakeLmntTTS, Faults, synth_pcm16

from . import _contract as C


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(LmntTTS, FakeLmntTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(LmntTTS, FakeLmntTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(LmntTTS, FakeLmntTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(LmntTTS, FakeLmntTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("lmnt", "LMNT_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("lmnt", "LMNT_API_KEY", FakeLmntTTS, monkeypatch)


async def test_request_shape() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(
            LmntTTS, fake, voice_id="morgan", options={"language": "en", "top_p": 0.5, "seed": 7}
        )
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert req.method == "POST"
        assert req.path == "/v1/ai/speech/bytes"
        assert req.headers["x-api-key"] == "test-key"
        assert req.headers["lmnt-version"]
        assert json.loads(req.body) == {
            "text": "hi",
            "voice": "morgan",
            "model": "blizzard",
            "format": "pcm_s16le",
            "sample_rate": 24000,
            "language": "en",
            "top_p": 0.5,
            "seed": 7,
        }
        await tts.disconnect()


async def test_unknown_voice_is_a_provider_error() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, voice_id="nobody")
        await tts.speak("hi")
        await col.wait_done()
        assert len(col.errors) == 1
        assert "Invalid voice" in str(col.errors[0])
        await tts.disconnect()


async def test_mulaw_8k_comes_from_ulaw_with_its_wav_header_stripped() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("telephony")
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[0].body)["format"] == "ulaw"
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("telephony", 8000))
        assert {(a.format, a.sample_rate) for a in col.audio} == {("mulaw", 8000)}
        await tts.disconnect()


async def test_unsupported_rate_is_resampled_from_24k() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, sample_rate=22050)
        await tts.speak("a" * 20)
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[0].body)["sample_rate"] == 24000
        out = np.frombuffer(col.data, "<i2")
        assert abs(len(out) - 20 * 441 // 2) <= 8  # 200 ms at 22.05 kHz
        assert np.all(np.abs(out[len(out) // 4 : 3 * len(out) // 4].astype(int) - 97) <= 2)
        await tts.disconnect()


async def test_float32_is_converted_from_pcm16() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, audio_format="float32", sample_rate=16000)
        await tts.speak("ab")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert (body["format"], body["sample_rate"]) == ("pcm_s16le", 16000)
        expected = waav.audio.int16_to_float32(synth_pcm16("ab", 16000))
        np.testing.assert_array_equal(np.frombuffer(col.data, np.float32), expected)
        await tts.disconnect()


async def test_mp3_is_passed_through() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, audio_format="mp3")
        await tts.speak("compressed")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert body["format"] == "mp3"
        assert "sample_rate" not in body
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_opus_is_refused_clearly() -> None:
    # LMNT sends WebM, not Ogg Opus: converting would need a codec, so the error says so.
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(LmntTTS, fake, audio_format="opus")
        await tts.speak("x")
        await col.wait_done()
        assert len(col.errors) == 1
        assert "opus" in str(col.errors[0])
        await tts.disconnect()


async def test_pronunciations_and_emotion_temperature() -> None:
    async with FakeLmntTTS() as fake:
        tts, col = await C.session(
            LmntTTS,
            fake,
            pronunciations=[Pronunciation(word="LMNT", pronunciation="element")],
            emotion_config=EmotionConfig(emotion="excited", intensity="high"),
        )
        await tts.speak("LMNT rocks")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert body["text"] == "element rocks"
        assert body["temperature"] == 1.3
        await tts.disconnect()


async def test_bad_numeric_option_fails_at_connect() -> None:
    tts = LmntTTS(TTSConfig(api_key="k", options={"top_p": 3}))
    with pytest.raises(waav.ConfigError, match="top_p"):
        await tts.connect()


async def test_list_voices() -> None:
    async with FakeLmntTTS() as fake:
        tts, _ = await C.session(LmntTTS, fake)
        voices = await tts.list_voices()
        assert [v.id for v in voices] == ["leah", "morgan"]
        assert voices[0].name == "Leah"
        assert [v.gender for v in voices] == ["female", "male"]
        assert voices[0].sample
        assert voices[0].sample.endswith("/preview")
        assert fake.requests[-1].path == "/v1/ai/voice/list"
        fake.faults = Faults(reject_auth=True)
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()
        await tts.disconnect()
