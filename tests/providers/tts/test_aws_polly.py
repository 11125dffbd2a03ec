"""Amazon Polly adapter (SigV4, stdlib) against FakePollyTTS, which verifies the signatures."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation, TTSConfig
from waav.providers.tts.aws_polly import PollyTTS
from waav.testing.fakes import FakePollyTTS, Faults, synth_pcm16

from . import _contract as C


def _cfg(**extra: Any) -> dict[str, Any]:
    options = {"secret_access_key": "test-secret", **extra.pop("options", {})}
    return {"options": options, **extra}


# Polly's PCM is 8 or 16 kHz: the contract checks run at 16 kHz so speech reads back exactly.
NATIVE = {"sample_rate": 16000}


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(PollyTTS, FakePollyTTS, **_cfg(**NATIVE))


async def test_fifo_order() -> None:
    await C.check_fifo(PollyTTS, FakePollyTTS, **_cfg(**NATIVE))


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(PollyTTS, FakePollyTTS, **_cfg(**NATIVE))


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(PollyTTS, FakePollyTTS, faults, expected, **_cfg())


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    await C.check_missing_key("aws-polly", "AWS_ACCESS_KEY_ID", monkeypatch)


async def test_missing_secret_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("polly", "AWS_SECRET_ACCESS_KEY", monkeypatch, api_key="AKID")


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    await C.check_key_from_env("aws-polly", "AWS_ACCESS_KEY_ID", FakePollyTTS, monkeypatch, **NATIVE)


async def test_request_shape_and_verified_signature() -> None:
    async with FakePollyTTS() as fake:
        tts, col = await C.session(PollyTTS, fake, voice_id="Matthew", **_cfg(**NATIVE))
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert (req.method, req.path) == ("POST", "/v1/speech")
        assert req.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTKEY/")
        assert "/us-east-1/polly/aws4_request" in req.headers["authorization"]
        assert json.loads(req.body) == {
            "Engine": "neural",
            "OutputFormat": "pcm",
            "SampleRate": "16000",
            "Text": "hi",
            "TextType": "text",
            "VoiceId": "Matthew",
        }
        assert fake.verified == 1
        assert col.data == synth_pcm16("hi", 16000)
        await tts.disconnect()


async def test_wrong_secret_fails_the_signature_check() -> None:
    async with FakePollyTTS() as fake:
        tts, col = await C.session(PollyTTS, fake, **_cfg(options={"secret_access_key": "wrong"}))
        await tts.speak("hi")
        await col.wait_done()
        assert len(col.errors) == 1
        assert isinstance(col.errors[0], waav.ProviderAuthError)
        assert "signature" in str(col.errors[0]).lower()
        assert fake.verified == 0
        await tts.disconnect()


async def test_wrong_region_scope_is_refused() -> None:
    async with FakePollyTTS(region="eu-west-1") as fake:
        tts, col = await C.session(PollyTTS, fake, **_cfg(options={"region": "us-east-1"}))
        await tts.speak("hi")
        await col.wait_done()
        assert isinstance(col.errors[0], waav.ProviderAuthError)
        await tts.disconnect()
        tts, col = await C.session(PollyTTS, fake, **_cfg(options={"region": "eu-west-1"}))
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        await tts.disconnect()


async def test_session_token_is_sent_and_signed() -> None:
    async with FakePollyTTS() as fake:
        tts, col = await C.session(PollyTTS, fake, **_cfg(options={"session_token": "tok"}))
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        assert fake.requests[0].headers["x-amz-security-token"] == "tok"
        assert "x-amz-security-token" in fake.requests[0].headers["authorization"]
        await tts.disconnect()


async def test_pcm_16k_is_resampled_and_mulaw_8k_requested_at_8k() -> None:
    async with FakePollyTTS() as fake:
        tts, col = await C.session(PollyTTS, fake, **_cfg())  # 24 kHz client
        await tts.speak("a" * 20)
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[-1].body)["SampleRate"] == "16000"
        out = np.frombuffer(col.data, "<i2")
        assert abs(len(out) - 4800) <= 8
        assert np.all(np.abs(out[len(out) // 4 : 3 * len(out) // 4].astype(int) - 97) <= 2)
        await tts.disconnect()
        tts, col = await C.session(PollyTTS, fake, audio_format="mulaw", sample_rate=8000, **_cfg())
        await tts.speak("phone")
        await col.wait_done()
        assert json.loads(fake.requests[-1].body)["SampleRate"] == "8000"
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("phone", 8000))
        await tts.disconnect()


async def test_mp3_and_ogg_are_passed_through() -> None:
    async with FakePollyTTS() as fake:
        for fmt, polly in (("mp3", "mp3"), ("ogg", "ogg_vorbis")):
            tts, col = await C.session(PollyTTS, fake, audio_format=fmt, **_cfg())
            await tts.speak("compressed")
            await col.wait_done()
            assert not col.errors, col.errors
            body = json.loads(fake.requests[-1].body)
            assert (body["OutputFormat"], body["SampleRate"]) == (polly, "24000")
            assert col.data.startswith(b"\xff\xfb")
            await tts.disconnect()


async def test_speaking_rate_and_whisper_become_ssml() -> None:
    async with FakePollyTTS() as fake:
        tts, col = await C.session(
            PollyTTS,
            fake,
            model="standard",
            speaking_rate=1.25,
            emotion_config=EmotionConfig(delivery_style="whispered"),
            pronunciations=[Pronunciation(word="AWS", pronunciation="A W S")],
            **_cfg(**NATIVE),
        )
        await tts.speak("AWS & co")
        await col.wait_done()
        assert not col.errors, col.errors
        body = json.loads(fake.requests[0].body)
        assert body["TextType"] == "ssml"
        assert body["Engine"] == "standard"
        assert body["Text"] == (
            '<speak><amazon:effect name="whispered"><prosody rate="125%">A W S &amp; co'
            "</prosody></amazon:effect></speak>"
        )
        assert C.spoken(col) == "A W S & co"
        await tts.disconnect()
        # neural voices cannot whisper: no effect is sent (the fake would refuse it)
        tts, col = await C.session(
            PollyTTS, fake, emotion_config=EmotionConfig(delivery_style="whispered"), **_cfg(**NATIVE)
        )
        await tts.speak("plain")
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[-1].body)["TextType"] == "text"
        await tts.disconnect()


async def test_unknown_engine_fails_at_connect() -> None:
    tts = PollyTTS(TTSConfig(api_key="AKID", model="turbo", **_cfg()))
    with pytest.raises(waav.ConfigError, match="engine"):
        await tts.connect()


async def test_list_voices_signed_and_paged() -> None:
    async with FakePollyTTS(voices_page_size=1) as fake:
        tts, _ = await C.session(PollyTTS, fake, **_cfg(options={"language": "en-US"}))
        voices = await tts.list_voices()
        assert [v.id for v in voices] == ["Joanna", "Matthew"]
        assert voices[1].gender == "male"
        assert voices[0].language == "en-US"
        assert fake.verified == 2  # both pages were correctly signed, query string included
        assert fake.requests[-1].query["NextToken"] == "1"
        fake.faults = Faults(reject_auth=True)
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()
        await tts.disconnect()
