"""The upstream plugin guide's tutorials, as waav plugins, exercised through the registry."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np

import waav.audio as A
from waav.plugin import (
    AudioData,
    AudioFormat,
    PluginConstructor,
    PluginRegistry,
    STTResult,
    TTSConfig,
    WSContext,
    WSResponse,
)
from waav.plugin.capabilities import ASGIApp
from waav.testing.signals import speech_like

from .plugins_for_tests import (
    ClonedVoiceTTS,
    EchoSTTCapability,
    GuideNoiseGateCapability,
    clone_tts_metadata,
    ping_handler,
)


async def test_custom_stt_plugin() -> None:
    reg = PluginRegistry()
    reg.register_capability(EchoSTTCapability())
    stt = reg.create_stt("echo", {"language": "hi-IN"})
    got: list[STTResult] = []
    stt.on_result(got.append)
    await stt.connect()
    assert stt.is_connected
    assert stt.is_ready()
    await stt.send_audio(b"\0" * 640)
    await stt.send_audio(b"\0" * 320)
    await stt.disconnect()
    assert [r.transcript for r in got] == ["chunk 0 of 640 bytes", "chunk 1 of 320 bytes"]
    assert [r.is_speech_final for r in got] == [False, True]
    assert got[0].confidence == 1.0
    assert got[0].language == "hi-IN"
    assert got[0].words is not None
    assert got[0].to_message()["words"] == [{"word": "chunk", "start": 0.0, "end": 0.1, "confidence": None}]
    assert stt.stats.results_count == 2
    assert stt.stats.total_audio_bytes == 960
    assert reg.get_stt_metadata("echo").features == {"streaming", "word-timestamps"}  # type: ignore[union-attr]


async def test_tts_plugin_with_voice_cloning_metadata() -> None:
    reg = PluginRegistry()
    reg.register(PluginConstructor.tts("clone-tts", clone_tts_metadata, ClonedVoiceTTS))
    meta = reg.get_tts_metadata("CLONE-TTS")
    assert meta is not None
    assert "voice-cloning" in meta.features
    assert [
        i.id for i in reg.plugins("tts") if "voice-cloning" in (i.metadata or {}).get("features", [])
    ] == [
        "clone-tts",
        "elevenlabs",
        "hume",
        "lmnt",
    ]
    tts = reg.create_tts("clone-tts", TTSConfig(sample_rate=16000, voice_id=None))
    events: list[Any] = []

    class Sink:
        async def on_audio(self, audio: AudioData) -> None:
            events.append(audio)

        async def on_error(self, error: Exception) -> None:
            events.append(error)

        async def on_complete(self) -> None:
            events.append("complete")

    tts.on_audio(Sink())  # type: ignore[arg-type]
    await tts.connect()
    await tts.speak("hello", flush=False)
    await tts.speak("hi")
    assert events == [
        AudioData(b"\x01\x00" * 5, 16000),
        "complete",
        AudioData(b"\x01\x00" * 2, 16000),
        "complete",
    ]


async def test_noise_gate_processor_plugin_and_builtin_agree() -> None:
    reg = PluginRegistry()
    reg.register_capability(GuideNoiseGateCapability())
    pcm = speech_like(0.2, 16000, seed=3)
    fmt = AudioFormat(sample_rate=16000)
    guide = await reg.create_audio_processor("guide-gate", {"threshold": 0.01}).process(pcm, fmt)
    builtin = await reg.create_audio_processor("Noise_Gate", {"threshold": 0.01}).process(pcm, fmt)
    assert guide == builtin == A.noise_gate(pcm, 0.01)
    assert np.count_nonzero(np.frombuffer(guide, np.int16)) < np.count_nonzero(np.frombuffer(pcm, np.int16))


async def test_ping_pong_ws_handler() -> None:
    reg = PluginRegistry()
    reg.register_ws_handler("ping", ping_handler)
    assert reg.has_ws_handler("PING")
    assert reg.get_ws_message_types() == ["ping"]
    frames = await reg.dispatch_ws("ping", {"n": 1}, WSContext(stream_id="abc", authenticated=True))
    assert len(frames) == 1
    frame = frames[0]
    assert isinstance(frame, dict)
    assert frame["type"] == "plugin_response"
    assert frame["message_type"] == "ping"
    assert frame["payload"]["pong"] is True
    assert frame["payload"]["echo"] == {"n": 1}
    assert frame["payload"]["stream_id"] == "abc"
    assert await reg.dispatch_ws("nope", {}, WSContext()) == [
        {"type": "error", "message": "Unknown custom message type: nope"}
    ]

    async def multi(payload: Any, ctx: WSContext) -> WSResponse:
        return WSResponse.multiple([WSResponse.json(1), WSResponse.binary(b"\x01\x02")])

    reg.register_ws_handler("ping", multi, id="multi")
    frames = await reg.dispatch_ws("ping", None, WSContext())
    assert frames[1:] == [{"type": "plugin_response", "message_type": "ping", "payload": 1}, b"\x01\x02"]
    assert reg.ws_handler_count() == 2


async def test_middleware_plugins_run_in_priority_order() -> None:
    reg = PluginRegistry()
    calls: list[str] = []

    def make(tag: str) -> Any:
        def factory(app: ASGIApp, options: Any) -> ASGIApp:
            async def mw(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
                calls.append(f"{tag}{options.get('suffix', '')}")
                await app(scope, receive, send)

            return mw

        return factory

    reg.register_middleware("late", make("late"), priority=50)
    reg.register_middleware("early", make("early"), priority=-10)
    reg.register_middleware("mid", make("mid"))  # default priority 100 runs last

    def broken(app: ASGIApp, options: Any) -> ASGIApp:
        raise RuntimeError("bad middleware")

    reg.register_middleware("broken", broken, priority=0)
    assert reg.get_middleware_names() == ["early", "broken", "late", "mid"]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append("app")

    stack = reg.build_middleware_stack(app, {"late": {"suffix": "!"}})
    await stack({"type": "http"}, None, None)
    assert calls == ["early", "late!", "mid", "app"]
    assert reg.plugin("middleware:broken").stats["error_count"] == 1
