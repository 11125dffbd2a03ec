"""The waav CLI, run as users run it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from waav.audio.wav import read_wav, write_wav


def waav(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("waav") or ""
    cmd = [exe, *args] if exe else [sys.executable, "-m", "waav", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_info_json() -> None:
    out = waav("info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert set(info["modules"]) >= {"_pcm", "_gate"}
    assert info["native"] == all(v != "python" for v in info["modules"].values())


def test_info_text() -> None:
    out = waav("info")
    assert out.returncode == 0
    assert out.stdout.startswith("waav ")


def test_convert_round_trip(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    write_wav(tmp_path / "in.wav", np.repeat(tone, 2).tobytes(), 16000, channels=2)
    out = waav(
        "convert",
        str(tmp_path / "in.wav"),
        str(tmp_path / "out.wav"),
        "--channels",
        "1",
        "--encoding",
        "ulaw",
        "--gain-db",
        "-6.0206",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["channels"] == 1
    assert summary["encoding"] == "ulaw"
    assert summary["seconds"] == 1.0
    wav = read_wav(tmp_path / "out.wav")
    assert (wav.channels, wav.sample_rate, wav.source_encoding) == (1, 16000, "ulaw")
    got = np.frombuffer(wav.pcm16, np.int16).astype(int)
    assert np.abs(got - tone.astype(int) // 2).max() <= 200  # halved, then G.711 quantised


def test_convert_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    out = waav("convert", str(tmp_path / "nope.wav"), str(tmp_path / "out.wav"))
    assert out.returncode == 2
    assert "waav: error:" in out.stderr
    assert "Traceback" not in out.stderr


def test_convert_demo_writes_a_file(tmp_path: Path) -> None:
    out = waav("convert", "--demo", str(tmp_path / "demo.wav"), "--channels", "1", "--gate-db", "-30")
    assert out.returncode == 0, out.stderr
    wav = read_wav(tmp_path / "demo.wav")
    assert (wav.channels, wav.sample_rate, wav.frames) == (1, 48000, 144000)
    pcm = np.frombuffer(wav.pcm16, np.int16)
    assert pcm[:4800].any()  # the first burst passes the gate
    assert not pcm[int(1.35 * 48000) : int(1.75 * 48000)].any()  # the pause between bursts is gated


def test_convert_needs_two_paths(tmp_path: Path) -> None:
    out = waav("convert", str(tmp_path / "only.wav"))
    assert out.returncode == 2
    assert "INPUT and OUTPUT" in out.stderr


def test_providers_lists_the_catalog_as_json() -> None:
    out = waav("providers", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    by_kind: dict[str, list[str]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r["id"])
    assert len(by_kind["stt"]) == 11 + 2  # the upstream catalog + whisper, pocketsphinx
    assert len(by_kind["tts"]) == 12 + 2  # + hibari, espeak
    assert len(by_kind["realtime"]) == 2
    assert "noise-gate" in by_kind["processor"]
    polly = next(r for r in rows if r["key"] == "tts:aws-polly")
    assert polly["aliases"] == ["polly", "amazon-polly", "aws_polly"]
    assert polly["state"] == "registered"  # its adapter's built-in entry point is installed
    assert polly["available"] is True
    assert "features" in polly["metadata"]
    assert polly["metadata"]["display_name"] == "Amazon Polly"


def test_providers_text_and_kind_filter() -> None:
    out = waav("providers", "--kind", "realtime")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["KIND", "ID", "ALIASES", "FEATURES", "STATE", "SOURCE"]
    assert len(lines) == 3
    assert "evi, hume-evi, hume_evi" in lines[1]
    assert waav("providers", "--kind", "video").returncode == 2


def test_providers_shows_discovered_plugins(tmp_path: Path) -> None:
    (tmp_path / "pp.py").write_text(
        "from waav.plugin import PluginConstructor\n"
        "async def h(payload, ctx):\n    return None\n"
        "plugins = [PluginConstructor.ws_handler('ping', h)]\n"
    )
    (tmp_path / "bad.py").write_text("import does_not_exist\n")
    env = {**os.environ, "PLUGINS_DIR": str(tmp_path)}
    exe = shutil.which("waav") or ""
    cmd = [exe, "providers", "--json"] if exe else [sys.executable, "-m", "waav", "providers", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    assert rows["ws_handler:ping"]["source"].startswith("plugin_dir:")
    assert rows["plugin_dir:bad"]["state"] == "failed"
    assert "does_not_exist" in rows["plugin_dir:bad"]["last_error"]


def test_plugins_enabled_false_skips_plugin_dir(tmp_path: Path) -> None:
    (tmp_path / "pp.py").write_text(
        "from waav.plugin import PluginConstructor\n"
        "async def h(payload, ctx):\n    return None\n"
        "plugins = [PluginConstructor.ws_handler('ping', h)]\n"
    )
    env = {**os.environ, "PLUGINS_DIR": str(tmp_path), "PLUGINS_ENABLED": "false"}
    exe = shutil.which("waav") or ""
    cmd = [exe, "providers", "--json"] if exe else [sys.executable, "-m", "waav", "providers", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    keys = {r["key"] for r in json.loads(out.stdout)}
    assert "ws_handler:ping" not in keys
    assert "stt:deepgram" in keys


def test_serve_logs_the_url_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    import re
    import signal
    import time
    import urllib.request

    cfg = tmp_path / "waav.yaml"
    cfg.write_text("gateway:\n  drain_timeout_seconds: 2\n")
    exe = shutil.which("waav")
    cmd = [exe] if exe else [sys.executable, "-m", "waav"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", "0", "--log-level", "info"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"listening on 127\.0\.0\.1:\d+: (http://127\.0\.0\.1:\d+)", line)
            url = m.group(1) if m else None
        assert url, "no URL logged"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as r:
                    assert json.loads(r.read()) == {"status": "OK"}
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("server did not answer")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_serve_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "waav.yaml"
    cfg.write_text("gateway:\n  tts_frame_ms: 50\n")
    out = waav("serve", "--config", str(cfg), "--port", "0")
    assert out.returncode == 2
    assert "tts_frame_ms" in out.stderr
    assert "between 10 and 20" in out.stderr
