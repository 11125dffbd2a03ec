"""A fake OpenAI Realtime API (GA interface) on ``ws://127.0.0.1:<port>/v1/realtime``.

What it checks, like the real service:

* the handshake: path ``/v1/realtime``, a ``model`` query parameter (HTTP 400 without one),
  ``Authorization: Bearer <api_key>`` (HTTP 401 otherwise); the retired beta interface
  (``OpenAI-Beta: realtime=v1``) is answered with an ``error`` (``beta_api_shape_disabled``) and
  a close;
* every client event: a JSON object of a known ``type``; ``session.update`` needs
  ``session.type = "realtime"``, rejects unknown keys (``temperature``, the beta ``modalities`` /
  ``input_audio_format`` …), PCM other than 24 kHz, both output modalities at once, tools
  without a name; ``input_audio_buffer.append`` needs strict base64 of whole samples;
  ``input_audio_buffer.commit`` needs ≥ 100 ms of audio; ``conversation.item.create`` needs GA
  content types (user ``input_text``/``input_audio``, assistant ``output_text``/``output_audio``)
  and a ``function_call_output`` for a call it made; ``conversation.item.truncate`` an assistant
  audio item and ``audio_end_ms`` within its audio; only one response at a time.
  Violations get an ``error`` event (type ``invalid_request_error``, a ``code`` and ``param``;
  the codes are the fake's best reading of the docs) and the session goes on.

What it plays: ``session.created`` on connect, ``session.updated`` with the merged session; a
server VAD (:class:`~waav.testing.fakes._realtime.EnergyVAD` over the decoded input at 24 kHz)
that sends ``input_audio_buffer.speech_started`` / ``speech_stopped``, commits the turn
(``input_audio_buffer.committed``, ``conversation.item.added``), transcribes it when
transcription is on (``conversation.item.input_audio_transcription.delta`` and ``.completed``
with the next of ``transcripts``) and, unless ``create_response`` is false, answers with the next
:class:`Reply` of ``replies``: ``response.created``, ``rate_limits.updated``,
``response.output_item.added``, audio deltas (a ``tone_hz`` sine, ``ms_per_word`` per word, in
``chunk_ms`` chunks, ``chunk_delay`` apart) interleaved with transcript deltas, the ``.done``
events and ``response.done``. A function-call reply streams ``response.function_call_arguments``
and waits for the client's ``function_call_output``. Speech while a response plays cancels it
(``status: cancelled``, reason ``turn_detected``) unless ``interrupt_response`` is false.

Faults (:class:`~waav.testing.fakes.Faults`): ``reject_auth`` (401), ``rate_limit_retry_after``
(429 with ``Retry-After``), ``first_result_delay`` (before the first response of a connection),
``drop_after`` (abort the TCP connection after that many audio deltas, on the first ``drops``
connections), ``session_expires_after`` (an ``error`` ``session_expired`` and a 1001 close, on
every connection), ``vendor_error`` (every response fails: ``response.done`` with ``status:
failed`` and ``status_details.error.code`` = the string, e.g. ``insufficient_quota``).

Everything received is in :attr:`FakeOpenAIRealtime.sessions` (one :class:`OpenAISession` per
connection: client events, decoded input audio, the effective session, truncations, items).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav import audio
from waav.testing.fakes._realtime import EnergyVAD, Reply, abort_connection, tone
from waav.testing.fakes._server import FakeServer, Faults, RecordedRequest

__all__ = ["FakeOpenAIRealtime", "OpenAISession", "Reply"]

CLIENT_EVENTS = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "output_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
        "response.create",
        "response.cancel",
    }
)
SESSION_KEYS = frozenset(
    {
        "type",
        "audio",
        "include",
        "instructions",
        "max_output_tokens",
        "model",
        "output_modalities",
        "parallel_tool_calls",
        "prompt",
        "reasoning",
        "tool_choice",
        "tools",
        "tracing",
        "truncation",
    }
)
AUDIO_IN_KEYS = frozenset({"format", "noise_reduction", "transcription", "turn_detection"})
AUDIO_OUT_KEYS = frozenset({"format", "speed", "voice"})


class _ClientError(Exception):
    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


@dataclass
class OpenAISession:
    """What one connection did (read it in tests after the fact)."""

    index: int
    request: RecordedRequest
    model: str
    session: dict[str, Any]
    #: Client events in order, parsed (``input_audio_buffer.append`` audio replaced by its size).
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Every error event sent.
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: All input audio received, decoded to PCM16 at 24 kHz.
    audio: bytearray = field(default_factory=bytearray)
    #: Conversation items (created by the client or the fake), by id.
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    truncations: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    buffer_bytes: int = 0
    audio_deltas_sent: int = 0
    closed: bool = False

    def events_of(self, etype: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == etype]

    @property
    def input_format(self) -> str:
        return str(self.session["audio"]["input"]["format"]["type"])


class FakeOpenAIRealtime(FakeServer):
    """The fake; see the module docstring. ``replies`` and ``transcripts`` are consumed in order
    across connections; when they run out, replies are ``"reply N"`` and transcripts ``"turn N"``."""

    vendor = "openai"

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        replies: list[Reply] | None = None,
        transcripts: list[str] | None = None,
        faults: Faults | None = None,
        tone_hz: float = 600.0,
        ms_per_word: int = 200,
        chunk_ms: int = 100,
        chunk_delay: float = 0.0,
        drops: int = 1,
        vad_threshold_dbfs: float = -35.0,
    ) -> None:
        super().__init__(faults=faults)
        self.api_key = api_key
        self.replies = list(replies or [])
        self.transcripts = list(transcripts or [])
        self.tone_hz = tone_hz
        self.ms_per_word = ms_per_word
        self.chunk_ms = chunk_ms
        self.chunk_delay = chunk_delay
        self.drops = drops
        self.vad_threshold_dbfs = vad_threshold_dbfs
        self.sessions: list[OpenAISession] = []
        self._ids = itertools.count(1)
        self._reply_n = itertools.count(1)
        self._turn_n = itertools.count(1)
        self.last_tool_output = ""

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def next_reply(self) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        return Reply(f"reply {next(self._reply_n)}")

    def next_transcript(self) -> str:
        if self.transcripts:
            return self.transcripts.pop(0)
        return f"turn {next(self._turn_n)}"

    # ------------------------------------------------------------------------------------
    def build_app(self) -> Starlette:
        return Starlette(routes=[WebSocketRoute("/v1/realtime", self._endpoint)])

    def _default_session(self, model: str) -> dict[str, Any]:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self._id("sess"),
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "You are a helpful assistant.",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
            },
        }

    async def _endpoint(self, ws: WebSocket) -> None:
        rec = self.recorder.start(ws)
        f = self.faults
        if f.reject_auth or ws.headers.get("authorization") != f"Bearer {self.api_key}":
            await ws.send_denial_response(
                JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                            "message": "Incorrect API key provided.",
                        }
                    },
                    status_code=401,
                )
            )
            return
        if f.rate_limit_retry_after is not None:
            await ws.send_denial_response(
                JSONResponse(
                    {
                        "error": {
                            "type": "requests",
                            "code": "rate_limit_exceeded",
                            "message": "Rate limit reached.",
                        }
                    },
                    status_code=429,
                    headers={"Retry-After": f"{f.rate_limit_retry_after:g}"},
                )
            )
            return
        model = ws.query_params.get("model")
        if not model:
            await ws.send_denial_response(
                JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "missing_required_parameter",
                            "param": "model",
                            "message": "Missing required parameter: 'model'.",
                        }
                    },
                    status_code=400,
                )
            )
            return
        await ws.accept()
        s = OpenAISession(len(self.sessions) + 1, rec, model, self._default_session(model))
        self.sessions.append(s)
        conn = _Connection(self, ws, s)
        await conn.run()


class _Connection:
    """One WebSocket session of the fake."""

    def __init__(self, fake: FakeOpenAIRealtime, ws: WebSocket, s: OpenAISession) -> None:
        self.fake, self.ws, self.s = fake, ws, s
        self.lock = asyncio.Lock()
        self.vad = self._new_vad()
        self.response: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None
        self.pending_calls: set[str] = set()
        self.responses_started = 0
        self.user_item: str | None = None
        self.dead = False

    def _new_vad(self) -> EnergyVAD:
        td = self.s.session["audio"]["input"]["turn_detection"] or {}
        return EnergyVAD(
            24000,
            threshold_dbfs=self.fake.vad_threshold_dbfs,
            silence_ms=int(td.get("silence_duration_ms", 500)),
            prefix_ms=int(td.get("prefix_padding_ms", 300)),
        )

    async def send(self, event: dict[str, Any]) -> None:
        if self.dead:
            return
        event.setdefault("event_id", self.fake._id("event"))
        async with self.lock:
            await self.ws.send_text(json.dumps(event))

    async def error(
        self, code: str, message: str, param: str | None = None, event_id: str | None = None
    ) -> None:
        err = {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id,
        }
        self.s.errors.append(err)
        await self.send({"type": "error", "error": err})

    async def run(self) -> None:
        f = self.fake.faults
        expiry: asyncio.Task[None] | None = None
        try:
            if "realtime=v1" in self.ws.headers.get("openai-beta", ""):
                await self.error(
                    "beta_api_shape_disabled", "The beta Realtime API shape is no longer supported."
                )
                await self.ws.close(1008, "beta_api_shape_disabled")
                return
            await self.send({"type": "session.created", "session": self.s.session})
            if f.session_expires_after is not None:
                expiry = asyncio.get_running_loop().create_task(self._expire(f.session_expires_after))
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await self.error("invalid_value", "Binary frames are not supported; send JSON events.")
                    continue
                self.s.request.messages.append(text)
                await self._handle(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.dead = True
            self.s.closed = True
            for task in (expiry, self.response):
                if task is not None and not task.done():
                    task.cancel()

    async def _expire(self, after: float) -> None:
        await asyncio.sleep(after)
        minutes = max(1, round(after / 60))
        message = f"Your session hit the maximum duration of {minutes} minutes."
        err = {
            "type": "invalid_request_error",
            "code": "session_expired",
            "message": message,
            "param": None,
            "event_id": None,
        }
        self.s.errors.append(err)
        await self.send({"type": "error", "error": err})
        self.dead = True
        async with self.lock:
            await self.ws.close(1001, message)

    # ------------------------------------------------------------------------------------
    async def _handle(self, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            await self.error("invalid_json", "The server could not parse the event as JSON.")
            return
        if not isinstance(event, dict):
            await self.error("invalid_value", "Events must be JSON objects.")
            return
        etype = event.get("type")
        logged = dict(event)
        if etype == "input_audio_buffer.append" and isinstance(event.get("audio"), str):
            logged["audio"] = len(event["audio"])
        self.s.events.append(logged)
        if etype not in CLIENT_EVENTS:
            await self.error(
                "invalid_value",
                f"Invalid value: {etype!r}. Supported values are: {sorted(CLIENT_EVENTS)}.",
                "type",
                event.get("event_id"),
            )
            return
        handler = getattr(self, "_on_" + str(etype).replace(".", "_"), None)
        try:
            if handler is not None:
                await handler(event)
        except _ClientError as exc:
            await self.error(exc.code, exc.message, exc.param, event.get("event_id"))

    # --- session --------------------------------------------------------------------------
    async def _on_session_update(self, event: dict[str, Any]) -> None:
        new = event.get("session")
        if not isinstance(new, dict):
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'session'.", "session"
            )
        if new.get("type") != "realtime":
            raise _ClientError(
                "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
            )
        for key in new:
            if key not in SESSION_KEYS:
                raise _ClientError(
                    "unknown_parameter", f"Unknown parameter: 'session.{key}'.", f"session.{key}"
                )
        merged = json.loads(json.dumps(self.s.session))
        for key, value in new.items():
            if key == "audio":
                self._merge_audio(merged, value)
            else:
                merged[key] = value
        mods = merged.get("output_modalities")
        if mods not in (["audio"], ["text"]):
            raise _ClientError(
                "invalid_value",
                "output_modalities must be ['audio'] or ['text'].",
                "session.output_modalities",
            )
        for i, tool in enumerate(merged.get("tools") or []):
            if not isinstance(tool, dict) or tool.get("type") != "function" or not tool.get("name"):
                raise _ClientError(
                    "invalid_value", "Each tool needs type 'function' and a name.", f"session.tools[{i}]"
                )
            if "function" in tool:
                raise _ClientError(
                    "unknown_parameter",
                    "Unknown parameter: 'function' (tools are flat).",
                    f"session.tools[{i}].function",
                )
        self.s.session = merged
        self.vad = self._new_vad()
        await self.send({"type": "session.updated", "session": merged})

    def _merge_audio(self, merged: dict[str, Any], audio_cfg: Any) -> None:
        if not isinstance(audio_cfg, dict):
            raise _ClientError("invalid_type", "session.audio must be an object.", "session.audio")
        for side, keys in (("input", AUDIO_IN_KEYS), ("output", AUDIO_OUT_KEYS)):
            part = audio_cfg.get(side)
            if part is None:
                continue
            for key, value in part.items():
                if key not in keys:
                    raise _ClientError(
                        "unknown_parameter",
                        f"Unknown parameter: 'session.audio.{side}.{key}'.",
                        f"session.audio.{side}.{key}",
                    )
                if key == "format":
                    self._check_format(value, f"session.audio.{side}.format")
                if key == "turn_detection" and value is not None:
                    if not isinstance(value, dict) or value.get("type") not in ("server_vad", "semantic_vad"):
                        raise _ClientError(
                            "invalid_value",
                            "turn_detection.type must be server_vad or semantic_vad.",
                            f"session.audio.{side}.turn_detection.type",
                        )
                    value = {**(merged["audio"][side].get(key) or {}), **value}
                merged["audio"][side][key] = value
        for extra in audio_cfg:
            if extra not in ("input", "output"):
                raise _ClientError(
                    "unknown_parameter",
                    f"Unknown parameter: 'session.audio.{extra}'.",
                    f"session.audio.{extra}",
                )

    @staticmethod
    def _check_format(value: Any, param: str) -> None:
        if not isinstance(value, dict) or value.get("type") not in ("audio/pcm", "audio/pcmu", "audio/pcma"):
            raise _ClientError(
                "invalid_value", "format.type must be audio/pcm, audio/pcmu or audio/pcma.", param + ".type"
            )
        if value["type"] == "audio/pcm" and value.get("rate", 24000) != 24000:
            raise _ClientError(
                "invalid_value", "Only a 24kHz sample rate is supported for audio/pcm.", param + ".rate"
            )

    # --- input audio ------------------------------------------------------------------------
    def _decode(self, raw: bytes, fmt: str) -> bytes:
        if fmt == "audio/pcmu":
            return audio.resample(audio.ulaw_decode(raw), 8000, 24000)  # type: ignore[no-any-return]
        if fmt == "audio/pcma":
            return audio.resample(audio.alaw_decode(raw), 8000, 24000)  # type: ignore[no-any-return]
        return raw

    async def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        data = event.get("audio")
        try:
            if not isinstance(data, str):
                raise ValueError
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _ClientError(
                "invalid_value", "Invalid 'audio'. Expected base64-encoded audio.", "audio"
            ) from None
        fmt = self.s.input_format
        if fmt == "audio/pcm" and len(raw) % 2:
            raise _ClientError("invalid_value", "PCM16 audio must be whole 16-bit samples.", "audio")
        pcm = self._decode(raw, fmt)
        self.s.audio += pcm
        self.s.buffer_bytes += len(pcm)
        td = self.s.session["audio"]["input"]["turn_detection"]
        if td is None:
            return
        for kind, ms in self.vad.feed(pcm):
            if kind == "started":
                self.user_item = self.fake._id("item")
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": ms,
                        "item_id": self.user_item,
                    }
                )
                if (
                    self.response is not None
                    and not self.response.done()
                    and td.get("interrupt_response", True)
                ):
                    await self._cancel("turn_detected")
            else:
                item = self.user_item or self.fake._id("item")
                await self.send(
                    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": ms, "item_id": item}
                )
                await self._commit(item)
                if td.get("create_response", True):
                    self._start_response(self.fake.next_reply())

    async def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        if self.s.buffer_bytes < 24000 * 2 // 10:
            ms = self.s.buffer_bytes * 1000 // 48000
            raise _ClientError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
                f"audio, but buffer only has {ms}ms of audio.",
            )
        await self._commit(self.fake._id("item"))

    async def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.s.buffer_bytes = 0
        self.vad = self._new_vad()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def _commit(self, item_id: str) -> None:
        self.s.buffer_bytes = 0
        await self.send(
            {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": item_id}
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.s.items[item_id] = item
        await self.send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        if self.s.session["audio"]["input"].get("transcription"):
            text = self.fake.next_transcript()
            first = text.split(" ")[0]
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": first,
                }
            )
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": text,
                    "usage": {"type": "duration", "seconds": 1},
                }
            )

    # --- conversation -----------------------------------------------------------------------
    async def _on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise _ClientError("missing_required_parameter", "Missing required parameter: 'item'.", "item")
        itype = item.get("type")
        if itype == "message":
            role = item.get("role")
            allowed = {
                "user": ("input_text", "input_audio", "input_image"),
                "assistant": ("output_text", "output_audio"),
                "system": ("input_text",),
            }.get(str(role))
            if allowed is None:
                raise _ClientError(
                    "invalid_value", "item.role must be user, assistant or system.", "item.role"
                )
            content = item.get("content")
            if not isinstance(content, list) or not content:
                raise _ClientError(
                    "missing_required_parameter",
                    "Missing required parameter: 'item.content'.",
                    "item.content",
                )
            for i, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") not in allowed:
                    raise _ClientError(
                        "invalid_value",
                        f"item.content[{i}].type must be one of {allowed} for role {role}.",
                        f"item.content[{i}].type",
                    )
                if part["type"].endswith("_text") and not isinstance(part.get("text"), str):
                    raise _ClientError(
                        "missing_required_parameter", "Missing 'text'.", f"item.content[{i}].text"
                    )
        elif itype == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in self.pending_calls:
                raise _ClientError(
                    "invalid_value",
                    f"No function call with call_id {call_id!r} in this conversation.",
                    "item.call_id",
                )
            if not isinstance(item.get("output"), str):
                raise _ClientError(
                    "missing_required_parameter", "Missing required parameter: 'item.output'.", "item.output"
                )
            self.pending_calls.discard(call_id)
            self.fake.last_tool_output = item["output"]
        else:
            raise _ClientError(
                "invalid_value", "item.type must be message or function_call_output.", "item.type"
            )
        stored = {
            **item,
            "id": item.get("id") or self.fake._id("item"),
            "object": "realtime.item",
            "status": "completed",
        }
        self.s.items[stored["id"]] = stored
        await self.send({"type": "conversation.item.added", "previous_item_id": None, "item": stored})
        await self.send({"type": "conversation.item.done", "previous_item_id": None, "item": stored})

    async def _on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        item_id, end = event.get("item_id"), event.get("audio_end_ms")
        item = self.s.items.get(str(item_id))
        if item is None or item.get("role") != "assistant":
            raise _ClientError("invalid_value", f"Item {item_id!r} is not an assistant message.", "item_id")
        if event.get("content_index") != 0:
            raise _ClientError("invalid_value", "content_index must be 0.", "content_index")
        if not isinstance(end, int) or end < 0 or end > item.get("_audio_ms", 0):
            raise _ClientError(
                "invalid_value",
                f"audio_end_ms {end!r} is beyond the item's {item.get('_audio_ms', 0)} ms of audio.",
                "audio_end_ms",
            )
        self.s.truncations.append({"item_id": item_id, "audio_end_ms": end})
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": end,
            }
        )

    async def _on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        if self.s.items.pop(str(item_id), None) is None:
            raise _ClientError("invalid_value", f"Item {item_id!r} does not exist.", "item_id")
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    # --- responses --------------------------------------------------------------------------
    async def _on_response_create(self, event: dict[str, Any]) -> None:
        if self.response is not None and not self.response.done():
            raise _ClientError(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress.",
            )
        self._start_response(self.fake.next_reply())

    async def _on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.response is None or self.response.done():
            raise _ClientError("response_cancel_not_active", "Cancellation failed: no active response found.")
        await self._cancel("client_cancelled")

    async def _cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        task = self.response
        if task is not None:
            await asyncio.wait([task], timeout=2.0)

    def _start_response(self, reply: Reply) -> None:
        self.cancel_reason = None
        self.response = asyncio.get_running_loop().create_task(self._respond(reply))

    async def _respond(self, reply: Reply) -> None:
        f = self.fake.faults
        s = self.s
        rid = self.fake._id("resp")
        self.responses_started += 1
        if self.responses_started == 1 and f.first_result_delay:
            await asyncio.sleep(f.first_result_delay)
        response: dict[str, Any] = {
            "id": rid,
            "object": "realtime.response",
            "status": "in_progress",
            "output": [],
            "output_modalities": s.session["output_modalities"],
        }
        s.responses.append(response)
        await self.send({"type": "response.created", "response": dict(response)})
        await self.send(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
                    {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
                ],
            }
        )
        if f.vendor_error:
            response.update(
                status="failed",
                status_details={
                    "type": "failed",
                    "error": {
                        "type": f.vendor_error,
                        "code": f.vendor_error,
                        "message": f"Response failed: {f.vendor_error}.",
                    },
                },
            )
            await self.send({"type": "response.done", "response": dict(response)})
            return
        if reply.function_call is not None:
            await self._function_call(response, reply.function_call)
        else:
            await self._message(response, reply.text.replace("{tool_output}", self.fake.last_tool_output))
        status_details = None
        if self.cancel_reason:
            response["status"] = "cancelled"
            status_details = {"type": "cancelled", "reason": self.cancel_reason}
        else:
            response["status"] = "completed"
        response["status_details"] = status_details
        await self.send({"type": "response.done", "response": dict(response)})

    async def _function_call(self, response: dict[str, Any], call: tuple[str, str]) -> None:
        rid, name, args = response["id"], call[0], call[1]
        item_id, call_id = self.fake._id("item"), self.fake._id("call")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": name,
            "call_id": call_id,
            "arguments": "",
        }
        await self.send(
            {"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": dict(item)}
        )
        half = len(args) // 2
        for part in (args[:half], args[half:]):
            await self.send(
                {
                    "type": "response.function_call_arguments.delta",
                    "response_id": rid,
                    "item_id": item_id,
                    "output_index": 0,
                    "call_id": call_id,
                    "delta": part,
                }
            )
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                "response_id": rid,
                "item_id": item_id,
                "output_index": 0,
                "call_id": call_id,
                "arguments": args,
            }
        )
        item.update(status="completed", arguments=args)
        self.pending_calls.add(call_id)
        self.s.items[item_id] = item
        await self.send(
            {"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": dict(item)}
        )
        response["output"] = [item]

    async def _message(self, response: dict[str, Any], text: str) -> None:
        s, f = self.s, self.fake.faults
        rid = response["id"]
        item_id = self.fake._id("item")
        audio_mode = s.session["output_modalities"] == ["audio"]
        part_type = "output_audio" if audio_mode else "output_text"
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        s.items[item_id] = item
        base = {"response_id": rid, "item_id": item_id, "output_index": 0}
        await self.send(
            {"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": dict(item)}
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": None, "item": dict(item)})
        await self.send(
            {"type": "response.content_part.added", **base, "content_index": 0, "part": {"type": part_type}}
        )
        words = text.split(" ") if text else []
        said: list[str] = []
        if audio_mode:
            fmt = s.session["audio"]["output"]["format"]["type"]
            rate = 24000 if fmt == "audio/pcm" else 8000
            total_ms = max(200, len(words) * self.fake.ms_per_word)
            n_chunks = -(-total_ms // self.fake.chunk_ms)
            sample = 0
            for i in range(n_chunks):
                if self.cancel_reason:
                    break
                ms = min(self.fake.chunk_ms, total_ms - i * self.fake.chunk_ms)
                pcm = tone(self.fake.tone_hz, ms, rate, start_sample=sample)
                sample += len(pcm) // 2
                data = (
                    pcm
                    if fmt == "audio/pcm"
                    else (audio.ulaw_encode(pcm) if fmt == "audio/pcmu" else audio.alaw_encode(pcm))
                )
                await self.send(
                    {
                        "type": "response.output_audio.delta",
                        **base,
                        "content_index": 0,
                        "delta": base64.b64encode(data).decode(),
                    }
                )
                item["_audio_ms"] = item.get("_audio_ms", 0) + ms
                s.audio_deltas_sent += 1
                if i < len(words):
                    said.append(words[i])
                    await self.send(
                        {
                            "type": "response.output_audio_transcript.delta",
                            **base,
                            "content_index": 0,
                            "delta": (" " if i else "") + words[i],
                        }
                    )
                if (
                    f.drop_after is not None
                    and s.index <= self.fake.drops
                    and s.audio_deltas_sent >= f.drop_after
                ):
                    self.dead = True
                    if not abort_connection(self.ws):  # pragma: no cover - transport not reachable
                        await self.ws.close(1011, "dropped")
                    raise asyncio.CancelledError
                if self.fake.chunk_delay:
                    await asyncio.sleep(self.fake.chunk_delay)
            if not self.cancel_reason:
                said = words
            transcript = " ".join(said)
            await self.send({"type": "response.output_audio.done", **base, "content_index": 0})
            await self.send(
                {
                    "type": "response.output_audio_transcript.done",
                    **base,
                    "content_index": 0,
                    "transcript": transcript,
                }
            )
            part = {"type": "output_audio", "transcript": transcript}
        else:
            for i, word in enumerate(words):
                if self.cancel_reason:
                    break
                said.append(word)
                await self.send(
                    {
                        "type": "response.output_text.delta",
                        **base,
                        "content_index": 0,
                        "delta": (" " if i else "") + word,
                    }
                )
                if self.fake.chunk_delay:
                    await asyncio.sleep(self.fake.chunk_delay)
            await self.send(
                {"type": "response.output_text.done", **base, "content_index": 0, "text": " ".join(said)}
            )
            part = {"type": "output_text", "text": " ".join(said)}
        item["content"] = [part]
        item["status"] = "incomplete" if self.cancel_reason else "completed"
        public = {k: v for k, v in item.items() if not k.startswith("_")}
        await self.send({"type": "response.content_part.done", **base, "content_index": 0, "part": part})
        await self.send(
            {"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": public}
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": None, "item": public})
        response["output"] = [public]


def decoded_tone_peak_hz(pcm: bytes, rate: int) -> float:
    """The strongest frequency of PCM16 ``pcm`` (test helper)."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    if len(x) < 16:
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))
