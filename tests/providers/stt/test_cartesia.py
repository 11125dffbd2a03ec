"""Cartesia Ink streaming adapter against FakeCartesia."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import waav
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.cartesia import API_VERSION, CartesiaSTT
from waav.testing.fakes import FakeCartesia, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeCartesia, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[CartesiaSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    stt = CartesiaSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url, options=options, **(cfg or {})))
    return stt, STTCollector(stt)


def texts(fake: FakeCartesia, session: int = 0) -> list[str]:
    return [m for m in fake.requests[session].messages if isinstance(m, str)]


async def test_transcripts_map_with_words_and_deltas_stripped() -> None:
    async with FakeCartesia(script=["How are you?", "Fine thanks"]) as fake:
        stt, got = make(fake, min_volume=0.1)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        interim, final = got.results[:2]
        assert (interim.transcript, interim.is_final, interim.confidence) == ("How", False, 0.0)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("How are you?", True, True)
        assert final.confidence == 1.0
        assert final.language == "en"
        assert final.words is not None
        assert [(w.word, w.start, w.end) for w in final.words] == [
            ("How", 0.0, 0.25),
            ("are", 0.3, 0.55),
            ("you?", 0.6, 0.85),
        ]
        assert got.transcripts == ["How are you?", "Fine thanks"]  # the fake's " Fine thanks" delta
        await stt.disconnect()
        req = fake.requests[0]
        assert req.headers["authorization"] == f"Bearer {fake.api_key}"
        assert req.headers["cartesia-version"] == API_VERSION
        assert req.query == {
            "model": "ink-whisper",
            "language": "en",
            "encoding": "pcm_s16le",
            "sample_rate": "16000",
            "min_volume": "0.1",
        }
        assert "api_key" not in req.query  # the upstream put the key in the URL
        assert texts(fake) == ["finalize", "done"]
        assert got.errors == []


async def test_bad_key_and_rate_limit_fail_connect() -> None:
    async with FakeCartesia(api_key="right") as fake:
        with pytest.raises(waav.ProviderAuthError):
            await CartesiaSTT(STTConfig(api_key="wrong", base_url=fake.ws_url)).connect()
    async with FakeCartesia(faults=Faults(rate_limit_retry_after=3)) as fake:
        with pytest.raises(waav.ProviderRateLimitError) as info:
            await CartesiaSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url)).connect()
        assert info.value.retry_after == 3


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTESIA_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="CARTESIA_API_KEY"):
        await CartesiaSTT(STTConfig()).connect()
    with pytest.raises(waav.ConfigError, match="not supported"):
        await CartesiaSTT(STTConfig(api_key="k", encoding="mp3")).connect()
    assert CartesiaSTT(STTConfig(api_key="k", encoding="mulaw")).query()["encoding"] == "pcm_mulaw"


async def test_vendor_error_message_is_reported() -> None:
    async with FakeCartesia(faults=Faults(vendor_error="Invalid model")) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        assert [str(e) for e in got.errors] == ["cartesia: Invalid model"]
        await stt.disconnect()


async def test_mid_stream_drop_reconnects() -> None:
    async with FakeCartesia(script=["one"], faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["one"]
        assert got.errors == []
        await stt.disconnect()


async def test_idle_timeout_close_reconnects_for_free() -> None:
    # Cartesia documents no keepalive; its "1001 Idle timeout" must not eat the retry budget
    async with FakeCartesia(script=["awake"], faults=Faults(idle_close_after=0.1)) as fake:
        stt, got = make(fake, reconnect={"max_attempts": 0})
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 3 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["awake"]
        assert got.errors == []
        await stt.disconnect()


async def test_finalize_and_graceful_finish() -> None:
    async with FakeCartesia(script=["flushed", "at the end"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK[:1000])
        await stt.finalize()
        await got.wait_for(lambda: got.finals)
        await stt.send_audio(CHUNK[:1000])
        t0 = time.monotonic()
        await stt.disconnect()
        assert time.monotonic() - t0 < 1.0  # "done" ended the wait
        assert got.transcripts == ["flushed", "at the end"]
        assert texts(fake) == ["finalize", "finalize", "done"]


async def test_finish_without_done_is_bounded() -> None:
    async with FakeCartesia(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.15 <= time.monotonic() - t0 < 1.5
        assert stt.state is ConnectionState.DISCONNECTED


async def test_error_codes_map_to_error_types() -> None:
    stt = CartesiaSTT(STTConfig(api_key="k"))
    got = STTCollector(stt)
    stt._ready.set()
    await stt.handle_message(json.dumps({"type": "error", "message": "slow down", "code": 429}))
    await stt.handle_message(json.dumps({"type": "error", "message": "bad key", "code": 401}))
    assert [type(e) for e in got.errors] == [waav.ProviderRateLimitError, waav.ProviderAuthError]
