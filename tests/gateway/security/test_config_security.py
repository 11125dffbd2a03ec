"""The auth / security settings of ServerConfig: YAML > environment > defaults, located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from waav import ConfigError
from waav.config import load_config

YAML = """\
auth:
  required: true
  strategies: [jwt, api-key]
  api_secrets:
    - {id: ops, secret: s3cr3t-from-yaml}
  jwt:
    secret: yaml-hs-secret
    algorithms: [HS256]
    issuer: https://idp.example
    audience: [waav]
    leeway_seconds: 5
security:
  trust_forwarded_for: true
  forwarded_hops: 2
  rate_limit_requests_per_second: 20
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waav.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_defaults() -> None:
    c = load_config(env={})
    assert c.auth.required is False
    assert c.auth.strategies == []
    assert c.auth.public_paths == ["/", "/health"]
    assert c.auth.jwt.configured is False
    assert (c.auth.jwt.leeway_seconds, c.auth.jwt.require_exp) == (0.0, True)
    s = c.security
    assert (s.rate_limit_requests_per_second, s.rate_limit_burst_size) == (60.0, 10)
    assert s.rate_limit_enabled
    assert (s.max_websocket_connections, s.max_connections_per_ip) == (None, 100)
    assert (s.trust_forwarded_for, s.forwarded_hops) == (False, 1)


def test_env_mapping() -> None:
    c = load_config(
        env={
            "WAAV_AUTH_STRATEGIES": "api-key, jwt",
            "WAAV_AUTH_PUBLIC_PATHS": "/,/health,/metrics",
            "WAAV_JWT_SECRET": "env-secret",
            "WAAV_JWT_PUBLIC_KEY": "/etc/waav/jwt.pem",
            "WAAV_JWT_ALGORITHMS": "HS256,RS256",
            "WAAV_JWT_ISSUER": "iss",
            "WAAV_JWT_AUDIENCE": "a,b",
            "WAAV_JWT_LEEWAY_SECONDS": "2.5",
            "WAAV_JWT_REQUIRE_EXP": "no",
            "WAAV_TRUST_FORWARDED_FOR": "yes",
            "WAAV_FORWARDED_HOPS": "3",
            "WAAV_RATE_LIMIT_MAX_CLIENTS": "500",
            "RATE_LIMIT_REQUESTS_PER_SECOND": "100000",
        }
    )
    assert c.auth.strategies == ["api-key", "jwt"]
    assert c.auth.public_paths == ["/", "/health", "/metrics"]
    j = c.auth.jwt
    assert (j.secret, j.public_key, j.algorithms) == ("env-secret", "/etc/waav/jwt.pem", ["HS256", "RS256"])
    assert (j.issuer, j.audience, j.leeway_seconds, j.require_exp) == ("iss", ["a", "b"], 2.5, False)
    assert (c.security.trust_forwarded_for, c.security.forwarded_hops) == (True, 3)
    assert c.security.rate_limit_max_clients == 500
    assert not c.security.rate_limit_enabled  # >= 100 000 disables, as upstream


def test_yaml_over_env(tmp_path: Path) -> None:
    env = {"WAAV_JWT_SECRET": "env-secret", "WAAV_JWT_ISSUER": "env-iss", "WAAV_FORWARDED_HOPS": "5"}
    c = load_config(write(tmp_path, YAML), env=env)
    assert c.auth.strategies == ["jwt", "api-key"]
    assert c.auth.jwt.secret == "yaml-hs-secret"
    assert c.auth.jwt.issuer == "https://idp.example"
    assert c.auth.api_secrets[0].id == "ops"
    assert c.security.forwarded_hops == 2
    # env fills what YAML leaves out
    c = load_config(write(tmp_path, "auth:\n  required: true\n"), env=env)
    assert c.auth.jwt.secret == "env-secret"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "auth:\n  jwt:\n    algorithms: [none]\n",
            "waav.yaml:3: auth.jwt.algorithms[0]: unsupported JWT algorithm 'none'",
        ),
        ("auth:\n  jwt:\n    leeway_seconds: -1\n", "auth.jwt.leeway_seconds: must be >= 0"),
        ("auth:\n  jwt:\n    secrett: x\n", "did you mean 'secret'"),
        ("auth:\n  public_paths: [health]\n", "auth.public_paths[0]: must start with '/'"),
        ("security:\n  rate_limit_burst_size: 0\n", "security.rate_limit_burst_size: must be >= 1"),
        ("security:\n  rate_limit_requests_per_second: 0\n", "must be > 0"),
        ("security:\n  max_websocket_connections: 0\n", "must be >= 1 (or unset for no limit)"),
        ("security:\n  trust_forwarded_for: maybe\n", "security.trust_forwarded_for"),
    ],
)
def test_errors_are_located(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        load_config(write(tmp_path, text), env={})


def test_env_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="WAAV_JWT_ALGORITHMS"):
        load_config(env={"WAAV_JWT_ALGORITHMS": "HS256,none"})
