"""IBM Watson TTS adapter against FakeIBMWatsonTTS (IAM token + synthesize)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation, TTSConfig
from waav.providers.tts.ibm_watson import IBMWatsonTTS
from waav.testing.fakes import FakeIBMWatsonTTS, Faults, synth_pcm16

from . import _contract as C


def _cfg(**extra: Any) -> dict[str, Any]:
    options = {"instance_id": "test-instance", **extra.pop("options", {})}
    return {"options": options, **extra}


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(IBMWatsonTTS, FakeIBMWatsonTTS, **_cfg())


async def test_fifo_order() -> None:
    await C.check_fifo(IBMWatsonTTS, FakeIBMWatsonTTS, **_cfg())


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(IBMWatsonTTS, FakeIBMWatsonTTS, **_cfg())


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(IBMWatsonTTS, FakeIBMWatsonTTS, faults, expected, **_cfg())


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IBM_WATSON_INSTANCE_ID", "i")
    await C.check_missing_key("ibm-watson", "IBM_WATSON_API_KEY", monkeypatch)


async def test_missing_instance_id_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    # the upstream built the URL without the instance id; here it is required up front
    await C.check_missing_key("ibm-watson", "IBM_WATSON_INSTANCE_ID", monkeypatch, api_key="k")


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IBM_WATSON_INSTANCE_ID", "test-instance")
    await C.check_key_from_env("ibm-watson", "IBM_WATSON_API_KEY", FakeIBMWatsonTTS, monkeypatch)


async def test_request_shape_with_instance_id_in_the_path() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, speaking_rate=1.2, **_cfg())
        await tts.speak("hi")
        await col.wait_done()
        assert not col.errors, col.errors
        iam, synth = fake.requests
        assert (iam.method, iam.path) == ("POST", "/identity/token")
        assert synth.path == "/instances/test-instance/v1/synthesize"
        assert synth.query == {"voice": "en-US_MichaelV3Voice", "rate_percentage": "20"}
        assert synth.headers["authorization"] == "Bearer " + next(iter(fake.tokens))
        assert synth.headers["accept"] == "audio/l16;rate=24000;endianness=little-endian"
        assert json.loads(synth.body) == {"text": "hi"}
        assert col.data == synth_pcm16("hi", 24000)
        await tts.disconnect()


async def test_wrong_instance_is_a_404_provider_error() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, **_cfg(options={"instance_id": "other"}))
        await tts.speak("hi")
        await col.wait_done()
        assert len(col.errors) == 1
        assert "404" in str(col.errors[0])
        await tts.disconnect()


async def test_token_is_cached_until_expiry() -> None:
    async with FakeIBMWatsonTTS(token_ttl=3600) as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, **_cfg())
        for word in ("one", "two", "three"):
            await tts.speak(word)
        await col.wait_done(3)
        assert not col.errors, col.errors
        assert len(fake.tokens) == 1
        await tts.disconnect()
    # a token within a minute of expiry is not reused
    async with FakeIBMWatsonTTS(token_ttl=30) as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, **_cfg())
        await tts.speak("one")
        await tts.speak("two")
        await col.wait_done(2)
        assert not col.errors, col.errors
        assert len(fake.tokens) == 2
        await tts.disconnect()


async def test_revoked_token_is_refetched_after_a_401() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, **_cfg())
        await tts.speak("one")
        await col.wait_done()
        fake.tokens.clear()  # IBM revoked it
        await tts.speak("two")
        await col.wait_for(lambda c: len(c.errors) == 1)
        assert isinstance(col.errors[0], waav.ProviderAuthError)
        await tts.speak("three")
        await col.wait_for(lambda c: c.completions == 2)
        assert C.spoken(col).endswith("three")
        assert len(fake.tokens) == 1
        await tts.disconnect()


async def test_explicit_iam_url() -> None:
    async with FakeIBMWatsonTTS() as iam, FakeIBMWatsonTTS() as service:
        service.tokens = iam.tokens  # one IAM, another host for the service
        tts, col = await C.session(
            IBMWatsonTTS, service, **_cfg(options={"iam_url": iam.base_url + "/identity/token"})
        )
        await tts.speak("split hosts")
        await col.wait_done()
        assert not col.errors, col.errors
        assert [r.path for r in iam.requests] == ["/identity/token"]
        assert [r.path for r in service.requests] == ["/instances/test-instance/v1/synthesize"]
        await tts.disconnect()


async def test_mulaw_is_requested_natively() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, audio_format="mulaw", sample_rate=8000, **_cfg())
        await tts.speak("phone")
        await col.wait_done()
        assert fake.requests[-1].headers["accept"] == "audio/mulaw;rate=8000"
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("phone", 8000))
        await tts.disconnect()


async def test_float32_converted_and_mp3_passed_through() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, audio_format="float32", sample_rate=16000, **_cfg())
        await tts.speak("ab")
        await col.wait_done()
        assert col.data == waav.audio.int16_to_float32(synth_pcm16("ab", 16000)).tobytes()
        await tts.disconnect()
        tts, col = await C.session(IBMWatsonTTS, fake, audio_format="mp3", **_cfg())
        await tts.speak("compressed")
        await col.wait_done()
        assert fake.requests[-1].headers["accept"] == "audio/mp3"
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_emotion_uses_express_as_on_expressive_voices_only() -> None:
    emo = EmotionConfig(emotion="happy")
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(
            IBMWatsonTTS,
            fake,
            voice_id="en-US_AllisonExpressive",
            emotion_config=emo,
            pronunciations=[Pronunciation(word="IBM", pronunciation="I B M")],
            **_cfg(),
        )
        await tts.speak("IBM & you")
        await col.wait_done()
        assert not col.errors, col.errors
        text = json.loads(fake.requests[-1].body)["text"]
        assert text == '<speak><express-as style="cheerful">I B M &amp; you</express-as></speak>'
        assert C.spoken(col) == "I B M & you"
        await tts.disconnect()
        tts, col = await C.session(IBMWatsonTTS, fake, emotion_config=emo, **_cfg())
        await tts.speak("plain")
        await col.wait_done()
        assert not col.errors, col.errors  # the fake rejects express-as on other voices
        assert json.loads(fake.requests[-1].body)["text"] == "plain"
        await tts.disconnect()


async def test_missing_instance_fails_at_connect() -> None:
    tts = IBMWatsonTTS(TTSConfig(api_key="k"))
    with pytest.raises(waav.ProviderAuthError, match="instance_id"):
        await tts.connect()


async def test_list_voices() -> None:
    async with FakeIBMWatsonTTS() as fake:
        tts, _ = await C.session(IBMWatsonTTS, fake, **_cfg())
        voices = await tts.list_voices()
        assert [v.id for v in voices][:2] == ["en-US_MichaelV3Voice", "en-US_AllisonExpressive"]
        assert voices[2].language == "de-DE"
        assert voices[0].gender == "male"
        assert fake.requests[-1].path == "/instances/test-instance/v1/voices"
        await tts.disconnect()
    async with FakeIBMWatsonTTS(faults=Faults(reject_auth=True)) as fake:
        tts = IBMWatsonTTS(TTSConfig(api_key="test-key", base_url=fake.base_url, **_cfg()))
        with pytest.raises(waav.ProviderAuthError):
            await tts.list_voices()


async def test_service_url_with_instance_path_needs_no_instance_id() -> None:
    # IBM's service credentials hand out ".../instances/{id}" as the URL: usable as base_url
    async with FakeIBMWatsonTTS() as fake:
        tts, col = await C.session(IBMWatsonTTS, fake, base_url=fake.base_url + "/instances/test-instance")
        await tts.speak("url")
        await col.wait_done()
        assert not col.errors, col.errors
        assert [r.path for r in fake.requests] == [
            "/identity/token",
            "/instances/test-instance/v1/synthesize",
        ]
        await tts.disconnect()


def test_iam_url_for_real_ibm_hosts_stays_ibm() -> None:
    cfg = _cfg(base_url="https://api.eu-de.text-to-speech.watson.cloud.ibm.com/instances/abc")
    tts = IBMWatsonTTS(TTSConfig(api_key="k", **cfg))
    assert tts.iam_url == "https://iam.cloud.ibm.com/identity/token"
    assert tts.root == "https://api.eu-de.text-to-speech.watson.cloud.ibm.com/instances/abc"
    tts = IBMWatsonTTS(TTSConfig(api_key="k", **_cfg(options={"region": "jp-tok"})))
    assert tts.root == "https://api.jp-tok.text-to-speech.watson.cloud.ibm.com/instances/test-instance"
    assert tts.iam_url == "https://iam.cloud.ibm.com/identity/token"
