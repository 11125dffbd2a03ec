"""``waav demo``: a sentence spoken and heard back through a real gateway's ``/ws``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from waav import _demo, cli
from waav.config import ServerConfig, ServerSection
from waav.gateway import GatewayServer
from waav.plugin import PluginRegistry

SENTENCE = "Please call me back when you get home."


def waav(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("waav") or ""
    cmd = [exe, *args] if exe else [sys.executable, "-m", "waav", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=110)


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayServer]:
    registry = PluginRegistry()  # its own: stopping it leaves the process-wide registry alone
    registry.discover()
    gw = GatewayServer(
        ServerConfig(server=ServerSection(host="127.0.0.1", port=0)), registry=registry
    ).start()
    yield gw
    gw.stop()


def test_demo_json_starts_its_own_gateway_and_hears_the_sentence() -> None:
    run = waav("demo", "--json", "--text", SENTENCE)
    assert run.returncode == 0, run.stderr
    r = json.loads(run.stdout)
    assert _demo.normalise(r["transcript"]) == _demo.normalise(SENTENCE)
    assert r["match"] is True
    assert r["url"].startswith("ws://127.0.0.1:")
    assert (r["stt_provider"], r["tts_provider"]) == ("whisper", "hibari")
    assert 1.5 < r["audio_s"] < 5
    # plausible, not fast: this machine is shared, the targets are checked by the benchmark
    assert 0 < r["time_to_first_audio_s"] < 2
    assert 0.3 < r["final_latency_s"] < 5  # the VAD alone waits 300 ms of silence
    assert r["tts_rtf"] > 1
    assert r["stt_rtf"] > 1
    assert run.stderr == ""  # not a terminal: no progress


def test_demo_url_uses_a_running_gateway_and_prints_readable_results(
    gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.main(["demo", "--url", gateway.ws_url, "--text", SENTENCE]) == 0
    out, err = capsys.readouterr()
    assert f"heard (whisper): {SENTENCE}" in out
    assert "matches the text" in out
    assert gateway.ws_url in out
    for label in ("time to first audio", "end of speech -> final transcript", "TTS real-time factor"):
        assert label in out
    assert f"connecting to {gateway.ws_url}" in err  # progress on the terminal, not on stdout
    assert "streaming the audio back in real time [" in err
    # the demo's sessions went through this gateway
    assert gateway.state.metrics.get("waav_sessions_total", endpoint="ws") >= 1


def test_demo_errors_are_readable(
    gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert cli.main(["demo", "--url", f"ws://127.0.0.1:{port}/ws"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("waav: error: cannot reach the gateway at ws://127.0.0.1:")
    assert "waav serve" in err

    # the gateway refuses the session: its error is shown, and the command fails
    assert cli.main(["demo", "--url", gateway.ws_url, "--stt", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "refused the session" in err
    assert "nosuch" in err

    # without the local extra the in-process demo says what to install, before starting anything
    monkeypatch.setattr(_demo, "local_engine_installed", lambda kind: False)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "waav[local]"' in err
    assert "Traceback" not in err
