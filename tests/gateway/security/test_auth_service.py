"""The auth-service strategy against a fake external auth service (upstream §1.10 mode 2)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from waav import ConfigError
from waav.config import ServerConfig
from waav.gateway.security import Authenticator, ClientAuthError
from waav.plugin import PluginRegistry
from waav.testing.fakes import AppServer

from .conftest import config, serve

ANSWERS: dict[str, tuple[int, Any]] = {
    "good": (200, {"id": "svc-user"}),
    "no-id": (200, None),
    "bad": (401, {"error": "nope"}),
    "forbidden": (403, {}),
    "boom": (500, {}),
}


class FakeAuthService:
    """Verifies the gateway's signed request like a real auth service would, records it."""

    def __init__(self, public_key: Any, algorithm: str) -> None:
        self.public_key = public_key
        self.algorithm = algorithm
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/validate", self.validate, methods=["POST"])])

    async def validate(self, request: Request) -> Response:
        assert request.headers["content-type"] == "application/jwt"
        claims = pyjwt.decode(await request.body(), self.public_key, algorithms=[self.algorithm])
        self.seen.append(claims)
        status, body = ANSWERS[claims["auth_data"]["token"]]
        if body is None:
            return Response(status_code=status)
        return JSONResponse(body, status_code=status)


def write_key(tmp_path: Path, key: Any) -> str:
    path = tmp_path / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(path)


def auth_cfg(url: str, key_path: str) -> dict[str, Any]:
    return {"required": True, "service_url": url, "signing_key_path": key_path, "timeout_seconds": 2}


def test_through_the_server(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    fake = FakeAuthService(rsa_key.public_key(), "RS256")
    with AppServer(fake.app) as svc:
        cfg = config(auth=auth_cfg(svc.base_url + "/validate", write_key(tmp_path, rsa_key)))
        with serve(cfg) as srv, httpx.Client(base_url=srv.base_url) as c:
            headers = {
                "Authorization": "Bearer good",
                "Cookie": "session=1",
                "X-Forwarded-For": "1.2.3.4",
                "X-Waav-Internal": "x",
                "X-Trace": "abc",
            }
            r = c.post("/echo", json={"room": "r1"}, headers=headers)
            assert r.status_code == 200
            assert r.json() == {"id": "svc-user", "body": '{"room":"r1"}'}  # the app still gets the body
            sent = fake.seen[-1]
            assert sent["sub"] == "waav-auth"
            assert sent["exp"] - sent["iat"] == 300
            data = sent["auth_data"]
            assert data["token"] == "good"
            assert (data["request_method"], data["request_path"]) == ("POST", "/echo")
            assert data["request_body"] == {"room": "r1"}
            assert data["request_headers"]["x-trace"] == "abc"
            for dropped in ("authorization", "cookie", "host", "x-forwarded-for", "x-waav-internal"):
                assert dropped not in data["request_headers"]
            assert c.get("/private", params={"token": "no-id"}).json()["id"] == ""
            for tok, status, code in (
                ("bad", 401, "unauthorized"),
                ("forbidden", 401, "unauthorized"),
                ("boom", 502, "auth_service_error"),
            ):
                r = c.get("/private", headers={"Authorization": f"Bearer {tok}"})
                assert (r.status_code, r.json()["error"]) == (status, code)
            big = "x" * (2 * 1024 * 1024)
            r = c.post("/echo", content=big, headers={"Authorization": "Bearer good"})
            assert (r.status_code, len(r.json()["body"])) == (200, len(big))
            assert fake.seen[-1]["auth_data"]["request_body"] == {}


async def test_service_down_is_503(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    cfg = ServerConfig(auth=auth_cfg(f"http://127.0.0.1:{port}/validate", write_key(tmp_path, key)))
    a = Authenticator(cfg, PluginRegistry(builtins=False))
    assert a.strategy_ids == ["auth-service"]
    assert a.wants_request
    with pytest.raises(ClientAuthError) as info:
        await a.authenticate_token("good")
    assert (info.value.status, info.value.code) == (503, "auth_service_unavailable")


async def test_ec_signing_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    fake = FakeAuthService(key.public_key(), "ES256")
    async with AppServer(fake.app) as svc:
        cfg = ServerConfig(auth=auth_cfg(svc.base_url + "/validate", write_key(tmp_path, key)))
        a = Authenticator(cfg, PluginRegistry(builtins=False))
        assert (await a.authenticate_token("good")).id == "svc-user"
    assert json.dumps(fake.seen[0]["auth_data"]["request_body"]) == "{}"


def test_bad_configuration(tmp_path: Path) -> None:
    reg = PluginRegistry(builtins=False)
    with pytest.raises(ConfigError, match="signing_key_path"):
        Authenticator(ServerConfig(auth={"required": True, "service_url": "http://x"}), reg)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM key"):
        Authenticator(ServerConfig(auth=auth_cfg("http://x", str(bad))), reg)
