"""The six WebSocket STT adapters are built-ins: entry points of waav, catalog ids and aliases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import waav.testing.fakes
from waav.plugin import PluginRegistry
from waav.providers.stt._ws import StreamingWebSocketSTT
from waav.providers.stt.assemblyai import AssemblyAISTT
from waav.providers.stt.azure import AzureSTT
from waav.providers.stt.cartesia import CartesiaSTT
from waav.providers.stt.deepgram import DeepgramSTT
from waav.providers.stt.elevenlabs import ElevenLabsSTT
from waav.providers.stt.ibm_watson import IBMWatsonSTT

ADAPTERS = {
    "deepgram": (DeepgramSTT, [], "DEEPGRAM_API_KEY"),
    "assemblyai": (AssemblyAISTT, [], "ASSEMBLYAI_API_KEY"),
    "elevenlabs": (ElevenLabsSTT, [], "ELEVENLABS_API_KEY"),
    "cartesia": (CartesiaSTT, [], "CARTESIA_API_KEY"),
    "microsoft-azure": (AzureSTT, ["azure"], "AZURE_SPEECH_SUBSCRIPTION_KEY"),
    "ibm-watson": (IBMWatsonSTT, ["watson", "ibm", "ibm_watson"], "IBM_WATSON_API_KEY"),
}


@pytest.fixture(scope="module")
def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return reg


@pytest.mark.parametrize("pid", list(ADAPTERS))
def test_registered_under_the_catalog_id_with_its_aliases(registry: PluginRegistry, pid: str) -> None:
    cls, aliases, env = ADAPTERS[pid]
    info = registry.plugin(f"stt:{pid}")
    assert info.available
    assert info.builtin
    assert info.state == "registered"
    assert sorted(info.aliases) == sorted(aliases)
    assert info.metadata is not None
    assert info.metadata["extra"]["credential_env"]["api_key"] == env  # catalog metadata kept
    for name in [pid, *aliases, pid.upper()]:
        stt = registry.create_stt(name, {"api_key": "k"})
        assert type(stt) is cls
        assert isinstance(stt, StreamingWebSocketSTT)
        assert stt.provider_id == pid


def test_registry_fills_region_and_instance_from_the_environment(
    registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_REGION", "northeurope")
    monkeypatch.setenv("IBM_WATSON_INSTANCE_ID", "inst-1")
    monkeypatch.setenv("IBM_WATSON_REGION", "eu-de")
    azure = registry.create_stt("azure", {"api_key": "k"})
    assert isinstance(azure, AzureSTT)
    assert azure.url().startswith("wss://northeurope.stt.speech.microsoft.com/")
    watson = registry.create_stt("ibm", {"api_key": "k"})
    assert isinstance(watson, IBMWatsonSTT)
    assert watson.url().startswith("wss://api.eu-de.speech-to-text.watson.cloud.ibm.com/instances/inst-1/v1/")


def test_the_fakes_are_public() -> None:
    names = {
        "FakeDeepgram",
        "FakeAssemblyAI",
        "FakeElevenLabs",
        "FakeCartesia",
        "FakeAzureSpeech",
        "FakeIBMWatson",
    }
    assert names | {"STTCollector", "ScriptedSTTFake"} <= set(waav.testing.fakes.__all__)
    for name in names:
        assert getattr(waav.testing.fakes, name).__doc__


def test_cli_lists_them_as_available() -> None:
    exe = shutil.which("waav")
    cmd = [exe] if exe else [sys.executable, "-m", "waav"]
    out = subprocess.run(
        [*cmd, "providers", "--kind", "stt", "--json"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    for pid, (_, aliases, _) in ADAPTERS.items():
        assert rows[pid]["available"] is True
        assert sorted(rows[pid]["aliases"]) == sorted(aliases)
