"""The package as installed: public names, error tree, native build, packaging."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import waav
import waav.audio
import waav.config
import waav.plugin
import waav.providers.base
from waav._compat import NO_EXTENSIONS, isa_levels


def test_public_names_are_pinned() -> None:
    assert sorted(waav.__all__) == sorted(
        [
            "AudioFormatError",
            "AuthenticationError",
            "ConfigError",
            "LifecycleError",
            "PluginError",
            "PluginNotFoundError",
            "PluginTimeoutError",
            "PluginUnavailableError",
            "ProviderAuthError",
            "ProviderConnectionError",
            "ProviderError",
            "ProviderProtocolError",
            "ProviderRateLimitError",
            "ProviderTimeoutError",
            "WaavError",
            "__version__",
        ]
    )
    assert sorted(waav.audio.__all__) == sorted(
        [
            "NoiseGate",
            "Resampler",
            "VadEvent",
            "VadSegmenter",
            "alaw_decode",
            "alaw_encode",
            "apply_gain",
            "float32_to_int16",
            "frame_decisions",
            "implementation",
            "int16_to_float32",
            "mono_to_stereo",
            "noise_gate",
            "peak_dbfs",
            "resample",
            "rms_dbfs",
            "stereo_to_mono",
            "ulaw_decode",
            "ulaw_encode",
        ]
    )
    for name in waav.audio.__all__:
        assert getattr(waav.audio, name) is not None
    assert sorted(waav.plugin.__all__) == sorted(
        [
            "CATALOG_SHA256",
            "ENTRY_POINT_GROUP",
            "IMPLEMENTATION",
            "AudioCallback",
            "AudioData",
            "AudioEncoding",
            "AudioFormat",
            "AudioPipeline",
            "AudioProcessor",
            "AudioProcessorCapability",
            "AuthCapability",
            "AuthCredentials",
            "AuthIdentity",
            "AuthStrategy",
            "BaseRealtime",
            "BaseSTT",
            "BaseTTS",
            "CatalogEntry",
            "ConnectionState",
            "CredentialSpec",
            "IsolationPolicy",
            "MiddlewareCapability",
            "PluginConfig",
            "PluginConstructor",
            "PluginContext",
            "PluginHealth",
            "PluginInfo",
            "PluginKind",
            "PluginLifecycle",
            "PluginRegistry",
            "PluginState",
            "ProviderMetadata",
            "RealtimeCapability",
            "RealtimeConfig",
            "STTCapability",
            "STTConfig",
            "STTResult",
            "TTSCapability",
            "TTSConfig",
            "WSContext",
            "WSHandlerCapability",
            "WSResponse",
            "WordTiming",
            "catalog",
            "catalog_entry",
            "global_registry",
            "resolve",
        ]
    )
    for mod in (waav.plugin, waav.providers.base, waav.config):
        for name in mod.__all__:
            assert getattr(mod, name) is not None, (mod, name)


def test_version_matches_metadata() -> None:
    assert waav.__version__ == importlib.metadata.version("waav")


def test_error_tree() -> None:
    leaves = [
        waav.AudioFormatError,
        waav.ConfigError,
        waav.PluginError,
        waav.PluginNotFoundError,
        waav.LifecycleError,
        waav.ProviderError,
        waav.ProviderAuthError,
        waav.ProviderRateLimitError,
        waav.ProviderConnectionError,
        waav.ProviderProtocolError,
        waav.ProviderTimeoutError,
    ]
    for cls in leaves:
        assert issubclass(cls, waav.WaavError)
    for cls in (waav.AudioFormatError, waav.ConfigError, waav.PluginNotFoundError):
        assert issubclass(cls, ValueError)
    assert not issubclass(waav.ProviderError, ValueError)
    assert waav.ProviderRateLimitError("slow down", retry_after=2.5).retry_after == 2.5
    assert waav.PluginError("boom", plugin_id="x").plugin_id == "x"


def test_native_errors_are_waav_errors() -> None:
    with pytest.raises(waav.AudioFormatError, match="odd byte count"):
        waav.audio.int16_to_float32(b"\x00\x01\x02")


@pytest.mark.skipif(NO_EXTENSIONS, reason="pure run: WAAV_NO_EXTENSIONS=1")
def test_native_build_loaded() -> None:
    """Guard: a normal install must run the native kernels, at the best ISA level."""
    impl = waav.audio.implementation()
    assert set(impl) >= {"_pcm", "_gate", "_resample", "_vad"}
    best = isa_levels()[0]
    for name, module in impl.items():
        # only the hot kernels have per-ISA builds (setup.py SIMD_MODULES); others have one
        has_variant = bool(best) and importlib.util.find_spec(f"waav._native.{name}__{best}") is not None
        expected = f"waav._native.{name}__{best}" if has_variant else f"waav._native.{name}"
        assert module == expected, impl


@pytest.mark.skipif(not NO_EXTENSIONS, reason="native run")
def test_pure_mode_uses_twins() -> None:
    assert set(waav.audio.implementation().values()) == {"python"}
    assert waav.audio.pcm.IMPLEMENTATION == "waav.audio._pcm_py"


def test_tests_run_against_installed_package() -> None:
    """The suite must import the installed wheel, never the source tree."""
    source_tree = Path(__file__).resolve().parents[1] / "src"
    assert source_tree not in Path(waav.__file__).resolve().parents


def test_py_typed_and_stubs_ship() -> None:
    root = Path(waav.__file__).parent
    assert (root / "py.typed").exists()
    if not NO_EXTENSIONS:
        stubs = ("_pcm.pyi", "_gate.pyi", "_resample.pyi", "_vad.pyi", "_buf.pyi", "_cpu.pyi", "_phf.pyi")
        for stub in stubs:
            assert (root / "_native" / stub).exists(), stub


def test_no_generated_c_in_install() -> None:
    native = Path(waav.__file__).parent / "_native"
    assert not list(native.glob("*.c"))
    assert not list(native.glob("*.html"))
    assert not list(native.glob("*.h"))
    assert (Path(waav.__file__).parent / "plugin" / "_catalog.json").is_file()


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "waav", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"waav {waav.__version__}"
