"""Auth and rate limits through the real gateway (the security layer wired by create_app):
Bearer header, ?token=, the first-message flow on /ws and /realtime, 401s, 429s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from tests.gateway._doubles import Doubles
from tests.gateway.conftest import Client, connect

from waav.plugin import WSResponse

SECRETS = {"required": True, "api_secrets": [{"id": "tenant-a", "secret": "s3cret-token"}]}


@pytest.fixture
def secured(make_gateway: Callable[..., Any]) -> tuple[Any, list[Any]]:
    d = Doubles()
    seen: list[Any] = []

    async def whoami(payload: Any, ctx: Any) -> Any:
        seen.append(ctx)
        return WSResponse.json({"tenant": ctx.tenant_id, "authenticated": ctx.authenticated})

    d.registry.register_ws_handler("whoami", whoami)
    return make_gateway(d.registry, auth=SECRETS), seen


async def test_rest_needs_credentials_except_public_paths(secured: tuple[Any, list[Any]]) -> None:
    gw, _ = secured
    async with httpx.AsyncClient(base_url=gw.url) as http:
        assert (await http.get("/")).json() == {"status": "OK"}
        assert (await http.get("/health")).status_code == 200
        r = await http.get("/plugins")
        assert r.status_code == 401
        assert r.json()["error"] == "missing_auth_header"
        r = await http.get("/plugins", headers={"Authorization": "Bearer wrong"})
        assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
        r = await http.get("/plugins", headers={"Authorization": "Basic abc"})
        assert (r.status_code, r.json()["error"]) == (401, "invalid_auth_header")
        assert (
            await http.get("/plugins", headers={"Authorization": "Bearer s3cret-token"})
        ).status_code == 200
        assert (await http.get("/plugins", params={"token": "s3cret-token"})).status_code == 200
        r = await http.post(
            "/speak",
            json={"text": "hi", "provider": "tone"},
            headers={"Authorization": "Bearer s3cret-token"},
        )
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"  # the security headers layer


@pytest.mark.parametrize("how", ["header", "query"])
async def test_ws_with_credentials_goes_straight_to_config(secured: tuple[Any, list[Any]], how: str) -> None:
    gw, seen = secured
    assert not seen
    url, headers = gw.ws_url, {}
    if how == "header":
        headers = {"Authorization": "Bearer s3cret-token"}
    else:
        url += "?token=s3cret-token"
    async with websockets.connect(url, additional_headers=headers, open_timeout=5) as ws:
        c = Client(ws)
        await c.send({"type": "config", "tts_config": {"provider": "tone"}})
        assert (await c.recv())["type"] == "ready"  # the first message: no auth_required
        await c.send({"type": "custom", "message_type": "whoami", "payload": None})
        reply = await c.expect("plugin_response")
        assert reply["payload"] == {"tenant": "tenant-a", "authenticated": True}
        assert seen[0].stream_id


async def test_ws_with_bad_credentials_is_refused_at_the_upgrade(secured: tuple[Any, list[Any]]) -> None:
    gw, _ = secured
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(gw.ws_url + "?token=nope", open_timeout=5):
            pass
    assert info.value.response.status_code == 401


async def test_ws_first_message_auth_flow(secured: tuple[Any, list[Any]]) -> None:
    gw, _ = secured
    # anything but `auth` first: error, then the server closes
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        assert await c.recv() == {"type": "auth_required"}
        await c.send({"type": "config", "tts_config": {"provider": "tone"}})
        assert await c.error() == "Authentication required. Send auth message first."
        await ws.wait_closed()
        assert ws.close_code == 1008
    # a wrong token: error, close
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        assert await c.recv() == {"type": "auth_required"}
        await c.send({"type": "auth", "token": "wrong"})
        assert await c.error() == "Invalid authentication token"
        await ws.wait_closed()
    # the right token: authenticated, then a normal session with the tenant known to plugins
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        assert await c.recv() == {"type": "auth_required"}
        await c.send({"type": "auth", "token": "s3cret-token"})
        assert await c.recv() == {"type": "authenticated", "id": "tenant-a"}
        await c.ready(tts_config={"provider": "tone"})
        await c.send({"type": "custom", "message_type": "whoami", "payload": None})
        assert (await c.expect("plugin_response"))["payload"] == {"tenant": "tenant-a", "authenticated": True}
        await c.send({"type": "auth", "token": "s3cret-token"})
        assert "not pending" in await c.error()


async def test_realtime_first_message_auth(secured: tuple[Any, list[Any]]) -> None:
    gw, _ = secured
    async with connect(gw.realtime_url) as ws:
        c = Client(ws)
        assert await c.recv() == {"type": "auth_required"}
        await c.send({"type": "auth", "token": "bad"})
        err = await c.expect("error")
        assert (err["code"], err["message"]) == ("unauthorized", "Invalid authentication token")
        await ws.wait_closed()
    async with connect(gw.realtime_url) as ws:
        c = Client(ws)
        await c.recv()
        await c.send({"type": "auth", "token": "s3cret-token"})
        assert await c.recv() == {"type": "authenticated", "id": "tenant-a"}
        await c.send({"type": "text", "text": "hi"})
        assert (await c.expect("error"))["code"] == "no_session"  # past auth: the normal protocol


async def test_rate_limit_answers_429_through_the_app(make_gateway: Callable[..., Any]) -> None:
    gw = make_gateway(
        Doubles().registry,
        security={"rate_limit_requests_per_second": 0.5, "rate_limit_burst_size": 3},
    )
    async with httpx.AsyncClient(base_url=gw.url) as http:
        codes = [(await http.get("/plugins")).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


async def test_bad_auth_config_fails_at_create_app() -> None:
    from tests.gateway.conftest import server_config

    from waav import ConfigError
    from waav.gateway import create_app
    from waav.plugin import PluginRegistry

    with pytest.raises(ConfigError, match=r"auth.required is set but no auth strategy"):
        create_app(server_config(auth={"required": True}), registry=PluginRegistry())
