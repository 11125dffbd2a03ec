"""The /ws speak queue on its own, with the ordering made deterministic: messages handled
back to back (as when they arrive in one read) before the synthesis task gets a turn."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.gateway._doubles import MS_PER_CHAR, ToneTTS

from waav.gateway.metrics import Metrics
from waav.gateway.ws.tts import TTSOutput
from waav.plugin._provider_config import TTSConfig


class RecordingConn:
    """What TTSOutput needs of a Connection: it records what would go to the client."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.completed = asyncio.Event()

    async def send(self, message: Any) -> None:
        self.sent.append(message)
        if isinstance(message, dict) and message.get("type") == "tts_playback_complete":
            self.completed.set()

    async def error(self, message: str, category: str) -> None:
        self.sent.append({"type": "error", "message": message})


async def test_an_item_queued_while_idle_is_not_dropped_by_a_flush_right_behind_it() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = TTSOutput(
        conn,  # type: ignore[arg-type]
        tts,
        audio_format="linear16",
        sample_rate=24000,
        frame_ms=20,
        timeout=10.0,
        metrics=Metrics(),
    )
    try:
        # no await between them: the synth task has not run when the flush arrives
        out.speak("A" * 5, flush=False, allow_interruption=True)
        out.speak("B" * 5, flush=False, allow_interruption=True)
        out.speak("C" * 5, flush=True, allow_interruption=True)
        while sum(isinstance(m, dict) and m["type"] == "tts_playback_complete" for m in conn.sent) < 2:
            conn.completed.clear()
            await asyncio.wait_for(conn.completed.wait(), 5)
        assert tts.spoken == ["A" * 5, "C" * 5]  # A had started; only B was waiting
        audio = b"".join(m for m in conn.sent if isinstance(m, bytes))
        assert len(audio) == 2 * 2 * 24000 * 5 * MS_PER_CHAR // 1000
    finally:
        await out.close()


async def test_a_clear_before_the_provider_was_asked_skips_the_item() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = TTSOutput(
        conn,  # type: ignore[arg-type]
        tts,
        audio_format="linear16",
        sample_rate=24000,
        frame_ms=20,
        timeout=10.0,
        metrics=Metrics(),
    )
    try:
        out.speak("x" * 5, flush=False, allow_interruption=True)
        assert await out.clear()
        out.speak("y" * 5, flush=False, allow_interruption=True)
        await asyncio.wait_for(conn.completed.wait(), 5)
        assert tts.spoken == ["y" * 5]
    finally:
        await out.close()


def output(tts: ToneTTS, conn: RecordingConn, *, continue_timeout: float = 10.0) -> TTSOutput:
    return TTSOutput(
        conn,  # type: ignore[arg-type]
        tts,
        audio_format="linear16",
        sample_rate=24000,
        frame_ms=20,
        timeout=10.0,
        metrics=Metrics(),
        continue_timeout=continue_timeout,
    )


def completions(conn: RecordingConn) -> int:
    return sum(isinstance(m, dict) and m["type"] == "tts_playback_complete" for m in conn.sent)


def errors(conn: RecordingConn) -> list[str]:
    return [m["message"] for m in conn.sent if isinstance(m, dict) and m["type"] == "error"]


async def settle(seconds: float = 0.1) -> None:
    await asyncio.sleep(seconds)


async def test_pieces_go_out_at_sentence_ends_and_complete_once() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn)
    try:
        out.speak("One. Tw", flush=True, allow_interruption=True, more=True)
        await settle()
        assert tts.spoken == ["One. "]  # the unfinished sentence waits
        out.speak("o! Three", flush=True, allow_interruption=True, more=True)  # flush: no effect now
        await settle()
        assert tts.spoken == ["One. ", "Two! "]
        out.speak(" four", flush=False, allow_interruption=True, more=False)
        await asyncio.wait_for(conn.completed.wait(), 5)
        await settle(0.3)
        assert tts.spoken == ["One. ", "Two! ", "Three four"]
        assert completions(conn) == 1
        assert not errors(conn)
        audio = b"".join(m for m in conn.sent if isinstance(m, bytes))
        assert len(audio) == 2 * 24000 * len("One. Two! Three four") * MS_PER_CHAR // 1000
    finally:
        await out.close()


async def test_a_long_unpunctuated_piece_is_cut_at_a_space() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn)
    try:
        words = "word " * 100  # 500 characters, no sentence end
        out.speak(words + "tail", flush=True, allow_interruption=True, more=True)
        await settle()
        assert tts.spoken == [words]
        await out.clear()
    finally:
        await out.close()


async def test_non_interruptible_first_piece_protects_the_whole_utterance() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn)
    try:
        out.speak("Keep. ", flush=True, allow_interruption=False, more=True)
        out.speak("This ", flush=True, allow_interruption=True, more=True)  # not the first piece
        await settle()
        assert not await out.clear()
        out.speak("too.", flush=True, allow_interruption=True, more=False)
        await asyncio.wait_for(conn.completed.wait(), 5)
        assert tts.spoken == ["Keep. ", "This too."]
        assert tts.clears == 0
    finally:
        await out.close()


async def test_after_a_clear_the_pieces_are_dropped_until_the_utterance_ends() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn, continue_timeout=0.3)
    try:
        out.speak("Gone. ", flush=True, allow_interruption=True, more=True)
        await settle()
        assert await out.clear()
        assert out.utterance_open  # its later pieces are still expected
        out.speak("dropped ", flush=True, allow_interruption=True, more=True)
        out.speak("too.", flush=True, allow_interruption=True, more=False)
        assert not out.utterance_open
        out.speak("Next.", flush=True, allow_interruption=True)
        await asyncio.wait_for(conn.completed.wait(), 5)
        assert tts.spoken == ["Gone. ", "Next."]
        assert completions(conn) == 1
        # a client that never ends the cleared utterance: after the timeout, pieces are new
        conn.completed.clear()
        out.speak("Again. ", flush=True, allow_interruption=True, more=True)
        await settle()
        assert await out.clear()
        await settle(0.4)
        out.speak("Fresh.", flush=True, allow_interruption=True)
        await asyncio.wait_for(conn.completed.wait(), 5)
        assert tts.spoken[-1] == "Fresh."
    finally:
        await out.close()


async def test_a_provider_error_mid_utterance_drops_the_rest_and_clears_the_provider() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "boom", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn)
    try:
        out.speak("Fails. ", flush=True, allow_interruption=True, more=True)
        await settle()
        assert errors(conn) == ["TTS error: vendor said no"]
        assert tts.clears == 1  # what the provider still held of the utterance is dropped
        out.speak("lost ", flush=True, allow_interruption=True, more=True)
        out.speak("too.", flush=True, allow_interruption=True, more=False)
        await settle()
        assert tts.spoken == ["Fails. "]
        assert completions(conn) == 0
        assert not out.busy
    finally:
        await out.close()


async def test_an_all_blank_utterance_is_an_error_not_a_hang() -> None:
    tts = ToneTTS(TTSConfig(provider="tone"), "ok", [])
    await tts.connect()
    conn = RecordingConn()
    out = output(tts, conn)
    try:
        out.speak(" ", flush=True, allow_interruption=True, more=True)
        out.speak("", flush=True, allow_interruption=True, more=False)
        await settle()
        assert errors(conn) == ["Text cannot be empty"]
        assert tts.spoken == []
        assert not out.busy
    finally:
        await out.close()
