"""The gateway's /realtime with the built-in vendor adapters (OpenAI Realtime, Hume EVI) against
their fakes: the real server (uvicorn on 127.0.0.1), a websockets client, upstream §1.9 messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from tests.gateway.conftest import Client, connect, server_config

from waav import audio
from waav.gateway import GatewayServer
from waav.plugin import PluginRegistry
from waav.testing.fakes import FakeHumeEVI, FakeOpenAIRealtime, Reply
from waav.testing.fakes._realtime import tone


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def make(cfg: Any, reg: PluginRegistry) -> Any:
        gw = GatewayServer(cfg, registry=reg).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def vendor_registry() -> PluginRegistry:
    """A registry with waav's own adapters (its built-in entry points), nothing else."""
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return reg


def gateway_for(make_gateway: Callable[..., Any], provider: str, base_url: str, key: bool = True) -> Any:
    providers = {f"{provider}_api_key": "test-key"} if key else {}
    plugins = {"provider_config": {provider: {"base_url": base_url, "options": {"connect_timeout": 3}}}}
    return make_gateway(server_config(providers=providers, plugins=plugins), vendor_registry())


def utterance16k() -> bytes:
    return tone(300, 800, 16000) + bytes(2 * 16000)


async def send_frames(c: Client, pcm: bytes, rate: int = 16000) -> None:
    step = rate // 50 * 2  # 20 ms frames, as a client streams them
    for i in range(0, len(pcm), step):
        await c.send(pcm[i : i + step])


async def until_done(c: Client) -> list[dict[str, Any]]:
    """JSON messages up to and including ``response_done`` (audio goes to ``c.audio``)."""
    got: list[dict[str, Any]] = []
    while True:
        m = await c.recv()
        if isinstance(m, bytes):
            c.audio.append(m)
            continue
        assert m["type"] != "error", m
        got.append(m)
        if m["type"] == "response_done":
            return got


async def eventually(pred: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait for what the fake records (it runs in its own thread, a little behind)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(x * np.hanning(len(x))))) * rate / len(x))


async def test_openai_full_turn_function_call_and_cancel(make_gateway: Callable[..., Any]) -> None:
    replies = [
        Reply("hello from openai"),
        Reply(function_call=("get_weather", '{"city": "Paris"}')),
        Reply("It is {tool_output} degrees"),
        Reply(" ".join(["word"] * 40)),
    ]
    async with FakeOpenAIRealtime(replies=replies, transcripts=["what time is it"], chunk_delay=0.02) as fake:
        gw = gateway_for(make_gateway, "openai", fake.base_url)
        async with connect(gw.realtime_url) as ws:
            c = Client(ws, errors_fail=True)
            await c.send(
                {
                    "type": "config",
                    "provider": "openai",
                    "voice": "alloy",
                    "instructions": "be brief",
                    "input_audio_format": "pcm16@16000",
                    "output_audio_format": "pcm16@16000",
                    "turn_detection": {"mode": "server_vad", "silence_duration_ms": 500},
                    "tools": TOOLS,
                }
            )
            created = await c.expect("session_created")
            assert created["provider"] == "openai"
            assert created["model"] == "gpt-realtime"
            s = fake.sessions[0]
            assert s.request.headers["authorization"] == "Bearer test-key"  # the server's key
            assert s.session["instructions"] == "be brief"
            assert s.session["audio"]["input"]["transcription"] == {"model": "whisper-1"}
            assert s.session["tools"][0]["name"] == "get_weather"
            # a spoken turn: 16 kHz in, 16 kHz out
            await send_frames(c, utterance16k())
            msgs = await until_done(c)
            assert [m for m in msgs if m["type"] == "speech_event"] == [
                {"type": "speech_event", "event": "started", "audio_ms": 0},
                {"type": "speech_event", "event": "stopped", "audio_ms": 1300},
            ]
            finals = [(m["role"], m["text"]) for m in msgs if m["type"] == "transcript" and m["is_final"]]
            assert finals == [("user", "what time is it"), ("assistant", "hello from openai")]
            assert msgs[-1] == {"type": "response_done", "response_id": s.responses[0]["id"]}
            pcm = b"".join(c.audio)
            assert abs(len(pcm) / 2 / 16000 - 0.6) < 0.01  # 3 words x 200 ms at 16 kHz
            assert abs(peak_hz(pcm, 16000) - 600) < 3
            await eventually(lambda: abs(len(s.audio) / 2 / 24000 - 1.8) < 0.02)  # all of it, at 24 kHz
            # a function call round trip
            await c.send({"type": "text", "text": "weather?"})
            call = await c.expect("function_call")
            assert (call["name"], call["arguments"]) == ("get_weather", '{"city": "Paris"}')
            await c.expect("response_done")
            await c.send({"type": "function_result", "call_id": call["call_id"], "result": "21"})
            msgs = await until_done(c)
            assert [m["text"] for m in msgs if m["type"] == "transcript" and m["is_final"]] == [
                "It is 21 degrees"
            ]
            # cancel mid-response: the rest is not sent, the response ends cancelled
            await c.send({"type": "text", "text": "talk a lot"})
            c.audio.clear()
            while len(c.audio) < 3:
                m = await c.recv()
                if isinstance(m, bytes):
                    c.audio.append(m)
            await c.send({"type": "cancel_response"})
            await until_done(c)
            assert fake.sessions[0].responses[-1]["status"] == "cancelled"
            assert len(fake.sessions[0].truncations) == 1
            # update_session keeps the server's credentials
            await c.send({"type": "update_session", "instructions": "be verbose"})
            await c.expect("session_updated")
            await eventually(
                lambda: s.events_of("session.update")[-1]["session"]["instructions"] == "be verbose"
            )
            assert not s.errors


async def test_hume_spoken_and_typed_turns(make_gateway: Callable[..., Any]) -> None:
    replies = [Reply("Hello there. Nice day."), Reply("Typed reply.")]
    async with FakeHumeEVI(replies=replies, transcripts=["good morning"]) as fake:
        gw = gateway_for(make_gateway, "hume", fake.base_url)
        async with connect(gw.realtime_url) as ws:
            c = Client(ws, errors_fail=True)
            await c.send(
                {
                    "type": "config",
                    "provider": "hume",
                    "instructions": "be kind",
                    "input_audio_format": "pcm16@16000",
                    "output_audio_format": "g711_ulaw",
                }
            )
            created = await c.expect("session_created")
            assert created["provider"] == "hume"
            await send_frames(c, utterance16k())
            msgs = await until_done(c)
            finals = [(m["role"], m["text"]) for m in msgs if m["type"] == "transcript" and m["is_final"]]
            assert finals == [
                ("user", "good morning"),
                ("assistant", "Hello there."),
                ("assistant", "Nice day."),
            ]
            assert [m["event"] for m in msgs if m["type"] == "speech_event"] == ["started", "stopped"]
            s = fake.sessions[0]
            assert s.request.query["api_key"] == "test-key"
            assert s.settings["system_prompt"] == "be kind"
            assert s.sample_rate == 44100
            await eventually(lambda: abs(len(s.audio) / 2 / 44100 - 1.8) < 0.02)
            # EVI's 48 kHz WAV chunks reach the client as µ-law at 8 kHz
            pcm = audio.ulaw_decode(b"".join(c.audio))
            assert abs(len(pcm) / 2 / 8000 - 0.8) < 0.01  # 2 sentences x 2 words x 200 ms
            assert abs(peak_hz(pcm, 8000) - 600) < 5
            c.audio.clear()
            await c.send({"type": "text", "text": "hi"})
            msgs = await until_done(c)
            assert [m["text"] for m in msgs if m["type"] == "transcript" and m["role"] == "assistant"] == [
                "Typed reply."
            ]
            assert c.audio


@pytest.mark.parametrize("provider", ["openai", "hume"])
async def test_missing_server_key_is_reported(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    gw = gateway_for(make_gateway, provider, "ws://127.0.0.1:9", key=False)
    async with connect(gw.realtime_url) as ws:
        c = Client(ws, errors_fail=True)
        await c.send({"type": "config", "provider": provider})
        err = await c.recv()
        assert err["type"] == "error"
        assert err["code"] == "missing_api_key", err
        assert f"{provider.upper()}_API_KEY" in err["message"]


async def test_vendor_rejecting_the_key_is_a_connection_error(make_gateway: Callable[..., Any]) -> None:
    async with FakeOpenAIRealtime(api_key="other") as fake:
        gw = gateway_for(make_gateway, "openai", fake.base_url)
        async with connect(gw.realtime_url) as ws:
            c = Client(ws, errors_fail=True)
            await c.send({"type": "config", "provider": "openai"})
            err = await c.recv()
            assert err["type"] == "error"
            assert err["code"] == "connection_error"
            assert "401" in err["message"]
