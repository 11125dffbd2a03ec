"""Built-in auth strategies: ``api-key`` (upstream API secrets) and ``jwt`` (PyJWT).

Both take the bearer token the :class:`~waav.gateway.security.Authenticator` extracted and
either return an :class:`~waav.plugin.AuthIdentity` or raise :class:`waav.AuthenticationError`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from waav._exceptions import AuthenticationError, ConfigError
from waav.config import JwtConfig
from waav.plugin._typed import FieldError, from_mapping
from waav.plugin.capabilities import AuthCredentials, AuthIdentity, AuthStrategy

__all__ = ["ApiKeyStrategy", "JwtStrategy", "bearer_token"]

log = logging.getLogger("waav.gateway.auth")


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <t>`` (None without one or with another scheme)."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class ApiKeyStrategy(AuthStrategy):
    """Upstream API secrets: the token must equal one secret; the identity id is its id.

    Options: ``secrets``: a list of ``{"id", "secret"}``. Every secret is compared (in
    constant time per comparison, and without stopping at a match) so timing does not
    reveal which secret, or how much of one, matched.
    """

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"secrets"}
        if unknown:
            raise ConfigError(f"unknown api-key auth option(s) {sorted(unknown)}; valid: ['secrets']")
        secrets: list[tuple[str, bytes]] = []
        for i, item in enumerate(options.get("secrets") or ()):
            sid, secret = (item.get("id"), item.get("secret")) if isinstance(item, Mapping) else (None, None)
            if not isinstance(sid, str) or not sid or not isinstance(secret, str) or not secret:
                raise ConfigError(f"api-key auth: secrets[{i}] needs a non-empty 'id' and 'secret'")
            secrets.append((sid, secret.encode()))
        if not secrets:
            raise ConfigError(
                "api-key auth has no secrets: set AUTH_API_SECRETS_JSON, AUTH_API_SECRET or auth.api_secrets"
            )
        self._secrets = secrets

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        given = credentials.value.encode()
        found: str | None = None
        for sid, secret in self._secrets:
            if hmac.compare_digest(given, secret) and found is None:
                found = sid
        if found is None:
            raise AuthenticationError("Invalid API secret")
        return AuthIdentity(id=found)

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        token = bearer_token(headers)
        return AuthCredentials("bearer", token) if token else None


# --- JWT ----------------------------------------------------------------------------------------

_HMAC = ("HS256", "HS384", "HS512")
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_BY_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


@dataclass(frozen=True)
class _Key:
    label: str
    key: Any  # bytes (HMAC) or a cryptography public key
    algorithms: tuple[str, ...]


def _load_public_key(text: str, where: str) -> Any:
    if "-----BEGIN" in text:
        data = text.encode()
    else:
        try:
            data = Path(text).expanduser().read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read PEM file {text!r}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN CERTIFICATE" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        return load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(f"{where}: not a PEM public key or certificate: {exc}") from None


def _family(key: Any, where: str) -> tuple[str, tuple[str, ...], str]:
    """(family name, algorithms this key may verify, default algorithm)."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", _RSA, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = _EC_BY_CURVE.get(key.curve.name)
        if alg is None:
            raise ConfigError(f"{where}: EC curve {key.curve.name} has no JWT algorithm")
        return "EC", (alg,), alg  # the curve fixes the algorithm
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "OKP", ("EdDSA",), "EdDSA"
    raise ConfigError(f"{where}: unsupported public key type {type(key).__name__}")


class JwtStrategy(AuthStrategy):
    """Verify a JWT's signature, ``exp``/``nbf`` (with leeway), ``iss`` and ``aud``; id = ``sub``.

    Options: the fields of :class:`waav.config.JwtConfig`. Every key carries the algorithms of
    its own family only and a token is checked only against keys whose family includes the
    ``alg`` in its header. So ``alg: none`` never verifies, and an HS256 token "signed" with an
    RSA public key's PEM is never checked with that key. ``tenant_id`` and ``roles`` claims,
    when present, fill the identity's fields.
    """

    def __init__(self, options: Mapping[str, Any]) -> None:
        try:
            cfg = options if isinstance(options, JwtConfig) else from_mapping(JwtConfig, options)
        except FieldError as exc:
            raise ConfigError(f"jwt auth: {exc}") from None
        self.config = cfg
        wanted = set(cfg.algorithms)
        keys: list[_Key] = []
        if cfg.secret:
            algs = tuple(a for a in _HMAC if a in wanted) if wanted else ("HS256",)
            if not algs:
                raise ConfigError(
                    f"jwt auth: a secret is configured but algorithms {cfg.algorithms} has no HS*"
                )
            keys.append(_Key("secret", cfg.secret.encode(), algs))
        sources = ([cfg.public_key] if cfg.public_key else []) + list(cfg.public_keys)
        for i, text in enumerate(sources):
            where = f"jwt auth public key #{i + 1}"
            key = _load_public_key(text, where)
            family, allowed, default = _family(key, where)
            algs = tuple(a for a in allowed if a in wanted) if wanted else (default,)
            if not algs:
                raise ConfigError(f"{where} is {family} but algorithms {cfg.algorithms} allow none for it")
            keys.append(_Key(where, key, algs))
        if not keys:
            raise ConfigError(
                "jwt auth has no key: set auth.jwt.secret / WAAV_JWT_SECRET or "
                "auth.jwt.public_keys / WAAV_JWT_PUBLIC_KEY"
            )
        unused = wanted - {a for k in keys for a in k.algorithms}
        if unused:
            raise ConfigError(f"jwt auth: algorithms {sorted(unused)} have no matching key configured")
        self._keys = keys

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for k in self._keys for a in k.algorithms))

    def _decode(self, token: str, key: _Key, alg: str) -> dict[str, Any]:
        cfg = self.config
        audience: Sequence[str] | None = cfg.audience or None
        claims: dict[str, Any] = pyjwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=cfg.issuer,
            leeway=cfg.leeway_seconds,
            options={"require": ["exp"] if cfg.require_exp else []},
        )
        return claims

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        token = credentials.value
        try:
            header = pyjwt.get_unverified_header(token)
        except pyjwt.InvalidTokenError:
            raise AuthenticationError("Invalid token: not a JWT") from None
        alg = header.get("alg")
        candidates = [k for k in self._keys if alg in k.algorithms]
        if not isinstance(alg, str) or not candidates:
            raise AuthenticationError(f"Invalid token: algorithm {alg!r} is not accepted")
        claims: dict[str, Any] | None = None
        for key in candidates:
            try:
                claims = self._decode(token, key, alg)
                break
            except pyjwt.InvalidSignatureError:
                continue  # maybe another key of the same family
            except pyjwt.ExpiredSignatureError:
                raise AuthenticationError("Token expired", reason="expired_credentials") from None
            except pyjwt.ImmatureSignatureError:
                raise AuthenticationError("Token not yet valid (nbf/iat in the future)") from None
            except pyjwt.InvalidTokenError as exc:
                raise AuthenticationError(f"Invalid token: {exc}") from None
        if claims is None:
            raise AuthenticationError("Invalid token: signature verification failed")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthenticationError("Invalid token: no 'sub' claim")
        tenant = claims.get("tenant_id")
        roles = claims.get("roles")
        return AuthIdentity(
            id=sub,
            tenant_id=tenant if isinstance(tenant, str) else None,
            roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
            claims=claims,
        )

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        token = bearer_token(headers)
        return AuthCredentials("bearer", token) if token else None
