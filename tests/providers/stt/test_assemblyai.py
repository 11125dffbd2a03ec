"""AssemblyAI v3 streaming adapter against FakeAssemblyAI."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import waav
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.assemblyai import AssemblyAISTT
from waav.testing.fakes import FakeAssemblyAI, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600  # 100 ms @ 16 kHz
FRAME = CHUNK[:640]  # 20 ms: below AssemblyAI's 50 ms minimum message
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeAssemblyAI, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[AssemblyAISTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    stt = AssemblyAISTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url, options=options, **(cfg or {})))
    return stt, STTCollector(stt)


def controls(fake: FakeAssemblyAI, session: int = 0) -> list[str]:
    return [m["type"] for m in fake.requests[session].json_messages()]


async def test_turns_map_to_interim_and_formatted_final_with_words() -> None:
    async with FakeAssemblyAI(script=["Hello, world.", "How are you?"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        assert stt.session_id is not None  # Begin arrived before connect returned
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        partial, unformatted, final = got.results[:3]
        # a partial carries every word heard so far, final or not
        assert (partial.transcript, partial.is_final) == ("hello", False)
        # the unformatted end of turn is followed by the formatted one: only that is final
        assert (unformatted.transcript, unformatted.is_final) == ("hello world", False)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("Hello, world.", True, True)
        assert final.confidence == pytest.approx(0.9)
        assert final.words is not None
        assert [(w.word, w.start, w.end) for w in final.words] == [
            ("Hello,", 0.0, 0.25),
            ("world.", 0.3, 0.55),
        ]
        await stt.disconnect()
        req = fake.requests[0]
        assert req.path == "/v3/ws"
        assert req.headers["authorization"] == fake.api_key  # the raw key, no scheme
        assert req.query == {
            "sample_rate": "16000",
            "encoding": "pcm_s16le",
            "speech_model": "universal-streaming-english",
            "format_turns": "true",
        }
        assert controls(fake) == ["Terminate"]
        assert got.errors == []


async def test_without_format_turns_the_end_of_turn_is_final() -> None:
    async with FakeAssemblyAI(script=["plain words"]) as fake:
        stt, got = make(
            fake, {"punctuation": False, "language": "es-ES", "encoding": "mulaw", "sample_rate": 8000}
        )
        await stt.connect()
        await stt.send_audio(b"\xff" * 1600)  # 200 ms of mu-law @ 8 kHz
        await stt.send_audio(b"\xff" * 1600)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["plain words"]
        q = fake.requests[0].query
        assert (q["format_turns"], q["encoding"], q["speech_model"]) == (
            "false",
            "pcm_mulaw",
            "universal-streaming-multilingual",
        )
        await stt.disconnect()


async def test_small_frames_are_coalesced_into_50_to_1000_ms_messages() -> None:
    async with FakeAssemblyAI(script=["coalesced"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        for _ in range(7):  # 140 ms in 20 ms frames
            await stt.send_audio(FRAME)
        await stt.send_audio(CHUNK * 12)  # 1.2 s at once: split
        await stt.disconnect()
        sizes = [len(m) for m in fake.requests[0].messages if isinstance(m, bytes)]
        assert all(1600 <= n <= 32000 for n in sizes), sizes  # the fake closes on a violation
        assert sum(sizes) >= 7 * len(FRAME) + 12 * len(CHUNK)
        assert got.transcripts == ["coalesced"]
        assert got.errors == []


async def test_bad_key_is_rejected_in_band_and_fails_connect() -> None:
    async with FakeAssemblyAI(api_key="right") as fake:
        stt = AssemblyAISTT(STTConfig(api_key="wrong", base_url=fake.ws_url))
        with pytest.raises(waav.ProviderAuthError, match="Invalid API key"):
            await stt.connect()
        assert stt.state is ConnectionState.ERROR


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSEMBLYAI_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="ASSEMBLYAI_API_KEY"):
        await AssemblyAISTT(STTConfig()).connect()
    with pytest.raises(waav.ConfigError, match="linear16 or mulaw"):
        await AssemblyAISTT(STTConfig(api_key="k", encoding="float32")).connect()


async def test_vendor_error_message_is_reported() -> None:
    async with FakeAssemblyAI(faults=Faults(vendor_error="Transcriber failure")) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        assert "Transcriber failure" in str(got.errors[0])
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        assert len(got.errors) == 1  # the Error frame and the close that follows: one report
        await stt.disconnect()


async def test_mid_stream_drop_reconnects_and_waits_for_begin_again() -> None:
    async with FakeAssemblyAI(script=["one", "two"], faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)  # dropped with the connection
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["one"]
        assert got.errors == []
        await stt.disconnect()


async def test_service_termination_reconnects_for_free() -> None:
    # an unsolicited Termination (inactivity_timeout) is routine: no retry budget needed
    async with FakeAssemblyAI(script=["again"], faults=Faults(idle_close_after=0.1)) as fake:
        stt, got = make(fake, reconnect={"max_attempts": 0})
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["again"]
        assert got.errors == []
        await stt.disconnect()


async def test_keepalive_only_with_inactivity_timeout() -> None:
    async with FakeAssemblyAI(faults=Faults(idle_close_after=0.3)) as fake:
        stt, _got = make(fake, inactivity_timeout=0.1)  # KeepAlive every 0.05 s
        assert stt.keepalive_interval == pytest.approx(0.05)
        await stt.connect()
        await asyncio.sleep(0.5)
        assert controls(fake).count("KeepAlive") >= 4
        assert fake.sessions == 1
        assert fake.requests[0].query["inactivity_timeout"] == "0.1"
        await stt.disconnect()
    assert AssemblyAISTT(STTConfig(api_key="k")).keepalive_interval is None


async def test_terminate_delivers_the_last_turn_then_termination() -> None:
    async with FakeAssemblyAI(script=["first", "last words"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(FRAME * 3)  # 60 ms pending
        await got.wait_for(lambda: got.finals)
        t0 = time.monotonic()
        await stt.disconnect()
        assert time.monotonic() - t0 < 1.0  # Termination ended the wait, not the timeout
        assert got.transcripts == ["first", "last words"]
        assert controls(fake) == ["Terminate"]


async def test_finish_without_termination_is_bounded() -> None:
    async with FakeAssemblyAI(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.15 <= time.monotonic() - t0 < 1.5
        assert stt.state is ConnectionState.DISCONNECTED


async def test_force_endpoint_ends_the_turn() -> None:
    async with FakeAssemblyAI(script=["forced"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(FRAME * 4)  # 80 ms: not a whole scripted utterance
        await stt.finalize()
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["forced"]
        assert controls(fake) == ["ForceEndpoint"]
        await stt.disconnect()
