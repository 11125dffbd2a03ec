"""``/realtime``: audio-to-audio sessions over the registry's realtime providers (upstream §1.9).

The client speaks the upstream's flattened protocol; the provider adapters
(:class:`~waav.plugin.BaseRealtime`) do the vendor side, including audio format conversion
(``input_audio_format`` / ``output_audio_format``, e.g. ``pcm16@16000``). Errors carry the
upstream's ``code`` values; the connection stays open after every one of them except
``idle_timeout``. When the vendor link drops, the adapter reconnects (``reconnection`` in the
provider's config, upstream ``ReconnectionConfig``) and every attempt is forwarded to the
client as ``{"type": "reconnection", "attempt", "success", "error"}`` (a waav addition); when
the attempts run out the client gets ``error`` ``provider_error``. Unlike the upstream, any
registered realtime provider (and its aliases) is accepted, not only ``openai`` and ``hume``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket

from waav._exceptions import ConfigError, PluginNotFoundError, ProviderAuthError, WaavError
from waav.gateway._auth_flow import first_message_auth
from waav.gateway._conn import Connection, Disconnected
from waav.gateway._providers import bounded, create_provider, describe_error
from waav.gateway._state import GatewayState
from waav.gateway.security import scope_auth_pending
from waav.plugin._provider_base import (
    BaseRealtime,
    FunctionCallRequest,
    RealtimeAudioData,
    ReconnectionEvent,
    SpeechEvent,
    TranscriptResult,
)
from waav.plugin._provider_config import RealtimeConfig

__all__ = ["RealtimeSession", "parse_realtime_config", "realtime_endpoint"]

log = logging.getLogger("waav.gateway")
ENDPOINT = "realtime"
KIB = 1024
_TURN_MODES = {"server_vad": "server_vad", "semantic": "semantic_vad", "semantic_vad": "semantic_vad",
               "manual": "none", "none": "none"}  # fmt: skip


class RealtimeError(ConfigError):
    """A bad client message; ``code`` is the upstream error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error(message: str, code: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _str(d: dict[str, Any], key: str, limit: int | None = None) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise RealtimeError("validation_error", f"`{key}` must be a string")
    if limit is not None and len(v.encode("utf-8")) > limit:
        raise RealtimeError("validation_error", f"`{key}` is too large (maximum {limit} bytes)")
    return v


def parse_realtime_config(d: dict[str, Any], *, update: bool = False) -> RealtimeConfig:
    """Map a ``config`` / ``update_session`` message to a :class:`RealtimeConfig`.

    For ``update`` only the fields given are set, so the provider keeps the others.
    """
    v: dict[str, Any] = {}
    for key in ("model", "voice", "input_audio_format", "output_audio_format"):
        if (s := _str(d, key)) is not None:
            v[key] = s
    if (s := _str(d, "instructions", 100 * KIB)) is not None:
        v["instructions"] = s
    t = d.get("temperature")
    if t is not None:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise RealtimeError("validation_error", "`temperature` must be a number")
        v["temperature"] = float(t)
    mrt = d.get("max_response_tokens", d.get("max_response_output_tokens"))
    if mrt is not None:
        v["max_response_output_tokens"] = mrt
    td = d.get("turn_detection")
    if td is not None:
        if not isinstance(td, dict):
            raise RealtimeError("validation_error", "`turn_detection` must be an object")
        mode = td.get("mode", td.get("type", "server_vad"))
        if mode not in _TURN_MODES:
            raise RealtimeError(
                "validation_error",
                f"turn_detection.mode must be server_vad, semantic or manual, got {mode!r}",
            )
        turn: dict[str, Any] = {"type": _TURN_MODES[mode]}
        for key in ("threshold", "silence_duration_ms", "prefix_padding_ms", "eagerness"):
            if td.get(key) is not None:
                turn[key] = td[key]
        v["turn_detection"] = turn
    tools = d.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise RealtimeError("validation_error", "`tools` must be an array")
        v["tools"] = tools
    if d.get("modalities") is not None:
        v["modalities"] = d["modalities"]
    transcribe = d.get("transcribe_input")
    if transcribe is not None and not isinstance(transcribe, bool):
        raise RealtimeError("validation_error", "`transcribe_input` must be a boolean")
    model = _str(d, "transcription_model")
    if transcribe is not False and (not update or transcribe or model):
        v["input_audio_transcription"] = {"model": model or "whisper-1"}
    try:
        return RealtimeConfig(**v)
    except ConfigError as exc:
        raise RealtimeError("validation_error", f"Invalid configuration: {exc}") from None


class RealtimeSession:
    """One ``/realtime`` connection."""

    def __init__(self, state: GatewayState, ws: WebSocket) -> None:
        self.state = state
        gw = state.config.gateway
        self.timeout = gw.provider_timeout_seconds
        self.conn = Connection(
            ws,
            ENDPOINT,
            state.metrics,
            max_text=gw.max_text_frame_bytes,
            max_binary=gw.max_binary_frame_bytes,
            idle_timeout=gw.idle_timeout_seconds,
            error=_error,
        )
        self.provider: BaseRealtime | None = None
        self.ready = False
        self.scope = ws.scope

    async def run(self) -> None:
        await self.conn.accept()
        try:
            with self.state.live(self, ENDPOINT):
                if scope_auth_pending(self.scope):
                    await first_message_auth(self.conn, self.scope, self.state.authenticator)
                await self.conn.dispatch(
                    self.on_audio, self.on_text, label=lambda: "/realtime", category="websocket_error"
                )
        except Disconnected:
            pass
        finally:
            await self._close_provider()
            await self.conn.close()
            await self.conn.finish()

    async def drain(self, deadline: float) -> None:
        await self.conn.close(1001, "server shutting down")

    async def _close_provider(self) -> None:
        provider, self.provider, self.ready = self.provider, None, False
        if provider is not None:
            try:
                await bounded(provider.disconnect(), 5.0, "disconnect", provider.provider_id)
            except Exception as exc:
                log.warning("realtime provider did not disconnect cleanly: %s", exc)

    async def on_audio(self, data: bytes) -> None:
        if self.provider is None or not self.ready:
            return  # dropped silently, as upstream
        try:
            await bounded(
                self.provider.send_audio(data), self.timeout, "send_audio", self.provider.provider_id
            )
        except Exception as exc:
            await self.conn.error(f"Failed to send audio: {describe_error(exc)}", "audio_error")

    async def on_text(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError as exc:
            await self.conn.error(f"Invalid message format: {exc}", "parse_error")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.conn.error("Invalid message format: expected an object with a `type`", "parse_error")
            return
        try:
            await self._dispatch(msg)
        except RealtimeError as exc:
            await self.conn.error(str(exc), exc.code)

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        mtype = msg["type"]
        if mtype == "config":
            await self.configure(msg)
            return
        ops: dict[str, tuple[str, Callable[[BaseRealtime, dict[str, Any]], Awaitable[None]]]] = {
            "text": ("text_error", self._text),
            "create_response": ("response_error", lambda p, _: p.create_response()),
            "cancel_response": ("cancel_error", lambda p, _: p.cancel_response()),
            "commit_audio": ("commit_error", lambda p, _: p.commit_audio_buffer()),
            "clear_audio": ("clear_error", lambda p, _: p.clear_audio_buffer()),
            "function_result": ("function_error", self._function_result),
            "update_session": ("update_error", self._update),
        }
        if mtype not in ops:
            raise RealtimeError("parse_error", f"Invalid message format: unknown message type `{mtype}`")
        code, op = ops[mtype]
        provider = self.provider
        if provider is None or not self.ready:
            raise RealtimeError("no_session", "No active session: send a config message first")
        try:
            await bounded(op(provider, msg), self.timeout, mtype, provider.provider_id)
        except RealtimeError:
            raise
        except Exception as exc:
            await self.conn.error(describe_error(exc), code)

    async def _text(self, provider: BaseRealtime, msg: dict[str, Any]) -> None:
        text = _str(msg, "text", 50 * KIB)
        if text is None:
            raise RealtimeError("validation_error", "`text` is required")
        await provider.send_text(text)

    async def _function_result(self, provider: BaseRealtime, msg: dict[str, Any]) -> None:
        call_id = _str(msg, "call_id")
        result = msg.get("result")
        if not isinstance(result, str):
            result = json.dumps(result) if result is not None else None
        if not call_id or result is None:
            raise RealtimeError("validation_error", "`call_id` and `result` are required")
        if len(result.encode("utf-8")) > 100 * KIB:
            raise RealtimeError("validation_error", "`result` is too large (maximum 102400 bytes)")
        await provider.submit_function_result(call_id, result)

    async def _update(self, provider: BaseRealtime, msg: dict[str, Any]) -> None:
        cfg = parse_realtime_config(msg, update=True)
        await provider.update_session(cfg)
        await self.conn.send({"type": "session_updated"})

    async def configure(self, msg: dict[str, Any]) -> None:
        name = _str(msg, "provider") or "openai"
        cfg = parse_realtime_config(msg)
        await self._close_provider()
        try:
            provider: BaseRealtime = create_provider(self.state.registry, "realtime", name, cfg)
        except PluginNotFoundError as exc:
            raise RealtimeError("invalid_provider", str(exc)) from None
        except ProviderAuthError as exc:
            raise RealtimeError("missing_api_key", str(exc)) from None
        except ConfigError as exc:
            raise RealtimeError("validation_error", str(exc)) from None
        except WaavError as exc:
            raise RealtimeError("provider_error", str(exc)) from None
        self._wire(provider)
        try:
            await bounded(provider.connect(), self.timeout, "connect", provider.provider_id or name)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await bounded(provider.disconnect(), 2.0, "disconnect", name)
            raise RealtimeError(
                "connection_error", f"Failed to connect to {name}: {describe_error(exc)}"
            ) from None
        self.provider, self.ready = provider, True
        info = provider.provider_info()
        await self.conn.send(
            {
                "type": "session_created",
                "session_id": str(uuid.uuid4()),
                "provider": provider.provider_id or name,
                "model": info.get("model") or provider.config.model,
            }
        )

    def _wire(self, provider: BaseRealtime) -> None:
        send = self.conn.send

        async def transcript(t: TranscriptResult) -> None:
            await send({"type": "transcript", "text": t.text, "role": t.role, "is_final": t.is_final})

        async def audio_out(a: RealtimeAudioData) -> None:
            if a.data:
                await send(bytes(a.data))

        async def speech(e: SpeechEvent) -> None:
            await send({"type": "speech_event", "event": e.kind, "audio_ms": e.audio_ms})

        async def function_call(f: FunctionCallRequest) -> None:
            await send(
                {"type": "function_call", "call_id": f.call_id, "name": f.name, "arguments": f.arguments}
            )

        async def done(response_id: str) -> None:
            await send({"type": "response_done", "response_id": response_id})

        async def error(e: Exception) -> None:
            await self.conn.error(describe_error(e), "provider_error")

        async def reconnection(e: ReconnectionEvent) -> None:
            # the upstream's ReconnectionEvent, which its gateway keeps to itself: a client that
            # hears nothing for seconds while the vendor link is re-established can tell why
            await send({"type": "reconnection", "attempt": e.attempt, "success": e.success, "error": e.error})

        provider.on_transcript(transcript)
        provider.on_audio(audio_out)
        provider.on_speech_event(speech)
        provider.on_function_call(function_call)
        provider.on_response_done(done)
        provider.on_error(error)
        provider.on_reconnection(reconnection)


async def realtime_endpoint(state: GatewayState, websocket: WebSocket) -> None:
    """The Starlette route of ``/realtime``."""
    await state.startup()
    if state.draining:
        await websocket.close(1013, "server shutting down")
        return
    await RealtimeSession(state, websocket).run()
