"""REST endpoints through the real server: /, /health, /plugins, /voices, /speak, /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.gateway._doubles import MS_PER_CHAR, TONE_HZ, Doubles, peak_hz
from tests.gateway.conftest import Client, connect


@pytest.fixture
def gw(make_gateway: Callable[..., Any]) -> Any:
    return make_gateway(Doubles(builtins=True).registry)


async def test_root_health_plugins(gw: Any) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.get("/")
        assert (r.status_code, r.json()) == (200, {"status": "OK"})
        h = (await http.get("/health")).json()
        assert h["status"] == "OK"
        assert h["uptime_seconds"] >= 0
        assert {"rec", "rec-hang"} <= set(h["providers"]["stt"])
        assert "tone" in h["providers"]["tts"]
        assert "openai" in h["providers"]["realtime"]
        assert h["plugins"]["tts:tone"]["state"] in ("registered", "running", "ready")
        assert h["sessions"] == {"ws": 0, "realtime": 0}
        p = (await http.get("/plugins")).json()
        by_key = {i["key"]: i for i in p["plugins"]}
        assert p["count"] == len(p["plugins"])
        assert by_key["stt:deepgram"]["metadata"]["aliases"] is not None
        assert "call_count" in by_key["tts:tone"]
        only = (await http.get("/plugins", params={"kind": "processor"})).json()["plugins"]
        assert {i["id"] for i in only} >= {"noise-gate", "vad"}
        assert (await http.get("/plugins", params={"kind": "bogus"})).status_code == 400


async def test_voices_skip_providers_without_keys(gw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DEEPGRAM_API_KEY", "ELEVENLABS_API_KEY", "CARTESIA_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    async with httpx.AsyncClient(base_url=gw.url) as http:
        v = (await http.get("/voices")).json()
        assert v["tone"] == [
            {
                "id": "tone-a",
                "name": "Tone A",
                "language": "en-US",
                "gender": "female",
                "accent": None,
                "sample": None,
            }
        ]
        assert "deepgram" not in v  # no key: skipped silently, as upstream
        assert set((await http.get("/voices", params={"provider": "tone-boom"})).json()) == {"tone-boom"}


@pytest.mark.parametrize(
    ("body", "rate"),
    [
        ({"text": "hello", "tts_config": {"provider": "tone", "model": "", "sample_rate": 24000}}, 24000),
        ({"text": "hello", "provider": "tone", "voice": "tone-a", "sample_rate": 16000}, 16000),  # the SDK's
        ({"text": "hello", "provider": "tone"}, 24000),
    ],
    ids=["nested", "flat", "flat-defaults"],
)
async def test_speak_both_body_shapes(gw: Any, body: dict[str, Any], rate: int) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/speak", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "audio/pcm"
        assert r.headers["x-audio-format"] == "linear16"
        assert r.headers["x-sample-rate"] == str(rate)
        assert len(r.content) == 2 * rate * 5 * MS_PER_CHAR // 1000
        assert abs(peak_hz(r.content, rate) - TONE_HZ) < 5


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{nope", 400, "Invalid JSON"),
        (b"[]", 400, "JSON object"),
        (b'{"text": "   ", "provider": "tone"}', 400, "Text cannot be empty"),
        (b'{"text": "' + b"a" * 10_241 + b'", "provider": "tone"}', 400, "Text too long"),
        (b'{"provider": "tone"}', 400, "`text` is required"),
        (b'{"text": "hi", "tts_config": {"provider": "tone", "sample_rate": "x"}}', 400, "sample_rate"),
        (b'{"text": "hi", "provider": "nobody"}', 400, "Unknown TTS provider 'nobody'"),
        (b'{"text": "hi", "provider": "deepgram"}', 500, "DEEPGRAM_API_KEY"),
        (b'{"text": "hi", "provider": "tone-boom"}', 500, "vendor said no"),
    ],
    ids=[
        "bad-json",
        "not-object",
        "blank",
        "too-long",
        "no-text",
        "bad-type",
        "unknown",
        "no-key",
        "provider-error",
    ],
)
async def test_speak_errors(
    gw: Any, monkeypatch: pytest.MonkeyPatch, body: bytes, status: int, needle: str
) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    async with httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/speak", content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        assert needle in r.json()["error"]


async def test_speak_default_provider_not_installed(make_gateway: Callable[..., Any]) -> None:
    gw = make_gateway(Doubles().registry)  # a registry without the offline engines
    async with httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/speak", json={"text": "hi"})
    assert r.status_code == 400
    assert "'hibari'" in r.json()["error"]
    assert "waav[local]" in r.json()["error"]


async def test_speak_times_out_on_a_hung_provider(make_gateway: Callable[..., Any]) -> None:
    gw = make_gateway(Doubles().registry, gateway={"provider_timeout_seconds": 0.5})
    async with httpx.AsyncClient(base_url=gw.url, timeout=40) as http:
        r = await http.post("/speak", json={"text": "hi", "provider": "tone-hang"})
        assert r.status_code == 504
        assert r.json() == {"error": "TTS synthesis timeout"}


async def test_metrics_count_sessions_frames_latencies_and_errors(gw: Any) -> None:
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={"provider": "rec", "sample_rate": 16000}, tts_config={"provider": "tone"})
        await c.send(b"\0\0" * 8000)
        await c.expect("stt_result")
        await c.send({"type": "speak", "text": "ab"})
        await c.expect("tts_playback_complete")
        await c.send("{bad")
        await c.error()
        async with httpx.AsyncClient(base_url=gw.url) as http:
            r = await http.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert 'waav_sessions_active{endpoint="ws"} 1' in text
    assert 'waav_sessions_total{endpoint="ws"} 1' in text
    assert 'waav_frames_in_total{endpoint="ws",kind="binary"} 1' in text
    assert 'waav_frames_out_total{endpoint="ws",kind="binary"}' in text
    assert 'waav_errors_total{category="protocol",endpoint="ws"} 1' in text
    assert 'waav_stt_time_to_first_result_seconds_count{provider="rec"} 1' in text
    assert 'waav_tts_time_to_first_audio_seconds_count{provider="tone"} 1' in text
    assert 'waav_tts_time_to_first_audio_seconds_bucket{provider="tone",le="+Inf"} 1' in text
    assert "# TYPE waav_stt_time_to_first_result_seconds histogram" in text
