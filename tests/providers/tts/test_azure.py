"""Azure neural TTS adapter against FakeAzureTTS."""

from __future__ import annotations

import pytest

import waav
from waav.providers.base import EmotionConfig
from waav.providers.tts.azure import AzureTTS
from waav.testing.fakes import FakeAzureTTS, Faults, synth_pcm16

from . import _contract as C

MSTTS = "{https://www.w3.org/2001/mstts}"
SSML = "{http://www.w3.org/2001/10/synthesis}"


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(AzureTTS, FakeAzureTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(AzureTTS, FakeAzureTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(AzureTTS, FakeAzureTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(AzureTTS, FakeAzureTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("azure", "AZURE_SPEECH_SUBSCRIPTION_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("microsoft-azure", "AZURE_SPEECH_SUBSCRIPTION_KEY", FakeAzureTTS, monkeypatch)


async def test_request_shape_default_voice_and_escaping() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(AzureTTS, fake)
        await tts.speak("Tom & Jerry <3")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert req.path == "/cognitiveservices/v1"
        assert req.headers["ocp-apim-subscription-key"] == "test-key"
        assert req.headers["content-type"] == "application/ssml+xml"
        assert req.headers["x-microsoft-outputformat"] == "raw-24khz-16bit-mono-pcm"
        assert req.headers["user-agent"]
        assert fake.last_ssml is not None
        assert fake.last_ssml.find(f"{SSML}voice").get("name") == "en-US-JennyNeural"
        assert C.spoken(col) == "Tom & Jerry <3"
        await tts.disconnect()


async def test_emotion_maps_to_express_as() -> None:
    async with FakeAzureTTS() as fake:
        emo = EmotionConfig(emotion="happy", intensity=0.8)
        tts, col = await C.session(AzureTTS, fake, emotion_config=emo, speaking_rate=1.25)
        await tts.speak("we won")
        await col.wait_done()
        assert not col.errors, col.errors
        expr = fake.last_ssml.find(f"{SSML}voice/{MSTTS}express-as")
        assert expr.get("style") == "cheerful"
        assert expr.get("styledegree") == "1.6"
        assert expr.find(f"{SSML}prosody").get("rate") == "+25%"
        await tts.disconnect()


async def test_delivery_style_whispered() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(AzureTTS, fake, emotion_config=EmotionConfig(delivery_style="whispered"))
        await tts.speak("secret")
        await col.wait_done()
        expr = fake.last_ssml.find(f"{SSML}voice/{MSTTS}express-as")
        assert expr.get("style") == "whispering"
        assert expr.get("styledegree") is None
        await tts.disconnect()


async def test_unsupported_style_is_a_vendor_error() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(
            AzureTTS, fake, voice_id="de-DE-ConradNeural", emotion_config=EmotionConfig(emotion="sad")
        )
        await tts.speak("traurig")
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderError
        assert "HTTP 400" in str(col.errors[0])
        await tts.disconnect()


async def test_region_option_and_explicit_voice() -> None:
    tts = AzureTTS(
        waav.providers.base.TTSConfig(
            api_key="k", voice_id="de-DE-ConradNeural", options={"region": "westeurope"}
        )
    )
    assert tts.root == "https://westeurope.tts.speech.microsoft.com"
    assert 'xml:lang="de-DE"' in tts.ssml("hallo")
    assert 'name="de-DE-ConradNeural"' in tts.ssml("hallo")


async def test_mulaw_8k_passed_through() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(AzureTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("call")
        await col.wait_done()
        assert fake.requests[0].headers["x-microsoft-outputformat"] == "raw-8khz-8bit-mono-mulaw"
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("call", 8000))
        await tts.disconnect()


async def test_alaw_16k_is_encoded_from_16k_pcm() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(AzureTTS, fake, audio_format="alaw", sample_rate=16000)
        await tts.speak("wide")
        await col.wait_done()
        assert fake.requests[0].headers["x-microsoft-outputformat"] == "raw-16khz-16bit-mono-pcm"
        assert col.data == waav.audio.alaw_encode(synth_pcm16("wide", 16000))
        await tts.disconnect()


async def test_mp3_passed_through() -> None:
    async with FakeAzureTTS() as fake:
        tts, col = await C.session(AzureTTS, fake, audio_format="mp3")
        await tts.speak("compressed")
        await col.wait_done()
        assert fake.requests[0].headers["x-microsoft-outputformat"] == "audio-24khz-48kbitrate-mono-mp3"
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


async def test_list_voices() -> None:
    async with FakeAzureTTS() as fake:
        tts, _ = await C.session(AzureTTS, fake)
        voices = await tts.list_voices()
        assert [(v.id, v.name, v.language, v.gender) for v in voices] == [
            ("en-US-JennyNeural", "Jenny", "en-US", "female"),
            ("de-DE-ConradNeural", "Conrad", "de-DE", "male"),
        ]
        assert fake.requests[-1].path == "/cognitiveservices/voices/list"
        await tts.disconnect()
