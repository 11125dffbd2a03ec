"""Fixtures: the real gateway (uvicorn on 127.0.0.1, free port) and a JSON/binary WS client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets

from waav.config import ServerConfig
from waav.gateway import GatewayServer
from waav.plugin import PluginRegistry


class Client:
    """JSON in, JSON or binary out; binary frames met while waiting for JSON go to ``audio``."""

    def __init__(self, ws: Any, *, errors_fail: bool = False) -> None:
        self.ws = ws
        #: an ``error`` met while waiting for another type fails the test at once
        self.errors_fail = errors_fail
        self.audio: list[bytes] = []
        self.seen: list[dict[str, Any]] = []

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, (bytes, str)) else json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> Any:
        m = await asyncio.wait_for(self.ws.recv(), timeout)
        return m if isinstance(m, bytes) else json.loads(m)

    async def expect(self, mtype: str, timeout: float = 5.0) -> dict[str, Any]:
        """Next JSON message of ``mtype`` (others are kept in ``seen``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            m = await self.recv(max(0.01, deadline - loop.time()))
            if isinstance(m, bytes):
                self.audio.append(m)
                continue
            if m.get("type") == mtype:
                return m  # type: ignore[no-any-return]
            if self.errors_fail and m.get("type") == "error":
                raise AssertionError(f"expected {mtype}, got error: {m}")
            self.seen.append(m)

    async def error(self, timeout: float = 5.0) -> str:
        return str((await self.expect("error", timeout))["message"])

    async def alive(self) -> None:
        """The session still answers (ping → pong with our timestamp)."""
        await self.send({"type": "ping", "timestamp": 1234})
        assert (await self.expect("pong"))["timestamp"] == 1234

    async def ready(self, **config: Any) -> dict[str, Any]:
        await self.send({"type": "config", **config})
        return await self.expect("ready", timeout=10)


def connect(url: str) -> Any:
    return websockets.connect(url, open_timeout=5, max_size=None)


def server_config(**sections: Any) -> ServerConfig:
    """Test config: no rate limit unless asked for, defaults providers as shipped."""
    gateway = {"default_stt_provider": "whisper", "default_tts_provider": "hibari"}
    gateway.update(sections.pop("gateway", {}))
    security = {"rate_limit_requests_per_second": 100_000.0, **sections.pop("security", {})}
    return ServerConfig(security=security, gateway=gateway, **sections)


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., GatewayServer]]:
    started: list[GatewayServer] = []

    def make(registry: PluginRegistry, **sections: Any) -> GatewayServer:
        cfg = server_config(server={"host": "127.0.0.1", "port": 0}, **sections)
        gw = GatewayServer(cfg, registry=registry).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
