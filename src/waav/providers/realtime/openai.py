"""OpenAI Realtime API over WebSocket (``wss://api.openai.com/v1/realtime?model=…``), GA interface.

Protocol (OpenAI API reference "Realtime client/server events" and the ``openai`` Python SDK's
``types/realtime`` models; the beta interface with the ``OpenAI-Beta: realtime=v1`` header was
retired by OpenAI, so this adapter speaks GA and only *reads* the beta event names too):

* Handshake: ``Authorization: Bearer <key>`` (optional ``OpenAI-Organization`` /
  ``OpenAI-Project`` from ``options["organization"]`` / ``["project"]``); the model is the
  ``model`` query parameter (default ``gpt-realtime``). The server opens with ``session.created``.
* Session: ``session.update`` with ``session.type = "realtime"``, ``instructions``,
  ``max_output_tokens``, ``output_modalities`` (``["audio"]`` — audio always carries a
  transcript — or ``["text"]``; the API does not take both), ``audio.input.format``
  (``{"type": "audio/pcm", "rate": 24000}`` — 24 kHz is the only PCM rate — or ``audio/pcmu`` /
  ``audio/pcma``), ``audio.input.transcription`` (``{model, language?, prompt?}``),
  ``audio.input.turn_detection`` (``server_vad`` with ``threshold`` / ``prefix_padding_ms`` /
  ``silence_duration_ms`` / ``create_response`` / ``interrupt_response``, ``semantic_vad`` with
  ``eagerness``, or ``null`` for manual turns), ``audio.output.format`` / ``voice`` / ``speed``,
  ``tools`` (flat ``{"type": "function", name, description, parameters}``) and ``tool_choice``.
  The GA session has no ``temperature``: a configured temperature is not sent (logged once).
  :meth:`connect` returns once ``session.updated`` confirmed the settings.
* Client events used: ``input_audio_buffer.append`` (base64 audio) / ``.commit`` / ``.clear``,
  ``conversation.item.create`` (user ``input_text``, ``function_call_output``, and replayed
  history), ``conversation.item.truncate``, ``response.create``, ``response.cancel``.
* Server events handled: ``session.created/updated``, ``input_audio_buffer.speech_started/
  stopped`` (→ speech events), ``conversation.item.input_audio_transcription.delta/completed/
  failed`` (→ user transcripts), ``response.created``, ``response.output_item.added/done``,
  ``response.output_audio.delta/done`` (beta: ``response.audio.*``) → audio,
  ``response.output_audio_transcript.delta/done`` and ``response.output_text.delta/done`` (beta:
  ``response.audio_transcript.*``, ``response.text.*``) → assistant transcripts,
  ``response.function_call_arguments.done`` → function calls, ``response.done`` (status
  ``failed`` → an error: ``rate_limit_exceeded`` / ``insufficient_quota`` map to
  :class:`~waav.ProviderRateLimitError`), ``rate_limits.updated`` (kept in
  :attr:`OpenAIRealtime.rate_limits`), ``error`` (``session_expired`` → reconnect;
  ``response_cancel_not_active`` is benign and ignored).

Transcripts: interim results carry the text *so far* (deltas accumulated per item), the final
one the complete text, for both roles.

**Barge-in.** When the server's VAD hears the user (``speech_started``) or the caller cancels,
audio still arriving for that response is dropped, the output resampler is reset, and the
assistant item is truncated with ``conversation.item.truncate`` to what the user heard, so the
model does not "remember" words that were never played. The adapter cannot see the client's
speaker: it assumes playback started when the item's first audio was delivered and runs in real
time, and truncates at ``min(elapsed time, audio delivered)`` (Pipecat's rule); nothing is
truncated once all delivered audio has had time to play. Callers that know their real playback
position can call :meth:`OpenAIRealtime.truncate` themselves and set
``options["truncate_on_interrupt"] = False``. With ``turn_detection.interrupt_response = false``
the server keeps talking, and so does the adapter.

**Session expiry.** OpenAI caps a session's duration (15, then 30, now 60 minutes) and ends it
with an ``error`` event ``session_expired`` and a close. The adapter reconnects at once, sends
``session.update`` again and replays the last ``options["replay_history"]`` (20) final
transcripts as conversation items (user ``input_text``, assistant ``output_text``), so the
conversation continues with its context; audio and pending function calls of the old session
cannot be carried over.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor, ProviderMetadata, catalog_entry
from waav.plugin._typed import replace
from waav.providers._common import base_url, require_credential
from waav.providers.base import (
    FunctionCallRequest,
    RealtimeConfig,
    SpeechEvent,
    TranscriptResult,
)
from waav.providers.realtime._ws import (
    AudioFormat,
    WebSocketRealtime,
    b64decode,
    b64encode,
    classify_vendor_error,
    join_path,
    ws_url,
)

__all__ = ["DEFAULT_MODEL", "DEFAULT_URL", "PLUGIN", "OpenAIRealtime"]

log = logging.getLogger("waav.providers.realtime")

DEFAULT_URL = "wss://api.openai.com"
PATH = "/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"

_VENDOR_FORMAT: dict[str, dict[str, Any]] = {
    "linear16": {"type": "audio/pcm", "rate": 24000},
    "mulaw": {"type": "audio/pcmu"},
    "alaw": {"type": "audio/pcma"},
}
_AUDIO_DELTA = ("response.output_audio.delta", "response.audio.delta")
_AUDIO_DONE = ("response.output_audio.done", "response.audio.done")
_TEXT_DELTA = (
    "response.output_audio_transcript.delta",
    "response.audio_transcript.delta",
    "response.output_text.delta",
    "response.text.delta",
)
_TEXT_DONE = (
    "response.output_audio_transcript.done",
    "response.audio_transcript.done",
    "response.output_text.done",
    "response.text.done",
)
_BENIGN_ERRORS = frozenset({"response_cancel_not_active"})
_RATE_CODES = frozenset({"rate_limit_exceeded", "insufficient_quota", "rate_limit_error"})
_AUTH_CODES = frozenset({"invalid_api_key", "authentication_error", "unauthorized"})

#: Options this adapter reads (besides the shared connect_timeout / max_buffer_seconds /
#: sample-rate options of every realtime adapter).
OPTIONS = (
    "organization",
    "project",
    "transcription_language",
    "transcription_prompt",
    "noise_reduction",
    "speed",
    "truncate_on_interrupt",
    "replay_history",
    "respond_after_function_result",
)


class _Playing:
    """The assistant audio item being delivered (for truncation on barge-in)."""

    __slots__ = ("delivered_ms", "item_id", "response_id", "started")

    def __init__(self, item_id: str, response_id: str | None) -> None:
        self.item_id = item_id
        self.response_id = response_id
        self.started = time.monotonic()
        self.delivered_ms = 0.0


class OpenAIRealtime(WebSocketRealtime):
    """An OpenAI Realtime conversation (see the module docstring)."""

    provider_id = "openai"
    vendor_rate = 24000

    def __init__(self, config: RealtimeConfig) -> None:
        self._history: deque[tuple[str, str]] = deque(maxlen=20)
        super().__init__(config)
        if not self.config.model:  # report the model actually used (the gateway's session_created)
            self.config = replace(self.config, model=DEFAULT_MODEL)
        #: The last ``rate_limits`` list from ``rate_limits.updated``.
        self.rate_limits: list[dict[str, Any]] = []
        #: The ``session`` object of the last ``session.updated`` (the effective settings).
        self.session: dict[str, Any] = {}
        self._response_id: str | None = None
        self._cancelled: set[str] = set()
        self._playing: _Playing | None = None
        self._user_text: dict[str, str] = {}
        self._assistant_text: dict[str, str] = {}
        self._calls: dict[str, tuple[str, str]] = {}  # item_id -> (call_id, name)
        self._emitted_calls: set[str] = set()
        self._temperature_warned = False

    # ------------------------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------------------------
    def check_config(self, config: RealtimeConfig) -> None:
        require_credential(config, self.provider_id, "realtime")
        if config.modalities is not None:
            bad = [m for m in config.modalities if m not in ("audio", "text")]
            if bad or not config.modalities:
                raise ConfigError(
                    f"openai: modalities must be 'audio' and/or 'text', got {config.modalities!r}"
                )
        if config.tool_choice is not None and not config.tool_choice.strip():
            raise ConfigError("openai: tool_choice must be auto, none, required or a function name")
        opts = config.options
        for key in ("truncate_on_interrupt", "respond_after_function_result"):
            if key in opts and not isinstance(opts[key], bool):
                raise ConfigError(f"openai: option {key} must be true or false, got {opts[key]!r}")
        replay = opts.get("replay_history", 20)
        if not isinstance(replay, int) or isinstance(replay, bool) or replay < 0:
            raise ConfigError(f"openai: option replay_history must be an integer >= 0, got {replay!r}")
        self._history = deque(self._history, maxlen=replay)

    def vendor_formats(
        self, config: RealtimeConfig, client_in: AudioFormat, client_out: AudioFormat
    ) -> tuple[AudioFormat, AudioFormat]:
        # G.711 is sent and received as is (the API takes audio/pcmu and audio/pcma at 8 kHz);
        # PCM is resampled to the one PCM rate the API takes, 24 kHz.
        def vendor(fmt: AudioFormat) -> AudioFormat:
            if fmt.encoding != "linear16" and fmt.rate == 8000:
                return fmt
            return AudioFormat("linear16", 24000)

        return vendor(client_in), vendor(client_out)

    @property
    def model(self) -> str:
        return self.config.model or DEFAULT_MODEL

    def url(self) -> str:
        root = ws_url(base_url(self.config, DEFAULT_URL))
        return join_path(root, PATH) + "?" + urlencode({"model": self.model})

    def headers(self) -> dict[str, str]:
        key = require_credential(self.config, self.provider_id, "realtime")
        out = {"Authorization": f"Bearer {key}"}
        if self.config.options.get("organization"):
            out["OpenAI-Organization"] = str(self.config.options["organization"])
        if self.config.options.get("project"):
            out["OpenAI-Project"] = str(self.config.options["project"])
        return out

    def session_payload(self) -> dict[str, Any]:
        """The GA ``session`` object for the current config."""
        cfg = self.config
        opts = cfg.options
        session: dict[str, Any] = {"type": "realtime"}
        if cfg.instructions is not None:
            session["instructions"] = cfg.instructions
        if cfg.max_response_output_tokens is not None:
            session["max_output_tokens"] = cfg.max_response_output_tokens
        if cfg.modalities:
            session["output_modalities"] = ["audio"] if "audio" in cfg.modalities else ["text"]
        if cfg.temperature is not None and not self._temperature_warned:
            self._temperature_warned = True
            log.warning("openai: the GA Realtime session has no temperature; %s is not sent", cfg.temperature)
        audio_in: dict[str, Any] = {"format": dict(_VENDOR_FORMAT[self.vendor_input.encoding])}
        if cfg.input_audio_transcription is not None:
            tr: dict[str, Any] = {"model": cfg.input_audio_transcription.model}
            if opts.get("transcription_language"):
                tr["language"] = str(opts["transcription_language"])
            if opts.get("transcription_prompt"):
                tr["prompt"] = str(opts["transcription_prompt"])
            audio_in["transcription"] = tr
        if opts.get("noise_reduction"):
            audio_in["noise_reduction"] = {"type": str(opts["noise_reduction"])}
        td = cfg.turn_detection
        if td is not None:
            if td.type == "none":
                audio_in["turn_detection"] = None
            else:
                det: dict[str, Any] = {"type": td.type}
                if td.type == "server_vad":
                    det.update(
                        threshold=td.threshold,
                        prefix_padding_ms=td.prefix_padding_ms,
                        silence_duration_ms=td.silence_duration_ms,
                    )
                elif td.eagerness is not None:
                    det["eagerness"] = td.eagerness
                if td.create_response is not None:
                    det["create_response"] = td.create_response
                if td.interrupt_response is not None:
                    det["interrupt_response"] = td.interrupt_response
                audio_in["turn_detection"] = det
        audio_out: dict[str, Any] = {"format": dict(_VENDOR_FORMAT[self.vendor_output.encoding])}
        if cfg.voice:
            audio_out["voice"] = cfg.voice
        if opts.get("speed") is not None:
            audio_out["speed"] = float(opts["speed"])
        session["audio"] = {"input": audio_in, "output": audio_out}
        if cfg.tools:
            session["tools"] = [
                {
                    "type": "function",
                    "name": t.function.name,
                    **({"description": t.function.description} if t.function.description else {}),
                    "parameters": t.function.parameters or {"type": "object", "properties": {}},
                }
                for t in cfg.tools
            ]
        if cfg.tool_choice is not None:
            choice = cfg.tool_choice.strip()
            session["tool_choice"] = (
                choice if choice in ("auto", "none", "required") else {"type": "function", "name": choice}
            )
        return session

    @property
    def _interrupts(self) -> bool:
        td = self.config.turn_detection
        return td is None or td.interrupt_response is not False

    # ------------------------------------------------------------------------------------
    # connection hooks
    # ------------------------------------------------------------------------------------
    async def on_open(self, ws: ClientConnection, *, reconnect: bool) -> None:
        await ws.send(_json({"type": "session.update", "session": self.session_payload()}))

    async def after_reconnect(self) -> None:
        for role, text in list(self._history):
            content_type = "input_text" if role == "user" else "output_text"
            item = {"type": "message", "role": role, "content": [{"type": content_type, "text": text}]}
            await self._send_control({"type": "conversation.item.create", "item": item})

    def is_expected_close(self, ws: ClientConnection | None) -> bool:
        # the duration cap also shows in the close reason ("…hit the maximum duration…")
        return ws is not None and "maximum duration" in (ws.close_reason or "")

    def on_connection_lost(self) -> None:
        self._response_id = None
        self._playing = None
        self._user_text.clear()
        self._assistant_text.clear()
        self._reset_output()

    def _remember(self, role: str, text: str) -> None:
        if text.strip() and self._history.maxlen:
            self._history.append((role, text))

    # ------------------------------------------------------------------------------------
    # server events
    # ------------------------------------------------------------------------------------
    async def handle_event(self, event: dict[str, Any]) -> None:
        etype = event.get("type")
        if etype in _AUDIO_DELTA:
            await self._on_audio_delta(event)
        elif etype in _TEXT_DELTA:
            await self._on_text_delta(event)
        elif etype in _TEXT_DONE:
            await self._on_text_done(event)
        elif etype in _AUDIO_DONE:
            if event.get("response_id") not in self._cancelled:
                await self._flush_audio(event.get("item_id"), event.get("response_id"))
        elif etype == "input_audio_buffer.speech_started":
            await self._on_speech_started(event)
        elif etype == "input_audio_buffer.speech_stopped":
            await self._speech_event.emit(
                SpeechEvent("stopped", int(event.get("audio_end_ms") or 0), event.get("item_id"))
            )
        elif etype == "conversation.item.input_audio_transcription.delta":
            item = str(event.get("item_id") or "")
            text = self._user_text.get(item, "") + str(event.get("delta") or "")
            self._user_text[item] = text
            await self._transcript.emit(TranscriptResult(text, "user", False, item or None))
        elif etype == "conversation.item.input_audio_transcription.completed":
            item = str(event.get("item_id") or "")
            self._user_text.pop(item, None)
            text = str(event.get("transcript") or "")
            self._remember("user", text)
            await self._transcript.emit(TranscriptResult(text, "user", True, item or None))
        elif etype == "conversation.item.input_audio_transcription.failed":
            err = event.get("error") or {}
            msg = err.get("message") if isinstance(err, dict) else str(err)
            raise ProviderError(f"openai: input transcription failed: {msg}", provider=self.provider_id)
        elif etype == "response.created":
            resp = event.get("response") or {}
            self._response_id = resp.get("id")
        elif etype in ("response.output_item.added", "response.output_item.done"):
            await self._on_output_item(event)
        elif etype == "response.function_call_arguments.done":
            await self._on_function_args(event)
        elif etype == "response.done":
            await self._on_response_done(event)
        elif etype == "session.updated":
            self.session = event.get("session") or {}
            self._mark_ready()
        elif etype == "rate_limits.updated":
            self.rate_limits = list(event.get("rate_limits") or [])
        elif etype == "error":
            await self._on_error(event)
        # session.created, input_audio_buffer.committed/cleared, conversation.item.*,
        # response.content_part.*, output_audio_buffer.*: nothing to do

    async def _on_error(self, event: dict[str, Any]) -> None:
        err = event.get("error") or {}
        if not isinstance(err, dict):
            err = {"message": str(err)}
        code = str(err.get("code") or "")
        etype = str(err.get("type") or "")
        message = str(err.get("message") or "")
        if code in _BENIGN_ERRORS:
            log.debug("openai: %s", message)
            return
        text = f"{etype or 'error'}" + (f" ({code})" if code else "") + (f": {message}" if message else "")
        if code == "session_expired":
            log.info("openai: %s", text)
            self._expect_close(text)
            return
        error = classify_vendor_error(
            self.provider_id, text, rate=code in _RATE_CODES or etype in _RATE_CODES, auth=code in _AUTH_CODES
        )
        if self._fail_open(error):
            return
        if code in _AUTH_CODES:
            await self._report(error)
            self._end_fatally(error)
        raise error

    async def _on_speech_started(self, event: dict[str, Any]) -> None:
        if self._interrupts:
            await self._barge_in(send_cancel=False)
        await self._speech_event.emit(
            SpeechEvent("started", int(event.get("audio_start_ms") or 0), event.get("item_id"))
        )

    async def _on_audio_delta(self, event: dict[str, Any]) -> None:
        rid = event.get("response_id")
        if rid in self._cancelled:
            return
        data = b64decode(event.get("delta"), self.provider_id)
        item = str(event.get("item_id") or "")
        p = self._playing
        if p is None or p.item_id != item:
            p = self._playing = _Playing(item, rid)
        p.delivered_ms += 1000.0 * len(data) / self.vendor_output.bytes_per_second
        await self._emit_audio(data, self.vendor_output, item or None, rid)

    async def _on_text_delta(self, event: dict[str, Any]) -> None:
        if event.get("response_id") in self._cancelled:
            return
        item = str(event.get("item_id") or "")
        text = self._assistant_text.get(item, "") + str(event.get("delta") or "")
        self._assistant_text[item] = text
        await self._transcript.emit(TranscriptResult(text, "assistant", False, item or None))

    async def _on_text_done(self, event: dict[str, Any]) -> None:
        item = str(event.get("item_id") or "")
        partial = self._assistant_text.pop(item, "")
        if event.get("response_id") in self._cancelled:
            return
        text = event.get("transcript")
        if text is None:
            text = event.get("text")
        text = partial if text is None else str(text)
        self._remember("assistant", text)
        await self._transcript.emit(TranscriptResult(text, "assistant", True, item or None))

    async def _on_output_item(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "function_call":
            return
        item_id = str(item.get("id") or "")
        call_id, name = str(item.get("call_id") or ""), str(item.get("name") or "")
        if item_id and call_id:
            self._calls[item_id] = (call_id, name)
        if (
            event.get("type") == "response.output_item.done"
            and item.get("status", "completed") == "completed"
        ):
            await self._emit_call(call_id, name, item.get("arguments"), item_id)

    async def _on_function_args(self, event: dict[str, Any]) -> None:
        item_id = str(event.get("item_id") or "")
        call_id = str(event.get("call_id") or "")
        name = str(event.get("name") or "")
        if not name or not call_id:
            known = self._calls.get(item_id)
            if known is not None:
                call_id, name = call_id or known[0], name or known[1]
        if name:  # else wait for response.output_item.done, which names the function
            await self._emit_call(call_id, name, event.get("arguments"), item_id)

    async def _emit_call(self, call_id: str, name: str, arguments: Any, item_id: str) -> None:
        if not call_id or call_id in self._emitted_calls:
            return
        self._emitted_calls.add(call_id)
        args = arguments if isinstance(arguments, str) else _json(arguments or {})
        await self._function_call.emit(FunctionCallRequest(call_id, name, args, item_id or None))

    async def _on_response_done(self, event: dict[str, Any]) -> None:
        resp = event.get("response") or {}
        rid = str(resp.get("id") or self._response_id or "")
        if rid == self._response_id:
            self._response_id = None
        status = resp.get("status")
        failure: ProviderError | None = None
        if status == "failed":
            details = resp.get("status_details") or {}
            err = details.get("error") or {}
            code = str(err.get("code") or err.get("type") or "")
            message = str(err.get("message") or "")
            text = f"response failed ({code or 'unknown'})" + (f": {message}" if message else "")
            failure = classify_vendor_error(self.provider_id, text, rate=code in _RATE_CODES)
        await self._response_done.emit(rid)
        self._cancelled.discard(rid)
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------------------------
    # client calls
    # ------------------------------------------------------------------------------------
    async def _barge_in(self, *, send_cancel: bool) -> None:
        """Stop the assistant: drop its remaining audio, truncate what was not heard."""
        rid = self._response_id
        if send_cancel and rid is not None:
            await self._send_control({"type": "response.cancel"})
        for r in (rid, self._playing.response_id if self._playing else None):
            if r:
                self._cancelled.add(r)
        p, self._playing = self._playing, None
        self._reset_output()
        if p is None or not p.item_id or not self.config.options.get("truncate_on_interrupt", True):
            return
        elapsed = (time.monotonic() - p.started) * 1000.0
        if elapsed < p.delivered_ms:
            await self.truncate(p.item_id, int(elapsed))

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Tell the server the user heard only ``audio_end_ms`` of the assistant ``item_id``."""
        await self._send_control(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": max(0, int(audio_end_ms)),
            }
        )

    async def send_text(self, text: str) -> None:
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        await self._send_control({"type": "conversation.item.create", "item": item})
        self._remember("user", text)
        await self._send_control({"type": "response.create"})

    async def create_response(self) -> None:
        await self._send_control({"type": "response.create"})

    async def cancel_response(self) -> None:
        self._check_usable()
        await self._barge_in(send_cancel=True)

    async def commit_audio_buffer(self) -> None:
        await self._flush_input()
        await self._send_control({"type": "input_audio_buffer.commit"})

    async def clear_audio_buffer(self) -> None:
        self._in_conv.reset()
        self._drop_buffered_audio()
        await self._send_control({"type": "input_audio_buffer.clear"})

    async def update_session(self, config: RealtimeConfig) -> None:
        self._apply_config(config)
        if self.state.value in ("connected", "reconnecting"):
            await self._send_control({"type": "session.update", "session": self.session_payload()})

    async def submit_function_result(self, call_id: str, result: str) -> None:
        item = {"type": "function_call_output", "call_id": call_id, "output": result}
        await self._send_control({"type": "conversation.item.create", "item": item})
        if self.config.options.get("respond_after_function_result", True):
            await self._send_control({"type": "response.create"})

    def audio_message(self, data: bytes) -> dict[str, Any]:
        return {"type": "input_audio_buffer.append", "audio": b64encode(data)}

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info["model"] = self.model
        info["rate_limits"] = self.rate_limits
        return info


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))


def _metadata() -> ProviderMetadata:
    entry = catalog_entry("realtime", "openai")
    assert entry is not None
    return entry.metadata.with_optional_config(
        [
            "model",
            "voice",
            "instructions",
            "turn_detection",
            "tools",
            "input_audio_format",
            "output_audio_format",
            *OPTIONS,
        ]
    )


#: The ``waav.plugins`` entry point: the built-in ``openai`` realtime provider.
PLUGIN = PluginConstructor.realtime("openai", _metadata, OpenAIRealtime)
