"""A fake Hume EVI chat on ``ws://127.0.0.1:<port>/v0/evi/chat``.

What it checks, like the real service:

* the handshake: path ``/v0/evi/chat``; the key as ``api_key`` (or a token as ``access_token``)
  query parameter, HTTP 401 otherwise; a ``resumed_chat_group_id`` must name a chat group this
  fake created (else an ``error`` and a close);
* every message: JSON (``E0100`` otherwise) with a known ``type`` (``E0101``);
  ``session_settings.audio`` needs ``encoding: linear16``, an integer ``sample_rate`` and
  ``channels: 1``; tools need ``type: function``, a ``name`` and ``parameters`` as a *string*
  holding a JSON schema; ``audio_input.data`` must be strict base64 (``E0201``) of whole PCM16
  samples, and raw PCM is refused before ``session_settings`` declared its format (``E0202``);
  ``tool_response`` / ``tool_error`` must answer a ``tool_call_id`` the fake sent.

The codes follow Hume's published error table where it has one (E0100 invalid JSON, E0101 bad
structure, E0201 not base64, E0202 no audio could be inferred); the slugs are the fake's.

What it plays: ``chat_metadata`` on connect; an energy VAD
(:class:`~waav.testing.fakes._realtime.EnergyVAD`, at the declared input rate) that, when
speech ends, sends the next of ``transcripts`` as ``user_message`` (an ``interim`` one first
when ``verbose_transcription=true``), with 48 prosody scores and ``time {begin, end}``, then
answers with the next :class:`Reply`: ``assistant_message`` per sentence (with prosody) and
``audio_output`` chunks — each a complete WAV file (``output_rate``, 48 kHz like EVI) of a
``tone_hz`` sine, ``ms_per_word`` per word, ``chunk_ms`` per chunk, ``chunk_delay`` apart — then
``assistant_end``. ``user_input`` text is answered the same way. Speech during a reply stops it
with ``user_interruption``. A function-call reply sends ``tool_call`` and the next reply follows
the client's ``tool_response`` (``{tool_output}`` in its text is the response's ``content``).

Faults (:class:`~waav.testing.fakes.Faults`): ``reject_auth`` (401), ``rate_limit_retry_after``
(429 with ``Retry-After``), ``first_result_delay`` (before the first reply of a connection),
``drop_after`` (abort the TCP connection after that many ``audio_output`` chunks, on the first
``drops`` connections), ``session_expires_after`` (the chat's max duration: a normal 1000 close,
on every connection — what EVI sends at its cap is not documented beyond "disconnected"),
``vendor_error`` (every reply is an ``error`` with that slug instead).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from waav.testing.fakes._realtime import EnergyVAD, Reply, abort_connection, prosody_scores, tone
from waav.testing.fakes._server import FakeServer, Faults, RecordedRequest

__all__ = ["FakeHumeEVI", "HumeSession", "Reply", "wav_chunk"]

CLIENT_TYPES = frozenset(
    {
        "session_settings",
        "audio_input",
        "user_input",
        "assistant_input",
        "tool_response",
        "tool_error",
        "pause_assistant_message",
        "resume_assistant_message",
    }
)


class _ClientError(Exception):
    def __init__(self, code: str, slug: str, message: str) -> None:
        super().__init__(message)
        self.code, self.slug, self.message = code, slug, message


def wav_chunk(pcm: bytes, rate: int) -> bytes:
    """A complete mono PCM16 WAV file holding ``pcm``."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(pcm))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )


@dataclass
class HumeSession:
    """What one connection did."""

    index: int
    request: RecordedRequest
    chat_id: str
    chat_group_id: str
    #: Client messages in order, parsed (``audio_input`` data replaced by its length).
    messages: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: The last ``session_settings`` received.
    settings: dict[str, Any] = field(default_factory=dict)
    #: All input audio, PCM16 at the declared rate.
    audio: bytearray = field(default_factory=bytearray)
    audio_outputs_sent: int = 0
    tool_responses: list[dict[str, Any]] = field(default_factory=list)
    interruptions: int = 0
    closed: bool = False

    def messages_of(self, mtype: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == mtype]

    @property
    def sample_rate(self) -> int | None:
        audio = self.settings.get("audio")
        return int(audio["sample_rate"]) if isinstance(audio, dict) else None


class FakeHumeEVI(FakeServer):
    """The fake; see the module docstring."""

    vendor = "hume"

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        access_token: str | None = None,
        replies: list[Reply] | None = None,
        transcripts: list[str] | None = None,
        faults: Faults | None = None,
        tone_hz: float = 600.0,
        output_rate: int = 48000,
        ms_per_word: int = 200,
        chunk_ms: int = 100,
        chunk_delay: float = 0.0,
        drops: int = 1,
        silence_ms: int = 500,
        vad_threshold_dbfs: float = -35.0,
    ) -> None:
        super().__init__(faults=faults)
        self.api_key = api_key
        self.access_token = access_token
        self.replies = list(replies or [])
        self.transcripts = list(transcripts or [])
        self.tone_hz = tone_hz
        self.output_rate = output_rate
        self.ms_per_word = ms_per_word
        self.chunk_ms = chunk_ms
        self.chunk_delay = chunk_delay
        self.drops = drops
        self.silence_ms = silence_ms
        self.vad_threshold_dbfs = vad_threshold_dbfs
        self.sessions: list[HumeSession] = []
        self.chat_groups: set[str] = set()
        self._ids = itertools.count(1)
        self._reply_n = itertools.count(1)
        self._turn_n = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if self.replies else Reply(f"Reply {next(self._reply_n)}.")

    def next_transcript(self) -> str:
        return self.transcripts.pop(0) if self.transcripts else f"turn {next(self._turn_n)}"

    def build_app(self) -> Starlette:
        return Starlette(routes=[WebSocketRoute("/v0/evi/chat", self._endpoint)])

    async def _endpoint(self, ws: WebSocket) -> None:
        rec = self.recorder.start(ws)
        f = self.faults
        q = ws.query_params
        authed = (q.get("api_key") == self.api_key) or (
            self.access_token is not None and q.get("access_token") == self.access_token
        )
        if f.reject_auth or not authed:
            await ws.send_denial_response(JSONResponse({"message": "Invalid credentials"}, status_code=401))
            return
        if f.rate_limit_retry_after is not None:
            await ws.send_denial_response(
                JSONResponse(
                    {"message": "Too many requests"},
                    status_code=429,
                    headers={"Retry-After": f"{f.rate_limit_retry_after:g}"},
                )
            )
            return
        await ws.accept()
        resumed = q.get("resumed_chat_group_id")
        group = resumed or self._id("group")
        s = HumeSession(len(self.sessions) + 1, rec, self._id("chat"), group)
        self.sessions.append(s)
        conn = _Connection(self, ws, s)
        if resumed and resumed not in self.chat_groups:
            await conn.error("E0710", "unknown_chat_group", f"Chat group {resumed} does not exist.")
            await ws.close(1008, "unknown chat group")
            return
        self.chat_groups.add(group)
        await conn.run()


class _Connection:
    def __init__(self, fake: FakeHumeEVI, ws: WebSocket, s: HumeSession) -> None:
        self.fake, self.ws, self.s = fake, ws, s
        self.lock = asyncio.Lock()
        self.vad: EnergyVAD | None = None
        self.reply: asyncio.Task[None] | None = None
        self.interrupted = False
        self.pending_calls: dict[str, str] = {}
        self.replies_started = 0
        self.dead = False
        self.verbose = fake_bool(ws.query_params.get("verbose_transcription"))

    async def send(self, msg: dict[str, Any]) -> None:
        if self.dead:
            return
        async with self.lock:
            await self.ws.send_text(json.dumps(msg))

    async def error(self, code: str, slug: str, message: str) -> None:
        err = {"type": "error", "code": code, "slug": slug, "message": message}
        self.s.errors.append(err)
        await self.send(err)

    async def run(self) -> None:
        f = self.fake.faults
        expiry: asyncio.Task[None] | None = None
        try:
            await self.send(
                {
                    "type": "chat_metadata",
                    "chat_group_id": self.s.chat_group_id,
                    "chat_id": self.s.chat_id,
                    "request_id": self.fake._id("req"),
                }
            )
            if f.session_expires_after is not None:
                expiry = asyncio.get_running_loop().create_task(self._expire(f.session_expires_after))
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await self.error(
                        "E0101", "invalid_message", "Binary frames are not accepted; send JSON messages."
                    )
                    continue
                self.s.request.messages.append(text)
                await self._handle(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.dead = True
            self.s.closed = True
            for task in (expiry, self.reply):
                if task is not None and not task.done():
                    task.cancel()

    async def _expire(self, after: float) -> None:
        await asyncio.sleep(after)
        self.dead = True
        async with self.lock:
            await self.ws.close(1000, "max duration reached")

    async def _handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError
        except ValueError:
            await self.error(
                "E0100", "invalid_json", "The WebSocket request could not be parsed as valid JSON."
            )
            return
        logged = dict(msg)
        if msg.get("type") == "audio_input" and isinstance(msg.get("data"), str):
            logged["data"] = len(msg["data"])
        self.s.messages.append(logged)
        mtype = msg.get("type")
        if mtype not in CLIENT_TYPES:
            await self.error("E0101", "invalid_message", f"Unknown message type {mtype!r}.")
            return
        try:
            await getattr(self, "_on_" + str(mtype))(msg)
        except _ClientError as exc:
            await self.error(exc.code, exc.slug, exc.message)

    async def _on_session_settings(self, msg: dict[str, Any]) -> None:
        audio_cfg = msg.get("audio")
        if audio_cfg is not None:
            if not isinstance(audio_cfg, dict) or audio_cfg.get("encoding") != "linear16":
                raise _ClientError("E0101", "invalid_audio_settings", "audio.encoding must be linear16.")
            rate, channels = audio_cfg.get("sample_rate"), audio_cfg.get("channels")
            if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 48000:
                raise _ClientError(
                    "E0101", "invalid_audio_settings", f"audio.sample_rate must be an integer, got {rate!r}."
                )
            if channels != 1:
                raise _ClientError("E0101", "invalid_audio_settings", "audio.channels must be 1.")
        for key in ("system_prompt", "voice_id", "custom_session_id"):
            if msg.get(key) is not None and not isinstance(msg[key], str):
                raise _ClientError("E0101", "invalid_session_settings", f"{key} must be a string.")
        for i, tool in enumerate(msg.get("tools") or []):
            if not isinstance(tool, dict) or tool.get("type") != "function" or not tool.get("name"):
                raise _ClientError("E0101", "invalid_tool", f"tools[{i}] needs type 'function' and a name.")
            params = tool.get("parameters")
            try:
                if not isinstance(params, str) or not isinstance(json.loads(params), dict):
                    raise ValueError
            except ValueError:
                raise _ClientError(
                    "E0101", "invalid_tool", f"tools[{i}].parameters must be a JSON schema as a string."
                ) from None
        self.s.settings = {**self.s.settings, **{k: v for k, v in msg.items() if k != "type"}}
        if audio_cfg is not None:
            self.vad = EnergyVAD(
                audio_cfg["sample_rate"],
                threshold_dbfs=self.fake.vad_threshold_dbfs,
                silence_ms=self.fake.silence_ms,
                prefix_ms=0,
            )

    async def _on_audio_input(self, msg: dict[str, Any]) -> None:
        try:
            data = msg.get("data")
            if not isinstance(data, str):
                raise ValueError
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _ClientError(
                "E0201", "invalid_base64", "Media could not be decoded as a base64 encoded string."
            ) from None
        if self.vad is None:
            raise _ClientError(
                "E0202", "no_audio_signal", "Raw audio needs session_settings.audio (linear16) first."
            )
        if len(raw) % 2:
            raise _ClientError("E0202", "no_audio_signal", "linear16 audio must be whole 16-bit samples.")
        self.s.audio += raw
        for kind, ms in self.vad.feed(raw):
            if kind == "started":
                if self.reply is not None and not self.reply.done():
                    self.interrupted = True
                    self.s.interruptions += 1
                    await self.send({"type": "user_interruption", "time": ms})
            else:
                text = self.fake.next_transcript()
                begin = self.vad.speech_start_ms
                if self.verbose:
                    await self.send(self._user_message(text.split(" ")[0], interim=True, begin=begin, end=ms))
                await self.send(self._user_message(text, interim=False, begin=begin, end=ms))
                self._start_reply(self.fake.next_reply())

    def _user_message(
        self, text: str, *, interim: bool, begin: int, end: int, from_text: bool = False
    ) -> dict[str, Any]:
        return {
            "type": "user_message",
            "message": {"role": "user", "content": text},
            "models": {} if from_text else {"prosody": {"scores": prosody_scores(text)}},
            "time": {"begin": begin, "end": end},
            "from_text": from_text,
            "interim": interim,
        }

    async def _on_user_input(self, msg: dict[str, Any]) -> None:
        text = msg.get("text")
        if not isinstance(text, str):
            raise _ClientError("E0101", "invalid_message", "user_input.text must be a string.")
        await self.send(self._user_message(text, interim=False, begin=0, end=0, from_text=True))
        self._start_reply(self.fake.next_reply())

    async def _on_assistant_input(self, msg: dict[str, Any]) -> None:
        if not isinstance(msg.get("text"), str):
            raise _ClientError("E0101", "invalid_message", "assistant_input.text must be a string.")
        self._start_reply(Reply(msg["text"]))

    async def _on_tool_response(self, msg: dict[str, Any]) -> None:
        call_id = msg.get("tool_call_id")
        if call_id not in self.pending_calls:
            raise _ClientError("E0101", "unknown_tool_call", f"No tool call {call_id!r} is pending.")
        if not isinstance(msg.get("content"), str):
            raise _ClientError("E0101", "invalid_message", "tool_response.content must be a string.")
        name = self.pending_calls.pop(str(call_id))
        if msg.get("tool_name") is not None and msg["tool_name"] != name:
            raise _ClientError(
                "E0101", "invalid_message", f"tool_name {msg['tool_name']!r} does not match {name!r}."
            )
        self.s.tool_responses.append(msg)
        reply = self.fake.next_reply()
        self._start_reply(Reply(reply.text.replace("{tool_output}", msg["content"]), reply.function_call))

    async def _on_tool_error(self, msg: dict[str, Any]) -> None:
        call_id = msg.get("tool_call_id")
        if call_id not in self.pending_calls or not isinstance(msg.get("error"), str):
            raise _ClientError(
                "E0101", "unknown_tool_call", f"No tool call {call_id!r} is pending, or no error text."
            )
        self.pending_calls.pop(str(call_id))
        self.s.tool_responses.append(msg)
        self._start_reply(Reply(str(msg.get("content") or "Sorry, that did not work.")))

    async def _on_pause_assistant_message(self, msg: dict[str, Any]) -> None:
        pass

    async def _on_resume_assistant_message(self, msg: dict[str, Any]) -> None:
        pass

    def _start_reply(self, reply: Reply) -> None:
        previous = self.reply
        if previous is not None and not previous.done():
            self.interrupted = True  # a new turn ends the reply in progress
        self.reply = asyncio.get_running_loop().create_task(self._respond(reply, previous))

    async def _respond(self, reply: Reply, previous: asyncio.Task[None] | None = None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        self.interrupted = False
        f, s = self.fake.faults, self.s
        self.replies_started += 1
        if self.replies_started == 1 and f.first_result_delay:
            await asyncio.sleep(f.first_result_delay)
        if f.vendor_error:
            await self.error("E0300", f.vendor_error, f"The reply failed: {f.vendor_error}.")
            return
        if reply.function_call is not None:
            name, args = reply.function_call
            call_id = self.fake._id("tool")
            self.pending_calls[call_id] = name
            await self.send(
                {
                    "type": "tool_call",
                    "tool_call_id": call_id,
                    "name": name,
                    "parameters": args,
                    "tool_type": "function",
                    "response_required": True,
                }
            )
            return
        sentences = [p for p in re.split(r"(?<=[.!?])\s+", reply.text.strip()) if p] or [""]
        rate = self.fake.output_rate
        index = 0
        for sentence in sentences:
            if self.interrupted:
                break
            msg_id = self.fake._id("msg")
            await self.send(
                {
                    "type": "assistant_message",
                    "id": msg_id,
                    "message": {"role": "assistant", "content": sentence},
                    "models": {"prosody": {"scores": prosody_scores(sentence)}},
                    "from_text": False,
                }
            )
            total_ms = max(200, len(sentence.split()) * self.fake.ms_per_word)
            sample = 0
            for start in range(0, total_ms, self.fake.chunk_ms):
                if self.interrupted:
                    break
                ms = min(self.fake.chunk_ms, total_ms - start)
                pcm = tone(self.fake.tone_hz, ms, rate, start_sample=sample)
                sample += len(pcm) // 2
                await self.send(
                    {
                        "type": "audio_output",
                        "id": msg_id,
                        "index": index,
                        "data": base64.b64encode(wav_chunk(pcm, rate)).decode(),
                    }
                )
                index += 1
                s.audio_outputs_sent += 1
                if (
                    f.drop_after is not None
                    and s.index <= self.fake.drops
                    and s.audio_outputs_sent >= f.drop_after
                ):
                    self.dead = True
                    if not abort_connection(self.ws):  # pragma: no cover
                        await self.ws.close(1011, "dropped")
                    return
                if self.fake.chunk_delay:
                    await asyncio.sleep(self.fake.chunk_delay)
        await self.send({"type": "assistant_end"})


def fake_bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")
