"""One Cartesia WebSocket utterance as a chain of contexts that never overlap.

Cartesia expires a context about 1 s after its last audio output, and further input on an
expired context is not supported. An LLM that pauses mid-utterance (a tool call) would have
its later text rejected, so an utterance may move on to a fresh context:

* before a piece goes out on a context whose audio has been idle longer than ``max_idle``
  (below the documented expiry), that context is ended (an empty ``transcript`` with
  ``continue: false``, which also voices any text Cartesia still buffers) and, once it is
  done, the piece opens a fresh one;
* an error event for a context that has already produced audio is taken as its expiry: the
  pieces it had not voiced yet (sent after its last audio) go out again on a fresh context,
  followed by the end of input if that was already sent.

Only one context is live at a time, so audio keeps its order and the utterance completes once.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection

__all__ = ["ContextChain", "Outcome"]

#: Renewals in a row without any audio before an error is no longer taken as an expiry
#: (stops a loop when a fresh context fails too).
_MAX_FRUITLESS = 2


class Outcome(enum.Enum):
    """What an error event means for the utterance."""

    RETRY = "retry"  # its text moved to a fresh context: keep reading
    COMPLETE = "complete"  # everything was voiced and input had ended
    FAIL = "fail"  # a real error: fail the utterance


class ContextChain:
    """The contexts of one utterance on one socket (see the module docstring)."""

    def __init__(self, ws: ClientConnection, fields: dict[str, Any], max_idle: float) -> None:
        self._ws = ws
        self._fields = fields
        self.max_idle = max_idle
        self._lock = asyncio.Lock()
        self.ctx = uuid.uuid4().hex
        self.contexts = 1
        self._opened: float | None = None  # when the first input went out on ``ctx``
        self._last_audio: float | None = None
        self._unvoiced: list[str] = []  # pieces sent on ``ctx`` after its last audio
        self._ended = False
        self._retiring: asyncio.Future[list[str]] | None = None
        self._fruitless = 0

    def idle(self) -> float:
        """Seconds since the live context's last audio (or its first input; 0 if unused)."""
        since = self._last_audio if self._last_audio is not None else self._opened
        return 0.0 if since is None else time.monotonic() - since

    async def _send(self, transcript: str, more: bool) -> None:
        msg = {**self._fields, "context_id": self.ctx, "transcript": transcript, "continue": more}
        await self._ws.send(json.dumps(msg))

    async def _open_fresh(self, pieces: list[str]) -> None:
        """Move to a new context and send ``pieces`` on it (caller holds the lock)."""
        self.ctx = uuid.uuid4().hex
        self.contexts += 1
        self._fruitless += 1
        self._last_audio = None
        self._opened = time.monotonic() if pieces else None
        self._unvoiced = list(pieces)
        for piece in pieces:
            await self._send(piece, True)

    # --- the text side ------------------------------------------------------------------
    async def push(self, piece: str) -> None:
        """Send one piece, first moving on from a context idle for longer than ``max_idle``."""
        if self.idle() > self.max_idle:
            await self._retire()
        async with self._lock:
            if self._opened is None:
                self._opened = time.monotonic()
            await self._send(piece, True)
            self._unvoiced.append(piece)

    async def _retire(self) -> None:
        """End the live context, wait until the reader saw it finish, open a fresh one."""
        fut: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        async with self._lock:
            self._retiring = fut
            await self._send("", False)
        rejected = await fut  # [] once done; its unvoiced pieces if it had expired
        async with self._lock:
            self._retiring = None
            await self._open_fresh(rejected)

    async def end(self) -> None:
        """The end of input: an empty transcript with ``continue: false``."""
        async with self._lock:
            self._ended = True
            await self._send("", False)

    # --- the reader side ----------------------------------------------------------------
    def on_audio(self) -> None:
        """Audio arrived on the live context: everything sent on it so far is voiced."""
        self._last_audio = time.monotonic()
        self._unvoiced.clear()
        self._fruitless = 0

    def on_done(self) -> bool:
        """The live context is done: True when that ends the utterance (not a retirement)."""
        if self._retiring is not None and not self._retiring.done():
            self._retiring.set_result([])
            return False
        return True

    async def on_error(self, status: int, detail: str) -> Outcome:
        """An error event for the live context: an expiry moves its text on, else FAIL."""
        expiry = (
            status not in (401, 403, 429)
            and (self._last_audio is not None or "expire" in detail.lower())
            and self._fruitless < _MAX_FRUITLESS
        )
        if not expiry:
            return Outcome.FAIL
        if self._retiring is not None and not self._retiring.done():
            self._retiring.set_result(list(self._unvoiced))
            return Outcome.RETRY
        async with self._lock:
            if self._ended and not self._unvoiced:
                return Outcome.COMPLETE
            await self._open_fresh(list(self._unvoiced))
            if self._ended:
                await self._send("", False)
        return Outcome.RETRY
