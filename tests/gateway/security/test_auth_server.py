"""Auth through a real server: 401 bodies, public paths, ?token=, WebSocket pending state."""

from __future__ import annotations

import json

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .conftest import claims, config, pem_public, serve, token

SECRETS = [{"id": "tenant-a", "secret": "sk-aaaaaaaaaaaa"}]
REQUIRED = {"required": True, "api_secrets": SECRETS}


def test_http_routes_need_credentials_except_public_paths() -> None:
    with serve(config(auth=REQUIRED)) as srv:
        url = srv.base_url
        assert httpx.get(url + "/").json() == {"status": "OK"}
        assert httpx.get(url + "/health").status_code == 200
        missing = httpx.get(url + "/private")
        assert missing.status_code == 401
        assert missing.json() == {"error": "missing_auth_header", "message": "Missing authentication token"}
        assert missing.headers["www-authenticate"] == "Bearer"
        bad = httpx.get(url + "/private", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert bad.json()["error"] == "unauthorized"
        scheme = httpx.get(url + "/private", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert scheme.status_code == 401
        assert scheme.json()["error"] == "invalid_auth_header"
        good = httpx.get(url + "/private", headers={"Authorization": "Bearer sk-aaaaaaaaaaaa"})
        assert (good.status_code, good.json()["id"]) == (200, "tenant-a")
        query = httpx.get(url + "/private", params={"token": "sk-aaaaaaaaaaaa"})
        assert (query.status_code, query.json()["id"]) == (200, "tenant-a")
        posted = httpx.post(url + "/private", params={"token": "wrong"}, content=b"x" * 1000)
        assert posted.status_code == 401


def test_public_paths_are_configurable() -> None:
    with serve(config(auth={**REQUIRED, "public_paths": ["/private"]})) as srv:
        assert httpx.get(srv.base_url + "/private").status_code == 200
        assert httpx.get(srv.base_url + "/health").status_code == 401


def test_jwt_over_http(rsa_key: rsa.RSAPrivateKey) -> None:
    cfg = config(auth={"required": True, "jwt": {"public_key": pem_public(rsa_key)}})
    with serve(cfg) as srv:
        tok = token(claims("alice"), rsa_key, "RS256")
        r = httpx.get(srv.base_url + "/private", headers={"Authorization": f"Bearer {tok}"})
        assert (r.status_code, r.json()["id"]) == (200, "alice")
        old = token({"sub": "alice", "exp": 1}, rsa_key, "RS256")
        r = httpx.get(srv.base_url + "/private", headers={"Authorization": f"Bearer {old}"})
        assert r.status_code == 401
        assert r.json() == {"error": "unauthorized", "message": "Token expired"}


def test_ws_without_credentials_is_pending_on_ws_and_realtime_only() -> None:
    with serve(config(auth=REQUIRED)) as srv:
        for path in ("/ws", "/realtime"):
            with connect(srv.ws_url + path, open_timeout=5) as ws:
                assert json.loads(ws.recv(timeout=5)) == {"pending": True, "id": None}
        with connect(srv.ws_url + "/ws?token=sk-aaaaaaaaaaaa", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"pending": False, "id": "tenant-a"}
        headers = {"Authorization": "Bearer sk-aaaaaaaaaaaa"}
        with connect(srv.ws_url + "/realtime", additional_headers=headers, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"pending": False, "id": "tenant-a"}
        for path in ("/other", "/ws?token=wrong"):
            with pytest.raises(InvalidStatus) as info:
                connect(srv.ws_url + path, open_timeout=5)
            assert info.value.response.status_code == 401
            assert json.loads(info.value.response.body or b"{}")["error"] in (
                "missing_auth_header",
                "unauthorized",
            )


def test_not_required_identifies_but_never_rejects() -> None:
    with serve(config(auth={"required": False, "api_secrets": SECRETS})) as srv:
        assert httpx.get(srv.base_url + "/private").json()["id"] is None
        r = httpx.get(srv.base_url + "/private", headers={"Authorization": "Bearer sk-aaaaaaaaaaaa"})
        assert r.json()["id"] == "tenant-a"
        r = httpx.get(srv.base_url + "/private", headers={"Authorization": "Bearer wrong"})
        assert (r.status_code, r.json()["id"]) == (200, None)
        with connect(srv.ws_url + "/ws", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"pending": False, "id": None}


def test_auth_off_by_default() -> None:
    with serve(config()) as srv:
        assert httpx.get(srv.base_url + "/private").status_code == 200
        assert httpx.get(srv.base_url + "/private", headers={"Authorization": "Basic x"}).status_code == 200
