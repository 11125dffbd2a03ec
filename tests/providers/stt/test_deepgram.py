"""Deepgram adapter against FakeDeepgram; also exercises the shared WebSocket STT base
(buffering, reconnect, keepalive, bounded finish)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

import waav
from waav.plugin import PluginRegistry
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.deepgram import DeepgramSTT
from waav.testing.fakes import FakeDeepgram, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600  # 100 ms of PCM16 @ 16 kHz = FakeDeepgram's bytes_per_result
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeDeepgram, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[DeepgramSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    config = STTConfig(
        provider="deepgram", api_key=fake.api_key, base_url=fake.ws_url, options=options, **(cfg or {})
    )
    stt = DeepgramSTT(config)
    return stt, STTCollector(stt)


def controls(fake: FakeDeepgram, session: int = 0) -> list[str]:
    return [m["type"] for m in fake.requests[session].json_messages()]


async def test_interim_and_final_results_with_word_timings() -> None:
    async with FakeDeepgram(script=["Hello world.", "How are you?"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        assert stt.is_ready()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        first, final = got.results[0], got.results[1]
        assert (first.transcript, first.is_final, first.is_speech_final) == ("Hello", False, False)
        assert first.confidence == pytest.approx(0.7)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("Hello world.", True, True)
        assert final.confidence == pytest.approx(0.98)
        assert final.words is not None
        assert [(w.word, w.start, w.end, w.confidence) for w in final.words] == [
            ("Hello", 0.0, 0.25, 0.9),
            ("world.", 0.3, 0.55, 0.9),
        ]
        assert got.transcripts == ["Hello world.", "How are you?"]
        assert got.finals[1].words is not None
        assert got.finals[1].words[0].start == pytest.approx(0.1)
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED
        req = fake.requests[0]
        assert req.path == "/v1/listen"
        assert req.headers["authorization"] == f"Token {fake.api_key}"
        assert req.query == {
            "model": "nova-3",
            "language": "en-US",
            "encoding": "linear16",
            "sample_rate": "16000",
            "channels": "1",
            "punctuate": "true",
            "interim_results": "true",
            "smart_format": "true",
        }
        assert req.messages[:2] == [CHUNK, CHUNK]  # audio as raw binary frames
        assert controls(fake) == ["CloseStream"]
        assert stt.stats.final_results_count == 2
        assert stt.stats.total_audio_bytes == 2 * len(CHUNK)
        assert got.errors == []


async def test_options_reach_the_query_string() -> None:
    async with FakeDeepgram() as fake:
        stt, _ = make(
            fake,
            {"encoding": "mulaw", "sample_rate": 8000, "model": "nova-2"},
            endpointing=300,
            keyterm=["waav", "gateway"],
            query={"tag": "t1"},
            smart_format=False,
        )
        await stt.connect()
        await stt.disconnect()
        q = fake.requests[0].query
        assert (q["encoding"], q["sample_rate"], q["model"]) == ("mulaw", "8000", "nova-2")
        assert (q["endpointing"], q["tag"], q["smart_format"]) == ("300", "t1", "false")
        assert "keyterm=waav&keyterm=gateway" in stt.url()


async def test_utterance_end_closes_an_utterance_without_speech_final() -> None:
    async with FakeDeepgram(script=["noisy words"], speech_final=False) as fake:
        stt, got = make(fake, utterance_end_ms=1000, vad_events=True)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: any(r.is_speech_final for r in got.results))
        finals = got.finals
        assert [(r.transcript, r.is_speech_final) for r in finals] == [("noisy words", False), ("", True)]
        await stt.disconnect()


async def test_bad_key_fails_connect_with_auth_error() -> None:
    async with FakeDeepgram(api_key="right") as fake:
        stt = DeepgramSTT(STTConfig(api_key="wrong", base_url=fake.ws_url))
        with pytest.raises(waav.ProviderAuthError, match="401"):
            await stt.connect()
        assert stt.state is ConnectionState.ERROR
        with pytest.raises(waav.ProviderError):
            await stt.send_audio(CHUNK)


async def test_rate_limit_carries_retry_after() -> None:
    async with FakeDeepgram(faults=Faults(rate_limit_retry_after=7)) as fake:
        stt, _ = make(fake)
        with pytest.raises(waav.ProviderRateLimitError) as info:
            await stt.connect()
        assert info.value.retry_after == 7


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    stt = DeepgramSTT(STTConfig(provider="deepgram"))
    with pytest.raises(waav.ProviderAuthError, match="DEEPGRAM_API_KEY"):
        await stt.connect()


async def test_registry_creates_it_from_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDeepgram(script=["from the registry"]) as fake:
        monkeypatch.setenv("DEEPGRAM_API_KEY", fake.api_key)
        monkeypatch.setenv("WAAV_DEEPGRAM_BASE_URL", fake.base_url)  # http:// works too
        registry = PluginRegistry()
        registry.discover(third_party=False)
        stt = registry.create_stt("Deepgram", {"language": "en-US"})
        assert isinstance(stt, DeepgramSTT)
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["from the registry"]
        await stt.disconnect()


async def test_vendor_error_close_is_reported_and_not_retried() -> None:
    async with FakeDeepgram(faults=Faults(vendor_error="DATA-0000: could not decode audio")) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        err = got.errors[0]
        assert isinstance(err, waav.ProviderProtocolError)
        assert "DATA-0000: could not decode audio" in str(err)
        await asyncio.sleep(0.1)
        assert fake.sessions == 1
        assert stt.state is ConnectionState.ERROR
        with pytest.raises(waav.ProviderProtocolError):
            await stt.send_audio(CHUNK)
        await stt.disconnect()


async def test_mid_stream_drop_reconnects_without_losing_later_audio() -> None:
    async with FakeDeepgram(script=["one", "two", "three"], faults=Faults(drop_after=2)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)  # -> "one"
        await got.wait_for(lambda: got.finals)
        await stt.send_audio(CHUNK)  # the fake drops the TCP connection on this one
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 3)
        assert got.transcripts == ["one", "one", "two"]  # the new vendor session starts its script over
        assert fake.requests[1].audio_bytes == 2 * len(CHUNK)
        assert got.errors == []
        assert stt.connections == 2
        await stt.disconnect()


async def test_mid_stream_drop_without_reconnect_is_a_clean_error() -> None:
    async with FakeDeepgram(faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        assert isinstance(got.errors[0], waav.ProviderConnectionError)
        assert stt.state is ConnectionState.ERROR
        assert fake.sessions == 1
        with pytest.raises(waav.ProviderConnectionError):
            await stt.send_audio(CHUNK)
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED


async def test_reconnect_budget_is_spent_then_error() -> None:
    async with FakeDeepgram(faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake, reconnect={"initial_delay_ms": 5, "max_attempts": 2})
        await stt.connect()
        fake.faults.reject_auth = False
        fake.faults.rate_limit_retry_after = 0  # every reconnect attempt is refused with 429
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors, timeout=5)
        assert isinstance(got.errors[0], waav.ProviderRateLimitError)
        assert fake.sessions == 3  # the first session + 2 refused attempts
        assert stt.state is ConnectionState.ERROR
        await stt.disconnect()


async def test_audio_sent_while_reconnecting_is_buffered_bounded_and_flushed_in_order() -> None:
    async with FakeDeepgram(script=[], faults=Faults(drop_after=1)) as fake:
        # max_buffer_seconds=0.3 at 16 kHz PCM16 = 9600 bytes = 3 chunks of 3200
        stt, got = make(fake, reconnect={"initial_delay_ms": 300, "jitter": False}, max_buffer_seconds=0.3)
        await stt.connect()
        await stt.send_audio(CHUNK)  # dropped by the fake
        await got.wait_for(lambda: stt.state is ConnectionState.RECONNECTING)
        chunks = [bytes([i]) * 3200 for i in range(1, 6)]
        for c in chunks:
            await stt.send_audio(c)
        assert stt.buffered_bytes == 9600
        assert stt.dropped_audio_bytes == 6400
        await got.wait_for(lambda: len(fake.requests) == 2 and fake.requests[1].audio_bytes == 9600)
        assert fake.requests[1].messages == chunks[2:]  # the newest audio, in order
        assert len(got.errors) == 1
        assert "buffer full" in str(got.errors[0])
        assert stt.buffered_bytes == 0
        await stt.disconnect()


async def test_audio_during_connect_waits_for_the_socket() -> None:
    async with FakeDeepgram(script=["early"]) as fake:
        stt, got = make(fake)
        task = asyncio.create_task(stt.connect())
        await asyncio.sleep(0)
        assert stt.state is ConnectionState.CONNECTING
        await stt.send_audio(CHUNK)  # buffered: no socket yet
        await task
        await got.wait_for(lambda: got.finals)
        assert fake.requests[0].messages[0] == CHUNK
        await stt.disconnect()


async def test_keepalive_holds_an_idle_stream_open() -> None:
    async with FakeDeepgram(faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0.05)
        await stt.connect()
        await asyncio.sleep(0.6)
        assert controls(fake).count("KeepAlive") >= 5
        assert fake.sessions == 1
        assert stt.is_ready()
        assert got.errors == []
        await stt.disconnect()


async def test_idle_close_reconnects_without_spending_the_budget() -> None:
    async with FakeDeepgram(script=["after idle"], faults=Faults(idle_close_after=0.1)) as fake:
        # no keepalive and a zero retry budget: only a free reconnect can recover
        stt, got = make(fake, keepalive_interval=0, reconnect={"max_attempts": 0})
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["after idle"]
        assert got.errors == []
        await stt.disconnect()


async def test_a_silent_caller_does_not_churn_sockets() -> None:
    async with FakeDeepgram(script=["finally"], faults=Faults(idle_close_after=0.05)) as fake:
        stt, got = make(fake, keepalive_interval=0)
        await stt.connect()
        await asyncio.sleep(0.8)
        assert 4 <= fake.sessions <= 5  # then it waits for audio instead of reconnecting
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["finally"]
        assert got.errors == []
        await stt.disconnect()


async def test_graceful_finish_delivers_the_last_results() -> None:
    async with FakeDeepgram(script=["answered", "flushed on close"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK[:1000])  # not enough for the next result on its own
        await got.wait_for(lambda: got.finals)
        await stt.disconnect()  # CloseStream -> final for the pending audio, Metadata, close
        assert got.transcripts == ["answered", "flushed on close"]
        assert controls(fake) == ["CloseStream"]


async def test_finish_without_reply_is_bounded() -> None:
    async with FakeDeepgram(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.3)
        await stt.connect()
        await stt.send_audio(CHUNK[:100])
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.25 <= time.monotonic() - t0 < 2
        assert stt.state is ConnectionState.DISCONNECTED
        assert controls(fake) == ["CloseStream"]


async def test_finalize_flushes_pending_audio_and_never_waits() -> None:
    async with FakeDeepgram(script=["one", "two"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.finalize()  # nothing pending: Deepgram sends nothing back
        await stt.send_audio(CHUNK[:800])
        await stt.finalize()
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["one"]
        assert controls(fake) == ["Finalize", "Finalize"]
        await stt.disconnect()
        assert json.loads(fake.requests[0].messages[-1]) == {"type": "CloseStream"}
