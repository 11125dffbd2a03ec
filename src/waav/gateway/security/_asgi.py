"""Small ASGI helpers shared by the security middlewares (no framework needed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from waav.plugin.capabilities import ASGIApp, Receive, Scope, Send

__all__ = [
    "ASGIApp",
    "Receive",
    "Scope",
    "Send",
    "headers_of",
    "query_of",
    "reject",
    "route_path",
]

log = logging.getLogger("waav.gateway")


def headers_of(scope: Scope) -> dict[str, str]:
    """Request headers, names lower-cased; the first value of a repeated header wins."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1").lower()
        if key not in out:
            out[key] = value.decode("latin-1")
    return out


def query_of(scope: Scope) -> dict[str, str]:
    """Query parameters (first value of each name wins)."""
    raw = scope.get("query_string") or b""
    out: dict[str, str] = {}
    for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        out.setdefault(k, v)
    return out


def route_path(scope: Scope) -> str:
    """The request path relative to the app's mount point (``root_path`` stripped)."""
    path: str = scope.get("path") or "/"
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


async def reject(
    scope: Scope,
    send: Send,
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with a JSON error: an HTTP response, or an HTTP response to a WebSocket handshake.

    WebSocket handshakes are refused with a real status (503, 429, 401) through the ASGI
    ``websocket.http.response`` extension (uvicorn supports it); a server without it can only
    close the handshake, which clients see as 403.
    """
    payload = json.dumps(dict(body)).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})
    elif "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "websocket.http.response.body", "body": payload})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": str(body.get("error", ""))[:120]})
