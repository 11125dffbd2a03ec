"""Microsoft Azure Speech speech-to-text over the Speech service WebSocket protocol.

Endpoint ``wss://{region}.stt.speech.microsoft.com/speech/recognition/{mode}/cognitiveservices/v1``
(``mode`` = ``conversation`` by default, ``interactive`` or ``dictation`` via ``options``).

Protocol (Microsoft docs: "Speech Service WebSocket protocol"; the Speech SDK for JavaScript,
whose ``WebsocketMessageFormatter``, query parameter names and ``DetailedSpeechPhrase`` were
read to confirm framing and fields):

* Handshake: ``Ocp-Apim-Subscription-Key`` and ``X-ConnectionId`` (a UUID without dashes, which
  the service requires); query ``language``, ``format=detailed``, ``profanity``,
  ``wordLevelTimestamps``, and ``cid`` for a Custom Speech endpoint. A bad key fails the
  handshake with HTTP 401.
* Text messages are ``Name: value`` header lines, a blank line, then the body. The client
  first sends ``speech.config`` (``Path``, ``X-RequestId``, ``X-Timestamp``, JSON ``context``
  describing system, OS and audio source). Audio goes in **binary** messages: a 2-byte
  big-endian header length, the header lines (``Path: audio``, ``X-RequestId``,
  ``X-Timestamp``, ``Content-Type``), then the payload; the first audio message of a request
  starts with a RIFF/WAVE header describing the stream. An audio message with no payload
  ends the audio.
* The service answers ``turn.start``, ``speech.startDetected``, ``speech.hypothesis``
  (``{Text, Offset, Duration}``), ``speech.phrase`` (detailed: ``RecognitionStatus``, ``NBest
  [{Confidence, Display, Words[{Word, Offset, Duration}]}]``, ``PrimaryLanguage``),
  ``speech.endDetected``, ``turn.end``. Offsets and durations are 100-ns ticks.

**Fixed relative to the upstream:** it streamed bare PCM without ``speech.config`` and without
the binary audio message headers or the RIFF header the protocol requires; this adapter sends
all three. Mapping: hypothesis → interim; phrase with ``RecognitionStatus: Success`` → final
and speech-final with ``NBest[0]``'s text, confidence and words; ``NoMatch``,
``InitialSilenceTimeout``, ``BabbleTimeout`` and ``EndOfDictation`` are not results;
``Error`` is reported. The finish is the empty audio message, then a bounded wait for
``turn.end``. While idle, 64 bytes of silence are sent every second (the upstream's keepalive;
Azure's exact idle limit is not documented in what could be checked here).
"""

from __future__ import annotations

import json
import platform
import struct
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from waav import __version__
from waav._exceptions import ConfigError, ProviderError, ProviderProtocolError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, join_path, words_from

__all__ = ["PLUGIN", "AzureSTT", "parse_message", "riff_header"]

DEFAULT_URL = "wss://{region}.stt.speech.microsoft.com"
MODES = ("conversation", "interactive", "dictation")
TICKS = 10_000_000  # 100-ns units per second
#: WAVE format tags.
_WAVE_TAGS = {"linear16": (1, 16), "alaw": (6, 8), "mulaw": (7, 8)}
_SILENCE = {"linear16": b"\x00", "alaw": b"\xd5", "mulaw": b"\xff"}
IGNORED_STATUSES = ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout", "EndOfDictation")


def riff_header(rate: int, channels: int, encoding: str = "linear16") -> bytes:
    """A streaming RIFF/WAVE header (sizes 0: unknown length) for the first audio message."""
    tag, bits = _WAVE_TAGS[encoding]
    block = channels * bits // 8
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 0, b"WAVE", b"fmt ", 16, tag, channels, rate, rate * block, block, bits, b"data", 0,
    )  # fmt: skip


def _timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_message(text: str) -> tuple[dict[str, str], str]:
    """Split a text message into lower-cased headers and the body."""
    head, _, body = text.partition("\r\n\r\n")
    headers = {}
    for line in head.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, body


class AzureSTT(StreamingWebSocketSTT):
    """Azure Speech continuous recognition over the Speech service WebSocket protocol."""

    provider_id = "microsoft-azure"
    default_keepalive_interval = 1.0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self.connection_id = uuid.uuid4().hex
        self.request_id = uuid.uuid4().hex
        self._header_sent = False

    # --- configuration -----------------------------------------------------------------
    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self._encoding()
        if self.mode not in MODES:
            raise ConfigError(f"microsoft-azure: mode must be one of {list(MODES)}, got {self.mode!r}")

    def _encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in _WAVE_TAGS:
            raise ConfigError(
                f"microsoft-azure: encoding {self.config.encoding!r} not supported; use linear16"
            )
        return enc

    @property
    def mode(self) -> str:
        return str(self.config.options.get("mode") or "conversation")

    @property
    def region(self) -> str:
        return str(self.config.options.get("region") or "eastus")

    def query(self) -> dict[str, Any]:
        opts = self.config.options
        params: dict[str, Any] = {
            "language": self.config.language,
            "format": "detailed",
            "profanity": opts.get("profanity", "masked"),
            "wordLevelTimestamps": "true" if opts.get("word_level_timestamps", True) else "false",
        }
        if opts.get("endpoint_id"):
            params["cid"] = opts["endpoint_id"]
        params.update(dict(opts.get("query") or {}))
        return params

    def url(self) -> str:
        root = base_url(self.config, DEFAULT_URL).replace("{region}", self.region)
        path = f"/speech/recognition/{self.mode}/cognitiveservices/v1"
        return join_path(root, path) + "?" + urlencode(self.query())

    def headers(self) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": self.config.api_key, "X-ConnectionId": self.connection_id}

    # --- protocol framing --------------------------------------------------------------
    def _text_message(self, path: str, body: dict[str, Any]) -> str:
        head = (
            f"Path: {path}\r\nX-RequestId: {self.request_id}\r\nX-Timestamp: {_timestamp()}\r\n"
            "Content-Type: application/json\r\n"
        )
        return head + "\r\n" + json.dumps(body)

    def _audio_message(self, payload: bytes) -> bytes:
        head = (
            f"Path: audio\r\nX-RequestId: {self.request_id}\r\nX-Timestamp: {_timestamp()}\r\n"
            "Content-Type: audio/x-wav\r\n"
        ).encode("ascii")
        return struct.pack(">H", len(head)) + head + payload

    def speech_config(self) -> dict[str, Any]:
        """The ``speech.config`` body: who is speaking to the service, and the audio source."""
        enc = self._encoding()
        return {
            "context": {
                "system": {"name": "waav", "version": __version__, "build": "Python", "lang": "Python"},
                "os": {
                    "platform": platform.system(),
                    "name": platform.platform(),
                    "version": platform.release(),
                },
                "audio": {
                    "source": {
                        "bitspersample": _WAVE_TAGS[enc][1],
                        "channelcount": self.config.channels,
                        "connectivity": "Unknown",
                        "manufacturer": "waav",
                        "model": "stream",
                        "samplerate": self.config.sample_rate,
                        "type": "Stream",
                    }
                },
            }
        }

    async def on_open(self, ws: Any) -> None:
        self.request_id = uuid.uuid4().hex
        self._header_sent = False
        await ws.send(self._text_message("speech.config", self.speech_config()))

    def audio_frame(self, chunk: bytes) -> Frame:
        if not self._header_sent:
            self._header_sent = True
            enc = self._encoding()
            chunk = riff_header(self.config.sample_rate, self.config.channels, enc) + chunk
        return self._audio_message(chunk)

    def keepalive_frame(self) -> Frame:
        enc = self._encoding()
        return self.audio_frame(_SILENCE[enc] * 64)

    def finish_frames(self) -> list[Frame]:
        return [self._audio_message(b"")] if self._header_sent else []

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        low = reason.lower()
        return "timeout" in low or "inactiv" in low

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        if code == 1007:
            return ProviderProtocolError(
                f"{self.provider_id}: service rejected the data ({code} {reason})", provider=self.provider_id
            )
        return super().close_error(code, reason)

    # --- results -----------------------------------------------------------------------
    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        headers, body = parse_message(message)
        path = headers.get("path", "").lower()
        if path == "speech.hypothesis":
            data = json.loads(body)
            text = str(data.get("Text") or "")
            if text:
                await self._emit_result(
                    STTResult(
                        text,
                        is_final=False,
                        language=(data.get("PrimaryLanguage") or {}).get("Language"),
                        speaker=data.get("SpeakerId"),
                    )
                )
        elif path == "speech.phrase":
            await self._on_phrase(json.loads(body))
        elif path == "turn.end":
            if self._closing:
                self._set_finished()
            else:  # the service ended the turn: the next audio starts a new request
                self.request_id = uuid.uuid4().hex
                self._header_sent = False

    async def _on_phrase(self, data: dict[str, Any]) -> None:
        status = str(data.get("RecognitionStatus") or "")
        if status in IGNORED_STATUSES:
            return
        if status != "Success":
            await self._vendor_error(
                self._error(f"recognition {status or 'failed'}: {json.dumps(data)[:200]}")
            )
            return
        best = (data.get("NBest") or [{}])[0]
        text = str(best.get("Display") or best.get("DisplayText") or data.get("DisplayText") or "")
        if not text:
            return
        await self._emit_result(
            STTResult(
                text,
                is_final=True,
                is_speech_final=True,
                confidence=float(best.get("Confidence", 1.0 if not data.get("NBest") else 0.0)),
                words=words_from(best.get("Words"), _word),
                language=(data.get("PrimaryLanguage") or {}).get("Language"),
                speaker=data.get("SpeakerId"),
            )
        )


def _word(w: dict[str, Any]) -> WordTiming:
    start = float(w["Offset"]) / TICKS
    conf = w.get("Confidence")
    return WordTiming(
        str(w["Word"]), start, start + float(w["Duration"]) / TICKS, None if conf is None else float(conf)
    )


#: Registered through the ``waav.plugins`` entry point ``stt-microsoft-azure`` (alias ``azure``).
PLUGIN = PluginConstructor.stt("microsoft-azure", None, AzureSTT)
