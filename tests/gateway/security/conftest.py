"""Tiny Starlette apps wrapped by build_middleware_stack, served by the real uvicorn."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav.config import ServerConfig
from waav.gateway.security import (
    TRACE_KEY,
    Authenticator,
    build_middleware_stack,
    scope_auth_pending,
    scope_identity,
)
from waav.plugin import PluginRegistry
from waav.testing.fakes import AppServer

#: Rate limiting off unless a test turns it on (>= 100 000 disables it, as upstream).
NO_LIMIT = {"rate_limit_requests_per_second": 100_000}


def config(**sections: Any) -> ServerConfig:
    sections.setdefault("security", dict(NO_LIMIT))
    return ServerConfig(**sections)


async def _home(request: Request) -> JSONResponse:
    return JSONResponse({"status": "OK"})


async def _private(request: Request) -> JSONResponse:
    ident = scope_identity(request.scope)
    return JSONResponse({"id": ident.id if ident else None, "trace": list(request.scope.get(TRACE_KEY, []))})


async def _echo(request: Request) -> JSONResponse:
    ident = scope_identity(request.scope)
    body = await request.body()
    return JSONResponse({"id": ident.id if ident else None, "body": body.decode()})


async def _boom(request: Request) -> JSONResponse:
    raise RuntimeError("app failure")


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept()
    ident = scope_identity(websocket.scope)
    await websocket.send_json(
        {"pending": scope_auth_pending(websocket.scope), "id": ident.id if ident else None}
    )
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        return


def inner_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", _home),
            Route("/health", _home),
            Route("/private", _private, methods=["GET", "POST", "PUT"]),
            Route("/boom", _boom),
            Route("/echo", _echo, methods=["POST"]),
            WebSocketRoute("/ws", _ws),
            WebSocketRoute("/realtime", _ws),
            WebSocketRoute("/other", _ws),
        ]
    )


def build(cfg: ServerConfig, registry: PluginRegistry | None = None) -> Any:
    reg = registry if registry is not None else PluginRegistry(builtins=False)
    return build_middleware_stack(inner_app(), cfg, reg, authenticator=Authenticator(cfg, reg))


@contextmanager
def serve(cfg: ServerConfig, registry: PluginRegistry | None = None) -> Iterator[AppServer]:
    with AppServer(build(cfg, registry)) as srv:
        yield srv  # type: ignore[misc]


# --- keys and tokens ----------------------------------------------------------------------------


def pem_public(key: Any) -> str:
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_key2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def claims(sub: str = "user-1", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 300, **extra}


def token(payload: Mapping[str, Any], key: Any, alg: str, headers: dict[str, Any] | None = None) -> str:
    return pyjwt.encode(dict(payload), key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(payload: Mapping[str, Any], secret: bytes, alg: str = "HS256") -> str:
    """An HMAC-signed token built by hand (PyJWT refuses a PEM as HMAC key, an attacker does not)."""
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(dict(payload)).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def unsigned(payload: Mapping[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(dict(payload)).encode())}."
