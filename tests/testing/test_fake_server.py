"""The fake-server harness itself: ports, sync/async use, recording, faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from waav.testing.fakes import AppServer, FakeServer, Faults


class EchoFake(FakeServer):
    vendor = "echo"

    def build_app(self) -> Starlette:
        async def post(request: Request) -> Response:
            body = await request.body()
            self.recorder.start(request, body=body)
            fault = self.http_fault()
            return fault or JSONResponse({"len": len(body)})

        async def ws(websocket: WebSocket) -> None:
            rec = self.recorder.start(websocket)
            await websocket.accept()
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                data = msg.get("bytes") if msg.get("bytes") is not None else msg.get("text")
                rec.messages.append(data)
                if isinstance(data, bytes):
                    await websocket.send_bytes(data)
                else:
                    await websocket.send_text(data.upper())

        return Starlette(routes=[Route("/v1/post", post, methods=["POST"]), WebSocketRoute("/v1/ws", ws)])


def test_sync_http_and_recording() -> None:
    with EchoFake() as fake:
        assert fake.port > 0
        r = httpx.post(f"{fake.base_url}/v1/post?model=x", content=b"abc", headers={"X-Key": "k"})
        assert r.json() == {"len": 3}
        (req,) = fake.requests
        assert (req.method, req.path, req.query, req.body) == ("POST", "/v1/post", {"model": "x"}, b"abc")
        assert req.headers["x-key"] == "k"
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{fake.base_url}/v1/post", content=b"", timeout=1)


def test_http_faults() -> None:
    with EchoFake(faults=Faults(reject_auth=True)) as fake:
        assert httpx.post(f"{fake.base_url}/v1/post").status_code == 401
    with EchoFake(faults=Faults(rate_limit_retry_after=2.5)) as fake:
        r = httpx.post(f"{fake.base_url}/v1/post")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2.5"


async def test_async_websocket() -> None:
    async with EchoFake() as fake:
        async with websockets.connect(f"{fake.ws_url}/v1/ws") as ws:
            await ws.send(b"\x01\x02")
            assert await ws.recv() == b"\x01\x02"
            await ws.send('{"type": "x"}')
            assert await ws.recv() == '{"TYPE": "X"}'
        await asyncio.sleep(0.05)
        (rec,) = fake.requests
        assert rec.audio_bytes == 2
        assert rec.json_messages() == [{"type": "x"}]


def test_two_fakes_get_different_ports() -> None:
    with EchoFake() as a, EchoFake() as b:
        assert a.port != b.port


def test_app_server_runs_the_apps_lifespan() -> None:
    events: list[str] = []

    async def status(request: Request) -> Response:
        return JSONResponse({"started": events})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    with AppServer(Starlette(routes=[Route("/", status)], lifespan=lifespan)) as srv:
        assert httpx.get(srv.base_url + "/").json() == {"started": ["startup"]}
    assert events == ["startup", "shutdown"]
