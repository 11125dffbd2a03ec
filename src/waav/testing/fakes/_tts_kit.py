"""Shared parts of the text-to-speech vendor fakes: synthetic speech, encoders, paced streaming.

The fakes "synthesise" text deterministically so tests can check what came out and in what
order: every character becomes :data:`MS_PER_CHAR` milliseconds of a constant PCM16 level
equal to the character's code point (``"a"`` → 97). :func:`synth_pcm16` makes that signal,
:func:`encode_audio` puts it in a vendor's output encoding (PCM16, float32, µ-law, A-law, WAV;
compressed formats become placeholder frames, since a fake has no codec: only pass-through
is meaningful for them), and :class:`TTSFakeServer` streams it paced, chunk by chunk, with
the shared :class:`~waav.testing.fakes.Faults` applied and client aborts counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from waav import audio
from waav.testing.fakes._server import FakeServer, Faults

__all__ = [
    "MS_PER_CHAR",
    "Auth",
    "PacedAudioResponse",
    "TTSFakeServer",
    "decode_levels",
    "encode_audio",
    "json_fields",
    "synth_pcm16",
    "wav_header",
]

#: A fake's credential check: the vendor's refusal (401, 429…) of a request, or None to serve it.
Auth = Callable[[Request], Response | None]

#: Milliseconds of audio a fake produces per input character.
MS_PER_CHAR = 10

#: Placeholder frame for compressed formats: an MPEG-1 Layer III frame sync word, then filler.
_MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(413)


def synth_pcm16(text: str, rate: int) -> bytes:
    """Deterministic fake speech: :data:`MS_PER_CHAR` ms of level ``ord(c)`` per character."""
    n = rate * MS_PER_CHAR // 1000
    levels = np.array([min(ord(c), 32767) for c in text], dtype="<i2")
    return np.repeat(levels, n).astype("<i2").tobytes()


def decode_levels(pcm16: bytes, rate: int) -> str:
    """Inverse of :func:`synth_pcm16` for unconverted audio (one character per block)."""
    n = rate * MS_PER_CHAR // 1000
    samples = np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], "<i2")
    return "".join(chr(int(v)) for v in samples[::n] if v > 0)


def wav_header(rate: int, encoding: str = "linear16", data_len: int = 0) -> bytes:
    """A mono WAV header (PCM16, float32, µ-law or A-law) for ``data_len`` bytes of data."""
    tag, bits = {"linear16": (1, 16), "float32": (3, 32), "mulaw": (7, 8), "alaw": (6, 8)}[encoding]
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_len)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_len)
    )


def encode_audio(pcm16: bytes, encoding: str, rate: int, *, container: str = "none") -> bytes:
    """Encode fake speech as a vendor would send it.

    ``encoding``: ``linear16``, ``float32``, ``mulaw``, ``alaw`` (raw samples), or a compressed
    name (``mp3``, ``opus``, ``aac``, ``flac``, ``ogg``) for placeholder frames.
    ``container="wav"`` prepends a WAV header to the PCM-family encodings.
    """
    if encoding == "linear16":
        data = pcm16
    elif encoding == "float32":
        data = audio.int16_to_float32(pcm16).tobytes()
    elif encoding == "mulaw":
        data = audio.ulaw_encode(pcm16)
    elif encoding == "alaw":
        data = audio.alaw_encode(pcm16)
    else:  # compressed: one placeholder frame per ~26 ms of audio, at least one
        frames = max(1, len(pcm16) // 2 * 1000 // max(rate, 1) // 26)
        return _MP3_FRAME * frames
    if container == "wav":
        return wav_header(rate, encoding, len(data)) + data
    return data


def chunked(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (the last may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class _Dropped(Exception):
    """Raised inside a fake's response to drop the connection mid-stream."""


class PacedAudioResponse(Response):
    """Stream ``chunks`` with pacing, the shared faults applied, and aborts counted.

    * ``faults.first_result_delay``: wait before the response starts (slow first byte);
    * ``chunk_delay``: wait between chunks (so a test sees audio before the body completes);
    * ``faults.drop_after``: after that many chunks, drop the connection (no end of body);
    * a client that disconnects before the end is counted in ``fake.aborted``.
    """

    def __init__(
        self,
        fake: TTSFakeServer,
        chunks: Iterable[bytes],
        media_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content=None, media_type=media_type, headers=dict(headers or {}))
        # streamed with chunked transfer encoding, like the vendors: no Content-Length
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.fake = fake
        self.chunks = list(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fake = self.fake
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.create_task(watch())
        completed = False
        try:
            if fake.faults.first_result_delay:
                await _sleep_unless(disconnected, fake.faults.first_result_delay)
            if disconnected.is_set():
                return
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            for i, chunk in enumerate(self.chunks):
                if fake.faults.drop_after is not None and i >= fake.faults.drop_after:
                    raise _Dropped("fake vendor dropped the connection mid-stream")
                if disconnected.is_set():
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                fake._count("chunks_sent")
                if fake.chunk_delay:
                    await _sleep_unless(disconnected, fake.chunk_delay)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            completed = True
        except OSError:
            return  # the client went away while we were sending
        finally:
            watcher.cancel()
            fake._count("completed" if completed else "aborted")


async def _sleep_unless(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``event`` is set, whichever comes first."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


class TTSFakeServer(FakeServer):
    """Base of the TTS vendor fakes: pacing, counters, the shared HTTP faults.

    Parameters
    ----------
    faults :
        Fault switches (:class:`~waav.testing.fakes.Faults`): ``reject_auth``,
        ``rate_limit_retry_after``, ``first_result_delay`` (slow first byte), ``drop_after``
        (chunks before a mid-stream drop); WebSocket fakes also honour ``idle_close_after``.
    chunk_bytes :
        Size of each streamed body chunk.
    chunk_delay :
        Seconds between chunks (0 streams as fast as the socket takes it).
    api_key :
        The only credential the fake accepts.
    """

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        chunk_bytes: int = 960,
        chunk_delay: float = 0.0,
        api_key: str = "test-key",
    ) -> None:
        super().__init__(faults=faults)
        self.chunk_bytes = chunk_bytes
        self.chunk_delay = chunk_delay
        self.api_key = api_key
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def count(self, name: str) -> int:
        """A counter: ``completed`` / ``aborted`` responses, ``chunks_sent``, WS ``sessions``…"""
        with self._lock:
            return self._counts.get(name, 0)

    @property
    def aborted(self) -> int:
        """Responses (or WebSocket generations) the client abandoned before their end."""
        return self.count("aborted")

    @property
    def completed(self) -> int:
        """Responses streamed to their end."""
        return self.count("completed")

    def stream(self, data: bytes, media_type: str, headers: Mapping[str, str] | None = None) -> Response:
        """A paced, fault-aware streamed response of ``data``."""
        return PacedAudioResponse(self, chunked(data, self.chunk_bytes), media_type, headers)

    def rate_limited(self, body: Any, status: int = 429) -> Response | None:
        """The vendor's 429 (with ``Retry-After``) when that fault is on, else None."""
        if self.faults.rate_limit_retry_after is None:
            return None
        return JSONResponse(
            body, status_code=status, headers={"Retry-After": f"{self.faults.rate_limit_retry_after:g}"}
        )

    def stream_speech(self, text: str, rate: int, encoding: str, container: str, media_type: str) -> Response:
        """Fake speech for ``text`` encoded as the vendor sends it, streamed paced (:meth:`stream`)."""
        return self.stream(
            encode_audio(synth_pcm16(text, rate), encoding, rate, container=container), media_type
        )

    async def admit(self, request: Request, auth: Auth) -> tuple[bytes, Response | None]:
        """Read and record ``request``; return its body and ``auth``'s refusal (None: serve it)."""
        raw = await request.body()
        self.recorder.start(request, body=raw)
        return raw, auth(request)

    def listing(self, payload: Any, auth: Auth) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint that records the request, checks ``auth`` and answers ``payload`` as JSON."""

        async def endpoint(request: Request) -> Response:
            _, denied = await self.admit(request, auth)
            return denied if denied is not None else JSONResponse(payload)

        return endpoint


def json_fields(raw: bytes, *keys: str) -> tuple[dict[str, Any], list[Any]] | None:
    """``raw`` parsed as a JSON object and its values at ``keys``; None if any is missing or malformed."""
    try:
        body: dict[str, Any] = json.loads(raw)
        return body, [body[k] for k in keys]
    except (ValueError, KeyError, TypeError):
        return None
