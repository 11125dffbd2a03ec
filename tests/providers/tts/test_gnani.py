"""Gnani.ai TTS adapter against FakeGnaniTTS."""

from __future__ import annotations

import json
from typing import Any

import certifi
import numpy as np
import pytest

import waav
from waav.providers.base import Pronunciation, TTSConfig
from waav.providers.tts.gnani import GnaniTTS
from waav.testing.fakes import FakeGnaniTTS, Faults, synth_pcm16

from . import _contract as C


def _cfg(**extra: Any) -> dict[str, Any]:
    options = {"access_key": "test-access", **extra.pop("options", {})}
    return {"options": options, **extra}


# Gnani is asked for 8 or 16 kHz: the contract checks run at 16 kHz so speech reads back exactly.
NATIVE = {"sample_rate": 16000}


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(GnaniTTS, FakeGnaniTTS, **_cfg(**NATIVE))


async def test_fifo_order() -> None:
    await C.check_fifo(GnaniTTS, FakeGnaniTTS, **_cfg(**NATIVE))


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(GnaniTTS, FakeGnaniTTS, **_cfg(**NATIVE))


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(GnaniTTS, FakeGnaniTTS, faults, expected, **_cfg())


async def test_missing_token_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNANI_ACCESS_KEY", "a")
    await C.check_missing_key("gnani", "GNANI_TOKEN", monkeypatch)


async def test_missing_access_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("gnani.ai", "GNANI_ACCESS_KEY", monkeypatch, api_key="t")


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNANI_ACCESS_KEY", "test-access")
    monkeypatch.delenv("GNANI_CERTIFICATE_PATH", raising=False)
    monkeypatch.delenv("GNANI_CERTIFICATE_CONTENT", raising=False)
    await C.check_key_from_env("gnani", "GNANI_TOKEN", FakeGnaniTTS, monkeypatch, **NATIVE)


async def test_request_shape() -> None:
    async with FakeGnaniTTS() as fake:
        tts, col = await C.session(
            GnaniTTS, fake, voice_id="anita", **_cfg(options={"language": "hi-IN"}, sample_rate=8000)
        )
        await tts.speak("namaste")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert (req.method, req.path) == ("POST", "/synthesize")
        assert (req.headers["token"], req.headers["accesskey"]) == ("test-key", "test-access")
        assert (req.headers["lang"], req.headers["product"]) == ("hi-IN", "tts")
        assert json.loads(req.body) == {
            "input": {"text": "namaste"},
            "voice": {"languageCode": "hi-IN", "name": "anita", "ssmlGender": "FEMALE"},
            "audioConfig": {"audioEncoding": "pcm16", "sampleRate": 8000},
        }
        assert col.data == synth_pcm16("namaste", 8000)
        await tts.disconnect()


async def test_wav_header_in_audio_content_is_stripped() -> None:
    async with FakeGnaniTTS(wav_header=True, chunk_bytes=7) as fake:  # header split across chunks
        tts, col = await C.session(GnaniTTS, fake, **_cfg(**NATIVE))
        await tts.speak("header")
        await col.wait_done()
        assert not col.errors, col.errors
        assert col.data == synth_pcm16("header", 16000)
        await tts.disconnect()


async def test_resampled_and_encoded_for_the_client() -> None:
    async with FakeGnaniTTS() as fake:
        tts, col = await C.session(GnaniTTS, fake, audio_format="alaw", sample_rate=24000, **_cfg())
        await tts.speak("e" * 30)
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[0].body)["audioConfig"]["sampleRate"] == 16000
        pcm = np.frombuffer(waav.audio.alaw_decode(col.data), "<i2")
        assert abs(len(pcm) - 7200) <= 8  # 300 ms at 24 kHz
        assert np.all(np.abs(pcm[len(pcm) // 4 : 3 * len(pcm) // 4].astype(int) - ord("e")) <= 4)
        await tts.disconnect()


async def test_mp3_is_refused_clearly() -> None:
    async with FakeGnaniTTS() as fake:
        tts, col = await C.session(GnaniTTS, fake, audio_format="mp3", **_cfg())
        await tts.speak("x")
        await col.wait_done()
        assert len(col.errors) == 1
        assert "mp3" in str(col.errors[0])
        await tts.disconnect()


async def test_pronunciations_are_applied() -> None:
    async with FakeGnaniTTS() as fake:
        tts, col = await C.session(
            GnaniTTS,
            fake,
            pronunciations=[Pronunciation(word="UPI", pronunciation="U P I")],
            **_cfg(**NATIVE),
        )
        await tts.speak("pay by UPI")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["input"]["text"] == "pay by U P I"
        await tts.disconnect()


async def test_custom_ca_certificate() -> None:
    # a loadable CA bundle is accepted (the session still talks to the plain-HTTP fake)
    async with FakeGnaniTTS() as fake:
        tts, col = await C.session(
            GnaniTTS, fake, **_cfg(options={"certificate_path": certifi.where()}, **NATIVE)
        )
        await tts.speak("ca")
        await col.wait_done()
        assert not col.errors, col.errors
        await tts.disconnect()
    bad = GnaniTTS(TTSConfig(api_key="t", **_cfg(options={"certificate_path": "/nonexistent/ca.pem"})))
    with pytest.raises(waav.ConfigError, match="GNANI_CERTIFICATE_PATH"):
        await bad.connect()
    garbage = GnaniTTS(TTSConfig(api_key="t", **_cfg(options={"certificate_content": "not a pem"})))
    with pytest.raises(waav.ConfigError, match="GNANI_CERTIFICATE_CONTENT"):
        await garbage.connect()
