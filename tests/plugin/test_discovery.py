"""Discovery: entry points of an installed distribution, plugin_dir, hot reload."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from waav import ConfigError, PluginError, PluginNotFoundError
from waav.plugin import PluginConfig, PluginConstructor, PluginRegistry, STTConfig

GOOD = """
from waav.plugin import BaseSTT, PluginConstructor, ProviderMetadata


class ThrowawaySTT(BaseSTT):
    async def connect(self): ...
    async def send_audio(self, audio): ...
    async def disconnect(self): ...


LOADS = []


def plugins():
    LOADS.append(1)
    return [
        PluginConstructor.stt(
            "throwaway",
            lambda: ProviderMetadata.stt("throwaway", "Throwaway STT").with_features(["test"]),
            ThrowawaySTT,
        ).with_aliases(["tw"]),
    ]
"""


def make_dist(root: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A throwaway distribution as pip would leave it: modules + a .dist-info with entry points."""
    for mod, src in modules.items():
        (root / f"{mod}.py").write_text(textwrap.dedent(src))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[waav.plugins]\n{lines}\n")


@pytest.fixture
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_dist(
        tmp_path,
        "waav_throwaway",
        {
            "good": "waav_throwaway_good:plugins",
            "broken": "waav_throwaway_broken:plugin",
            "missing": "waav_throwaway_nope:plugin",
        },
        {
            "waav_throwaway_good": GOOD,
            "waav_throwaway_broken": "raise RuntimeError('broken on import')\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def test_entry_points_are_discovered_and_broken_ones_reported(throwaway: Path) -> None:
    reg = PluginRegistry()
    keys = reg.discover()
    assert "stt:throwaway" in keys
    assert reg.has_stt_provider("TW")
    stt = reg.create_stt("tw", STTConfig(language="fr-FR"))
    assert type(stt).__name__ == "ThrowawaySTT"
    assert stt.config.language == "fr-FR"
    info = reg.plugin("stt:throwaway")
    assert info.source == "entry_point:waav_throwaway:good"
    assert info.state == "registered"
    assert info.metadata is not None
    assert info.metadata["features"] == ["test"]
    broken = reg.plugin("entry_point:broken")
    assert broken.state == "failed"
    assert "broken on import" in broken.stats["last_error"]
    missing = reg.plugin("entry_point:missing")
    assert missing.state == "failed"
    assert "ModuleNotFoundError" in missing.stats["last_error"]
    # the built-ins and other plugins are unaffected
    assert reg.stt_provider_count() == 13 + 1  # 11 upstream + 2 local + the throwaway


def test_entry_points_load_once_and_lazily(throwaway: Path) -> None:
    import sys

    sys.modules.pop("waav_throwaway_good", None)
    reg = PluginRegistry()
    assert "waav_throwaway_good" not in sys.modules  # nothing is imported before discover()
    reg.discover()
    assert sys.modules["waav_throwaway_good"].LOADS == [1]


def test_third_party_entry_points_can_be_disabled(throwaway: Path) -> None:
    reg = PluginRegistry()
    keys = reg.discover(third_party=False)
    assert "stt:throwaway" not in keys
    assert all(reg.plugin(k).builtin for k in keys)  # only waav's own (built-in) entry points
    assert not reg.has_stt_provider("throwaway")


PLUGIN_V1 = """
from waav.plugin import AudioProcessor, PluginConstructor

VERSION = "{version}"


class Tag(AudioProcessor):
    async def process(self, audio, fmt):
        return VERSION.encode() + audio


plugins = [PluginConstructor.processor("tagger", None, lambda opts: Tag())]
"""


async def test_plugin_dir_load_and_hot_reload(tmp_path: Path) -> None:
    from waav.plugin import AudioFormat

    d = tmp_path / "plugins"
    d.mkdir()
    (d / "tagger.py").write_text(PLUGIN_V1.format(version="v1"))
    (d / "broken.py").write_text("raise SyntaxError('nope')\n")
    (d / "_private.py").write_text("raise SystemExit('must not be imported')\n")
    pkg = d / "pkgplugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from .impl import handler\nfrom waav.plugin import PluginConstructor\n"
        "plugin = PluginConstructor.ws_handler('ping', handler)\n"
    )
    (pkg / "impl.py").write_text("async def handler(payload, ctx):\n    return {'pong': payload}\n")
    reg = PluginRegistry()
    reg.configure(PluginConfig(plugin_dir=str(d)))
    assert reg.has_audio_processor("tagger")
    assert reg.has_ws_handler("ping")
    assert reg.plugin("plugin_dir:broken").state == "failed"
    p = reg.create_audio_processor("tagger")
    assert await p.process(b"!", AudioFormat()) == b"v1!"

    await reg.start_all()
    (d / "tagger.py").write_text(PLUGIN_V1.format(version="v2"))
    assert await reg.reload("tagger") == ["processor:tagger"]
    assert await reg.create_audio_processor("tagger").process(b"!", AudioFormat()) == b"v2!"
    assert reg.plugin("processor:tagger").state == "running"
    assert await p.process(b"!", AudioFormat()) == b"v1!"  # a session keeps its old object

    # a failed reload keeps the old version serving
    (d / "tagger.py").write_text("this is not python\n")
    with pytest.raises(PluginError, match="the old version stays"):
        await reg.reload("processor:tagger")
    assert await reg.create_audio_processor("tagger").process(b"!", AudioFormat()) == b"v2!"
    # a fixed file loads again, and reload works on a previously broken file too
    (d / "broken.py").write_text(PLUGIN_V1.replace('"tagger"', '"fixed"').format(version="v3"))
    with pytest.raises(PluginNotFoundError, match=r"only plugins loaded from plugins\.plugin_dir"):
        await reg.reload("noise-gate")
    reg.load_plugin_dir(d)
    assert reg.has_audio_processor("fixed")
    assert not any(i.key == "plugin_dir:broken" for i in reg.plugins())


def test_plugin_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        PluginRegistry().load_plugin_dir(tmp_path / "nope")


def test_disabled_plugins_skip_plugin_dir(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(PLUGIN_V1.format(version="v1"))
    reg = PluginRegistry()
    reg.configure(PluginConfig(enabled=False, plugin_dir=str(tmp_path)))
    assert not reg.has_audio_processor("tagger")


def test_constructors_of_every_kind() -> None:
    from .plugins_for_tests import EchoSTTCapability, GuideNoiseGateCapability

    reg = PluginRegistry(builtins=False)
    reg.register(PluginConstructor.capability(EchoSTTCapability()))
    reg.register(PluginConstructor.capability(GuideNoiseGateCapability()))
    reg.register(PluginConstructor.middleware("mw", None, lambda app, o: app, priority=5))
    reg.register(PluginConstructor.auth("au", None, lambda o: None))
    with pytest.raises(PluginError, match="not a waav capability"):
        PluginConstructor.capability(object())
    assert [i.kind for i in reg.plugins()] == ["auth", "middleware", "processor", "stt"]
