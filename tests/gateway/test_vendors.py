"""One gateway-level test per transport family with waav's own adapters against the vendor fakes:
STT over WebSocket (Deepgram), TTS over HTTP (``/speak`` with Deepgram, a ``/ws`` session with OpenAI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.gateway._doubles import tone
from tests.gateway.conftest import Client, connect

from waav.plugin import PluginRegistry
from waav.testing.fakes import FakeDeepgram, FakeDeepgramTTS, FakeOpenAITTS, decode_levels


def vendor_gateway(make_gateway: Callable[..., Any], provider: str, base_url: str) -> Any:
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return make_gateway(
        reg,
        providers={f"{provider}_api_key": "test-key"},
        plugins={"provider_config": {provider: {"base_url": base_url}}},
    )


async def test_deepgram_stt_over_ws(make_gateway: Callable[..., Any]) -> None:
    async with FakeDeepgram(script=["hello world", "second turn"], bytes_per_result=16000) as fake:
        gw = vendor_gateway(make_gateway, "deepgram", fake.ws_url)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(
                stt_config={
                    "provider": "deepgram",
                    "language": "en-US",
                    "sample_rate": 48000,
                    "channels": 1,
                    "punctuation": True,
                    "encoding": "linear16",
                    "model": "nova-3",
                }
            )
            pcm = tone(440, 1.2, 48000)
            for i in range(0, len(pcm), 1920):
                await c.send(pcm[i : i + 1920])
            finals = []
            while len(finals) < 2:
                m = await c.expect("stt_result", timeout=10)
                if m["is_final"]:
                    finals.append(m["transcript"])
            assert finals == ["hello world", "second turn"]
        req = fake.requests[0]
        assert req.headers["authorization"] == "Token test-key"
        assert req.query["sample_rate"] == "16000"  # resampled by the gateway
        assert req.query["encoding"] == "linear16"


async def test_a_session_naming_no_provider_gets_the_cloud_one_with_credentials(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("WAAV_DEFAULT_STT", "WAAV_DEFAULT_TTS"):
        monkeypatch.delenv(var, raising=False)
    async with FakeDeepgram(script=["automatic"], bytes_per_result=3200) as fake:
        reg = PluginRegistry()
        reg.discover(third_party=False)
        gw = make_gateway(
            reg,
            gateway={"default_stt_provider": None},  # automatic, as shipped
            providers={"deepgram_api_key": "test-key"},
            plugins={"provider_config": {"deepgram": {"base_url": fake.ws_url}}},
        )
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(stt_config={"sample_rate": 16000})
            await c.send(tone(440, 0.2, 16000))
            while not (m := await c.expect("stt_result", timeout=10))["is_final"]:
                pass
            assert m["transcript"] == "automatic"


async def test_deepgram_tts_speak_endpoint(make_gateway: Callable[..., Any]) -> None:
    async with FakeDeepgramTTS() as fake:
        gw = vendor_gateway(make_gateway, "deepgram", fake.base_url)
        async with httpx.AsyncClient(base_url=gw.url) as http:
            r = await http.post(
                "/speak",
                json={
                    "text": "Hi there",
                    "tts_config": {"provider": "deepgram", "model": "aura-2-thalia-en", "sample_rate": 24000},
                },
            )
        assert r.status_code == 200, r.text
        assert (r.headers["content-type"], r.headers["x-sample-rate"]) == ("audio/pcm", "24000")
        assert decode_levels(r.content, 24000) == "Hi there"
        assert fake.requests[-1].headers["authorization"] == "Token test-key"


async def test_openai_tts_ws_session(make_gateway: Callable[..., Any]) -> None:
    async with FakeOpenAITTS() as fake:
        gw = vendor_gateway(make_gateway, "openai", fake.base_url)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config={"provider": "openai", "model": "tts-1", "voice_id": "alloy"})
            await c.send({"type": "speak", "text": "one", "flush": False})
            await c.send({"type": "speak", "text": "two", "flush": False})
            await c.expect("tts_playback_complete")
            first = b"".join(c.audio)
            c.audio.clear()
            await c.expect("tts_playback_complete")
            second = b"".join(c.audio)
        assert decode_levels(first, 24000) == "one"
        assert decode_levels(second, 24000) == "two"
        assert {len(f) for f in c.audio[:-1]} <= {960}
        assert fake.requests[0].headers["authorization"] == "Bearer test-key"
