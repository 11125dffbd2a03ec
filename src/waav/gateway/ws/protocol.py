"""Parsing and validation of ``/ws`` client messages (upstream §1.5) into typed records.

Every failure raises :class:`ProtocolError` with the text the client receives in an
``error`` message; the session always continues. Unknown fields are ignored (as the
upstream's serde does), wrong types and oversized fields are not.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from waav._exceptions import ConfigError

__all__ = [
    "Auth",
    "Clear",
    "ClientMessage",
    "Config",
    "Custom",
    "Ping",
    "ProcessorSpec",
    "ProtocolError",
    "STTSpec",
    "SendMessage",
    "SipTransfer",
    "Speak",
    "TTSSpec",
    "parse_message",
]

KIB = 1024
#: Field limits of upstream §1.4, in bytes of UTF-8.
LIMITS = {
    ("speak", "text"): 100 * KIB,
    ("send_message", "message"): 50 * KIB,
    ("sip_transfer", "transfer_to"): 256,
    ("config", "stream_id"): 256,
    ("auth", "token"): 4 * KIB,
    ("custom", "message_type"): 256,
    ("custom", "payload"): 50 * KIB,
}


class ProtocolError(ConfigError):
    """A client message that cannot be accepted; ``str(exc)`` is the client-facing text."""


@dataclass(frozen=True)
class STTSpec:
    provider: str | None
    language: str = "en-US"
    sample_rate: int = 16000
    channels: int = 1
    punctuation: bool = True
    encoding: str = "linear16"
    model: str = ""
    api_key: str = ""


@dataclass(frozen=True)
class TTSSpec:
    provider: str | None
    model: str = ""
    voice_id: str | None = None
    voice_id_given: bool = False
    speaking_rate: float = 1.0
    audio_format: str = "linear16"
    sample_rate: int = 24000
    connection_timeout: float = 30.0
    request_timeout: float = 60.0
    pronunciations: tuple[tuple[str, str], ...] = ()
    api_key: str = ""
    emotion: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessorSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    stream_id: str | None
    audio: bool
    stt: STTSpec | None
    tts: TTSSpec | None
    processors: tuple[ProcessorSpec, ...] | None
    livekit: dict[str, Any] | None
    dag_config: dict[str, Any] | None


@dataclass(frozen=True)
class Speak:
    text: str
    flush: bool = True
    allow_interruption: bool = True
    #: waav extension ``continue``: more pieces of this utterance follow.
    more: bool = False


@dataclass(frozen=True)
class Clear:
    pass


@dataclass(frozen=True)
class SendMessage:
    message: str
    role: str
    topic: str | None = None


@dataclass(frozen=True)
class SipTransfer:
    transfer_to: str


@dataclass(frozen=True)
class Auth:
    token: str


@dataclass(frozen=True)
class Custom:
    message_type: str
    payload: Any


@dataclass(frozen=True)
class Ping:
    timestamp: Any


ClientMessage = Config | Speak | Clear | SendMessage | SipTransfer | Auth | Custom | Ping

_TYPES = ("config", "speak", "clear", "send_message", "sip_transfer", "auth", "custom", "ping")


class _Fields:
    """Typed access to one JSON object, naming ``where`` in every error."""

    def __init__(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise ProtocolError(f"Invalid message format: {where} must be an object, got {_kind(obj)}")
        self.obj = obj
        self.where = where

    def _bad(self, key: str, want: str, value: Any) -> ProtocolError:
        return ProtocolError(f"Invalid message format: {self.where}.{key} must be {want}, got {_kind(value)}")

    def has(self, key: str) -> bool:
        return self.obj.get(key) is not None

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        v = self.obj.get(key)
        if v is None:
            if required:
                raise ProtocolError(f"Invalid message format: missing field `{key}` in {self.where}")
            return default
        if not isinstance(v, str):
            raise self._bad(key, "a string", v)
        return v

    def flag(self, key: str, default: bool) -> bool:
        v = self.obj.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self._bad(key, "a boolean", v)
        return v

    def integer(self, key: str, default: int, lo: int = 1, hi: int = 384_000) -> int:
        v = self.obj.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(key, "an integer", v)
        if not lo <= v <= hi:
            raise ProtocolError(
                f"Invalid message format: {self.where}.{key} must be in [{lo}, {hi}], got {v}"
            )
        return v

    def number(self, key: str, default: float) -> float:
        v = self.obj.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise self._bad(key, "a positive number", v)
        return float(v)

    def obj_or_none(self, key: str) -> dict[str, Any] | None:
        v = self.obj.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self._bad(key, "an object", v)
        return v


def _kind(v: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(v), "null" if v is None else type(v).__name__)


def _check_size(mtype: str, key: str, value: str) -> None:
    limit = LIMITS[(mtype, key)]
    n = len(value.encode("utf-8"))
    if n > limit:
        raise ProtocolError(f"{mtype}.{key} is too large: {n} bytes (maximum {limit})")


def _stt(obj: dict[str, Any]) -> STTSpec:
    f = _Fields(obj, "stt_config")
    encoding = f.text("encoding", "linear16").strip().lower()
    return STTSpec(
        provider=f.text("provider"),
        language=f.text("language", "en-US"),
        sample_rate=f.integer("sample_rate", 16000),
        channels=f.integer("channels", 1, 1, 2),
        punctuation=f.flag("punctuation", True),
        encoding=encoding,
        model=f.text("model", ""),
        api_key=f.text("api_key", ""),
    )


def _tts(obj: dict[str, Any]) -> TTSSpec:
    f = _Fields(obj, "tts_config")
    prons: list[tuple[str, str]] = []
    raw = obj.get("pronunciations")
    if raw is not None:
        if not isinstance(raw, list):
            raise f._bad("pronunciations", "an array", raw)
        for i, item in enumerate(raw):
            p = _Fields(item, f"tts_config.pronunciations[{i}]")
            prons.append((p.text("word", required=True), p.text("pronunciation", required=True)))
    emotion: dict[str, Any] = {}
    if f.has("emotion"):
        emotion["emotion"] = f.text("emotion")
    if f.has("emotion_intensity"):
        v = obj["emotion_intensity"]
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise f._bad("emotion_intensity", "a number or low/medium/high", v)
        emotion["intensity"] = v
    if f.has("delivery_style"):
        emotion["delivery_style"] = f.text("delivery_style")
    if f.has("emotion_description"):
        emotion["description"] = f.text("emotion_description")
    return TTSSpec(
        provider=f.text("provider"),
        model=f.text("model", ""),
        voice_id=f.text("voice_id"),
        voice_id_given=f.has("voice_id"),
        speaking_rate=f.number("speaking_rate", 1.0),
        audio_format=f.text("audio_format", "linear16"),
        sample_rate=f.integer("sample_rate", 24000),
        connection_timeout=f.number("connection_timeout", 30.0),
        request_timeout=f.number("request_timeout", 60.0),
        pronunciations=tuple(prons),
        api_key=f.text("api_key", ""),
        emotion=emotion,
    )


def _processors(raw: Any) -> tuple[ProcessorSpec, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ProtocolError(f"Invalid message format: config.processors must be an array, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            out.append(ProcessorSpec(item))
            continue
        p = _Fields(item, f"config.processors[{i}]")
        opts = p.obj_or_none("options") or {}
        out.append(ProcessorSpec(p.text("name", required=True), dict(opts)))
    return tuple(out)


def _config(f: _Fields) -> Config:
    stream_id = f.text("stream_id")
    if stream_id is not None:
        _check_size("config", "stream_id", stream_id)
    # ``audio`` defaults to true; the legacy ``audio_disabled`` counts only when ``audio`` is
    # absent (the upstream ignores it entirely because of a serde default, §1.5).
    audio = f.flag("audio", not f.flag("audio_disabled", False))
    stt = f.obj_or_none("stt_config")
    tts = f.obj_or_none("tts_config")
    return Config(
        stream_id=stream_id,
        audio=audio,
        stt=_stt(stt) if stt is not None else None,
        tts=_tts(tts) if tts is not None else None,
        processors=_processors(f.obj.get("processors")),
        livekit=f.obj_or_none("livekit"),
        dag_config=f.obj_or_none("dag_config"),
    )


def parse_message(text: str) -> ClientMessage:
    """Parse one text frame into a client message, or raise :class:`ProtocolError`."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"Invalid message format: {exc}") from None
    f = _Fields(data, "message")
    mtype = data.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError("Invalid message format: missing field `type`")
    if mtype not in _TYPES:
        raise ProtocolError(
            f"Invalid message format: unknown message type `{mtype}`, expected one of {', '.join(_TYPES)}"
        )
    f.where = mtype
    if mtype == "config":
        return _config(f)
    if mtype == "speak":
        text_ = f.text("text", required=True)
        _check_size("speak", "text", text_)
        return Speak(
            text_, f.flag("flush", True), f.flag("allow_interruption", True), f.flag("continue", False)
        )
    if mtype == "clear":
        return Clear()
    if mtype == "send_message":
        msg = f.text("message", required=True)
        _check_size("send_message", "message", msg)
        return SendMessage(msg, f.text("role", required=True), f.text("topic"))
    if mtype == "sip_transfer":
        to = f.text("transfer_to", required=True)
        _check_size("sip_transfer", "transfer_to", to)
        return SipTransfer(to)
    if mtype == "auth":
        token = f.text("token", required=True)
        _check_size("auth", "token", token)
        return Auth(token)
    if mtype == "custom":
        mt = f.text("message_type", required=True)
        _check_size("custom", "message_type", mt)
        payload = data.get("payload")
        _check_size("custom", "payload", json.dumps(payload))
        return Custom(mt, payload)
    ts = data.get("timestamp")
    return Ping(ts if isinstance(ts, (int, float)) and not isinstance(ts, bool) else None)
