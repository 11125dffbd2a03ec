"""ServerConfig: YAML + environment, precedence, located errors, plugin/provider sections."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from waav import ConfigError
from waav.config import ServerConfig, load_config
from waav.plugin import PluginRegistry, catalog_entry

from .plugin.plugins_for_tests import EchoSTT

YAML = """\
server:
  host: 127.0.0.1
  port: 4000
providers:
  deepgram_api_key: dg-from-yaml
  azure_speech_region: westeurope
security:
  rate_limit_requests_per_second: 100
plugins:
  enabled: true
  plugin_dir: {plugin_dir}
  providers:
    deepgram:
      model: nova-2
      endpointing: 300
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waav.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_defaults_without_file_or_env() -> None:
    c = load_config(env={})
    assert (c.server.host, c.server.port) == ("0.0.0.0", 3001)
    assert c.plugins.enabled is True
    assert c.plugins.plugin_dir is None
    assert c.security.rate_limit_burst_size == 10
    assert c.cache.ttl_seconds == 2_592_000


def test_yaml_env_and_precedence(tmp_path: Path) -> None:
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    path = write(tmp_path, YAML.format(plugin_dir=pdir))
    env = {
        "PORT": "5000",
        "HOST": "10.0.0.1",
        "PLUGINS_DIR": "/ignored",
        "DEEPGRAM_API_KEY": "dg-env",
        "OPENAI_API_KEY": "oa-env",
        "PLUGINS_ENABLED": "no",
        "AUTH_API_SECRETS_JSON": '[{"id":"a","secret":"s"}]',
    }
    c = load_config(path, env=env)
    # YAML > env > default (the upstream code's order)
    assert (c.server.host, c.server.port) == ("127.0.0.1", 4000)
    assert c.plugins.plugin_dir == str(pdir)
    assert c.plugins.enabled is True
    assert c.providers == {
        "deepgram_api_key": "dg-from-yaml",
        "azure_speech_region": "westeurope",
        "openai_api_key": "oa-env",
    }
    assert c.auth.api_secrets[0].id == "a"
    assert c.plugins.provider_config == {"deepgram": {"model": "nova-2", "endpointing": 300}}
    env_only = load_config(env=env)
    assert env_only.server.port == 5000
    assert env_only.plugins.enabled is False
    assert env_only.plugins.plugin_dir == "/ignored"


def test_provider_config_spelling_from_the_docs_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "plugins:\n  provider_config:\n    groq: {model: whisper-large-v3}\n")
    assert load_config(path, env={}).plugins.provider_config == {"groq": {"model": "whisper-large-v3"}}
    path = write(tmp_path, "plugins:\n  providers: {}\n  provider_config: {}\n")
    with pytest.raises(ConfigError, match="not both"):
        load_config(path, env={})


def test_config_reaches_the_registry(tmp_path: Path) -> None:
    path = write(tmp_path, YAML.format(plugin_dir=tmp_path))
    c = load_config(path, env={"DEEPGRAM_API_KEY": "dg-env", "AZURE_SPEECH_SUBSCRIPTION_KEY": "az"})
    reg = PluginRegistry()
    c.apply(reg)
    reg.register_stt("deepgram", EchoSTT)
    reg.register_stt("microsoft-azure", EchoSTT)
    dg = reg.create_stt("deepgram").config
    assert (dg.api_key, dg.model, dg.options) == ("dg-from-yaml", "nova-2", {"endpointing": 300})
    az = reg.create_stt("azure").config
    assert az.api_key == "az"
    assert az.options["region"] == "westeurope"
    spec = catalog_entry("stt", "deepgram").credentials[0]  # type: ignore[union-attr]
    assert c.credential(spec) == "dg-from-yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "server:\n  port: 4000\n  hots: x\n",
            r"waav.yaml:3: server.hots: unknown ServerSection key 'hots' \(did you mean 'host'\?\)",
        ),
        ("plugins:\n  enabled: maybe\n", r"waav.yaml:2: plugins.enabled: must be a boolean, got str 'maybe'"),
        (
            "server:\n  port: 1\nplugins:\n  providers:\n    deepgram: 5\n",
            r"waav.yaml:5: plugins.provider_config.deepgram: must be a mapping",
        ),
        (
            "providers:\n  deepgram_key: x\n",
            r"waav.yaml:2: providers.deepgram_key: unknown providers key 'deepgram_key' "
            r"\(did you mean 'deepgram_api_key'\?\)",
        ),
        (
            "auth:\n  api_secrets:\n    - {id: a}\n",
            r"waav.yaml:3: auth.api_secrets\[0\].secret: missing required ApiSecret key 'secret'",
        ),
        ("server:\n  port: [1\n", r"waav.yaml:3:1: invalid YAML"),
        ("server:\n  port: 1\nserver:\n  port: 2\n", r"waav.yaml:3: server: duplicate key"),
        ("- a\n- b\n", r"waav.yaml:1: the top level must be a mapping"),
        (
            "sever:\n  port: 1\n",
            r"waav.yaml:1: sever: unknown ServerConfig key 'sever' \(did you mean 'server'\?\)",
        ),
    ],
)
def test_yaml_errors_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_env_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable PORT='abc'"):
        load_config(env={"PORT": "abc"})
    with pytest.raises(ConfigError, match="PLUGINS_ENABLED='perhaps' is not a boolean"):
        load_config(env={"PLUGINS_ENABLED": "perhaps"})
    with pytest.raises(
        ConfigError, match=r"environment variable SIP_HOOKS_JSON: sip.hooks\[0\].host: must be a"
    ):
        load_config(env={"SIP_HOOKS_JSON": '[{"host": 1, "url": "https://x"}]'})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config("/nonexistent/waav.yaml", env={})


def test_server_config_direct_construction() -> None:
    c = ServerConfig(plugins={"enabled": False})
    assert c.plugins.enabled is False
    with pytest.raises(ConfigError, match="unknown ServerConfig key"):
        ServerConfig(plugin={})  # type: ignore[call-arg]
