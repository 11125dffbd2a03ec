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
