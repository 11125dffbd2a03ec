"""create_app mounted in a user's Starlette app; the gateway config section; plugin faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from tests.gateway._doubles import Doubles, tone
from tests.gateway.conftest import Client, connect, server_config

from waav import ConfigError
from waav.config import load_config
from waav.gateway import create_app
from waav.plugin import AudioFormat, AudioProcessor
from waav.testing.fakes import AppServer


async def test_mounted_in_a_user_app() -> None:
    d = Doubles()
    gateway = create_app(server_config(), registry=d.registry)

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("user app")

    app = Starlette(routes=[Route("/", home), Mount("/voice", app=gateway)])
    async with AppServer(app) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            assert (await http.get("/")).text == "user app"
            assert (await http.get("/voice/")).json() == {"status": "OK"}
            assert "tone" in (await http.get("/voice/health")).json()["providers"]["tts"]
        async with connect(srv.ws_url + "/voice/ws") as ws:
            c = Client(ws)
            await c.ready(tts_config={"provider": "tone"})
            await c.send({"type": "speak", "text": "hi"})
            await c.expect("tts_playback_complete")
            assert c.audio


def test_gateway_section_from_yaml_and_env(tmp_path: Any) -> None:
    env = {"WAAV_IDLE_TIMEOUT_SECONDS": "30", "WAAV_PROCESSORS": "noise-gate, vad", "WAAV_TTS_FRAME_MS": "10"}
    cfg = load_config(env=env)
    assert cfg.gateway.idle_timeout_seconds == 30.0
    assert cfg.gateway.processors == ["noise-gate", "vad"]
    assert cfg.gateway.tts_frame_ms == 10
    assert (cfg.gateway.default_stt_provider, cfg.gateway.default_tts_provider) == (None, None)  # automatic
    cfg = load_config(env={"WAAV_DEFAULT_STT": "deepgram", "WAAV_DEFAULT_TTS": "hibari"})
    assert (cfg.gateway.default_stt_provider, cfg.gateway.default_tts_provider) == ("deepgram", "hibari")
    path = tmp_path / "waav.yaml"
    path.write_text("gateway:\n  idle_timeout_seconds: 5\n  default_tts_provider: tone\n")
    cfg = load_config(path, env=env)
    assert cfg.gateway.idle_timeout_seconds == 5.0  # YAML > env
    assert cfg.gateway.default_tts_provider == "tone"
    assert cfg.gateway.processors == ["noise-gate", "vad"]
    path.write_text("gateway:\n  tts_frame_ms: 40\n")
    with pytest.raises(ConfigError, match=r"waav.yaml:2: gateway.tts_frame_ms: .*between 10 and 20"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="WAAV_MAX_TEXT_FRAME_BYTES"):
        load_config(env={"WAAV_MAX_TEXT_FRAME_BYTES": "lots"})


def test_tts_continue_timeout_from_env_and_checked() -> None:
    assert load_config(env={}).gateway.tts_continue_timeout_seconds == 10.0
    cfg = load_config(env={"WAAV_TTS_CONTINUE_TIMEOUT_SECONDS": "2.5"})
    assert cfg.gateway.tts_continue_timeout_seconds == 2.5
    with pytest.raises(ConfigError, match=r"tts_continue_timeout_seconds.*must be > 0"):
        load_config(env={"WAAV_TTS_CONTINUE_TIMEOUT_SECONDS": "0"})


async def test_default_providers_come_from_the_config(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry, gateway={"default_stt_provider": "rec", "default_tts_provider": "tone"})
    async with connect(gw.ws_url) as ws:
        await Client(ws).ready(stt_config={"sample_rate": 16000}, tts_config={})
    assert (len(d.stt), len(d.tts)) == (1, 1)


class HangingProcessor(AudioProcessor):
    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        await asyncio.Event().wait()
        return audio


async def test_a_hanging_processor_plugin_only_affects_its_session(make_gateway: Callable[..., Any]) -> None:
    d = Doubles(result_bytes=6400)

    def factory(options: Mapping[str, Any]) -> AudioProcessor:
        return HangingProcessor()

    d.registry.register_audio_processor("stuck", factory)
    gw = make_gateway(d.registry, plugins={"call_timeout": 0.3})
    stt = {"provider": "rec", "sample_rate": 16000}
    async with connect(gw.ws_url) as ws_bad, connect(gw.ws_url) as ws_good:
        bad, good = Client(ws_bad), Client(ws_good)
        await bad.ready(stt_config=stt, processors=["stuck"])
        await good.ready(stt_config=stt, processors=["noise-gate"])
        await bad.send(tone(200, 0.1, 16000))
        await good.send(tone(200, 0.2, 16000))
        err = await bad.error()
        assert err.startswith("Failed to process audio: ")
        assert "'processor:stuck' timed out" in err
        assert (await good.expect("stt_result"))["transcript"] == "utterance 1"
        await bad.alive()


def test_public_names() -> None:
    import waav.gateway

    assert sorted(waav.gateway.__all__) == [
        "GatewayApp",
        "GatewayServer",
        "Metrics",
        "create_app",
        "gateway_state",
    ]
    for name in waav.gateway.__all__:
        assert getattr(waav.gateway, name) is not None


async def test_gateway_server_as_async_context_manager_and_port_zero() -> None:
    from waav.gateway import GatewayServer

    cfg = server_config(server={"host": "127.0.0.1", "port": 0})
    async with GatewayServer(cfg, registry=Doubles().registry) as gw:
        assert gw.port != 0
        assert gw.url == f"http://127.0.0.1:{gw.port}"
        assert gw.ws_url == f"ws://127.0.0.1:{gw.port}/ws"
        assert gw.realtime_url == f"ws://127.0.0.1:{gw.port}/realtime"
        async with httpx.AsyncClient(base_url=gw.url) as http:
            assert (await http.get("/")).json() == {"status": "OK"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(gw.url + "/", timeout=2)  # stopped: the port is closed


async def test_stopping_a_gateway_stops_only_the_plugins_it_started() -> None:
    """A shared registry (the process-wide one, say) is left as the gateway found it: plugins
    someone else started keep running; the ones the gateway started are stopped with it."""
    from waav.gateway import GatewayServer

    doubles = Doubles()
    reg = doubles.registry
    await reg.start_all()  # someone else started these before the gateway came
    reg.register_stt("late", lambda cfg: None)  # registered after: the gateway will start it

    def state(key: str) -> str:
        return next(p.state for p in reg.plugins() if p.key == key)

    cfg = server_config(server={"host": "127.0.0.1", "port": 0})
    async with GatewayServer(cfg, registry=reg) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as http:
            assert (await http.get("/")).json() == {"status": "OK"}
        assert state("stt:late") == "running"
    assert state("stt:late") == "stopped"
    assert state("stt:rec") == "running"
    reg.create_stt("rec")  # still usable
