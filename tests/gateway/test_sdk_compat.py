"""The upstream Python SDK's expectations of the server (upstream.md §7.3–7.5), message for message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.gateway._doubles import Doubles, tone
from tests.gateway.conftest import connect

STT_CONFIG = {
    "provider": "rec",
    "language": "en-US",
    "sample_rate": 16000,
    "channels": 1,
    "punctuation": True,
    "encoding": "linear16",
    "model": "nova-3",
}
SPEAK = {"type": "speak", "text": "hello", "flush": False, "allow_interruption": True}
EXTRAS = [
    {"type": "clear"},
    {"type": "send_message", "message": "m", "role": "user", "topic": "t"},
    {"type": "sip_transfer", "transfer_to": "+15550100"},
]


def sdk_config(stt: bool, tts: bool) -> dict[str, Any]:
    """What ``bud_foundry`` sends: no stream_id/audio_format/api_key; voice_id may be null."""
    msg: dict[str, Any] = {"type": "config", "audio": True}
    if stt:
        msg["stt_config"] = STT_CONFIG
    if tts:
        msg["tts_config"] = {"provider": "tone", "voice_id": None, "sample_rate": 16000, "model": "aura-2"}
    return msg


async def next_pong(ws: Any) -> dict[str, Any]:
    while True:
        m = await asyncio.wait_for(ws.recv(), 5)
        if isinstance(m, str) and (msg := json.loads(m))["type"] == "pong":
            return msg  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("stt", "tts"), [(True, False), (False, True), (True, True)], ids=["stt", "tts", "talk"]
)
async def test_sdk_session_shapes(make_gateway: Callable[..., Any], stt: bool, tts: bool) -> None:
    gw = make_gateway(Doubles(result_bytes=6400).registry)
    async with connect(gw.ws_url) as ws:
        await ws.send(json.dumps(sdk_config(stt, tts)))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "ready"  # the SDK's first message: ready, nothing before it
        assert isinstance(first["stream_id"], str)
        assert first["stream_id"]
        await ws.send(json.dumps({"type": "ping", "timestamp": 1700000000000}))
        if stt:
            await ws.send(tone(300, 0.2, 16000))
        if tts:
            await ws.send(
                json.dumps({"type": "speak", "text": "hello", "flush": False, "allow_interruption": True})
            )
        seen: dict[str, Any] = {}
        audio = b""
        want = {"pong"} | ({"stt_result"} if stt else set()) | ({"tts_playback_complete"} if tts else set())
        while not want <= set(seen):
            m = await asyncio.wait_for(ws.recv(), 10)
            if isinstance(m, bytes):
                audio += m
            else:
                msg = json.loads(m)
                seen.setdefault(msg["type"], msg)
        assert seen["pong"]["timestamp"] == 1700000000000
        if stt:
            assert {"transcript", "is_final", "confidence"} <= set(seen["stt_result"])
        if tts:
            assert len(audio) == 2 * 16000 * 5 * 20 // 1000  # PCM16 at tts_config.sample_rate
        for extra in EXTRAS:
            await ws.send(json.dumps(extra))  # tolerated: at worst an error message, never a close
        await ws.send(json.dumps({"type": "ping", "timestamp": 1}))
        assert (await next_pong(ws))["timestamp"] == 1


async def test_sdk_api_tests_against_the_gateway(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The six checks of the SDK's ``api/test_gateway.py`` (§7.6), run against a registry with
    waav's own adapters and no vendor keys."""
    for var in ("DEEPGRAM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    gw = make_gateway(Doubles(builtins=True).registry)
    async with httpx.AsyncClient(base_url=gw.url) as http:
        assert (await http.get("/")).json()["status"] == "OK"
        assert (await http.get("/voices")).status_code == 200
        r = await http.post("/speak", json={"text": "", "tts_config": {"provider": "deepgram", "model": "x"}})
        assert r.status_code == 400
    for provider in ("deepgram", "openai"):
        async with connect(gw.ws_url) as ws:
            cfg = {
                "type": "config",
                "audio": True,
                "stt_config": {**STT_CONFIG, "provider": provider},
                "tts_config": {"provider": provider, "model": "m", "voice_id": None},
            }
            await ws.send(json.dumps(cfg))
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["type"] in ("ready", "error")
            text = first.get("message", "").lower()
            assert "unsupported provider" not in text
            assert "unknown provider" not in text
    async with connect(gw.realtime_url) as ws:
        await ws.send(
            json.dumps({"type": "config", "provider": "openai", "model": "gpt-4o-realtime-preview"})
        )
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] in ("session_created", "error", "closing")
