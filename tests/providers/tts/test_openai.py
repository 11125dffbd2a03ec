"""OpenAI TTS adapter against FakeOpenAITTS."""

from __future__ import annotations

import json

import pytest

import waav
from waav.providers.base import EmotionConfig
from waav.providers.tts.openai import OpenAITTS
from waav.testing.fakes import FakeOpenAITTS, Faults, synth_pcm16

from . import _contract as C


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(OpenAITTS, FakeOpenAITTS)


async def test_fifo_order() -> None:
    await C.check_fifo(OpenAITTS, FakeOpenAITTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(OpenAITTS, FakeOpenAITTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(OpenAITTS, FakeOpenAITTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("openai", "OPENAI_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("openai", "OPENAI_API_KEY", FakeOpenAITTS, monkeypatch)


async def test_request_shape_and_v1_base_url() -> None:
    async with FakeOpenAITTS() as fake:
        # a base URL that already ends in /v1 (OpenAI-compatible style) is not doubled
        tts, col = await C.session(OpenAITTS, fake, base_url=fake.base_url + "/v1", voice_id="nova")
        await tts.speak("hi")
        await col.wait_done()
        req = fake.requests[0]
        assert req.path == "/v1/audio/speech"
        assert req.headers["authorization"] == "Bearer test-key"
        assert json.loads(req.body) == {
            "model": "tts-1",
            "input": "hi",
            "voice": "nova",
            "response_format": "pcm",
        }
        await tts.disconnect()


async def test_speed_is_clamped_to_the_vendor_range() -> None:
    async with FakeOpenAITTS() as fake:
        tts, col = await C.session(OpenAITTS, fake, speaking_rate=9.0)
        await tts.speak("fast")
        await col.wait_done()
        assert not col.errors
        assert json.loads(fake.requests[0].body)["speed"] == 4.0
        await tts.disconnect()


async def test_emotion_becomes_instructions_on_gpt_4o_mini_tts() -> None:
    async with FakeOpenAITTS() as fake:
        emo = EmotionConfig(emotion="happy", intensity="high", delivery_style="whispered")
        tts, col = await C.session(OpenAITTS, fake, emotion_config=emo)
        await tts.speak("great news")
        await col.wait_done()
        assert not col.errors, col.errors
        body = json.loads(fake.requests[0].body)
        assert body["model"] == "gpt-4o-mini-tts"
        assert body["instructions"] == "Sound very happy. Delivery: whispered."
        await tts.disconnect()


async def test_no_instructions_for_tts_1_even_with_emotion() -> None:
    async with FakeOpenAITTS() as fake:
        tts, col = await C.session(
            OpenAITTS, fake, model="tts-1", emotion_config=EmotionConfig(emotion="sad")
        )
        await tts.speak("oh no")
        await col.wait_done()
        assert not col.errors, col.errors  # the fake rejects instructions for tts-1, like OpenAI
        assert "instructions" not in json.loads(fake.requests[0].body)
        await tts.disconnect()


async def test_alaw_is_converted_from_pcm() -> None:
    async with FakeOpenAITTS() as fake:
        tts, col = await C.session(OpenAITTS, fake, audio_format="alaw")
        await tts.speak("abc")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["response_format"] == "pcm"
        assert col.data == waav.audio.alaw_encode(synth_pcm16("abc", 24000))
        await tts.disconnect()


async def test_ulaw_8k_resampled_from_24k_pcm() -> None:
    async with FakeOpenAITTS() as fake:
        tts, col = await C.session(OpenAITTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("e" * 30)
        await col.wait_done()
        assert not col.errors, col.errors
        pcm = waav.audio.ulaw_decode(col.data)
        import numpy as np

        out = np.frombuffer(pcm, "<i2")
        assert abs(len(out) - 2400) <= 8  # 300 ms at 8 kHz
        mid = out[len(out) // 4 : 3 * len(out) // 4].astype(int)
        assert np.all(np.abs(mid - ord("e")) <= 4)  # µ-law step near 101 is 4
        await tts.disconnect()


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac"])
async def test_compressed_formats_pass_through(fmt: str) -> None:
    async with FakeOpenAITTS() as fake:
        tts, col = await C.session(OpenAITTS, fake, audio_format=fmt)
        await tts.speak("compressed audio")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["response_format"] == fmt
        assert col.data.startswith(b"\xff\xfb")
        assert {a.format for a in col.audio} == {fmt}
        await tts.disconnect()
