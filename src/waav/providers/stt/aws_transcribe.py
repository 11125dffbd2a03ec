"""Amazon Transcribe streaming over its WebSocket API (SigV4-presigned, event-stream framing).

Protocol (Amazon Transcribe developer guide: "Setting up a WebSocket stream", "Event stream
encoding", "Handling errors"; API reference ``StartStreamTranscription``,
``TranscriptEvent``):

* ``GET wss://transcribestreaming.{region}.amazonaws.com:8443/stream-transcription-websocket``
  with the request in the query (``language-code``, ``media-encoding`` ``pcm`` | ``flac`` |
  ``ogg-opus``, ``sample-rate``, and optional ``enable-partial-results-stabilization``,
  ``partial-results-stability``, ``show-speaker-label``, ``vocabulary-name``, …) and a
  Signature Version 4 presigned with service ``transcribe``, signed header ``host`` and
  ``X-Amz-Expires`` at most 300 s (:func:`waav.providers._aws.presign_url`; stdlib only).
  A bad signature or key fails the handshake with HTTP 403.
* Up: binary frames, each one event-stream message with headers ``:content-type:
  application/octet-stream``, ``:event-type: AudioEvent``, ``:message-type: event`` and raw
  audio as payload (PCM16 LE for ``pcm``; at most 32 KB, 50–200 ms recommended; sent in 200 ms
  pieces). An ``AudioEvent`` with an empty payload ends the
  stream: the service sends the last results and closes.
* Down: ``:message-type: event`` / ``:event-type: TranscriptEvent`` with a JSON payload
  ``{"Transcript": {"Results": [{"ResultId", "StartTime", "EndTime", "IsPartial",
  "Alternatives": [{"Transcript", "Items": [{"Content", "StartTime", "EndTime", "Type"
  (pronunciation | punctuation), "Confidence", "Stable", "Speaker"}]}], "LanguageCode"}]}}``;
  or ``:message-type: exception`` with ``:exception-type`` (``BadRequestException``,
  ``LimitExceededException``, ``InternalFailureException``, ``ConflictException``,
  ``ServiceUnavailableException``) and ``{"Message"}``.
* The service ends a stream that got no audio for 15 s (a ``BadRequestException``); while
  idle, 100 ms of silence is sent every 5 s (``keepalive_interval``).

Mapping: ``is_final = is_speech_final = not IsPartial`` (a Transcribe result is final at a
segment end); words from the ``pronunciation`` items (times in seconds, confidence, speaker);
result confidence is the mean item confidence. Credentials: ``api_key`` =
``AWS_ACCESS_KEY_ID``, ``options["secret_access_key"]`` = ``AWS_SECRET_ACCESS_KEY``,
``options["session_token"]`` or ``AWS_SESSION_TOKEN``, ``options["region"]`` = ``AWS_REGION``
(default ``us-east-1``).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._aws import HeaderValue, decode_message, encode_message, presign_url
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, words_from, ws_url

__all__ = ["DEFAULT_URL", "PATH", "PLUGIN", "AWSTranscribeSTT", "audio_event"]

DEFAULT_URL = "wss://transcribestreaming.{region}.amazonaws.com:8443"
PATH = "/stream-transcription-websocket"
SERVICE = "transcribe"
#: Largest audio chunk per ``AudioEvent`` (API reference: "The maximum audio chunk size is 32 KB").
MAX_CHUNK = 32 * 1024
_ENCODINGS = {"linear16": "pcm", "flac": "flac", "opus": "ogg-opus", "ogg": "ogg-opus"}
#: options → query parameters (``snake_case`` → ``kebab-case``), passed when set.
QUERY_OPTIONS = (
    "enable_partial_results_stabilization",
    "partial_results_stability",
    "show_speaker_label",
    "enable_channel_identification",
    "number_of_channels",
    "vocabulary_name",
    "vocabulary_filter_name",
    "vocabulary_filter_method",
    "language_model_name",
    "identify_language",
    "language_options",
    "preferred_language",
    "content_identification_type",
    "content_redaction_type",
    "pii_entity_types",
    "session_id",
)
_AUDIO_HEADERS: dict[str, HeaderValue] = {
    ":content-type": "application/octet-stream",
    ":event-type": "AudioEvent",
    ":message-type": "event",
}


def audio_event(chunk: bytes) -> bytes:
    """One ``AudioEvent`` message (an empty chunk ends the stream)."""
    return encode_message(_AUDIO_HEADERS, chunk)


class AWSTranscribeSTT(StreamingWebSocketSTT):
    """Amazon Transcribe streaming (WebSocket, SigV4 presigned URL, event-stream messages)."""

    provider_id = "aws-transcribe"
    default_keepalive_interval = 5.0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._idle_closed = False
        #: The ``x-amzn-request-id``-like session id of the current stream, when sent.
        self.session_id: str | None = None

    # --- config ----------------------------------------------------------------------
    @property
    def region(self) -> str:
        return str(self.config.options.get("region") or os.environ.get("AWS_REGION") or "us-east-1")

    @property
    def media_encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in _ENCODINGS:
            raise ConfigError(
                f"aws-transcribe: encoding {self.config.encoding!r} not supported; "
                "use linear16, flac or ogg-opus"
            )
        return _ENCODINGS[enc]

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        require_credential(self.config, self.provider_id, self.kind, option="secret_access_key")
        self.media_encoding  # noqa: B018 - raises on a bad encoding
        if not 8000 <= self.config.sample_rate <= 48000:
            raise ConfigError(
                f"aws-transcribe: sample_rate must be 8000-48000 Hz, got {self.config.sample_rate}"
            )
        expires = self.config.options.get("expires", 300)
        if not isinstance(expires, int) or not 1 <= expires <= 300:
            raise ConfigError(f"aws-transcribe: option expires must be 1-300 seconds, got {expires!r}")

    def query(self) -> dict[str, str]:
        cfg = self.config
        params: dict[str, Any] = {
            "language-code": cfg.language,
            "media-encoding": self.media_encoding,
            "sample-rate": cfg.sample_rate,
            "enable-partial-results-stabilization": True,
            "partial-results-stability": "high",
        }
        for name in QUERY_OPTIONS:
            if name in cfg.options:
                params[name.replace("_", "-")] = cfg.options[name]
        if cfg.options.get("identify_language"):
            params.pop("language-code", None)  # one or the other
        out: dict[str, str] = {}
        for k, v in params.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple)):
                v = ",".join(map(str, v))
            out[k] = str(v)
        return out

    def url(self) -> str:
        root = ws_url(base_url(self.config, DEFAULT_URL).replace("{region}", self.region))
        parts = urlsplit(root)
        path = parts.path.rstrip("/")
        if not path.endswith(PATH):
            path += PATH
        token = self.config.options.get("session_token") or os.environ.get("AWS_SESSION_TOKEN")
        return presign_url(
            scheme=parts.scheme,
            host=parts.netloc,
            path=path,
            params=self.query(),
            access_key=self.config.api_key,
            secret_key=str(self.config.options["secret_access_key"]),
            region=self.region,
            service=SERVICE,
            expires=int(self.config.options.get("expires", 300)),
            session_token=str(token) if token else None,
        )

    @property
    def max_frame_bytes(self) -> int:
        # AWS recommends 50-200 ms chunks and caps an AudioEvent's audio at 32 KB
        return max(2, min(self.bytes_per_second // 5, MAX_CHUNK))

    # --- protocol ----------------------------------------------------------------------
    def audio_frame(self, chunk: bytes) -> Frame:
        return audio_event(chunk)

    def keepalive_frame(self) -> Frame | None:
        if self.media_encoding != "pcm":
            return None  # no way to make silence in a compressed stream mid-file
        return audio_event(b"\x00" * (self.bytes_per_second // 10))

    def finish_frames(self) -> list[Frame]:
        return [audio_event(b"")]

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        idle, self._idle_closed = self._idle_closed, False
        return idle

    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, str):
            raise ValueError("unexpected text frame")
        headers, payload = decode_message(message)
        kind = headers.get(":message-type")
        if kind == "event":
            if headers.get(":event-type") == "TranscriptEvent":
                await self._on_transcript(json.loads(payload))
            return
        if kind in ("exception", "error"):
            name = str(headers.get(":exception-type") or headers.get(":error-code") or "error")
            try:
                text = str(json.loads(payload).get("Message") or payload.decode())
            except ValueError:
                text = payload.decode("utf-8", "replace")
            if name == "BadRequestException" and "no new audio" in text.lower():
                self._idle_closed = not self._closing  # the 15 s idle timeout: reconnect quietly
                return
            await self._vendor_error(self._exception(name, text))

    def _exception(self, name: str, text: str) -> ProviderError:
        status = {
            "BadRequestException": 400,
            "LimitExceededException": 429,
            "UnrecognizedClientException": 403,
            "AccessDeniedException": 403,
            "ServiceUnavailableException": 503,
            "InternalFailureException": 500,
            "ConflictException": 409,
        }.get(name)
        return self._error(f"{name}: {text}", status)

    async def _on_transcript(self, body: dict[str, Any]) -> None:
        for res in (body.get("Transcript") or {}).get("Results") or []:
            alts = res.get("Alternatives") or []
            if not alts:
                continue
            alt = alts[0]
            text = str(alt.get("Transcript") or "")
            final = not bool(res.get("IsPartial"))
            if not text and not final:
                continue
            items = [i for i in alt.get("Items") or [] if i.get("Type") == "pronunciation"]
            words = words_from(items, _word)
            confs = [w.confidence for w in words or () if w.confidence is not None]
            await self._emit_result(
                STTResult(
                    text,
                    is_final=final,
                    is_speech_final=final,
                    confidence=sum(confs) / len(confs) if confs else (1.0 if final else 0.0),
                    words=words,
                    language=res.get("LanguageCode"),
                    speaker=words[0].speaker if words else None,
                )
            )


def _word(item: dict[str, Any]) -> WordTiming:
    conf = item.get("Confidence")
    speaker = item.get("Speaker")
    return WordTiming(
        str(item["Content"]),
        float(item["StartTime"]),
        float(item["EndTime"]),
        None if conf is None else float(conf),
        None if speaker is None else str(speaker),
    )


#: Registered through the ``waav.plugins`` entry point ``stt-aws-transcribe``.
PLUGIN = PluginConstructor.stt("aws-transcribe", None, AWSTranscribeSTT)
