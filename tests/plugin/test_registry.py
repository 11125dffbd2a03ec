"""Registry: names, aliases, creation, errors, provider_config merge, credentials, threads."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from waav import ConfigError, PluginError, PluginNotFoundError, PluginUnavailableError
from waav.plugin import (
    PluginConfig,
    PluginConstructor,
    PluginRegistry,
    ProviderMetadata,
    STTConfig,
    global_registry,
)

from .plugins_for_tests import EchoSTT, EchoSTTCapability


def test_builtin_catalog_counts_and_names(registry: PluginRegistry) -> None:
    # aliases are names, not extra registrations (the upstream listed 21/28/5); + 2 local each
    assert registry.stt_provider_count() == 11 + 2
    assert registry.tts_provider_count() == 12 + 2
    assert registry.realtime_provider_count() == 2
    assert "microsoft-azure" in registry.get_stt_provider_names()
    assert "azure" not in registry.get_stt_provider_names()
    assert registry.has_stt_provider("Azure")
    assert registry.has_tts_provider("PLAY.HT")
    assert not registry.has_stt_provider("polly")
    meta = registry.get_stt_metadata("deepgram")
    assert meta is not None
    assert meta.display_name == "Deepgram Nova-3"
    assert meta.extra["credential_env"] == {"api_key": "DEEPGRAM_API_KEY"}
    groq = registry.get_stt_metadata("GROQ")
    assert groq is not None
    assert groq.supported_models == (
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "distil-whisper-large-v3-en",
    )
    gnani = registry.get_stt_metadata("vachana")
    assert gnani is not None
    assert len(gnani.supported_languages) == 14
    assert registry.get_realtime_metadata("evi").features >= {"emotion-analysis"}  # type: ignore[union-attr]


def test_builtin_without_adapter_fails_honestly(registry: PluginRegistry) -> None:
    with pytest.raises(PluginUnavailableError, match="'deepgram' is in the catalog but its adapter is not"):
        registry.create_stt("deepgram")
    with pytest.raises(PluginUnavailableError, match="'aws-polly' is in the catalog"):
        registry.create_tts("Polly")
    info = registry.plugin("stt:deepgram")
    assert (info.state, info.available) == ("discovered", False)


def test_unknown_name_message_matches_upstream(registry: PluginRegistry) -> None:
    with pytest.raises(PluginNotFoundError) as exc:
        registry.create_stt("whisperx")
    assert str(exc.value).startswith("Unknown STT provider: 'whisperx'. Available providers: ['assemblyai', ")
    assert isinstance(exc.value, ValueError)
    with pytest.raises(PluginNotFoundError, match=r"^Unknown TTS provider: 'x'\. Available providers: \["):
        registry.create_tts("x")
    with pytest.raises(PluginNotFoundError, match="Unknown Realtime provider: 'x'"):
        registry.create_realtime("x")


def test_register_custom_stt_and_create_by_alias(registry: PluginRegistry) -> None:
    key = registry.register_capability(EchoSTTCapability())
    assert key == "stt:echo-stt"
    assert registry.has_stt_provider("ECHO")
    assert registry.resolve("stt", "Echo") == "echo-stt"
    stt = registry.create_stt("Echo", {"language": "de-DE"})
    assert isinstance(stt, EchoSTT)
    assert stt.config.provider == "echo-stt"
    assert stt.config.language == "de-DE"
    assert registry.stt_provider_count() == 13 + 1
    assert registry.plugin("stt:echo-stt").stats["call_count"] == 1


def test_adapter_for_a_catalog_id_keeps_catalog_aliases(registry: PluginRegistry) -> None:
    registry.register_stt("aws-transcribe", EchoSTT)
    stt = registry.create_stt("Amazon-Transcribe")
    assert isinstance(stt, EchoSTT)
    assert stt.provider_id == "echo-stt"
    info = registry.plugin("stt:aws-transcribe")
    assert info.state == "registered"
    assert info.available
    assert set(info.aliases) >= {"transcribe", "amazon-transcribe", "aws_transcribe"}
    assert info.metadata is not None
    assert info.metadata["display_name"] == "Amazon Transcribe"
    registry.unregister("stt:aws-transcribe")
    with pytest.raises(PluginUnavailableError):
        registry.create_stt("transcribe")


def test_alias_collisions_are_refused(registry: PluginRegistry) -> None:
    with pytest.raises(PluginError, match="'azure' of plugin 'mine' is already taken by 'microsoft-azure'"):
        registry.register(PluginConstructor.stt("mine", None, EchoSTT).with_aliases(["azure"]))
    registry.register(PluginConstructor.stt("one", None, EchoSTT).with_aliases(["uno"]))
    with pytest.raises(PluginError, match="already taken by 'one'"):
        registry.register(PluginConstructor.stt("two", None, EchoSTT).with_aliases(["UNO"]))
    with pytest.raises(PluginError, match="invalid plugin id"):
        registry.register(PluginConstructor.stt("has space", None, EchoSTT))


def test_factory_must_return_the_base_class(registry: PluginRegistry) -> None:
    registry.register_stt("liar", lambda cfg: object())
    with pytest.raises(
        PluginError, match="plugin 'stt:liar' raised in create_stt: TypeError: factory returned object"
    ):
        registry.create_stt("liar")


def test_config_unknown_keys_are_rejected(registry: PluginRegistry) -> None:
    registry.register_stt("echo-stt", EchoSTT)
    with pytest.raises(ConfigError, match=r"unknown STTConfig key 'langauge' \(did you mean 'language'\?\)"):
        registry.create_stt("echo-stt", {"langauge": "en"})
    # a caller's bad config is not the plugin's fault: nothing counted
    assert registry.plugin("stt:echo-stt").stats["error_count"] == 0


def test_provider_config_is_merged_at_creation(
    registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register_stt("deepgram", EchoSTT)
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    registry.configure(
        PluginConfig(
            provider_config={"DeepGram": {"model": "nova-2", "endpointing": 200, "options": {"tag": "a"}}}
        )
    )
    cfg = registry.create_stt("deepgram").config
    assert cfg.model == "nova-2"
    assert cfg.options == {"endpointing": 200, "tag": "a"}
    assert cfg.api_key == ""
    # explicit session values win over provider_config, even when equal to the default
    cfg = registry.create_stt("deepgram", STTConfig(model="nova-3", options={"tag": "b"})).config
    assert cfg.model == "nova-3"
    assert cfg.options == {"endpointing": 200, "tag": "b"}


def test_credentials_from_upstream_env_vars(
    registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register_stt("deepgram", EchoSTT)
    registry.register_stt("microsoft-azure", EchoSTT)
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-secret")
    monkeypatch.setenv("AZURE_SPEECH_SUBSCRIPTION_KEY", "az-secret")
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    monkeypatch.setenv("WAAV_DEEPGRAM_BASE_URL", "ws://127.0.0.1:9/fake")
    dg = registry.create_stt("deepgram").config
    assert dg.api_key == "dg-secret"
    assert dg.base_url == "ws://127.0.0.1:9/fake"
    assert registry.create_stt("deepgram", {"api_key": "client"}).config.api_key == "client"
    az = registry.create_stt("azure").config
    assert az.api_key == "az-secret"
    assert az.options["region"] == "eastus"
    registry.configure(credentials=lambda spec: f"from-{spec.yaml}")
    assert registry.create_stt("azure").config.options["region"] == "from-azure_speech_region"


def test_metadata_builder_and_json_round_trip() -> None:
    meta = (
        ProviderMetadata.tts("my-tts", "My TTS")
        .with_description("d")
        .with_alias("mine")
        .with_aliases(["mine", "my_tts"])
        .with_features(["streaming"])
        .with_feature("voice-cloning")
        .with_languages(["en-US", "de-DE"])
        .with_models(["m1"])
        .with_required_config(["api_key", "user_id"])
    )
    data = json.loads(meta.to_json())
    assert data == {
        "name": "my-tts",
        "display_name": "My TTS",
        "provider_type": "tts",
        "description": "d",
        "version": "1.0.0",
        "required_config_keys": ["api_key", "user_id"],
        "optional_config_keys": [],
        "aliases": ["mine", "my_tts"],
        "supported_languages": ["en-US", "de-DE"],
        "supported_models": ["m1"],
        "features": ["streaming", "voice-cloning"],
    }
    assert ProviderMetadata.from_json(meta.to_json()) == meta


def test_thread_safe_registration_hammer() -> None:
    registry = PluginRegistry(builtins=False)
    errors: list[BaseException] = []
    threads_n, per = 8, 60
    barrier = threading.Barrier(threads_n + 2)

    def writer(t: int) -> None:
        barrier.wait()
        try:
            for i in range(per):
                registry.register(
                    PluginConstructor.stt(f"p{t}-{i}", None, EchoSTT).with_aliases([f"a{t}-{i}"])
                )
                registry.create_stt(f"A{t}-{i}")
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        barrier.wait()
        try:
            for _ in range(200):
                for name in registry.get_stt_provider_names()[:5]:
                    assert registry.has_stt_provider(name)
                registry.plugins("stt")
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    workers += [threading.Thread(target=reader) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[:3]
    assert registry.stt_provider_count() == threads_n * per
    for t in range(threads_n):
        for i in range(per):
            assert registry.resolve("stt", f"A{t}-{i}") == f"p{t}-{i}"
    assert sum(p.stats["call_count"] for p in registry.plugins("stt")) == threads_n * per


def test_concurrent_creation_counts_exactly() -> None:
    registry = PluginRegistry(builtins=False)
    registry.register_stt("echo-stt", EchoSTT)

    def work() -> None:
        for _ in range(500):
            registry.create_stt("echo-stt")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert registry.plugin("stt:echo-stt").stats["call_count"] == 3000


def test_global_registry_is_one_object() -> None:
    a, b = global_registry(), global_registry()
    assert a is b
    assert a.stt_provider_count() >= 11
    assert a.has_audio_processor("noise-gate")


def test_kinds_are_validated(registry: PluginRegistry) -> None:
    with pytest.raises(ConfigError, match="unknown plugin kind 'video'"):
        registry.plugins("video")
    infos: list[Any] = registry.plugins("realtime")
    assert [i.id for i in infos] == ["hume", "openai"]
