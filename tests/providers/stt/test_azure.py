"""Azure Speech adapter against FakeAzureSpeech (the Speech service WebSocket protocol)."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from typing import Any

import pytest

import waav
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.azure import AzureSTT, parse_message, riff_header
from waav.testing.fakes import FakeAzureSpeech, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeAzureSpeech, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[AzureSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    options.setdefault("keepalive_interval", 0)
    stt = AzureSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url, options=options, **(cfg or {})))
    return stt, STTCollector(stt)


def audio_messages(fake: FakeAzureSpeech, session: int = 0) -> list[tuple[dict[str, str], bytes]]:
    out = []
    for m in fake.requests[session].messages:
        if isinstance(m, bytes):
            (size,) = struct.unpack(">H", m[:2])
            headers, _ = parse_message(m[2 : 2 + size].decode() + "\r\n")
            out.append((headers, m[2 + size :]))
    return out


async def test_protocol_framing_and_result_mapping() -> None:
    async with FakeAzureSpeech(script=["Hello world.", "Second phrase"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        hypothesis, phrase = got.results[:2]
        assert (hypothesis.transcript, hypothesis.is_final) == ("hello", False)
        assert (phrase.transcript, phrase.is_final, phrase.is_speech_final) == ("Hello world.", True, True)
        assert phrase.confidence == pytest.approx(0.93)
        assert phrase.words is not None  # 100-ns ticks -> seconds
        assert [(w.word, w.start, w.end) for w in phrase.words] == [
            ("Hello", 0.0, 0.25),
            ("world.", 0.3, 0.55),
        ]
        await stt.disconnect()

        req = fake.requests[0]
        assert req.path == "/speech/recognition/conversation/cognitiveservices/v1"
        assert req.headers["ocp-apim-subscription-key"] == fake.api_key
        assert re.fullmatch(r"[0-9a-f]{32}", req.headers["x-connectionid"])
        assert req.query == {
            "language": "en-US",
            "format": "detailed",
            "profanity": "masked",
            "wordLevelTimestamps": "true",
        }
        # speech.config first, as a header-framed text message
        first = req.messages[0]
        assert isinstance(first, str)
        headers, body = parse_message(first)
        assert headers["path"] == "speech.config"
        assert json.loads(body)["context"]["audio"]["source"]["samplerate"] == 16000
        # then binary audio messages; the first payload starts with the RIFF header
        audio = audio_messages(fake)
        assert [h["path"] for h, _ in audio] == ["audio"] * len(audio)
        assert {h["x-requestid"] for h, _ in audio} == {stt.request_id}
        assert audio[0][1] == riff_header(16000, 1) + CHUNK
        assert audio[1][1] == CHUNK
        assert audio[-1][1] == b""  # the end of audio
        assert got.errors == []


async def test_no_match_phrases_are_not_results() -> None:
    async with FakeAzureSpeech(script=["only speech"], noise=True) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert [r.transcript for r in got.results] == ["only", "only speech"]
        assert got.errors == []
        await stt.disconnect()


def test_region_mode_and_base_url() -> None:
    stt = AzureSTT(STTConfig(api_key="k", options={"region": "westeurope", "mode": "interactive"}))
    assert stt.url().startswith(
        "wss://westeurope.stt.speech.microsoft.com/speech/recognition/interactive/cognitiveservices/v1?"
    )
    custom = AzureSTT(STTConfig(api_key="k", base_url="wss://{region}.example.test", options={"region": "x"}))
    assert custom.url().startswith("wss://x.example.test/speech/recognition/conversation/")


async def test_bad_key_and_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeAzureSpeech(api_key="right") as fake:
        with pytest.raises(waav.ProviderAuthError, match="401"):
            await AzureSTT(STTConfig(api_key="wrong", base_url=fake.ws_url)).connect()
    monkeypatch.delenv("AZURE_SPEECH_SUBSCRIPTION_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="AZURE_SPEECH_SUBSCRIPTION_KEY"):
        await AzureSTT(STTConfig()).connect()
    with pytest.raises(waav.ConfigError, match="mode"):
        await AzureSTT(STTConfig(api_key="k", options={"mode": "chat"})).connect()


async def test_vendor_close_1007_is_a_protocol_error_not_retried() -> None:
    async with FakeAzureSpeech(faults=Faults(vendor_error="Unsupported audio format")) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        assert len(got.errors) == 1
        assert isinstance(got.errors[0], waav.ProviderProtocolError)
        assert "Unsupported audio format" in str(got.errors[0])
        assert fake.sessions == 1
        await stt.disconnect()


async def test_silence_keepalive_holds_an_idle_stream() -> None:
    async with FakeAzureSpeech(faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0.05)
        await stt.connect()
        await asyncio.sleep(0.6)
        audio = audio_messages(fake)
        assert len(audio) >= 5
        assert audio[0][1] == riff_header(16000, 1) + b"\x00" * 64  # even the keepalive opens with RIFF
        assert all(p == b"\x00" * 64 for _, p in audio[1:])
        assert fake.sessions == 1
        assert got.errors == []
        await stt.disconnect()


async def test_service_timeout_reconnects_with_a_fresh_config_and_riff_header() -> None:
    async with FakeAzureSpeech(script=["resumed"], faults=Faults(idle_close_after=0.1)) as fake:
        stt, got = make(fake, reconnect={"max_attempts": 0})
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)  # the fake checked config + RIFF again
        assert got.transcripts == ["resumed"]
        assert got.errors == []
        await stt.disconnect()


async def test_mid_stream_drop_reconnects() -> None:
    async with FakeAzureSpeech(script=["again"], faults=Faults(drop_after=2)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)  # config + this audio: the fake drops
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["again"]
        assert got.errors == []
        await stt.disconnect()


async def test_end_of_audio_gets_the_last_phrase_and_turn_end() -> None:
    async with FakeAzureSpeech(script=["first", "tail end"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK[:1000])
        await got.wait_for(lambda: got.finals)
        t0 = time.monotonic()
        await stt.disconnect()
        assert time.monotonic() - t0 < 1.0  # turn.end ended the wait
        assert got.transcripts == ["first", "tail end"]


async def test_finish_without_turn_end_is_bounded() -> None:
    async with FakeAzureSpeech(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        await stt.send_audio(CHUNK[:100])
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.15 <= time.monotonic() - t0 < 1.5


async def test_a_service_turn_end_starts_a_new_request() -> None:
    stt = AzureSTT(STTConfig(api_key="k"))
    first = stt.audio_frame(b"\x00\x00")
    old = stt.request_id
    await stt.handle_message("Path: turn.end\r\nX-RequestId: x\r\n\r\n{}")
    assert stt.request_id != old
    frame = stt.audio_frame(b"\x00\x00")
    assert isinstance(first, bytes)
    assert isinstance(frame, bytes)
    assert riff_header(16000, 1) in frame  # the new request's audio starts with RIFF again
