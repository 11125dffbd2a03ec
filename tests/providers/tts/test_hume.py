"""Hume Octave TTS adapter against FakeHumeTTS."""

from __future__ import annotations

import json

import numpy as np
import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation
from waav.providers.tts.hume import HumeTTS
from waav.testing.fakes import FakeHumeTTS, Faults, synth_pcm16

from . import _contract as C

# Hume's PCM is 48 kHz: the contract checks run at that rate so the speech reads back exactly.
NATIVE = {"sample_rate": 48000}


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(HumeTTS, FakeHumeTTS, **NATIVE)


async def test_fifo_order() -> None:
    await C.check_fifo(HumeTTS, FakeHumeTTS, **NATIVE)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(HumeTTS, FakeHumeTTS, **NATIVE)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(HumeTTS, FakeHumeTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("hume", "HUME_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("hume", "HUME_API_KEY", FakeHumeTTS, monkeypatch, **NATIVE)


async def test_request_shape() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake, speaking_rate=1.25, options={"version": "2"})
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert (req.method, req.path) == ("POST", "/v0/tts/stream/file")
        assert req.headers["x-hume-api-key"] == "test-key"
        assert json.loads(req.body) == {
            "utterances": [
                {"text": "hi", "voice": {"name": "Ava Song", "provider": "HUME_AI"}, "speed": 1.25}
            ],
            "format": {"type": "pcm"},
            "instant_mode": True,
            "version": "2",
        }
        await tts.disconnect()


async def test_voice_id_and_custom_provider() -> None:
    async with FakeHumeTTS() as fake:
        vid = "9e068547-5ba4-4c8e-8e03-69282a008f04"
        tts, col = await C.session(HumeTTS, fake, voice_id=vid, options={"voice_provider": "CUSTOM_VOICE"})
        await tts.speak("x")
        await col.wait_done()
        voice = json.loads(fake.requests[0].body)["utterances"][0]["voice"]
        assert voice == {"id": vid, "provider": "CUSTOM_VOICE"}
        await tts.disconnect()


async def test_48k_pcm_is_resampled_to_the_client_rate() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake)  # 24 kHz client
        await tts.speak("a" * 20)
        await col.wait_done()
        assert not col.errors, col.errors
        out = np.frombuffer(col.data, "<i2")
        assert abs(len(out) - 4800) <= 8  # 200 ms at 24 kHz
        assert np.all(np.abs(out[len(out) // 4 : 3 * len(out) // 4].astype(int) - 97) <= 2)
        assert {a.sample_rate for a in col.audio} == {24000}
        await tts.disconnect()


async def test_mulaw_8k_is_encoded_natively() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("e" * 30)
        await col.wait_done()
        assert not col.errors, col.errors
        pcm = np.frombuffer(waav.audio.ulaw_decode(col.data), "<i2")
        assert abs(len(pcm) - 2400) <= 8
        assert np.all(np.abs(pcm[len(pcm) // 4 : 3 * len(pcm) // 4].astype(int) - ord("e")) <= 4)
        await tts.disconnect()


async def test_48k_client_gets_the_bytes_untouched() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake, sample_rate=48000)
        await tts.speak("exact")
        await col.wait_done()
        assert col.data == synth_pcm16("exact", 48000)
        await tts.disconnect()


async def test_mp3_is_passed_through() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake, audio_format="mp3")
        await tts.speak("compressed")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["format"] == {"type": "mp3"}
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_emotion_becomes_acting_instructions() -> None:
    async with FakeHumeTTS() as fake:
        emo = EmotionConfig(emotion="happy", intensity=0.2, delivery_style="whispered")
        tts, col = await C.session(
            HumeTTS,
            fake,
            emotion_config=emo,
            pronunciations=[Pronunciation(word="Hume", pronunciation="Hyoom")],
            options={"description": "A radio host."},
        )
        await tts.speak("Hume says hi")
        await col.wait_done()
        utt = json.loads(fake.requests[0].body)["utterances"][0]
        assert utt["text"] == "Hyoom says hi"
        assert utt["description"] == "A radio host. Sound slightly happy. Delivery: whispered."
        await tts.disconnect()


async def test_context_carries_the_previous_text() -> None:
    async with FakeHumeTTS() as fake:
        tts, col = await C.session(HumeTTS, fake, options={"context": True})
        await tts.speak("first")
        await tts.speak("second")
        await col.wait_done(2)
        assert "context" not in json.loads(fake.requests[0].body)
        ctx = json.loads(fake.requests[1].body)["context"]
        assert ctx["utterances"][0]["text"] == "first"
        await tts.disconnect()


async def test_list_voices_follows_pages() -> None:
    async with FakeHumeTTS(voices_page_size=2) as fake:
        tts, _ = await C.session(HumeTTS, fake)
        voices = await tts.list_voices()
        assert [v.name for v in voices] == ["Ava Song", "Male English Actor", "Campfire Narrator"]
        assert len(fake.requests) == 2
        assert fake.requests[0].query["provider"] == "HUME_AI"
        fake.faults = Faults(reject_auth=True)
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()
        await tts.disconnect()
