"""Cartesia Sonic TTS adapter (/tts/bytes + WebSocket contexts) against FakeCartesiaTTS."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import waav
from waav.providers.base import EmotionConfig
from waav.providers.tts.cartesia import CartesiaTTS
from waav.testing.fakes import AudioCollector, FakeCartesiaTTS, Faults, synth_pcm16

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


# --- context expiry (Cartesia expires a context ~1 s after its last audio output) -----------


def pieces_by_context(fake: FakeCartesiaTTS) -> list[tuple[str, str, bool]]:
    """(context_id, transcript, continue) of every generation request, in order."""
    return [(m["context_id"], m["transcript"], m["continue"]) for m in ws_messages(fake) if "transcript" in m]


def contexts(fake: FakeCartesiaTTS) -> list[str]:
    return list(dict.fromkeys(c for c, _, _ in pieces_by_context(fake)))


async def pause_mid_utterance(fake: FakeCartesiaTTS, pause: float, **options: object) -> AudioCollector:
    tts, col = await C.session(CartesiaTTS, fake, options=options)
    await tts.speak("Hello there ", flush=False)
    await col.wait_for(lambda c: len(c.audio) > 0)
    await asyncio.sleep(pause)  # the LLM is busy with a tool call
    await tts.speak("and welcome ", flush=False)
    await tts.speak("back.", flush=True)
    await col.wait_done()
    await asyncio.sleep(0.1)  # a second completion would show up here
    await tts.disconnect()
    return col


async def test_ws_pause_longer_than_the_documented_expiry_continues_on_a_fresh_context() -> None:
    async with FakeCartesiaTTS() as fake:  # the documented 1 s expiry, the default 0.8 s limit
        col = await pause_mid_utterance(fake, 1.2)
        assert not col.errors, col.errors
        assert C.spoken(col) == "Hello there and welcome back."
        assert col.completions == 1
        first, second = contexts(fake)
        assert pieces_by_context(fake) == [
            (first, "Hello there ", True), (first, "", False),
            (second, "and welcome ", True), (second, "back.", True), (second, "", False),
        ]  # fmt: skip
        assert fake.expired == 1  # the first context had expired; its end got the error reply


async def test_ws_idle_context_is_ended_before_it_expires() -> None:
    async with FakeCartesiaTTS() as fake:  # expiry 1 s; move on after 0.2 s of silence
        col = await pause_mid_utterance(fake, 0.4, context_max_idle=0.2)
        assert not col.errors, col.errors
        assert C.spoken(col) == "Hello there and welcome back."
        assert col.completions == 1
        assert len(contexts(fake)) == 2
        assert fake.expired == 0  # ended politely (done), never rejected
        assert fake.completed == 2


async def test_ws_expiry_error_resends_the_piece_on_a_fresh_context() -> None:
    # the vendor expires sooner than the adapter's limit: the rejected piece is retried
    async with FakeCartesiaTTS(context_expiry=0.2) as fake:
        col = await pause_mid_utterance(fake, 0.5, context_max_idle=30)
        assert not col.errors, col.errors
        assert C.spoken(col) == "Hello there and welcome back."
        assert col.completions == 1
        first, second = contexts(fake)
        sent = pieces_by_context(fake)
        assert sent[:2] == [(first, "Hello there ", True), (first, "and welcome ", True)]
        # every piece the expired context rejected went out again, in order, on the fresh one
        assert [(t, more) for c, t, more in sent if c == second] == [
            ("and welcome ", True), ("back.", True), ("", False),
        ]  # fmt: skip
        assert fake.expired == 1


async def test_ws_expiry_before_the_end_of_input_completes_once() -> None:
    async with FakeCartesiaTTS(context_expiry=0.2) as fake:
        tts, col = await C.session(CartesiaTTS, fake, options={"context_max_idle": 30})
        await tts.speak("All said. ", flush=False)
        await col.wait_for(lambda c: len(c.audio) > 0)
        await asyncio.sleep(0.5)
        await tts.flush()  # nothing left to voice: the rejected end still completes the utterance
        await col.wait_done()
        await tts.speak("Next one.", flush=False)
        await tts.flush()
        await col.wait_done(2)
        await asyncio.sleep(0.1)
        assert not col.errors, col.errors
        assert col.completions == 2
        assert C.spoken(col) == "All said. Next one."
        await tts.disconnect()


async def test_ws_short_pauses_stay_on_one_context() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        for piece in ("One ", "two ", "three ", "four."):
            await tts.speak(piece, flush=False)
            await asyncio.sleep(0.15)
        await tts.flush()
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col) == "One two three four."
        assert col.completions == 1
        assert len(contexts(fake)) == 1
        assert fake.expired == 0
        await tts.disconnect()


async def test_ws_a_real_error_on_a_fresh_context_is_not_retried() -> None:
    async with FakeCartesiaTTS() as fake:
        tts, col = await C.session(CartesiaTTS, fake)
        tts._generation_config = lambda: {"speed": 3}  # the vendor rejects it before any audio
        await tts.speak("bad ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderError
        assert len(contexts(fake)) == 1
        await tts.disconnect()


@pytest.mark.parametrize("value", [-1, "soon", 61])
async def test_bad_context_max_idle_is_a_config_error(value: object) -> None:
    async with FakeCartesiaTTS() as fake:
        with pytest.raises(waav.ConfigError, match="context_max_idle"):
            await C.session(CartesiaTTS, fake, options={"context_max_idle": value})


async def test_fake_rejects_input_on_an_expired_context_with_the_error_event_shape() -> None:
    from websockets.asyncio.client import connect

    async with FakeCartesiaTTS(context_expiry=0.1) as fake:
        url = fake.base_url.replace("http://", "ws://") + "/tts/websocket?cartesia_version=2025-04-16"
        async with connect(url, additional_headers={"Authorization": "Bearer test-key"}) as ws:
            req = {
                "model_id": "sonic-3", "voice": {"mode": "id", "id": "v"}, "context_id": "c1",
                "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
            }  # fmt: skip
            await ws.send(json.dumps({**req, "transcript": "hi ", "continue": True}))
            first = json.loads(await ws.recv())
            assert first["type"] == "chunk"
            await asyncio.sleep(0.3)
            await ws.send(json.dumps({**req, "transcript": "more ", "continue": True}))
            while (msg := json.loads(await ws.recv()))["type"] == "chunk":
                pass
            assert msg["type"] == "error"
            assert msg["done"] is True
            assert msg["status_code"] == 400
            assert msg["context_id"] == "c1"
            assert {"error_code", "title", "message", "request_id"} <= msg.keys()
        assert fake.expired == 1
