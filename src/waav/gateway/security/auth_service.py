"""The ``auth-service`` strategy: the upstream's external validation mode (§1.10 mode 2).

The gateway signs a short-lived JWT (RS256 for an RSA key, ES256/384/512 for an EC key) with
``auth.signing_key_path`` and POSTs it (``Content-Type: application/jwt``) to
``auth.service_url``. Claims: ``sub: "waav-auth"``, ``iat``, ``exp = iat + 300``, and
``auth_data: {token, request_body, request_headers, request_path, request_method}``; the
request headers are lower-cased, without ``authorization``, ``cookie``, ``host``,
``x-real-ip``, ``x-forwarded-*`` and ``x-waav-*``; the body is the request's JSON (else
``{}``; bodies over 1 MiB are not buffered). Answers: 200 → accepted, identity id = the
body's ``id`` (may be empty: authenticated, no tenant); 401 and other 4xx → 401
``unauthorized``; 5xx → 502 ``auth_service_error``; network error or timeout → 503
``auth_service_unavailable``.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from waav._exceptions import AuthenticationError, ClientAuthError, ConfigError
from waav.plugin.capabilities import AuthCredentials, AuthIdentity, AuthStrategy

__all__ = ["MAX_BUFFERED_BODY", "AuthServiceStrategy", "RequestInfo", "request_context"]

#: Largest request body buffered to be sent to the auth service.
MAX_BUFFERED_BODY = 1024 * 1024
_DROPPED = ("authorization", "cookie", "host", "x-real-ip")
_DROPPED_PREFIXES = ("x-forwarded-", "x-waav-")
_EC_ALG = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


@dataclass(frozen=True)
class RequestInfo:
    """The request being authenticated, as the auth service sees it."""

    method: str = ""
    path: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = field(default_factory=dict)


_REQUEST: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "waav_auth_request", default=None
)


@contextmanager
def request_context(info: RequestInfo) -> Iterator[None]:
    """Make ``info`` visible to the strategies called inside the block (same task)."""
    reset = _REQUEST.set(info)
    try:
        yield
    finally:
        _REQUEST.reset(reset)


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _DROPPED or key.startswith(_DROPPED_PREFIXES):
            continue
        out[key] = value
    return out


def parse_body(raw: bytes | None) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


class AuthServiceStrategy(AuthStrategy):
    """Ask an external service (options: ``url``, ``signing_key_path``, ``timeout_seconds``)."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"url", "signing_key_path", "timeout_seconds"}
        if unknown:
            raise ConfigError(f"unknown auth-service option(s) {sorted(unknown)}")
        url, key_path = options.get("url"), options.get("signing_key_path")
        if not url or not key_path:
            raise ConfigError("auth-service needs auth.service_url and auth.signing_key_path")
        self.url = str(url)
        self.timeout = float(options.get("timeout_seconds") or 5)
        try:
            key = load_pem_private_key(Path(str(key_path)).expanduser().read_bytes(), password=None)
        except OSError as exc:
            raise ConfigError(f"auth.signing_key_path {key_path!r}: {exc.strerror or exc}") from None
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"auth.signing_key_path {key_path!r}: not an unencrypted PEM key: {exc}"
            ) from None
        if isinstance(key, rsa.RSAPrivateKey):
            self.algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALG:
            self.algorithm = _EC_ALG[key.curve.name]
        else:
            raise ConfigError(f"auth.signing_key_path {key_path!r}: need an RSA or EC (P-256/384/521) key")
        self._key = key

    def _signed_request(self, token: str) -> str:
        info = _REQUEST.get() or RequestInfo()
        now = int(time.time())
        claims = {
            "sub": "waav-auth",
            "iat": now,
            "exp": now + 300,
            "auth_data": {
                "token": token,
                "request_body": info.body,
                "request_headers": forwarded_headers(info.headers),
                "request_path": info.path,
                "request_method": info.method,
            },
        }
        try:
            return pyjwt.encode(claims, self._key, algorithm=self.algorithm)
        except Exception as exc:  # key/algorithm mismatch is a server configuration problem
            raise ClientAuthError(
                "jwt_signing_error", f"Failed to sign the auth request: {exc}", status=500
            ) from exc

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        signed = self._signed_request(credentials.value)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.url, content=signed, headers={"content-type": "application/jwt"}
                )
        except httpx.HTTPError as exc:
            raise ClientAuthError(
                "auth_service_unavailable", f"Auth service unavailable: {type(exc).__name__}", status=503
            ) from exc
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            sid = body.get("id") if isinstance(body, dict) else None
            return AuthIdentity(id=sid if isinstance(sid, str) else "")
        if 400 <= status < 500:
            raise AuthenticationError(f"Auth service rejected the token ({status})")
        raise ClientAuthError("auth_service_error", f"Auth service error ({status})", status=502)

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        from waav.gateway.security.strategies import bearer_token

        token = bearer_token(headers)
        return AuthCredentials("bearer", token) if token else None
