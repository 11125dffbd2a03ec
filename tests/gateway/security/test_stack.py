"""The middleware stack through a real uvicorn server: order, built-ins, isolation, headers, CORS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from waav.gateway.security import BUILTIN_MIDDLEWARES, scope_identity
from waav.plugin import MiddlewareCapability, PluginRegistry
from waav.plugin.capabilities import ASGIApp, Receive, Scope, Send
from waav.plugin.metadata import ProviderMetadata

from .conftest import build, config, serve

SECRETS = [{"id": "tenant-a", "secret": "sk-aaaaaaaaaaaa"}]
AUTH = {"Authorization": "Bearer sk-aaaaaaaaaaaa"}


class Recorder(MiddlewareCapability):
    """A user middleware that records (its id, whether the request had an identity yet)."""

    def __init__(self, mid: str, priority: int, events: list[tuple[str, str | None]]) -> None:
        self.mid = mid
        self._priority = priority
        self.events = events

    @property
    def middleware_id(self) -> str:
        return self.mid

    @property
    def priority(self) -> int:
        return self._priority

    def create_middleware(self, app: ASGIApp, config: Mapping[str, Any]) -> ASGIApp:
        async def mw(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                ident = scope_identity(scope)
                self.events.append((self.mid, ident.id if ident else None))
            await app(scope, receive, send)

        return mw

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.middleware(self.mid, self.mid)


class Failing(MiddlewareCapability):
    """Raises at build time (``when='build'``) or on requests to ``/boom-mw`` and WS ``/other``."""

    def __init__(self, when: str) -> None:
        self.when = when

    @property
    def middleware_id(self) -> str:
        return f"failing-{self.when}"

    def create_middleware(self, app: ASGIApp, config: Mapping[str, Any]) -> ASGIApp:
        if self.when == "build":
            raise RuntimeError("cannot build")

        async def mw(scope: Scope, receive: Receive, send: Send) -> None:
            if scope.get("path") in ("/boom-mw", "/other"):
                raise RuntimeError("per-request failure")

            async def receive_or_crash() -> Any:
                message = await receive()
                if message.get("text") == "crash":
                    raise RuntimeError("failure on an open socket")
                return message

            await app(scope, receive_or_crash, send)

        return mw

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.middleware(self.middleware_id, "failing")


def test_custom_middleware_runs_at_its_priority_among_builtins() -> None:
    events: list[tuple[str, str | None]] = []
    reg = PluginRegistry()
    for mid, prio in (("early", 5), ("between", 35), ("late", 100)):
        reg.register_capability(Recorder(mid, prio, events))
    cfg = config(auth={"required": True, "api_secrets": SECRETS})
    with serve(cfg, reg) as srv:
        r = httpx.get(srv.base_url + "/private", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["trace"] == [
        "request-logging",
        "early",
        "security-headers",
        "cors",
        "connection-limit",
        "between",
        "auth",
        "rate-limit",
        "late",
        "app",
    ]
    # the recorded events prove the same order: before auth no identity, after it the id
    assert events == [("early", None), ("between", None), ("late", "tenant-a")]


def test_builtins_are_registered_plugins_with_metadata() -> None:
    reg = PluginRegistry()
    build(config(), reg)
    infos = {i.id: i for i in reg.plugins("middleware")}
    assert set(infos) == {m.middleware_id for m in BUILTIN_MIDDLEWARES}
    assert reg.get_middleware_names() == [
        "request-logging",
        "security-headers",
        "cors",
        "connection-limit",
        "auth",
        "rate-limit",
    ]
    for info in infos.values():
        assert info.builtin
        assert info.available
        assert info.metadata is not None
        assert info.metadata["description"]
        assert info.to_dict()["priority"] == info.priority


def test_failing_middleware_build_is_isolated_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    reg = PluginRegistry(builtins=False)
    reg.register_capability(Failing("build"))
    with serve(config(), reg) as srv:
        r = httpx.get(srv.base_url + "/private")
        assert r.status_code == 200
        assert "failing-build" not in r.json()["trace"]
        assert r.headers["x-frame-options"] == "DENY"  # the other layers are in place
    info = reg.plugin("middleware:failing-build")
    assert info.stats["error_count"] == 1
    assert "cannot build" in info.stats["last_error"]
    assert "not installed" in caplog.text


def test_middleware_failing_per_request_affects_only_that_request() -> None:
    reg = PluginRegistry(builtins=False)
    reg.register_capability(Failing("request"))
    with serve(config(), reg) as srv:
        bad = httpx.get(srv.base_url + "/boom-mw")
        assert bad.status_code == 500
        assert bad.json() == {"error": "internal_error", "message": "Internal server error"}
        assert bad.headers["x-content-type-options"] == "nosniff"
        for _ in range(3):
            assert httpx.get(srv.base_url + "/private").status_code == 200
        with pytest.raises(InvalidStatus) as info:
            connect(srv.ws_url + "/other", open_timeout=5)
        assert info.value.response.status_code == 500
        with connect(srv.ws_url + "/ws", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["pending"] is False
        # a failure on an open socket closes that socket only (1011)
        with (
            connect(srv.ws_url + "/ws", open_timeout=5) as ws,
            connect(srv.ws_url + "/ws", open_timeout=5) as ok,
        ):
            ws.recv(timeout=5)
            ok.recv(timeout=5)
            ws.send("crash")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1011
            ok.send("still here")
            assert ok.recv(timeout=5) == "still here"
        # an app that raises also gives a 500 for that request only
        assert httpx.get(srv.base_url + "/boom").status_code == 500
        assert httpx.get(srv.base_url + "/").json() == {"status": "OK"}


def test_security_headers_on_success_and_error_responses() -> None:
    cfg = config(auth={"required": True, "api_secrets": SECRETS})
    with serve(cfg) as srv:
        for r in (httpx.get(srv.base_url + "/"), httpx.get(srv.base_url + "/private")):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
        assert r.status_code == 401


PREFLIGHT = {
    "Origin": "https://app.example",
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_cors_any_origin() -> None:
    with serve(config(security={"cors_allowed_origins": "*", "rate_limit_requests_per_second": 1e6})) as srv:
        pre = httpx.options(srv.base_url + "/private", headers=PREFLIGHT)
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "*"
        assert set(pre.headers["access-control-allow-methods"].split(", ")) == {
            "GET",
            "POST",
            "PUT",
            "DELETE",
            "OPTIONS",
        }
        assert "x-provider-api-key" in pre.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in pre.headers
        simple = httpx.get(srv.base_url + "/private", headers={"Origin": "https://other.example"})
        assert simple.headers["access-control-allow-origin"] == "*"


def test_cors_origin_list_with_credentials() -> None:
    sec = {
        "cors_allowed_origins": "https://app.example, https://b.example",
        "rate_limit_requests_per_second": 1e6,
    }
    cfg = config(security=sec, auth={"required": True, "api_secrets": SECRETS})
    with serve(cfg) as srv:
        pre = httpx.options(srv.base_url + "/private", headers=PREFLIGHT)
        assert pre.status_code == 200  # answered before auth: preflights carry no credentials
        assert pre.headers["access-control-allow-origin"] == "https://app.example"
        assert pre.headers["access-control-allow-credentials"] == "true"
        ok = httpx.get(srv.base_url + "/private", headers={**AUTH, "Origin": "https://b.example"})
        assert ok.headers["access-control-allow-origin"] == "https://b.example"
        assert ok.headers["access-control-allow-credentials"] == "true"
        denied = httpx.get(srv.base_url + "/private", headers={**AUTH, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in denied.headers
        bad_pre = httpx.options(
            srv.base_url + "/private", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert bad_pre.status_code == 400
        assert "access-control-allow-origin" not in bad_pre.headers
        # the 401 of a credential-less request from an allowed origin is readable by the page
        unauth = httpx.get(srv.base_url + "/private", headers={"Origin": "https://b.example"})
        assert unauth.status_code == 401
        assert unauth.headers["access-control-allow-origin"] == "https://b.example"


def test_cors_unset_is_same_origin_only() -> None:
    with serve(config()) as srv:
        pre = httpx.options(srv.base_url + "/private", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in pre.headers
        simple = httpx.get(srv.base_url + "/private", headers={"Origin": "https://app.example"})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers
