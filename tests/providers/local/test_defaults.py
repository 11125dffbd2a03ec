"""The default provider when a session names none: configured, else cloud with keys, else local."""

from __future__ import annotations

import pytest

from waav.plugin import CredentialSpec, PluginRegistry
from waav.providers.local import defaults
from waav.providers.local.defaults import default_provider

CLOUD_ENV = (
    "DEEPGRAM_API_KEY", "ELEVENLABS_API_KEY", "AZURE_SPEECH_SUBSCRIPTION_KEY", "CARTESIA_API_KEY",
    "OPENAI_API_KEY", "ASSEMBLYAI_API_KEY", "IBM_WATSON_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS",
    "AWS_ACCESS_KEY_ID", "GROQ_API_KEY", "GNANI_TOKEN", "HUME_API_KEY", "LMNT_API_KEY", "PLAYHT_API_KEY",
    "WAAV_DEFAULT_STT", "WAAV_DEFAULT_TTS",
)  # fmt: skip


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLOUD_ENV:
        monkeypatch.delenv(name, raising=False)


def test_no_keys_gives_the_local_engines() -> None:
    stt, tts = default_provider("stt"), default_provider("tts")
    assert (stt.provider, tts.provider) == ("whisper", "hibari")
    assert "no cloud credentials" in stt.reason


def test_a_configured_cloud_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-key")
    assert default_provider("stt").provider == "deepgram"
    assert default_provider("tts").provider == "deepgram"
    assert "DEEPGRAM_API_KEY" in default_provider("stt").reason


def test_keys_of_a_provider_without_an_adapter_do_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-key")
    bare = PluginRegistry()  # the catalog only: no adapter is installed in it
    assert default_provider("stt", registry=bare).provider == "whisper"
    assert default_provider("tts", registry=bare).provider == "hibari"


def test_explicit_and_env_choice_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-key")
    assert default_provider("stt", "pocketsphinx").provider == "pocketsphinx"
    monkeypatch.setenv("WAAV_DEFAULT_TTS", "espeak")
    assert default_provider("tts") == defaults.DefaultProvider("tts", "espeak", "configured")


def test_credentials_come_from_the_given_source() -> None:
    def yaml_keys(spec: CredentialSpec) -> str | None:
        return "from-yaml" if spec.yaml == "openai_api_key" else None

    assert default_provider("tts", credentials=yaml_keys).provider == "openai"


def test_without_the_local_extra_nothing_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(defaults, "local_engine_installed", lambda kind: False)
    choice = default_provider("stt")
    assert choice.provider is None
    assert 'pip install "waav[local]"' in choice.reason
    with pytest.raises(ValueError, match="kind"):
        default_provider("realtime")
