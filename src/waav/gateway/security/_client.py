"""Who is the client: its address (peer, or forwarded by a trusted proxy) and its limiter key."""

from __future__ import annotations

import ipaddress

from waav.config import SecurityConfig
from waav.gateway.security._asgi import Scope, headers_of

__all__ = ["client_ip", "client_key"]


def _valid_ip(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(scope: Scope, security: SecurityConfig) -> str:
    """The client's address.

    The TCP peer, unless ``security.trust_forwarded_for``: then the ``forwarded_hops``-th
    ``X-Forwarded-For`` entry from the right (each proxy appends the address it saw, so the
    right end is what *your* proxies recorded and the left end is whatever the client
    claimed), else ``X-Real-IP``. Malformed forwarded values fall back to the peer.
    """
    peer = scope.get("client")
    peer_ip = str(peer[0]) if peer else "unknown"
    if not security.trust_forwarded_for:
        return peer_ip
    headers = headers_of(scope)
    xff = headers.get("x-forwarded-for")
    if xff:
        hops = [h for h in (p.strip() for p in xff.split(",")) if h]
        if len(hops) >= security.forwarded_hops:
            ip = _valid_ip(hops[-security.forwarded_hops])
            if ip is not None:
                return ip
    real = headers.get("x-real-ip")
    if real:
        ip = _valid_ip(real)
        if ip is not None:
            return ip
    return peer_ip


def client_key(identity_id: str | None, ip: str) -> str:
    """Rate-limit key: the authenticated id when known, else the address."""
    return f"id:{identity_id}" if identity_id is not None else f"ip:{ip}"
