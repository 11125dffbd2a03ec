"""ElevenLabs Scribe realtime speech-to-text (``wss://api.elevenlabs.io/v1/speech-to-text/realtime``).

Protocol (ElevenLabs docs: Realtime speech-to-text API reference / AsyncAPI, "Realtime event
reference", "Transcripts and commit strategies"; the official Python SDK's realtime client):

* Handshake: header ``xi-api-key``; query ``model_id`` (``scribe_v2_realtime``),
  ``audio_format`` (``pcm_8000|16000|22050|24000|44100|48000`` or ``ulaw_8000``),
  ``commit_strategy`` (``vad`` here, so the service commits at pauses; ``manual`` possible),
  ``include_timestamps``, ``language_code`` (ISO 639-1/3), ``vad_silence_threshold_secs``,
  ``vad_threshold``, ``min_speech_duration_ms``, ``min_silence_duration_ms``. Regional hosts
  through ``base_url`` (``wss://api.us.elevenlabs.io`` …).
* The server opens with ``session_started {session_id, config}``; audio waits for it. Up: text
  ``{"message_type": "input_audio_chunk", "audio_base_64", "commit", "sample_rate"}``; a commit
  is that message with ``commit: true`` (and no audio).
* Down: ``partial_transcript {text}``, ``committed_transcript {text}`` and, with
  ``include_timestamps``, ``committed_transcript_with_timestamps {text, language_code,
  words[{text, start, end, type (word|spacing|audio_event), logprob, speaker_id}]}``; errors as
  their own message types (``auth_error``, ``quota_exceeded``, ``rate_limited``,
  ``resource_exhausted``, ``input_error``, ``chunk_size_exceeded``, ``commit_throttled``,
  ``transcriber_error``, ``session_time_limit_exceeded``, ``insufficient_audio_activity`` …)
  with an ``error`` text.

Mapping: partials are interim (confidence 0: the service gives none); a commit is final and
speech-final. With timestamps on (the default here) the final is taken from the
``…_with_timestamps`` message, which carries the words (``spacing`` entries skipped) and the
language; its confidence is the mean word probability ``exp(logprob)``. No keepalive message
is documented; the finish is a commit of pending audio, then a bounded wait for its result.
The upstream mapped unknown sample rates silently to ``pcm_16000`` (misread audio); here an
unsupported rate is a :class:`~waav.ConfigError`.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import urlencode

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, join_path, words_from

__all__ = ["DEFAULT_URL", "PLUGIN", "ElevenLabsSTT"]

DEFAULT_URL = "wss://api.elevenlabs.io"
PATH = "/v1/speech-to-text/realtime"
DEFAULT_MODEL = "scribe_v2_realtime"
PCM_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
QUERY_OPTIONS = (
    "commit_strategy",
    "include_timestamps",
    "language_code",
    "vad_silence_threshold_secs",
    "vad_threshold",
    "min_speech_duration_ms",
    "min_silence_duration_ms",
    "enable_logging",
)
#: Error message types and the HTTP-like status they amount to.
ERRORS = {
    "auth_error": 401,
    "unaccepted_terms": 403,
    "unaccepted_terms_error": 403,
    "quota_exceeded": 401,  # the HTTP API answers quota_exceeded with 401 too: retrying won't help
    "rate_limited": 429,
    "resource_exhausted": 429,
    "queue_overflow": 429,
    "input_error": 400,
    "invalid_request": 400,
    "chunk_size_exceeded": 400,
    "commit_throttled": 0,
    "transcriber_error": 0,
    "error": 0,
}
#: Closes that end a session routinely: reconnect without spending the retry budget.
ROUTINE = ("session_time_limit_exceeded", "insufficient_audio_activity")


class ElevenLabsSTT(StreamingWebSocketSTT):
    """ElevenLabs Scribe realtime transcription."""

    provider_id = "elevenlabs"
    wait_for_ready = True

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self.session_id: str | None = None
        self._uncommitted = False
        self._expected = False

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self.audio_format()

    def audio_format(self) -> str:
        """The ``audio_format`` query value for the configured encoding and rate."""
        enc, rate = canonical_encoding(self.config.encoding), self.config.sample_rate
        if enc == "linear16" and rate in PCM_RATES:
            return f"pcm_{rate}"
        if enc == "mulaw" and rate == 8000:
            return "ulaw_8000"
        raise ConfigError(
            f"elevenlabs: {self.config.encoding} at {rate} Hz is not supported; "
            f"use linear16 at one of {list(PCM_RATES)} Hz or mulaw at 8000 Hz"
        )

    @property
    def timestamps(self) -> bool:
        return bool(self.config.options.get("include_timestamps", True))

    def query(self) -> dict[str, Any]:
        cfg = self.config
        model = cfg.model if cfg.model.startswith("scribe") else DEFAULT_MODEL
        params: dict[str, Any] = {
            "model_id": model,
            "audio_format": self.audio_format(),
            "commit_strategy": "vad",
            "include_timestamps": True,
        }
        if cfg.language:
            params["language_code"] = cfg.language.split("-")[0].lower()
        params.update({k: cfg.options[k] for k in QUERY_OPTIONS if k in cfg.options})
        params.update(dict(cfg.options.get("query") or {}))
        return {
            k: ("true" if v else "false") if isinstance(v, bool) else v
            for k, v in params.items()
            if v is not None
        }

    def url(self) -> str:
        return join_path(base_url(self.config, DEFAULT_URL), PATH) + "?" + urlencode(self.query())

    def headers(self) -> dict[str, str]:
        return {"xi-api-key": self.config.api_key}

    def _chunk(self, audio: bytes, *, commit: bool) -> str:
        return json.dumps(
            {
                "message_type": "input_audio_chunk",
                "audio_base_64": base64.b64encode(audio).decode("ascii"),
                "commit": commit,
                "sample_rate": self.config.sample_rate,
            }
        )

    def audio_frame(self, chunk: bytes) -> Frame:
        self._uncommitted = True
        return self._chunk(chunk, commit=False)

    def finalize_frames(self) -> list[Frame]:
        # With VAD commits the service may already have committed everything; it is not
        # possible to tell, so commit whenever audio went up since our own last commit.
        if not self._uncommitted:
            return []
        self._uncommitted = False
        return [self._chunk(b"", commit=True)]

    def finish_frames(self) -> list[Frame]:
        return self.finalize_frames()

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        expected, self._expected = self._expected, False
        return expected

    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        msg = json.loads(message)
        kind = str(msg.get("message_type") or "")
        if kind == "session_started":
            self.session_id = msg.get("session_id")
            self._set_ready()
        elif kind == "partial_transcript":
            text = str(msg.get("text") or "")
            if text:
                await self._emit_result(STTResult(text, is_final=False, confidence=0.0))
        elif kind == "committed_transcript":
            if not self.timestamps:
                await self._committed(msg)
        elif kind == "committed_transcript_with_timestamps":
            await self._committed(msg)
        elif kind in ROUTINE:
            self._expected = True
        elif kind in ERRORS or kind.endswith("error"):
            text = f"{kind}: {msg.get('error') or msg.get('message') or ''}".rstrip(": ")
            await self._vendor_error(self._error(text, ERRORS.get(kind) or None))

    async def _committed(self, msg: dict[str, Any]) -> None:
        if self._closing:
            self._set_finished()
        text = str(msg.get("text") or "").strip()
        if not text:
            return
        raw = [w for w in msg.get("words") or [] if w.get("type", "word") == "word"]
        words = words_from(raw, _word)
        probs = [w.confidence for w in words or () if w.confidence is not None]
        await self._emit_result(
            STTResult(
                text,
                is_final=True,
                is_speech_final=True,
                confidence=sum(probs) / len(probs) if probs else 1.0,
                words=words,
                language=msg.get("language_code"),
                speaker=words[0].speaker if words else None,
            )
        )


def _word(w: dict[str, Any]) -> WordTiming:
    logprob = w.get("logprob")
    speaker = w.get("speaker_id")
    return WordTiming(
        str(w["text"]),
        float(w["start"]),
        float(w["end"]),
        None if logprob is None else math.exp(float(logprob)),
        None if speaker is None else str(speaker),
    )


#: Registered through the ``waav.plugins`` entry point ``stt-elevenlabs``.
PLUGIN = PluginConstructor.stt("elevenlabs", None, ElevenLabsSTT)
