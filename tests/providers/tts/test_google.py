"""Google Cloud TTS adapter against FakeGoogleTTS."""

from __future__ import annotations

import base64
import json

import pytest

import waav
from waav.providers.base import TTSConfig
from waav.providers.tts import google as google_mod
from waav.providers.tts.google import AudioContentDecoder, GoogleTTS
from waav.testing.fakes import FakeGoogleTTS, Faults, synth_pcm16, wav_header

from . import _contract as C


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(GoogleTTS, FakeGoogleTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(GoogleTTS, FakeGoogleTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(GoogleTTS, FakeGoogleTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(GoogleTTS, FakeGoogleTTS, faults, expected)


async def test_missing_credentials_name_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_mod, "google_auth_available", lambda: False)
    await C.check_missing_key("google", "GOOGLE_APPLICATION_CREDENTIALS", monkeypatch)


async def test_service_account_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_mod, "google_auth_available", lambda: False)
    tts = GoogleTTS(TTSConfig(api_key='{"type": "service_account"}'))
    with pytest.raises(waav.ConfigError, match=r"waav\[google\]"):
        await tts.connect()


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("google", "GOOGLE_APPLICATION_CREDENTIALS", FakeGoogleTTS, monkeypatch)


async def test_request_shape_with_api_key() -> None:
    async with FakeGoogleTTS() as fake:
        tts, col = await C.session(GoogleTTS, fake, voice_id="en-GB-Wavenet-B", speaking_rate=1.5)
        await tts.speak("cheerio")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert req.path == "/v1/text:synthesize"
        assert req.headers["x-goog-api-key"] == "test-key"
        assert json.loads(req.body) == {
            "input": {"text": "cheerio"},
            "voice": {"languageCode": "en-GB", "name": "en-GB-Wavenet-B"},
            "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": 24000, "speakingRate": 1.5},
        }
        assert C.spoken(col) == "cheerio"  # the WAV header was stripped
        await tts.disconnect()


async def test_bearer_access_token_and_ssml() -> None:
    async with FakeGoogleTTS() as fake:
        tts, col = await C.session(GoogleTTS, fake, api_key="", options={"access_token": "test-token"})
        await tts.speak("<speak>hello</speak>")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert req.headers["authorization"] == "Bearer test-token"
        assert json.loads(req.body)["input"] == {"ssml": "<speak>hello</speak>"}
        await tts.disconnect()


async def test_mulaw_any_rate_is_requested_natively() -> None:
    async with FakeGoogleTTS() as fake:
        tts, col = await C.session(GoogleTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("dial")
        await col.wait_done()
        cfg = json.loads(fake.requests[0].body)["audioConfig"]
        assert cfg == {"audioEncoding": "MULAW", "sampleRateHertz": 8000}
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("dial", 8000))  # WAV header stripped
        await tts.disconnect()


async def test_client_rate_is_requested_so_no_resampling() -> None:
    async with FakeGoogleTTS() as fake:
        tts, col = await C.session(GoogleTTS, fake, sample_rate=22050, audio_format="float32")
        await tts.speak("odd")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["audioConfig"]["sampleRateHertz"] == 22050
        assert col.data == waav.audio.int16_to_float32(synth_pcm16("odd", 22050)).tobytes()
        await tts.disconnect()


async def test_mp3_passed_through() -> None:
    async with FakeGoogleTTS() as fake:
        tts, col = await C.session(GoogleTTS, fake, audio_format="mp3")
        await tts.speak("compressed")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["audioConfig"] == {"audioEncoding": "MP3"}
        assert col.data.startswith(b"\xff\xfb")
        await tts.disconnect()


def test_audio_content_decoder_any_split() -> None:
    audio = wav_header(16000, "linear16", 6) + b"\x01\x00\x02\x00\x03\x00"
    doc = json.dumps({"audioContent": base64.b64encode(audio).decode(), "timepoints": []}, indent=2).encode()
    for step in (1, 2, 3, 5, 7, 64):
        dec = AudioContentDecoder()
        out = b"".join(dec.feed(doc[i : i + step]) for i in range(0, len(doc), step))
        dec.finish()
        assert out == audio, step


def test_audio_content_decoder_rejects_a_document_without_audio() -> None:
    dec = AudioContentDecoder()
    assert dec.feed(b'{"error": {"message": "nope"}}') == b""
    with pytest.raises(waav.ProviderProtocolError):
        dec.finish()


async def test_list_voices() -> None:
    async with FakeGoogleTTS() as fake:
        tts, _ = await C.session(GoogleTTS, fake, options={"language": "en"})
        voices = await tts.list_voices()
        assert [(v.id, v.language, v.gender) for v in voices] == [
            ("en-US-Neural2-F", "en-US", "female"),
            ("en-GB-Wavenet-B", "en-GB", "male"),
        ]
        assert fake.requests[-1].query == {"languageCode": "en"}
        await tts.disconnect()
