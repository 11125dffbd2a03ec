"""Gateway-level sessions with waav's own adapters against the vendor fakes, one per transport
family not covered by test_vendors.py: ``/ws`` STT over REST (OpenAI, buffered and VAD-flushed),
AWS event-stream (Transcribe, SigV4) and gRPC (Google Speech v2); TTS from a streaming vendor
(Cartesia) over ``/speak`` and ``/ws`` with pacing and barge-in; the latency histograms on
``/metrics``; a vendor drop on ``/realtime``. Credentials come from the server config's
``providers`` section, base URLs (and reconnect settings) from ``plugins.provider_config``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from tests.gateway.conftest import Client, connect

from waav.plugin import PluginRegistry
from waav.testing.fakes import (
    FakeAWSTranscribe,
    FakeCartesiaTTS,
    FakeHumeEVI,
    FakeOpenAIRealtime,
    FakeOpenAISTT,
    Faults,
    Reply,
    decode_levels,
)

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


async def test_aws_transcribe_event_stream_over_ws(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeAWSTranscribe(script=["Hello world", "How are you"], bytes_per_result=16000) as fake:
        gw = make_gateway(
            registry(),
            providers={
                "aws_access_key_id": fake.access_key,
                "aws_secret_access_key": fake.secret_key,
                "aws_region": fake.region,
            },
            plugins={"provider_config": {"aws-transcribe": {"reconnect": FAST}}},
        )
        monkeypatch.setenv("WAAV_AWS_TRANSCRIBE_BASE_URL", fake.ws_url)  # the base URL from the env
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


# --- TTS: a streaming vendor -------------------------------------------------------------
CARTESIA_VOICE = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"


def cartesia_gateway(make_gateway: Callable[..., Any], fake: FakeCartesiaTTS) -> Any:
    return make_gateway(
        registry(),
        providers={"cartesia_api_key": fake.api_key},
        plugins={"provider_config": {"cartesia": {"base_url": fake.base_url}}},
    )


async def eventually(pred: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait for what the fake records (it runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_cartesia_speak_endpoint(make_gateway: Callable[..., Any]) -> None:
    async with FakeCartesiaTTS(chunk_delay=0.005) as fake:
        gw = cartesia_gateway(make_gateway, fake)
        async with httpx.AsyncClient(base_url=gw.url) as http:
            r = await http.post(
                "/speak",
                json={"text": "Hi there", "tts_config": {"provider": "cartesia", "voice_id": CARTESIA_VOICE,
                                                         "sample_rate": 16000}},
            )  # fmt: skip
        assert r.status_code == 200, r.text
        assert (r.headers["content-type"], r.headers["x-sample-rate"]) == ("audio/pcm", "16000")
        assert decode_levels(r.content, 16000) == "Hi there"
        assert fake.requests[-1].path == "/tts/bytes"
        assert fake.completed == 1


async def test_cartesia_ws_paced_frames_completion_and_clear(make_gateway: Callable[..., Any]) -> None:
    rate, frame = 16000, 16000 * 20 // 1000 * 2  # 20 ms frames of PCM16
    # the vendor streams faster than real time but not instantly: a long request is still in
    # flight when the client barges in
    async with FakeCartesiaTTS(chunk_bytes=960, chunk_delay=0.01) as fake:
        gw = cartesia_gateway(make_gateway, fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(
                tts_config={"provider": "cartesia", "voice_id": CARTESIA_VOICE, "sample_rate": rate}
            )
            text = "abcdefghij" * 6  # 600 ms of audio
            t0 = time.monotonic()
            await c.send({"type": "speak", "text": text})
            await c.expect("tts_playback_complete", timeout=10)
            took = time.monotonic() - t0
            pcm = b"".join(c.audio)
            assert decode_levels(pcm, rate) == text
            assert {len(f) for f in c.audio[:-1]} == {frame}
            assert took >= 0.6 - 3 * 0.02  # real time, a couple of frames ahead at most
            assert fake.completed == 1
            # barge-in: a 4 s utterance, cleared after a few frames
            c.audio.clear()
            await c.send({"type": "speak", "text": "L" * 400})
            while len(c.audio) < 5:
                m = await c.recv()
                assert isinstance(m, bytes), m
                c.audio.append(m)
            assert fake.completed == 1  # the vendor is still streaming this one
            await c.send({"type": "clear"})
            late = 0
            while True:
                try:
                    m = await c.recv(timeout=0.5)
                except asyncio.TimeoutError:
                    break
                assert isinstance(m, bytes), m  # no tts_playback_complete for cleared audio
                late += 1
            assert late <= 3
            await eventually(lambda: fake.aborted == 1)  # the vendor request was cancelled
            assert fake.completed == 1
            # the session goes on
            c.audio.clear()
            await c.send({"type": "speak", "text": "ok"})
            await c.expect("tts_playback_complete")
            assert decode_levels(b"".join(c.audio), rate) == "ok"


# --- time to first audio / first result on /metrics -------------------------------------
def histogram(text: str, name: str, provider: str) -> tuple[int, float]:
    """(count, sum) of one provider's series of a histogram in /metrics text (0, 0 if absent)."""
    count, total = 0, 0.0
    for line in text.splitlines():
        if line.startswith(f'{name}_count{{provider="{provider}"}} '):
            count = int(line.rsplit(" ", 1)[1])
        elif line.startswith(f'{name}_sum{{provider="{provider}"}} '):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


async def test_time_to_first_audio_and_first_result_are_exported(make_gateway: Callable[..., Any]) -> None:
    ttfa, ttfr = "waav_tts_time_to_first_audio_seconds", "waav_stt_time_to_first_result_seconds"
    slow = Faults(first_result_delay=0.2)  # the vendor's first byte comes 200 ms late
    async with (
        FakeCartesiaTTS(faults=slow) as tts_fake,
        FakeAWSTranscribe(bytes_per_result=16000) as stt_fake,
    ):
        gw = make_gateway(
            registry(),
            providers={
                "cartesia_api_key": tts_fake.api_key,
                "aws_access_key_id": stt_fake.access_key,
                "aws_secret_access_key": stt_fake.secret_key,
            },
            plugins={
                "provider_config": {
                    "cartesia": {"base_url": tts_fake.base_url},
                    "aws-transcribe": {"base_url": stt_fake.ws_url},
                }
            },
        )
        async with httpx.AsyncClient(base_url=gw.url) as http:

            async def metrics() -> str:
                r = await http.get("/metrics")
                assert r.status_code == 200
                return r.text

            assert histogram(await metrics(), ttfa, "cartesia") == (0, 0.0)
            r = await http.post(
                "/speak", json={"text": "hi", "provider": "cartesia", "voice_id": CARTESIA_VOICE}
            )
            assert r.status_code == 200, r.text
            n, total = histogram(await metrics(), ttfa, "cartesia")
            assert n == 1
            assert 0.2 <= total < 5.0
            async with connect(gw.ws_url) as ws:
                c = Client(ws)
                await c.ready(
                    tts_config={"provider": "cartesia", "voice_id": CARTESIA_VOICE},
                    stt_config={"provider": "aws-transcribe", **STT16},
                )
                await c.send({"type": "speak", "text": "yo"})
                await c.expect("tts_playback_complete")
                n, total = histogram(await metrics(), ttfa, "cartesia")
                assert n == 2
                assert 0.4 <= total < 10.0
                assert histogram(await metrics(), ttfr, "aws-transcribe")[0] == 0
                await send_pcm(c, speech(0.5))
                (m,) = await finals(c, 1)
                assert m["transcript"] == "hello world"
                n, total = histogram(await metrics(), ttfr, "aws-transcribe")
                assert n == 1
                assert 0 < total < 5.0


# --- /realtime: a vendor drop mid-session ------------------------------------------------
FAST_RECONNECT = {"initial_delay_ms": 20, "max_delay_ms": 100, "max_attempts": 3, "jitter": False}


def realtime_gateway(make_gateway: Callable[..., Any], provider: str, fake: Any) -> Any:
    section = {"base_url": fake.base_url, "options": {"connect_timeout": 3}, "reconnection": FAST_RECONNECT}
    return make_gateway(
        registry(),
        providers={f"{provider}_api_key": fake.api_key},
        plugins={"provider_config": {provider: section}},
    )


async def realtime_session(c: Client, provider: str) -> None:
    await c.send({"type": "config", "provider": provider, "instructions": "stay"})
    await c.expect("session_created")


def settings_instructions(provider: str, session: Any) -> str | None:
    """The instructions the fake got on one connection (each vendor's own settings message)."""
    if provider == "openai":
        updates = session.events_of("session.update")
        return updates[0]["session"]["instructions"] if updates else None
    return session.settings.get("system_prompt") if session.settings else None


@pytest.mark.parametrize("provider", ["openai", "hume"])
async def test_realtime_vendor_drop_reconnects_and_the_client_is_told(
    make_gateway: Callable[..., Any], provider: str
) -> None:
    fake_cls: Any = FakeOpenAIRealtime if provider == "openai" else FakeHumeEVI
    replies = [Reply("a b c d e f."), Reply("after the drop.")]
    async with fake_cls(faults=Faults(drop_after=2), replies=replies) as fake:
        gw = realtime_gateway(make_gateway, provider, fake)
        async with connect(gw.realtime_url) as ws:
            c = Client(ws)
            await realtime_session(c, provider)
            await c.send({"type": "text", "text": "first"})
            event = await c.expect("reconnection", timeout=10)  # the vendor dropped mid-response
            assert event == {"type": "reconnection", "attempt": 1, "success": True, "error": None}
            assert len(fake.sessions) == 2
            # the settings were sent again on the new connection, and the session goes on
            await eventually(lambda: settings_instructions(provider, fake.sessions[1]) == "stay")
            await c.send({"type": "text", "text": "second"})
            while True:
                m = await c.expect("transcript", timeout=10)
                if m["role"] == "assistant" and m["is_final"]:
                    break
            assert m["text"] == "after the drop."
            await c.expect("response_done")
            assert not [m for m in c.seen if m.get("type") == "error"]


async def test_realtime_failed_reconnect_reaches_the_client_as_an_error(
    make_gateway: Callable[..., Any],
) -> None:
    async with FakeOpenAIRealtime(faults=Faults(drop_after=1), replies=[Reply("a b c")]) as fake:
        gw = realtime_gateway(make_gateway, "openai", fake)
        async with connect(gw.realtime_url) as ws:
            c = Client(ws)
            await realtime_session(c, "openai")
            fake.faults.reject_auth = True  # the key was revoked: the reconnect is refused, not retried
            await c.send({"type": "text", "text": "go"})
            event = await c.expect("reconnection", timeout=10)
            assert (event["attempt"], event["success"]) == (1, False)
            assert event["error"]
            err = await c.expect("error", timeout=10)
            assert err["code"] == "provider_error"
            await c.send({"type": "create_response"})
            err = await c.expect("error", timeout=10)  # the session is still open and says why
            assert err["code"] == "response_error"
