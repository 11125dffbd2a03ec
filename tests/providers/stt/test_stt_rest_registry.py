"""The five non-WebSocket STT adapters are built-ins: entry points, catalog ids, aliases, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import waav.testing.fakes
from waav.plugin import PluginRegistry
from waav.providers.stt.aws_transcribe import AWSTranscribeSTT
from waav.providers.stt.gnani import GnaniSTT
from waav.providers.stt.google import GoogleSTT
from waav.providers.stt.groq import GroqSTT
from waav.providers.stt.openai import OpenAISTT

ADAPTERS = {
    "openai": (OpenAISTT, [], "OPENAI_API_KEY"),
    "groq": (GroqSTT, [], "GROQ_API_KEY"),
    "aws-transcribe": (
        AWSTranscribeSTT,
        ["transcribe", "amazon-transcribe", "aws_transcribe"],
        "AWS_ACCESS_KEY_ID",
    ),
    "google": (GoogleSTT, [], "GOOGLE_APPLICATION_CREDENTIALS"),
    "gnani": (GnaniSTT, ["gnani-ai", "gnani.ai", "vachana"], "GNANI_TOKEN"),
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
    assert sorted(info.aliases) == sorted(aliases)
    assert info.metadata is not None
    assert info.metadata["extra"]["credential_env"]["api_key"] == env
    for name in [pid, *aliases, pid.upper()]:
        stt = registry.create_stt(name, {"api_key": "k"})
        assert type(stt) is cls
        assert stt.provider_id == pid


def test_the_fakes_are_public() -> None:
    names = {"FakeOpenAISTT", "FakeGroq", "FakeAWSTranscribe", "FakeGoogleSpeech", "FakeGnani"}
    assert names <= set(waav.testing.fakes.__all__)
    for name in names:
        assert getattr(waav.testing.fakes, name).__doc__


CLOUD_STT = {
    "deepgram", "google", "elevenlabs", "microsoft-azure", "cartesia", "openai", "assemblyai",
    "aws-transcribe", "ibm-watson", "groq", "gnani",
}  # fmt: skip


def test_cli_lists_all_eleven_stt_providers_as_available() -> None:
    exe = shutil.which("waav")
    cmd = [exe] if exe else [sys.executable, "-m", "waav"]
    out = subprocess.run(
        [*cmd, "providers", "--kind", "stt", "--json"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    # the 11 cloud adapters, plus the offline engines of waav[local]
    assert set(rows) - {"whisper", "pocketsphinx"} == CLOUD_STT
    cloud = [rows[pid] for pid in CLOUD_STT]
    assert all(row["available"] for row in cloud), [r for r in cloud if not r["available"]]
    for pid, (_, aliases, _) in ADAPTERS.items():
        assert sorted(rows[pid]["aliases"]) == sorted(aliases)
