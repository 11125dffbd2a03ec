"""The first-message ``auth`` flow of ``/ws`` and ``/realtime`` (upstream §1.10).

When auth is required and a WebSocket connected without credentials, the security
middleware lets it in *pending*. The server then sends ``auth_required``; the only message
accepted is ``{"type": "auth", "token": ...}``. A valid token gets ``authenticated {id}``;
anything else gets an ``error`` and the connection is closed (1008, policy violation).
"""

from __future__ import annotations

import json
from typing import NoReturn

from starlette.types import Scope

from waav._exceptions import ClientAuthError
from waav.gateway._conn import Connection, Disconnected
from waav.gateway.security import Authenticator, set_scope_identity
from waav.plugin.capabilities import AuthIdentity

__all__ = ["first_message_auth"]

MAX_TOKEN = 4 * 1024
REQUIRED = "Authentication required. Send auth message first."


async def first_message_auth(conn: Connection, scope: Scope, authenticator: Authenticator) -> AuthIdentity:
    """Run the flow; return the identity, or close the connection and raise :class:`Disconnected`."""
    await conn.send({"type": "auth_required"})
    frame = await conn.receive()
    token = _token(frame)
    if token is None:
        await _refuse(conn, REQUIRED)
    try:
        identity = await authenticator.authenticate_token(token or "")
    except ClientAuthError as exc:
        await _refuse(conn, exc.message)
    set_scope_identity(scope, identity)
    await conn.send({"type": "authenticated", "id": identity.id})
    return identity


def _token(frame: str | bytes) -> str | None:
    if isinstance(frame, bytes):
        return None
    try:
        msg = json.loads(frame)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("type") != "auth":
        return None
    token = msg.get("token")
    if not isinstance(token, str) or len(token.encode("utf-8")) > MAX_TOKEN:
        return ""  # an auth message with a bad token: rejected as invalid, not as missing
    return token


async def _refuse(conn: Connection, message: str) -> NoReturn:
    await conn.error(message, "unauthorized")
    await conn.close(1008, "authentication failed")
    raise Disconnected
