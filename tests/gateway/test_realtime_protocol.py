"""/realtime protocol errors and message mapping with an in-process realtime double."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.gateway._doubles import Doubles
from tests.gateway.conftest import Client, connect

from waav.plugin._provider_base import (
    BaseRealtime,
    ConnectionState,
    FunctionCallRequest,
    RealtimeAudioData,
    SpeechEvent,
    TranscriptResult,
)
from waav.plugin._provider_config import RealtimeConfig


class EchoRealtime(BaseRealtime):
    """Answers each text with a transcript, a function call for "call", audio and response_done."""

    def __init__(self, config: RealtimeConfig, made: list[EchoRealtime]) -> None:
        super().__init__(config)
        self.updates: list[RealtimeConfig] = []
        self.audio = bytearray()
        self.results: list[tuple[str, str]] = []
        made.append(self)

    async def connect(self) -> None:
        self.state = ConnectionState.CONNECTED

    async def disconnect(self) -> None:
        self.state = ConnectionState.DISCONNECTED

    async def send_audio(self, audio: bytes) -> None:
        self.audio += audio
        await self._speech_event.emit(SpeechEvent("started", 0))

    async def send_text(self, text: str) -> None:
        await self._transcript.emit(TranscriptResult(text, "user", True))
        if text == "call":
            await self._function_call.emit(FunctionCallRequest("c1", "lookup", '{"q": 1}'))
        await self._audio.emit(RealtimeAudioData(b"\x01\x00" * 240))
        await self._transcript.emit(TranscriptResult(f"echo {text}", "assistant", True))
        await self._response_done.emit("r1")

    async def create_response(self) -> None:
        await self._response_done.emit("r2")

    async def cancel_response(self) -> None:
        raise RuntimeError("nothing to cancel")

    async def commit_audio_buffer(self) -> None:
        pass

    async def clear_audio_buffer(self) -> None:
        pass

    async def update_session(self, config: RealtimeConfig) -> None:
        self.updates.append(config)

    async def submit_function_result(self, call_id: str, result: str) -> None:
        self.results.append((call_id, result))


@pytest.fixture
def rt(make_gateway: Callable[..., Any]) -> tuple[Any, list[EchoRealtime]]:
    d = Doubles()
    made: list[EchoRealtime] = []
    d.registry.register_realtime("echo-rt", lambda cfg: EchoRealtime(cfg, made), aliases=["echo"])
    return make_gateway(d.registry, gateway={"idle_timeout_seconds": 3}), made


async def test_messages_map_both_ways(rt: tuple[Any, list[EchoRealtime]]) -> None:
    gw, made = rt
    async with connect(gw.realtime_url) as ws:
        c = Client(ws)
        await c.send(b"\0\0" * 10)  # before config: dropped silently
        await c.send(
            {
                "type": "config",
                "provider": "ECHO",
                "model": "m1",
                "voice": "v",
                "turn_detection": {"mode": "manual"},
                "transcribe_input": False,
                "tools": [{"type": "function", "function": {"name": "lookup"}}],
            }
        )
        created = await c.expect("session_created")
        assert (created["provider"], created["model"]) == ("echo-rt", "m1")
        cfg = made[0].config
        assert cfg.turn_detection is not None
        assert cfg.turn_detection.type == "none"
        assert cfg.input_audio_transcription is None
        assert cfg.tools[0].function.name == "lookup"
        await c.send(b"\0\0" * 10)
        assert await c.expect("speech_event") == {"type": "speech_event", "event": "started", "audio_ms": 0}
        assert bytes(made[0].audio) == b"\0\0" * 10
        await c.send({"type": "text", "text": "call"})
        assert (await c.expect("transcript"))["role"] == "user"
        call = await c.expect("function_call")
        assert call == {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": 1}'}
        assert await c.recv() == b"\x01\x00" * 240
        assert (await c.expect("transcript"))["text"] == "echo call"
        assert (await c.expect("response_done"))["response_id"] == "r1"
        await c.send({"type": "function_result", "call_id": "c1", "result": {"answer": 42}})
        await c.send({"type": "create_response"})
        assert (await c.expect("response_done"))["response_id"] == "r2"
        assert made[0].results == [("c1", '{"answer": 42}')]
        await c.send({"type": "update_session", "instructions": "short"})
        await c.expect("session_updated")
        assert made[0].updates[0].instructions == "short"
        assert made[0].updates[0].input_audio_transcription is None  # not given: not changed
        await c.send({"type": "cancel_response"})
        err = await c.expect("error")
        assert (err["code"], err["message"]) == ("cancel_error", "RuntimeError: nothing to cancel")


LONG_INSTRUCTIONS = '{"type": "config", "provider": "echo", "instructions": "' + "i" * (100 * 1024 + 1) + '"}'


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{nope", "parse_error"),
        ('{"type": "dance"}', "parse_error"),
        ('{"type": "text", "text": "hi"}', "no_session"),
        ('{"type": "config", "provider": "nobody"}', "invalid_provider"),
        ('{"type": "config", "provider": "echo", "turn_detection": {"mode": "psychic"}}', "validation_error"),
        ('{"type": "config", "provider": "echo", "temperature": "hot"}', "validation_error"),
        (
            '{"type": "config", "provider": "echo", "instructions": "' + "i" * (100 * 1024 + 1) + '"}',
            "validation_error",
        ),
    ],
)
async def test_errors_carry_upstream_codes_and_keep_the_connection(
    rt: tuple[Any, list[EchoRealtime]], message: str, code: str
) -> None:
    gw, _ = rt
    async with connect(gw.realtime_url) as ws:
        c = Client(ws)
        await c.send(message)
        assert (await c.expect("error"))["code"] == code
        await c.send({"type": "config", "provider": "echo-rt"})
        await c.expect("session_created")


async def test_idle_realtime_session_is_closed(rt: tuple[Any, list[EchoRealtime]]) -> None:
    gw, _ = rt
    async with connect(gw.realtime_url) as ws:
        c = Client(ws)
        err = await c.expect("error", timeout=10)
        assert err["code"] == "idle_timeout"
