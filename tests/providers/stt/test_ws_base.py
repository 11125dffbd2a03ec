"""Edge cases of the shared WebSocket STT base that no vendor fake produces on its own."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

import waav
from waav.providers.base import STTConfig, STTResult
from waav.providers.stt.assemblyai import AssemblyAISTT
from waav.providers.stt.deepgram import DeepgramSTT
from waav.testing.fakes import FakeDeepgram, FakeServer, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600

Handler = Callable[[WebSocket], Awaitable[None]]


class Scripted(FakeServer):
    """A WebSocket endpoint at any path that runs ``handler``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler

    def build_app(self) -> Starlette:
        async def endpoint(ws: WebSocket) -> None:
            self.recorder.start(ws)
            await self.handler(ws)

        return Starlette(routes=[WebSocketRoute("/{path:path}", endpoint)])


def results_message(text: str) -> str:
    alt = {"transcript": text, "confidence": 0.8, "words": []}
    return json.dumps(
        {"type": "Results", "is_final": True, "speech_final": True, "channel": {"alternatives": [alt]}}
    )


async def test_connect_times_out_when_the_session_never_starts() -> None:
    async def silent(ws: WebSocket) -> None:
        await ws.accept()
        await asyncio.sleep(5)  # never sends Begin

    async with Scripted(silent) as fake:
        stt = AssemblyAISTT(STTConfig(api_key="k", base_url=fake.ws_url, options={"connect_timeout": 0.2}))
        t0 = time.monotonic()
        with pytest.raises(waav.ProviderTimeoutError, match=r"no session within 0\.2 s"):
            await stt.connect()
        assert time.monotonic() - t0 < 2


async def test_unreachable_vendor_is_a_connection_error() -> None:
    stt = DeepgramSTT(STTConfig(api_key="k", base_url="ws://127.0.0.1:9"))
    with pytest.raises(waav.ProviderConnectionError):
        await stt.connect()


async def test_unparseable_message_is_reported_and_the_stream_goes_on() -> None:
    async def garbled(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive()
        await ws.send_text("{not json")
        await ws.send_text(results_message("still here"))
        await asyncio.sleep(5)

    async with Scripted(garbled) as fake:
        stt = DeepgramSTT(STTConfig(api_key="k", base_url=fake.ws_url, options={"finish_timeout": 0}))
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert isinstance(got.errors[0], waav.ProviderProtocolError)
        assert "{not json" in str(got.errors[0])
        assert got.transcripts == ["still here"]
        await stt.disconnect()


async def test_a_failing_result_callback_does_not_end_the_stream() -> None:
    async with FakeDeepgram(script=["one", "two"]) as fake:
        stt = DeepgramSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url))
        calls: list[str] = []

        def explode(result: STTResult) -> None:
            calls.append(result.transcript)
            raise RuntimeError("user bug")

        got = STTCollector(stt)
        stt.on_result(explode)  # after the collector: _call_all stops at the first failure
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        assert "two" in calls
        assert got.errors == []
        await stt.disconnect()


async def test_slow_first_result() -> None:
    async with FakeDeepgram(script=["late"], faults=Faults(first_result_delay=0.3)) as fake:
        stt = DeepgramSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url))
        got = STTCollector(stt)
        await stt.connect()
        t0 = time.monotonic()
        await stt.send_audio(CHUNK)
        await asyncio.sleep(0.1)
        assert got.results == []  # nothing yet, and nothing wrong with that
        await got.wait_for(lambda: got.finals)
        assert time.monotonic() - t0 >= 0.3
        assert got.errors == []
        assert stt.is_ready()
        await stt.disconnect()


async def test_a_good_connection_resets_the_retry_budget() -> None:
    # every session is dropped after its second message; with a budget of 1 retry, only the
    # reset after each successful reconnect keeps the stream alive through three drops
    async with FakeDeepgram(script=["a", "b", "c", "d"], faults=Faults(drop_after=2)) as fake:
        fake_sessions_drop_always(fake)
        stt = DeepgramSTT(
            STTConfig(
                api_key=fake.api_key,
                base_url=fake.ws_url,
                options={"reconnect": {"max_attempts": 1, "initial_delay_ms": 5}},
            )
        )
        got = STTCollector(stt)
        await stt.connect()
        for _ in range(3):
            n = fake.sessions
            await stt.send_audio(CHUNK)
            await stt.send_audio(CHUNK)
            await got.wait_for(lambda n=n: fake.sessions == n + 1 and stt.is_ready())  # type: ignore[misc]
        assert got.errors == []
        assert stt.connections == 4
        await stt.disconnect()


def fake_sessions_drop_always(fake: FakeDeepgram) -> None:
    """Make ``drop_after`` apply to every session, not only the first."""
    serve = fake._serve

    async def every_session(ws: WebSocket, s: object) -> None:
        s.index = 1  # type: ignore[attr-defined]
        await serve(ws, s)  # type: ignore[arg-type]

    fake._serve = every_session  # type: ignore[method-assign]


def test_options_are_validated() -> None:
    with pytest.raises(waav.ConfigError, match="keepalive_interval"):
        _ = DeepgramSTT(STTConfig(options={"keepalive_interval": "often"})).keepalive_interval
    with pytest.raises(waav.ConfigError, match="reconnect"):
        _ = DeepgramSTT(STTConfig(options={"reconnect": "yes"})).reconnection
    with pytest.raises(waav.ConfigError):
        _ = DeepgramSTT(STTConfig(options={"reconnect": {"max_attempts": -1}})).reconnection
    stt = DeepgramSTT(STTConfig(encoding="mulaw", sample_rate=8000, options={"max_buffer_seconds": 2}))
    assert stt.max_buffer_bytes == 16000
