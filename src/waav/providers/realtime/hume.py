"""Hume EVI (Empathic Voice Interface) chat over WebSocket (``wss://api.hume.ai/v0/evi/chat``).

Protocol (Hume API reference "Chat" WebSocket, the "Session settings", "Audio", "Tool use" and
"Timeouts" guides, and the ``hume`` Python SDK's ``empathic_voice`` models):

* Handshake: the key goes in the ``api_key`` query parameter (or ``options["access_token"]`` as
  ``access_token``); ``config_id`` / ``config_version`` / ``evi_version`` from options;
  ``verbose_transcription=true`` (``options["verbose_transcription"]``, default on) so interim
  user transcripts arrive; ``resumed_chat_group_id`` on a reconnect (see below). A bad key fails
  the handshake with HTTP 401. The server opens with ``chat_metadata`` (``chat_group_id``,
  ``chat_id``); :meth:`connect` returns when it arrived.
* Sent: ``session_settings`` first — ``audio {encoding: linear16, sample_rate, channels: 1}``
  (required for raw PCM input), ``system_prompt`` (``instructions``), ``voice_id`` (``voice``),
  ``tools`` (``{type: function, name, description, parameters: <JSON schema as a string>}``),
  ``context`` / ``variables`` / ``custom_session_id`` / ``language_model_api_key`` from options;
  then ``audio_input {data: base64 PCM}``, ``user_input {text}``, ``tool_response {tool_call_id,
  content, tool_name}`` and ``tool_error {tool_call_id, error, content?}``.
* Received: ``user_message`` (``message.content``, ``interim``, ``time {begin, end}``,
  ``models.prosody.scores`` — 48 emotion scores) → user transcripts (interim/final) and speech
  events; ``assistant_message`` (one sentence of the reply, with prosody) → final assistant
  transcripts; ``audio_output {id, index, data}`` — base64 **WAV** (48 kHz per Hume's docs; the
  header's own rate and format are used) → audio at the client's rate; ``assistant_end`` →
  ``on_response_done``; ``user_interruption`` → barge-in; ``tool_call {tool_call_id, name,
  parameters, response_required}`` → function calls; ``error {code, slug, message}`` → errors.

What EVI does not have, and what the adapter does instead (documented, not emulated):

=====================  ======================================================================
call                   behaviour
=====================  ======================================================================
create_response        no-op: EVI answers on its own turn detection (no manual turn mode)
commit_audio_buffer    pushes the input resampler's tail; EVI has no buffer to commit
clear_audio_buffer     forgets audio not yet sent (resampler state, reconnect buffer)
cancel_response        local barge-in: the rest of the current reply's audio is dropped until
                       ``assistant_end`` or the next final user message; EVI has no cancel
                       message, so it may keep generating
turn_detection,        not sent: EVI takes them from its stored config (``config_id``), not
temperature, …         from session settings
=====================  ======================================================================

**Prosody.** Transcripts are :class:`HumeTranscript` records (a
:class:`~waav.providers.base.TranscriptResult` with ``prosody``: emotion name → score), so
callers that want the emotions get them; the gateway forwards the text as usual.

**Reconnect and session cap.** EVI ends a chat at its maximum duration (default and maximum
1800 s) or after inactivity. Any close the adapter did not ask for is reconnected per
``config.reconnection``, with ``resumed_chat_group_id`` set to the chat group of the lost chat
(Hume's documented way to keep the conversation's context across connections), and the
session settings are sent again. A normal close (1000) by the server counts as the session cap
(first attempt immediate, outside the retry budget).

**Audio rates.** EVI is sent PCM16 at ``options["vendor_sample_rate"]`` (default 44100, the
upstream's session setting; set it to the client's rate to skip resampling — EVI takes the rate
it is told). The client's default rate is 44100 too (upstream), both ways.
"""

from __future__ import annotations

import itertools
import json
import logging
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor, ProviderMetadata, catalog_entry
from waav.providers._common import base_url, require_credential
from waav.providers.base import FunctionCallRequest, RealtimeConfig, SpeechEvent, TranscriptResult
from waav.providers.realtime._ws import (
    AudioFormat,
    WebSocketRealtime,
    b64decode,
    b64encode,
    classify_vendor_error,
    join_path,
    ws_url,
)

__all__ = ["DEFAULT_URL", "PLUGIN", "HumeEVI", "HumeTranscript"]

log = logging.getLogger("waav.providers.realtime")

DEFAULT_URL = "wss://api.hume.ai"
PATH = "/v0/evi/chat"
DEFAULT_RATE = 44100
#: EVI's documented output rate, used when an audio chunk has no WAV header.
OUTPUT_RATE = 48000

OPTIONS = (
    "access_token",
    "config_id",
    "config_version",
    "evi_version",
    "verbose_transcription",
    "resumed_chat_group_id",
    "vendor_sample_rate",
    "context",
    "variables",
    "custom_session_id",
    "language_model_api_key",
)


@dataclass(frozen=True)
class HumeTranscript(TranscriptResult):
    """A transcript with Hume's prosody scores (emotion name → score in [0, 1])."""

    prosody: dict[str, float] | None = None

    def top_emotions(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` strongest emotions, strongest first."""
        if not self.prosody:
            return []
        return sorted(self.prosody.items(), key=lambda kv: kv[1], reverse=True)[:n]


def split_wav(data: bytes) -> tuple[int | None, bytes]:
    """``(rate, pcm16)`` of a WAV chunk (``(None, data)`` when it has no RIFF header)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None, data
    pos, rate = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"data":
            return rate, data[pos + 8 :]
        if cid == b"fmt " and size >= 16 and pos + 24 <= len(data):
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            if tag != 1 or bits != 16 or channels != 1:
                raise ProviderError(
                    f"hume: audio_output is WAV format {tag} with {channels} channel(s) of {bits} bits; "
                    "mono PCM16 expected",
                    provider="hume",
                )
        pos += 8 + size + (size & 1)
    raise ProviderError("hume: audio_output WAV has no data chunk", provider="hume")


def _scores(message: dict[str, Any]) -> dict[str, float] | None:
    models = message.get("models") or {}
    prosody = models.get("prosody") if isinstance(models, dict) else None
    scores = prosody.get("scores") if isinstance(prosody, dict) else None
    if not isinstance(scores, dict):
        return None
    return {str(k): float(v) for k, v in scores.items() if isinstance(v, (int, float))}


class HumeEVI(WebSocketRealtime):
    """A Hume EVI chat (see the module docstring)."""

    provider_id = "hume"
    vendor_rate = DEFAULT_RATE

    def __init__(self, config: RealtimeConfig) -> None:
        super().__init__(config)
        #: ``chat_group_id`` / ``chat_id`` of the current chat (from ``chat_metadata``).
        self.chat_group_id: str | None = config.options.get("resumed_chat_group_id")
        self.chat_id: str | None = None
        self._wav_rate = OUTPUT_RATE
        self._suppress = False
        self._in_user_turn = False
        self._message_id: str | None = None
        self._tool_names: dict[str, str] = {}
        self._turns = itertools.count(1)

    # ------------------------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------------------------
    def check_config(self, config: RealtimeConfig) -> None:
        if not config.options.get("access_token"):
            require_credential(config, self.provider_id, "realtime")
        rate = config.options.get("vendor_sample_rate", DEFAULT_RATE)
        if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 48000:
            raise ConfigError(f"hume: option vendor_sample_rate must be an integer 8000–48000, got {rate!r}")
        vt = config.options.get("verbose_transcription", True)
        if not isinstance(vt, bool):
            raise ConfigError(f"hume: option verbose_transcription must be true or false, got {vt!r}")
        for tool in config.tools:
            if tool.function.parameters is not None and not isinstance(tool.function.parameters, dict):
                raise ConfigError(
                    f"hume: tool {tool.function.name!r} parameters must be a JSON schema object"
                )

    def vendor_formats(
        self, config: RealtimeConfig, client_in: AudioFormat, client_out: AudioFormat
    ) -> tuple[AudioFormat, AudioFormat]:
        rate = int(config.options.get("vendor_sample_rate", DEFAULT_RATE))
        return AudioFormat("linear16", rate), AudioFormat("linear16", OUTPUT_RATE)

    def url(self) -> str:
        opts = self.config.options
        query: dict[str, Any] = {}
        if opts.get("access_token"):
            query["access_token"] = opts["access_token"]
        else:
            query["api_key"] = require_credential(self.config, self.provider_id, "realtime")
        for key in ("config_id", "config_version", "evi_version"):
            if opts.get(key) is not None:
                query[key] = opts[key]
        if opts.get("verbose_transcription", True):
            query["verbose_transcription"] = "true"
        if self.chat_group_id:
            query["resumed_chat_group_id"] = self.chat_group_id
        root = ws_url(base_url(self.config, DEFAULT_URL))
        return join_path(root, PATH) + "?" + urlencode(query)

    def session_settings(self) -> dict[str, Any]:
        cfg = self.config
        opts = cfg.options
        msg: dict[str, Any] = {
            "type": "session_settings",
            "audio": {"encoding": "linear16", "sample_rate": self.vendor_input.rate, "channels": 1},
        }
        if cfg.instructions is not None:
            msg["system_prompt"] = cfg.instructions
        if cfg.voice:
            msg["voice_id"] = cfg.voice
        if cfg.tools:
            msg["tools"] = [
                {
                    "type": "function",
                    "name": t.function.name,
                    **({"description": t.function.description} if t.function.description else {}),
                    "parameters": json.dumps(t.function.parameters or {"type": "object", "properties": {}}),
                }
                for t in cfg.tools
            ]
        for key in ("context", "variables", "custom_session_id", "language_model_api_key"):
            if opts.get(key) is not None:
                msg[key] = opts[key]
        return msg

    # ------------------------------------------------------------------------------------
    # connection hooks
    # ------------------------------------------------------------------------------------
    async def on_open(self, ws: ClientConnection, *, reconnect: bool) -> None:
        await ws.send(json.dumps(self.session_settings(), separators=(",", ":")))

    def is_expected_close(self, ws: ClientConnection | None) -> bool:
        return ws is not None and ws.close_code == 1000

    def on_connection_lost(self) -> None:
        self._suppress = False
        self._in_user_turn = False
        self._reset_output()

    # ------------------------------------------------------------------------------------
    # server messages
    # ------------------------------------------------------------------------------------
    async def handle_event(self, event: dict[str, Any]) -> None:
        etype = event.get("type")
        if etype == "audio_output":
            await self._on_audio(event)
        elif etype == "user_message":
            await self._on_user_message(event)
        elif etype == "assistant_message":
            msg = event.get("message") or {}
            self._message_id = event.get("id") or self._message_id
            if self._suppress:
                return
            await self._transcript.emit(
                HumeTranscript(
                    str(msg.get("content") or ""), "assistant", True, event.get("id"), _scores(event)
                )
            )
        elif etype == "assistant_end":
            if not self._suppress:
                await self._flush_audio(self._message_id, None)
            self._suppress = False
            self._reset_output()
            rid, self._message_id = self._message_id, None
            await self._response_done.emit(rid or f"hume-turn-{next(self._turns)}")
        elif etype == "user_interruption":
            await self._interrupt()
            if not self._in_user_turn:
                self._in_user_turn = True
                await self._speech_event.emit(SpeechEvent("started", 0, None))
        elif etype == "tool_call":
            await self._on_tool_call(event)
        elif etype == "chat_metadata":
            self.chat_group_id = event.get("chat_group_id") or self.chat_group_id
            self.chat_id = event.get("chat_id")
            self._mark_ready()
        elif etype == "error":
            code, slug = str(event.get("code") or ""), str(event.get("slug") or "")
            text = f"{code} {slug}".strip() + f": {event.get('message') or ''}"
            error = classify_vendor_error(self.provider_id, text)
            if not self._fail_open(error):
                raise error
        # assistant_prosody, tool_response / tool_error echoes, chat events: nothing to do

    async def _on_audio(self, event: dict[str, Any]) -> None:
        data = b64decode(event.get("data"), self.provider_id)
        if self._suppress:
            return
        rate, pcm = split_wav(data)
        if rate is not None:
            self._wav_rate = rate
        self._message_id = self._message_id or event.get("id")
        await self._emit_audio(pcm, AudioFormat("linear16", self._wav_rate), event.get("id"), None)

    async def _on_user_message(self, event: dict[str, Any]) -> None:
        msg = event.get("message") or {}
        interim = bool(event.get("interim", False))
        times = event.get("time") or {}
        spoken = not event.get("from_text", False)
        if spoken and not self._in_user_turn:
            self._in_user_turn = True
            await self._speech_event.emit(SpeechEvent("started", int(times.get("begin") or 0), None))
        await self._transcript.emit(
            HumeTranscript(str(msg.get("content") or ""), "user", not interim, None, _scores(event))
        )
        if not interim:
            self._suppress = False  # a new turn: the next reply is heard again
        if spoken and not interim:
            self._in_user_turn = False
            await self._speech_event.emit(SpeechEvent("stopped", int(times.get("end") or 0), None))

    async def _on_tool_call(self, event: dict[str, Any]) -> None:
        call_id, name = str(event.get("tool_call_id") or ""), str(event.get("name") or "")
        if event.get("tool_type") == "builtin" or event.get("response_required") is False:
            log.debug("hume: tool call %s (%s) needs no response", name, call_id)
            return
        self._tool_names[call_id] = name
        params = event.get("parameters")
        args = params if isinstance(params, str) else json.dumps(params or {})
        await self._function_call.emit(FunctionCallRequest(call_id, name, args, None))

    async def _interrupt(self) -> None:
        """Barge-in: drop the rest of the current reply's audio until ``assistant_end``."""
        self._suppress = True
        self._reset_output()

    # ------------------------------------------------------------------------------------
    # client calls
    # ------------------------------------------------------------------------------------
    async def send_text(self, text: str) -> None:
        await self._send_control({"type": "user_input", "text": text})

    async def create_response(self) -> None:
        self._check_usable()
        log.debug("hume: create_response is a no-op (EVI answers on its own turn detection)")

    async def cancel_response(self) -> None:
        self._check_usable()
        await self._interrupt()

    async def commit_audio_buffer(self) -> None:
        self._check_usable()
        await self._flush_input()

    async def clear_audio_buffer(self) -> None:
        self._check_usable()
        self._in_conv.reset()
        self._drop_buffered_audio()

    async def update_session(self, config: RealtimeConfig) -> None:
        self._apply_config(config)
        if self.state.value in ("connected", "reconnecting"):
            await self._send_control(self.session_settings())

    async def submit_function_result(self, call_id: str, result: str) -> None:
        msg: dict[str, Any] = {"type": "tool_response", "tool_call_id": call_id, "content": result}
        if call_id in self._tool_names:
            msg["tool_name"] = self._tool_names.pop(call_id)
        await self._send_control(msg)

    async def submit_function_error(self, call_id: str, error: str, content: str | None = None) -> None:
        """Tell EVI the tool failed (``content`` is passed to its LLM in place of a result)."""
        msg: dict[str, Any] = {"type": "tool_error", "tool_call_id": call_id, "error": error}
        if content is not None:
            msg["content"] = content
        self._tool_names.pop(call_id, None)
        await self._send_control(msg)

    def audio_message(self, data: bytes) -> dict[str, Any]:
        return {"type": "audio_input", "data": b64encode(data)}

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info.update(
            model=self.config.model or "evi",
            chat_group_id=self.chat_group_id,
            chat_id=self.chat_id,
            config_id=self.config.options.get("config_id"),
        )
        return info


def _metadata() -> ProviderMetadata:
    entry = catalog_entry("realtime", "hume")
    assert entry is not None
    return entry.metadata.with_optional_config(
        ["voice", "instructions", "tools", "input_audio_format", "output_audio_format", *OPTIONS]
    )


#: The ``waav.plugins`` entry point: the built-in ``hume`` realtime provider.
PLUGIN = PluginConstructor.realtime("hume", _metadata, HumeEVI)
