"""One gateway-level ``/ws`` STT session per remaining transport family, with waav's own
adapters against the vendor fakes: REST (OpenAI, buffered and VAD-flushed), AWS event-stream
(Transcribe, SigV4) and gRPC (Google Speech v2). Credentials come from the server config's
``providers`` section; the base URL from ``plugins.provider_config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tests.gateway.conftest import Client, connect

from waav.plugin import PluginRegistry
from waav.testing.fakes import FakeAWSTranscribe, FakeOpenAISTT

RATE = 16000
STT16 = {"language": "en-US", "sample_rate": RATE, "channels": 1, "punctuation": True, "encoding": "linear16"}
FAST = {"initial_delay_ms": 10, "max_delay_ms": 30, "max_attempts": 2}


def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return reg


def speech(seconds: float, seed: int = 1) -> bytes:
    """A voiced-like signal (150 Hz harmonics, 4 Hz syllable envelope, noise) an energy VAD hears."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    x = 6000 * env * voice / 3 + rng.normal(0, 300, t.size)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


async def send_pcm(c: Client, pcm: bytes) -> None:
    step = RATE // 50 * 2  # 20 ms frames
    for i in range(0, len(pcm), step):
        await c.send(pcm[i : i + step])


async def finals(c: Client, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < n:
        m = await c.expect("stt_result", timeout=timeout)
        assert isinstance(m["transcript"], str)
        if m["is_final"]:
            got.append(m)
    return got


async def test_openai_rest_stt_result_arrives_before_disconnect(make_gateway: Callable[..., Any]) -> None:
    async with FakeOpenAISTT(script=["Hello world.", "Second one."]) as fake:
        gw = make_gateway(
            registry(),
            providers={"openai_api_key": fake.api_key},
            plugins={
                "provider_config": {
                    "openai": {"base_url": fake.base_url, "vad_classifier": "energy", "reconnect": FAST}
                }
            },
        )
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(stt_config={"provider": "openai", "model": "whisper-1", **STT16})
            await send_pcm(c, silence(0.5) + speech(0.8) + silence(0.8))
            (first,) = await finals(c, 1)  # the VAD flushed the utterance: no disconnect needed
            assert (first["transcript"], first["is_speech_final"]) == ("Hello world.", True)
            await send_pcm(c, speech(0.6, seed=2) + silence(0.8))
            (second,) = await finals(c, 1)
            assert second["transcript"] == "Second one."
            assert len(fake.uploads) == 2
        req = fake.requests[0]
        assert req.path == "/v1/audio/transcriptions"
        assert req.headers["authorization"] == f"Bearer {fake.api_key}"
        assert fake.uploads[0].fields["model"] == ["whisper-1"]


async def test_aws_transcribe_event_stream_over_ws(make_gateway: Callable[..., Any]) -> None:
    async with FakeAWSTranscribe(script=["Hello world", "How are you"], bytes_per_result=16000) as fake:
        gw = make_gateway(
            registry(),
            providers={
                "aws_access_key_id": fake.access_key,
                "aws_secret_access_key": fake.secret_key,
                "aws_region": fake.region,
            },
            plugins={"provider_config": {"aws-transcribe": {"base_url": fake.ws_url, "reconnect": FAST}}},
        )
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(stt_config={"provider": "transcribe", **STT16})  # an alias
            await send_pcm(c, speech(1.2))
            got = await finals(c, 2)
            assert [m["transcript"] for m in got] == ["Hello world", "How are you"]
            assert got[0]["confidence"] == pytest.approx(0.9)
        req = fake.requests[0]
        assert req.path == "/stream-transcription-websocket"
        assert req.query["X-Amz-Credential"].startswith(f"{fake.access_key}/")
        assert (req.query["media-encoding"], req.query["sample-rate"]) == ("pcm", "16000")


async def test_google_grpc_stt_over_ws(make_gateway: Callable[..., Any]) -> None:
    pytest.importorskip("grpc", reason="the gRPC fake needs waav[google]")
    from waav.testing.fakes import FakeGoogleSpeech

    # the gRPC fake serves on this test's event loop; the gateway runs on its own thread
    async with FakeGoogleSpeech(script=["hello world", "how are you"], bytes_per_result=16000) as fake:
        gw = make_gateway(
            registry(),
            providers={"google_credentials": fake.api_key},
            plugins={
                "provider_config": {
                    "google": {"base_url": fake.base_url, "project_id": fake.project, "reconnect": FAST}
                }
            },
        )
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(stt_config={"provider": "google", **STT16})
            await send_pcm(c, speech(1.2))
            got = await finals(c, 2)
            assert [m["transcript"] for m in got] == ["hello world", "how are you"]
        call = fake.requests[0]
        assert call.path == "/google.cloud.speech.v2.Speech/StreamingRecognize"
        assert call.headers["x-goog-api-key"] == fake.api_key
