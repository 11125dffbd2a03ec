"""Rate limiting (token buckets) and WebSocket connection caps."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from waav.config import SecurityConfig
from waav.gateway.security import ConnectionLimiter, TokenBucketLimiter
from waav.gateway.security._client import client_ip

from .conftest import config, serve


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- units --------------------------------------------------------------------------------------


def test_token_bucket_burst_then_refill_rate() -> None:
    clock = Clock()
    lim = TokenBucketLimiter(rate=4, burst=3, clock=clock)
    assert [lim.take("a").allowed for _ in range(3)] == [True, True, True]
    d = lim.take("a")
    assert not d.allowed
    assert d.retry_after == pytest.approx(0.25)
    assert d.retry_after_header == "1"
    clock.now += 0.25
    assert lim.take("a").allowed
    assert not lim.take("a").allowed
    # tokens accrue at `rate` per second, never above `burst`
    clock.now += 100
    assert [lim.take("a").allowed for _ in range(4)] == [True, True, True, False]
    # another key has its own bucket
    assert lim.take("b").allowed


def test_rps_means_per_second_not_one_per_n_seconds() -> None:
    clock = Clock()
    lim = TokenBucketLimiter(rate=60, burst=10, clock=clock)
    for _ in range(10):
        assert lim.take("k").allowed
    accepted = 0
    for _ in range(600):  # one simulated second in 600 steps
        clock.now += 1 / 600
        accepted += lim.take("k").allowed
    assert 59 <= accepted <= 61  # the upstream's limiter would have allowed 0


def test_idle_buckets_are_evicted_and_memory_bounded() -> None:
    clock = Clock()
    lim = TokenBucketLimiter(rate=10, burst=5, max_clients=100, clock=clock)
    for i in range(50):
        lim.take(f"ip:{i}")
    assert len(lim) == 50
    clock.now += 0.5  # burst / rate: every idle bucket is full again
    lim.take("fresh")
    assert len(lim) == 1
    for i in range(1000):
        lim.take(f"flood:{i}")
    assert len(lim) <= 100
    # eviction of a full bucket does not change what a client gets
    lim2 = TokenBucketLimiter(rate=10, burst=2, clock=clock)
    lim2.take("x")
    lim2.take("x")
    assert not lim2.take("x").allowed
    clock.now += 0.1
    assert lim2.take("x").allowed


def test_connection_limiter_counts_and_releases() -> None:
    lim = ConnectionLimiter(max_total=3, max_per_ip=2)
    assert lim.acquire("a") is None
    assert lim.acquire("a") is None
    assert lim.acquire("a") == "per_ip"
    assert lim.acquire("b") is None
    assert lim.acquire("c") == "global"
    lim.release("a")
    assert lim.acquire("c") is None
    for ip in ("a", "b", "c"):
        lim.release(ip)
    assert lim.total == 0
    assert lim.count("a") == 0


def _scope(peer: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 5555),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }


def test_client_ip_forwarded_only_when_trusted() -> None:
    xff = {"X-Forwarded-For": "6.6.6.6, 1.2.3.4", "X-Real-IP": "9.9.9.9"}
    assert client_ip(_scope("10.0.0.1", xff), SecurityConfig()) == "10.0.0.1"
    trusted = SecurityConfig(trust_forwarded_for=True)
    assert client_ip(_scope("10.0.0.1", xff), trusted) == "1.2.3.4"  # what our proxy saw
    two_hops = SecurityConfig(trust_forwarded_for=True, forwarded_hops=2)
    assert client_ip(_scope("10.0.0.1", xff), two_hops) == "6.6.6.6"
    assert client_ip(_scope("10.0.0.1", {"X-Real-IP": "9.9.9.9"}), trusted) == "9.9.9.9"
    assert client_ip(_scope("10.0.0.1", {"X-Forwarded-For": "not-an-ip"}), trusted) == "10.0.0.1"
    assert client_ip(_scope("10.0.0.1", {"X-Forwarded-For": "[2001:db8::1]:443"}), trusted) == "2001:db8::1"


# --- through the server -------------------------------------------------------------------------


def limited(**security: Any) -> dict[str, Any]:
    # 2 tokens/s: slow enough that a loaded test machine does not refill between requests
    return {"rate_limit_requests_per_second": 2, "rate_limit_burst_size": 3, **security}


def test_burst_then_429_with_retry_after_then_refill() -> None:
    with serve(config(security=limited())) as srv, httpx.Client(base_url=srv.base_url) as c:
        assert [c.get("/private").status_code for _ in range(3)] == [200, 200, 200]
        r = c.get("/private")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"] == "rate_limited"
        time.sleep(0.5)  # 1/rps seconds: one token
        assert c.get("/private").status_code == 200
        assert c.get("/").status_code == 429  # every route, as upstream
        with pytest.raises(InvalidStatus) as info:
            connect(srv.ws_url + "/ws", open_timeout=5)
        assert info.value.response.status_code == 429


# uvicorn itself rewrites the peer address from X-Forwarded-For for peers in its
# forwarded_allow_ips (default 127.0.0.1); connecting from 127.0.0.2 keeps it out of the way,
# so these tests see only what the security layer does.
PEER = "127.0.0.2"


def client(srv: Any) -> httpx.Client:
    return httpx.Client(base_url=srv.base_url, transport=httpx.HTTPTransport(local_address=PEER))


def test_forwarded_for_ignored_unless_trusted() -> None:
    with serve(config(security=limited())) as srv, client(srv) as c:
        codes = [c.get("/private", headers={"X-Forwarded-For": f"1.1.1.{i}"}).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
    with serve(config(security=limited(trust_forwarded_for=True))) as srv, client(srv) as c:
        for _ in range(3):
            assert c.get("/private", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
        assert c.get("/private", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 429
        # a different client behind the proxy has its own bucket
        assert c.get("/private", headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 200


def test_authenticated_clients_have_separate_buckets_and_failures_are_charged() -> None:
    secrets = [{"id": "a", "secret": "sk-aaaaaaaaaaaa"}, {"id": "b", "secret": "sk-bbbbbbbbbbbb"}]
    cfg = config(security=limited(), auth={"required": True, "api_secrets": secrets})
    with serve(cfg) as srv, httpx.Client(base_url=srv.base_url) as c:
        ha = {"Authorization": "Bearer sk-aaaaaaaaaaaa"}
        hb = {"Authorization": "Bearer sk-bbbbbbbbbbbb"}
        assert [c.get("/private", headers=ha).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert c.get("/private", headers=hb).status_code == 200
        # guessing secrets spends the address's bucket: 401 x3, then 429
        bad = {"Authorization": "Bearer guess"}
        assert [c.get("/private", headers=bad).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_ws_global_cap_503_and_slot_freed_on_close() -> None:
    cfg = config(security={"rate_limit_requests_per_second": 1e6, "max_websocket_connections": 2})
    with serve(cfg) as srv, ExitStack() as stack:
        first = stack.enter_context(connect(srv.ws_url + "/ws", open_timeout=5))
        stack.enter_context(connect(srv.ws_url + "/ws", open_timeout=5))
        with pytest.raises(InvalidStatus) as info:
            connect(srv.ws_url + "/ws", open_timeout=5)
        assert info.value.response.status_code == 503
        assert json.loads(info.value.response.body or b"{}")["error"] == "server_at_capacity"
        assert httpx.get(srv.base_url + "/private").status_code == 200  # HTTP is not capped
        first.close()
        deadline = time.monotonic() + 5
        while True:  # the server releases the slot when the handler has finished
            try:
                third = stack.enter_context(connect(srv.ws_url + "/ws", open_timeout=5))
                break
            except InvalidStatus:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert json.loads(third.recv(timeout=5))["pending"] is False


def test_ws_per_ip_cap_429() -> None:
    sec = {"rate_limit_requests_per_second": 1e6, "max_connections_per_ip": 1, "trust_forwarded_for": True}
    src = {"source_address": (PEER, 0), "open_timeout": 5}
    with serve(config(security=sec)) as srv, connect(srv.ws_url + "/ws", **src):
        with pytest.raises(InvalidStatus) as info:
            connect(srv.ws_url + "/ws", **src)
        assert info.value.response.status_code == 429
        other = {"X-Forwarded-For": "203.0.113.7"}
        with connect(srv.ws_url + "/ws", additional_headers=other, **src) as ws:
            assert json.loads(ws.recv(timeout=5))["pending"] is False
