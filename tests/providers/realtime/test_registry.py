"""The realtime adapters are built-in entry points of waav, created through the registry."""

from __future__ import annotations

import pytest

from waav.plugin import PluginRegistry
from waav.providers.realtime.hume import HumeEVI
from waav.providers.realtime.openai import OpenAIRealtime
from waav.testing.fakes import FakeHumeEVI, FakeOpenAIRealtime


def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return reg


def test_both_adapters_are_registered_built_ins() -> None:
    reg = registry()
    for key in ("realtime:openai", "realtime:hume"):
        info = reg.plugin(key)
        assert info.builtin
        assert info.state == "registered"
    assert reg.metadata("realtime", "evi").name == "hume"  # catalog aliases resolve
    assert "vendor_sample_rate" in reg.metadata("realtime", "hume").optional_config_keys
    assert "replay_history" in reg.metadata("realtime", "openai").optional_config_keys


async def test_credentials_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = registry()
    async with FakeOpenAIRealtime(api_key="env-key") as oai, FakeHumeEVI(api_key="hume-env-key") as hume:
        monkeypatch.setenv("OPENAI_API_KEY", "env-key")
        monkeypatch.setenv("WAAV_OPENAI_BASE_URL", oai.base_url)
        monkeypatch.setenv("HUME_API_KEY", "hume-env-key")
        monkeypatch.setenv("WAAV_HUME_BASE_URL", hume.base_url)
        rt = reg.create_realtime("OpenAI", {"instructions": "hi"})
        assert isinstance(rt, OpenAIRealtime)
        await rt.connect()
        assert oai.sessions[0].request.headers["authorization"] == "Bearer env-key"
        await rt.disconnect()
        evi = reg.create_realtime("hume-evi")
        assert isinstance(evi, HumeEVI)
        await evi.connect()
        assert hume.sessions[0].request.query["api_key"] == "hume-env-key"
        await evi.disconnect()


def test_missing_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reg = registry()
    with pytest.raises(Exception, match="OPENAI_API_KEY"):
        reg.create_realtime("openai")
