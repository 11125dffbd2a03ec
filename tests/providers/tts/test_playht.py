"""PlayHT TTS adapter against FakePlayHTTTS."""

from __future__ import annotations

import json
from typing import Any

import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation, TTSConfig
from waav.providers.tts.playht import PlayHTTTS, playht_emotion
from waav.testing.fakes import FakePlayHTTTS, Faults, synth_pcm16

from . import _contract as C


def _cfg(**extra: Any) -> dict[str, Any]:
    options = {"user_id": "test-user", **extra.pop("options", {})}
    return {"options": options, **extra}


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(PlayHTTTS, FakePlayHTTTS, **_cfg())


async def test_fifo_order() -> None:
    await C.check_fifo(PlayHTTTS, FakePlayHTTTS, **_cfg())


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(PlayHTTTS, FakePlayHTTTS, **_cfg())


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(PlayHTTTS, FakePlayHTTTS, faults, expected, **_cfg())


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYHT_USER_ID", "u")
    await C.check_missing_key("playht", "PLAYHT_API_KEY", monkeypatch)


async def test_missing_user_id_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("playht", "PLAYHT_USER_ID", monkeypatch, api_key="k")


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYHT_USER_ID", "test-user")
    await C.check_key_from_env("playht", "PLAYHT_API_KEY", FakePlayHTTTS, monkeypatch)


async def test_request_shape() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(PlayHTTTS, fake, speaking_rate=1.5, **_cfg(options={"quality": "draft"}))
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert (req.method, req.path) == ("POST", "/api/v2/tts/stream")
        assert req.headers["x-user-id"] == "test-user"
        assert req.headers["authorization"] == "test-key"
        assert req.headers["accept"] == "audio/basic"
        body = json.loads(req.body)
        assert body == {
            "text": "hi",
            "voice": body["voice"],
            "voice_engine": "Play3.0-mini",
            "output_format": "raw",
            "sample_rate": 24000,
            "speed": 1.5,
            "quality": "draft",
        }
        assert body["voice"].startswith("s3://")
        await tts.disconnect()


async def test_client_rate_is_requested_directly() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(PlayHTTTS, fake, sample_rate=22050, **_cfg())
        await tts.speak("rate")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["sample_rate"] == 22050
        assert col.data == synth_pcm16("rate", 22050)  # no resampling needed
        await tts.disconnect()


async def test_alaw_is_converted_from_raw_pcm() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(PlayHTTTS, fake, audio_format="alaw", sample_rate=8000, **_cfg())
        await tts.speak("abc")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["output_format"] == "raw"
        assert col.data == waav.audio.alaw_encode(synth_pcm16("abc", 8000))
        await tts.disconnect()


async def test_mulaw_8k_is_passed_through() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(PlayHTTTS, fake, audio_format="mulaw", sample_rate=8000, **_cfg())
        await tts.speak("phone")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert (body["output_format"], body["sample_rate"]) == ("mulaw", 8000)
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("phone", 8000))
        await tts.disconnect()


async def test_mp3_is_passed_through() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(PlayHTTTS, fake, audio_format="mp3", **_cfg())
        await tts.speak("compressed")
        await col.wait_done()
        assert fake.requests[0].headers["accept"] == "audio/mpeg"
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_emotion_on_playht2_engines_only() -> None:
    emo = EmotionConfig(emotion="sad", intensity="medium")
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(
            PlayHTTTS,
            fake,
            model="PlayHT2.0-turbo",
            emotion_config=emo,
            **_cfg(options={"voice_gender": "male"}),
        )
        await tts.speak("oh no")
        await col.wait_done()
        assert not col.errors, col.errors
        body = json.loads(fake.requests[0].body)
        assert (body["emotion"], body["style_guidance"]) == ("male_sad", 18)
        await tts.disconnect()
        # Play3.0-mini has no emotion field: nothing is sent (the fake would reject it)
        tts, col = await C.session(PlayHTTTS, fake, emotion_config=emo, **_cfg())
        await tts.speak("oh no")
        await col.wait_done()
        assert not col.errors, col.errors
        assert "emotion" not in json.loads(fake.requests[-1].body)
        await tts.disconnect()
    assert playht_emotion("excited") == "female_happy"
    assert playht_emotion("sarcastic") is None


async def test_pronunciations_are_applied() -> None:
    async with FakePlayHTTTS() as fake:
        tts, col = await C.session(
            PlayHTTTS, fake, pronunciations=[Pronunciation(word="GIF", pronunciation="jif")], **_cfg()
        )
        await tts.speak("a GIF")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["text"] == "a jif"
        await tts.disconnect()


async def test_missing_user_id_fails_at_connect() -> None:
    tts = PlayHTTTS(TTSConfig(api_key="k"))
    with pytest.raises(waav.ProviderAuthError, match="user_id"):
        await tts.connect()


async def test_list_voices() -> None:
    async with FakePlayHTTTS() as fake:
        tts, _ = await C.session(PlayHTTTS, fake, **_cfg())
        voices = await tts.list_voices()
        assert [v.name for v in voices] == ["Jennifer", "Oliver"]
        assert voices[0].language == "en-US"
        assert voices[0].gender == "female"
        assert voices[1].accent == "british"
        assert fake.requests[-1].path == "/api/v2/voices"
        fake.faults = Faults(reject_auth=True)
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()
        await tts.disconnect()
