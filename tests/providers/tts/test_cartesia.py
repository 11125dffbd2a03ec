"""Cartesia Sonic TTS adapter (/tts/bytes + WebSocket contexts) against FakeCartesiaTTS."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import waav
from waav.providers.base import EmotionConfig
from waav.providers.tts.cartesia import CartesiaTTS
from waav.testing.fakes import FakeCartesiaTTS, Faults, synth_pcm16

from . import _contract as C

# --- REST ----------------------------------------------------------------------------------


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(CartesiaTTS, FakeCartesiaTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(CartesiaTTS, FakeCartesiaTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(CartesiaTTS, FakeCartesiaTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(CartesiaTTS, FakeCartesiaTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("cartesia", "CARTESIA_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("cartesia", "CARTESIA_API_KEY", FakeCartesiaTTS, monkeypatch)


async def test_rest_request_shape_and_emotion() -> None:
    async with FakeCartesiaTTS() as fake:
        emo = EmotionConfig(emotion="fearful")
        tts, col = await C.session(
            CartesiaTTS,
            fake,
            voice_id="a0e99841-438c-4a64-b679-ae501e7d6091",
            emotion_config=emo,
            speaking_rate=0.5,
            options={"volume": 1.5, "language": "de"},
        )
        await tts.speak("hallo")
        await col.wait_done()
        assert not col.errors, col.errors
        req = fake.requests[0]
        assert req.path == "/tts/bytes"
        assert req.headers["authorization"] == "Bearer test-key"
        assert req.headers["cartesia-version"] == "2025-04-16"
        assert json.loads(req.body) == {
            "model_id": "sonic-3",
            "voice": {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
            "language": "de",
            "generation_config": {"speed": 0.6, "volume": 1.5, "emotion": "scared"},
            "transcript": "hallo",
        }
        await tts.disconnect()


@pytest.mark.parametrize(
    ("fmt", "rate", "encoding"),
    [("mulaw", 8000, "pcm_mulaw"), ("alaw", 16000, "pcm_alaw"), ("float32", 44100, "pcm_f32le")],
)
async def test_client_formats_are_requested_natively(fmt: str, rate: int, encoding: str) -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake, audio_format=fmt, sample_rate=rate)
        await tts.speak("native")
        await col.wait_done()
        assert json.loads(fake.requests[0].body)["output_format"] == {
            "container": "raw", "encoding": encoding, "sample_rate": rate,
        }  # fmt: skip
        pcm = synth_pcm16("native", rate)
        expected = {
            "mulaw": waav.audio.ulaw_encode,
            "alaw": waav.audio.alaw_encode,
            "float32": lambda p: waav.audio.int16_to_float32(p).tobytes(),
        }[fmt](pcm)
        assert col.data == expected
        await tts.disconnect()


async def test_unsupported_rate_is_resampled() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake, sample_rate=32000)
        await tts.speak("r" * 20)
        await col.wait_done()
        assert not col.errors, col.errors
        assert json.loads(fake.requests[0].body)["output_format"]["sample_rate"] == 44100
        out = np.frombuffer(col.data, "<i2")
        assert abs(len(out) - 6400) <= 8
        assert np.all(np.abs(out[len(out) // 4 : 3 * len(out) // 4].astype(int) - ord("r")) <= 2)
        await tts.disconnect()


async def test_list_voices_follows_pages() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, _ = await C.session(CartesiaTTS, fake)
        voices = await tts.list_voices()
        assert [v.name for v in voices] == ["Tessa", "Barbershop Man"]
        assert fake.requests[-1].query == {
            "limit": "100",
            "starting_after": "6ccbfb76-1fc6-48f7-b71d-91ac6298247b",
        }
        await tts.disconnect()


# --- WebSocket contexts --------------------------------------------------------------------


def ws_messages(fake: FakeCartesiaTTS) -> list[dict]:
    return [m for r in fake.requests if r.path == "/tts/websocket" for m in r.json_messages()]


async def test_ws_incremental_text_uses_one_context_with_continuations() -> None:
    async with FakeCartesiaTTS(chunk_delay=0.005) as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        await tts.speak("Hello from ", flush=False)
        await col.wait_for(lambda c: len(c.audio) > 0)  # audio while the utterance is open
        assert col.completions == 0
        await tts.speak("Sonic.", flush=True)
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col) == "Hello from Sonic."
        msgs = ws_messages(fake)
        assert [(m["transcript"], m["continue"]) for m in msgs] == [
            ("Hello from ", True), ("Sonic.", True), ("", False),
        ]  # fmt: skip
        assert len({m["context_id"] for m in msgs}) == 1
        assert msgs[0]["voice"] == {"mode": "id", "id": "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"}
        rec = next(r for r in fake.requests if r.path == "/tts/websocket")
        assert rec.query == {"cartesia_version": "2025-04-16"}
        assert rec.headers["authorization"] == "Bearer test-key"
        await tts.disconnect()


async def test_ws_socket_is_reused_with_a_new_context_per_utterance() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        for word in ("one ", "two "):
            await tts.speak(word, flush=False)
            await tts.flush()
        await col.wait_done(2)
        assert C.spoken(col) == "one two "
        assert fake.ws_sessions == 1
        assert len({m["context_id"] for m in ws_messages(fake)}) == 2
        await tts.disconnect()


async def test_ws_clear_cancels_the_context_and_keeps_the_socket() -> None:
    async with FakeCartesiaTTS(chunk_delay=0.03, chunk_bytes=480) as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        await tts.speak("x" * 60 + " ", flush=False)
        await col.wait_for(lambda c: len(c.audio) >= 2)
        await tts.clear()
        n = len(col.audio)
        await C.until(lambda: fake.aborted == 1)
        cancel = ws_messages(fake)[-1]
        assert cancel == {"context_id": ws_messages(fake)[0]["context_id"], "cancel": True}
        await asyncio.sleep(0.15)
        assert len(col.audio) == n
        assert col.completions == 0
        assert not col.errors
        await tts.speak("after ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert C.spoken(col).endswith("after ")
        assert fake.ws_sessions == 1
        await tts.disconnect()


async def test_ws_reopens_a_socket_closed_for_idleness() -> None:
    async with FakeCartesiaTTS(faults=Faults(idle_close_after=0.15)) as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        await tts.speak("first ", flush=False)
        await tts.flush()
        await col.wait_done()
        await asyncio.sleep(0.4)  # Cartesia closes the idle socket (1001)
        await tts.speak("second ", flush=False)
        await tts.flush()
        await col.wait_done(2)
        assert not col.errors, col.errors
        assert C.spoken(col) == "first second "
        assert fake.ws_sessions == 2
        await tts.disconnect()


async def test_ws_vendor_error_message_fails_the_utterance() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        tts._generation_config = lambda: {"volume": 9}  # out of range: the vendor rejects it
        await tts.speak("bad ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderError
        assert "volume" in str(col.errors[0])
        await tts.disconnect()


async def test_ws_auth_rejected() -> None:
    async with FakeCartesiaTTS(faults=Faults(reject_auth=True)) as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        await tts.speak("hi ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderAuthError
        await tts.disconnect()


async def test_ws_mid_stream_drop_is_a_connection_error() -> None:
    async with FakeCartesiaTTS(faults=Faults(drop_after=1), chunk_bytes=480) as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        await tts.speak("dropped words here ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderConnectionError
        await tts.disconnect()
