"""Authenticator and the api-key / jwt strategies, called directly (no server)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from waav import AuthenticationError, ConfigError, WaavError
from waav.config import ServerConfig, load_config
from waav.gateway.security import Authenticator, ClientAuthError
from waav.plugin import AuthCapability, AuthCredentials, AuthIdentity, AuthStrategy, PluginRegistry
from waav.plugin.metadata import ProviderMetadata

from .conftest import claims, forged_hs256, pem_public, token, unsigned

SECRETS = [{"id": "tenant-a", "secret": "sk-aaaaaaaaaaaa"}, {"id": "tenant-b", "secret": "sk-bbbbbbbbbbbb"}]
HS_SECRET = "an-hs256-shared-secret-of-32-bytes!!"


def authn(**auth: Any) -> Authenticator:
    return Authenticator(ServerConfig(auth=auth), PluginRegistry(builtins=False))


async def rejected(a: Authenticator, tok: str) -> ClientAuthError:
    with pytest.raises(ClientAuthError) as info:
        await a.authenticate_token(tok)
    return info.value


# --- configuration ------------------------------------------------------------------------------


def test_required_without_strategy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no auth strategy is configured"):
        authn(required=True)


def test_off_by_default() -> None:
    a = authn()
    assert not a.required
    assert not a.active
    assert a.strategy_ids == []


def test_unknown_strategy_and_jwt_without_key() -> None:
    with pytest.raises(ConfigError, match="unknown auth strategy 'oauth'"):
        authn(required=True, strategies=["oauth"])
    with pytest.raises(ConfigError, match="jwt auth has no key"):
        authn(required=True, strategies=["jwt"])
    with pytest.raises(ConfigError, match="api-key auth has no secrets"):
        authn(required=True, strategies=["api-key"])


def test_jwt_algorithms_must_match_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigError, match="has no HS"):
        authn(required=True, jwt={"secret": HS_SECRET, "algorithms": ["RS256"]})
    with pytest.raises(ConfigError, match="no matching key"):
        authn(required=True, jwt={"secret": HS_SECRET, "algorithms": ["HS256", "ES256"]})
    with pytest.raises(ConfigError, match="not a PEM public key"):
        authn(required=True, jwt={"public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"})
    with pytest.raises(ConfigError, match="cannot read PEM file"):
        authn(required=True, jwt={"public_key": "/nonexistent/key.pem"})


def test_auto_strategies_follow_what_is_configured() -> None:
    assert authn(required=True, api_secret="x" * 12).strategy_ids == ["api-key"]
    assert authn(required=True, jwt={"secret": HS_SECRET}).strategy_ids == ["jwt"]
    both = authn(required=True, api_secrets=SECRETS, jwt={"secret": HS_SECRET})
    assert both.strategy_ids == ["api-key", "jwt"]
    assert authn(
        required=True, api_secrets=SECRETS, jwt={"secret": HS_SECRET}, strategies=["jwt"]
    ).strategy_ids == ["jwt"]


def test_builtin_strategies_are_listed_plugins() -> None:
    reg = PluginRegistry(builtins=False)
    Authenticator(ServerConfig(), reg)
    infos = {i.id: i for i in reg.plugins("auth")}
    assert set(infos) == {"api-key", "jwt", "auth-service"}
    assert infos["jwt"].builtin
    assert infos["jwt"].metadata is not None
    assert "exp/nbf" in infos["jwt"].metadata["description"]


# --- api-key ------------------------------------------------------------------------------------


async def test_api_key_good_bad_missing() -> None:
    a = authn(required=True, api_secrets=SECRETS)
    ident = await a.authenticate_credentials({"Authorization": "Bearer sk-bbbbbbbbbbbb"}, {})
    assert ident is not None
    assert ident.id == "tenant-b"
    err = await rejected(a, "sk-bbbbbbbbbbbX")
    assert (err.code, err.status) == ("unauthorized", 401)
    assert err.body() == {"error": "unauthorized", "message": "Invalid authentication token"}
    assert isinstance(err, AuthenticationError)
    assert isinstance(err, WaavError)
    assert await a.authenticate_credentials({}, {}) is None


async def test_bearer_then_query_token_and_bad_scheme() -> None:
    a = authn(required=True, api_secrets=SECRETS)
    by_query = await a.authenticate_credentials({}, {"token": "sk-aaaaaaaaaaaa"})
    assert by_query is not None
    assert by_query.id == "tenant-a"
    # the header wins over the query parameter
    both = await a.authenticate_credentials(
        {"authorization": "bearer sk-bbbbbbbbbbbb"}, {"token": "sk-aaaaaaaaaaaa"}
    )
    assert both is not None
    assert both.id == "tenant-b"
    for value in ("Basic dXNlcjpwYXNz", "Token sk-aaaaaaaaaaaa", "Bearer", "sk-aaaaaaaaaaaa"):
        with pytest.raises(ClientAuthError) as info:
            await a.authenticate_credentials({"Authorization": value}, {"token": "sk-aaaaaaaaaaaa"})
        assert info.value.code == "invalid_auth_header"


async def test_legacy_single_secret_from_env() -> None:
    cfg = load_config(env={"AUTH_REQUIRED": "true", "AUTH_API_SECRET": "legacy-secret-1"})
    a = Authenticator(cfg, PluginRegistry(builtins=False))
    ident = await a.authenticate_token("legacy-secret-1")
    assert ident.id == "default"
    cfg = load_config(
        env={"AUTH_REQUIRED": "1", "AUTH_API_SECRETS_JSON": '[{"id": "j", "secret": "from-json-1"}]'}
    )
    assert (
        await Authenticator(cfg, PluginRegistry(builtins=False)).authenticate_token("from-json-1")
    ).id == "j"


async def test_oversized_token_rejected_without_calling_strategies() -> None:
    a = authn(required=True, api_secrets=[{"id": "big", "secret": "x" * 9000}])
    assert (await rejected(a, "x" * 9000)).code == "unauthorized"


# --- jwt ----------------------------------------------------------------------------------------


async def test_jwt_hs256_rs256_es256_valid(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    ec_path = tmp_path / "ec.pem"
    ec_path.write_text(pem_public(ec_key))
    a = authn(
        required=True,
        jwt={"secret": HS_SECRET, "public_keys": [pem_public(rsa_key), str(ec_path)]},
    )
    hs = await a.authenticate_token(token(claims("alice", roles=["admin"]), HS_SECRET, "HS256"))
    assert (hs.id, hs.roles) == ("alice", ("admin",))
    rs = await a.authenticate_token(token(claims("bob", tenant_id="t1"), rsa_key, "RS256"))
    assert (rs.id, rs.tenant_id) == ("bob", "t1")
    es = await a.authenticate_token(token(claims("carol"), ec_key, "ES256"))
    assert es.id == "carol"
    assert es.claims["sub"] == "carol"


async def test_jwt_expired_and_not_yet_valid() -> None:
    a = authn(required=True, jwt={"secret": HS_SECRET})
    now = int(time.time())
    expired = token({"sub": "u", "exp": now - 10}, HS_SECRET, "HS256")
    err = await rejected(a, expired)
    assert (err.code, err.message) == ("unauthorized", "Token expired")
    future = token({"sub": "u", "exp": now + 600, "nbf": now + 300}, HS_SECRET, "HS256")
    assert (await rejected(a, future)).code == "unauthorized"
    # leeway tolerates skew
    lenient = authn(required=True, jwt={"secret": HS_SECRET, "leeway_seconds": 60})
    assert (await lenient.authenticate_token(expired)).id == "u"
    # exp is required unless configured otherwise
    no_exp = token({"sub": "u"}, HS_SECRET, "HS256")
    await rejected(a, no_exp)
    relaxed = authn(required=True, jwt={"secret": HS_SECRET, "require_exp": False})
    assert (await relaxed.authenticate_token(no_exp)).id == "u"


async def test_jwt_wrong_key_no_sub_issuer_audience(
    rsa_key: rsa.RSAPrivateKey, rsa_key2: rsa.RSAPrivateKey
) -> None:
    a = authn(required=True, jwt={"public_key": pem_public(rsa_key)})
    await rejected(a, token(claims(), rsa_key2, "RS256"))
    await rejected(a, token({"exp": int(time.time()) + 60}, rsa_key, "RS256"))
    strict = authn(
        required=True, jwt={"public_key": pem_public(rsa_key), "issuer": "https://idp", "audience": ["waav"]}
    )
    ok = token(claims(iss="https://idp", aud="waav"), rsa_key, "RS256")
    assert (await strict.authenticate_token(ok)).id == "user-1"
    await rejected(strict, token(claims(iss="https://evil", aud="waav"), rsa_key, "RS256"))
    await rejected(strict, token(claims(iss="https://idp", aud="other"), rsa_key, "RS256"))
    await rejected(strict, "not.a.jwt")
    await rejected(strict, "garbage")


async def test_jwt_alg_none_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    a = authn(required=True, jwt={"secret": HS_SECRET, "public_key": pem_public(rsa_key)})
    err = await rejected(a, unsigned(claims()))
    assert err.code == "unauthorized"


async def test_jwt_algorithm_confusion_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = pem_public(rsa_key).encode()
    forged = forged_hs256(claims("mallory"), pem)
    # only an RSA key configured: HS256 is not accepted at all
    only_rsa = authn(required=True, jwt={"public_key": pem.decode()})
    await rejected(only_rsa, forged)
    # an HS secret configured too: the forged token is checked against the secret only
    both = authn(required=True, jwt={"secret": HS_SECRET, "public_key": pem.decode()})
    await rejected(both, forged)
    # the same forgery with the real secret would pass: the check above is meaningful
    assert (await both.authenticate_token(forged_hs256(claims("ok"), HS_SECRET.encode()))).id == "ok"
    # an RS256 token is not accepted when only HS256 is allowed
    hs_only = authn(required=True, jwt={"secret": HS_SECRET, "algorithms": ["HS256"]})
    await rejected(hs_only, token(claims(), rsa_key, "RS256"))


# --- stacking -----------------------------------------------------------------------------------


class _Everyone(AuthStrategy):
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.who = str(options.get("who", "everyone"))

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        if credentials.value.startswith("deny"):
            raise AuthenticationError("no")
        return AuthIdentity(id=self.who)

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        value = headers.get("x-api-key")
        return AuthCredentials("api_key", value) if value else None


class _EveryoneCap(AuthCapability):
    @property
    def strategy_id(self) -> str:
        return "everyone"

    def create_strategy(self, config: Mapping[str, Any]) -> AuthStrategy:
        return _Everyone(config)

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.auth("everyone", "Everyone")


class _Crashing(_EveryoneCap):
    @property
    def strategy_id(self) -> str:
        return "crashing"

    def create_strategy(self, config: Mapping[str, Any]) -> AuthStrategy:
        class S(_Everyone):
            async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
                raise RuntimeError("bug in plugin")

        return S(config)


def stacked(order: list[str], **auth: Any) -> Authenticator:
    reg = PluginRegistry(builtins=False)
    reg.register_capability(_EveryoneCap())
    reg.register_capability(_Crashing())
    cfg = ServerConfig(
        auth={"required": True, "strategies": order, **auth},
        plugins={"provider_config": {"everyone": {"who": "plugin-user"}}},
    )
    return Authenticator(cfg, reg)


async def test_stacking_order_first_accepting_wins() -> None:
    jwt_tok = token(claims("jwt-user"), HS_SECRET, "HS256")
    a = stacked(["api-key", "jwt"], api_secrets=SECRETS, jwt={"secret": HS_SECRET})
    assert (await a.authenticate_token("sk-aaaaaaaaaaaa")).id == "tenant-a"
    assert (await a.authenticate_token(jwt_tok)).id == "jwt-user"
    assert (await rejected(a, "neither")).code == "unauthorized"
    # a plugin strategy first takes everything it accepts, with its plugins.providers options
    b = stacked(["everyone", "api-key"], api_secrets=SECRETS)
    assert (await b.authenticate_token("sk-aaaaaaaaaaaa")).id == "plugin-user"
    assert (await b.authenticate_token("anything")).id == "plugin-user"
    assert (await rejected(b, "deny-and-no-secret")).code == "unauthorized"
    c = stacked(["api-key", "everyone"], api_secrets=SECRETS)
    assert (await c.authenticate_token("sk-aaaaaaaaaaaa")).id == "tenant-a"
    assert (await rejected(c, "deny")).code == "unauthorized"


async def test_plugin_strategy_reads_its_own_header() -> None:
    a = stacked(["api-key", "everyone"], api_secrets=SECRETS)
    ident = await a.authenticate_credentials({"X-API-Key": "k"}, {})
    assert ident is not None
    assert ident.id == "plugin-user"
    # and a scheme only it understands is not an invalid header for it
    ident = await a.authenticate_credentials({"Authorization": "Custom x", "x-api-key": "k"}, {})
    assert ident is not None


async def test_crashing_strategy_is_contained() -> None:
    a = stacked(["crashing", "api-key"], api_secrets=SECRETS)
    assert (await a.authenticate_token("sk-aaaaaaaaaaaa")).id == "tenant-a"
    assert (await rejected(a, "wrong")).code == "unauthorized"
    only = stacked(["crashing"])
    err = await rejected(only, "anything")
    assert (err.code, err.status) == ("auth_service_error", 500)
