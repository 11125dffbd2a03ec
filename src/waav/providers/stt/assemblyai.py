"""AssemblyAI Universal-Streaming speech-to-text, v3 (``wss://streaming.assemblyai.com/v3/ws``).

Protocol (AssemblyAI docs: Streaming API reference, "Message Sequence", "Common session errors
and closures"):

* Handshake: ``Authorization: <api key>`` (the raw key, no scheme); query ``sample_rate``,
  ``encoding`` (``pcm_s16le`` | ``pcm_mulaw``), ``speech_model``, ``format_turns`` and the
  optional ``end_of_turn_confidence_threshold``, ``min_end_of_turn_silence_when_confident``,
  ``max_turn_silence``, ``keyterms_prompt``, ``inactivity_timeout``, ``language_detection``.
  EU host: ``base_url="wss://streaming.eu.assemblyai.com"``.
* The server opens with ``Begin {id, expires_at}``; audio waits for it. Up: binary audio of
  50–1000 ms per message (shorter frames are coalesced here, the last one padded with
  silence); text ``{"type": "ForceEndpoint"}`` (end the current turn now),
  ``{"type": "KeepAlive"}`` (only needed with ``inactivity_timeout``), ``{"type": "Terminate"}``.
* Down: ``Turn {turn_order, transcript, end_of_turn, turn_is_formatted, end_of_turn_confidence,
  words[{text, start, end (ms), confidence, word_is_final}], language_code?}``, ``SpeechStarted``,
  ``Termination`` (after ``Terminate``, then close 1000), and on failure
  ``Error {error_code, error}`` followed by a close with that code.

Mapping: a ``Turn`` before ``end_of_turn`` is interim (its text is every word heard so far, final
or not); the end-of-turn ``Turn`` is final *and* speech-final. With ``format_turns`` (on when
``punctuation`` is) the service sends the end of turn twice, unformatted then formatted: only
the formatted one is final. Confidence is the mean word confidence; word times are converted
from milliseconds to seconds.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, join_path, words_from

__all__ = ["DEFAULT_URL", "PLUGIN", "AssemblyAISTT"]

DEFAULT_URL = "wss://streaming.assemblyai.com"
PATH = "/v3/ws"
MODELS = ("universal-streaming-english", "universal-streaming-multilingual")
QUERY_OPTIONS = (
    "speech_model",
    "format_turns",
    "end_of_turn_confidence_threshold",
    "min_end_of_turn_silence_when_confident",
    "max_turn_silence",
    "keyterms_prompt",
    "inactivity_timeout",
    "language_detection",
    "vad_threshold",
    "filter_profanity",
)
_ENCODINGS = {"linear16": "pcm_s16le", "mulaw": "pcm_mulaw"}


class AssemblyAISTT(StreamingWebSocketSTT):
    """AssemblyAI Universal-Streaming (v3)."""

    provider_id = "assemblyai"
    wait_for_ready = True

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self.session_id: str | None = None
        self._expected = False

    # --- configuration -----------------------------------------------------------------
    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self._encoding()

    def _encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in _ENCODINGS:
            raise ConfigError(
                f"assemblyai: encoding {self.config.encoding!r} not supported; use linear16 or mulaw"
            )
        return _ENCODINGS[enc]

    @property
    def speech_model(self) -> str:
        model = self.config.model
        if model in MODELS or model.startswith(("universal", "u3")):
            return model
        lang = self.config.language.lower()
        return MODELS[0] if lang.startswith("en") else MODELS[1]

    def query(self) -> dict[str, Any]:
        cfg = self.config
        params: dict[str, Any] = {
            "sample_rate": cfg.sample_rate,
            "encoding": self._encoding(),
            "speech_model": self.speech_model,
            "format_turns": cfg.punctuation,
        }
        params.update({k: cfg.options[k] for k in QUERY_OPTIONS if k in cfg.options})
        params.update(dict(cfg.options.get("query") or {}))
        out: dict[str, Any] = {}
        for k, v in params.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple)):
                v = json.dumps(list(v))  # keyterms_prompt is a JSON list
            if v is not None:
                out[k] = v
        return out

    def url(self) -> str:
        return join_path(base_url(self.config, DEFAULT_URL), PATH) + "?" + urlencode(self.query())

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.config.api_key}

    @property
    def keepalive_interval(self) -> float | None:
        explicit = self._opt_float("keepalive_interval", None)
        if explicit is not None:
            return explicit or None
        timeout = self.config.options.get("inactivity_timeout")
        return float(timeout) / 2 if timeout else None  # only needed with inactivity_timeout

    @property
    def min_frame_bytes(self) -> int:
        return self.bytes_per_second * 50 // 1000  # 50 ms

    @property
    def max_frame_bytes(self) -> int:
        return self.bytes_per_second  # 1000 ms

    def pad_frame(self, chunk: bytes) -> bytes:
        least = self.min_frame_bytes
        if len(chunk) >= least:
            return chunk
        silence = b"\xff" if self._encoding() == "pcm_mulaw" else b"\x00"
        return chunk + silence * (least - len(chunk))

    # --- protocol ------------------------------------------------------------------------
    def keepalive_frame(self) -> Frame:
        return json.dumps({"type": "KeepAlive"})

    def finalize_frames(self) -> list[Frame]:
        return [json.dumps({"type": "ForceEndpoint"})]

    def finish_frames(self) -> list[Frame]:
        return [json.dumps({"type": "Terminate"})]

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        expected, self._expected = self._expected, False
        return expected or _routine(code, reason)

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        if code is not None and code >= 3000:
            return self._classify(code, reason)
        return super().close_error(code, reason)

    def _classify(self, code: int | None, text: str) -> ProviderError:
        low = text.lower()
        if "auth" in low or "api key" in low or code in (1008, 4001, 3003):
            return self._error(text, 401)
        if "too many" in low or "concurrency" in low or "rate" in low or code in (4029, 4102):
            return self._error(text, 429)
        if "duration" in low or "schema" in low or code in (3007, 4101, 1007):
            return self._error(text, 400)
        return self._error(text)

    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        msg = json.loads(message)
        kind = msg.get("type")
        if kind == "Begin":
            self.session_id = msg.get("id")
            self._set_ready()
        elif kind == "Turn":
            await self._on_turn(msg)
        elif kind == "Termination":
            if not self._closing:
                self._expected = True  # ended by the service (inactivity_timeout, session cap)
            self._set_finished()
        elif kind == "Error":
            code = msg.get("error_code")
            text = str(msg.get("error") or message)
            if _routine(code, text):
                self._expected = True  # session cap / inactivity: the close that follows is routine
                return
            await self._vendor_error(self._classify(code, text))

    async def _on_turn(self, msg: dict[str, Any]) -> None:
        end = bool(msg.get("end_of_turn"))
        formatted = bool(msg.get("turn_is_formatted"))
        formatting = self.query().get("format_turns") == "true"
        final = end and (formatted or not formatting)
        raw_words = msg.get("words") or []
        if final or not raw_words:
            text = str(msg.get("transcript") or "")
        else:
            text = " ".join(str(w.get("text", "")) for w in raw_words).strip()
        if not text and not final:
            return
        words = words_from(raw_words, _word)
        confs = [w.confidence for w in words or () if w.confidence is not None]
        await self._emit_result(
            STTResult(
                text,
                is_final=final,
                is_speech_final=final,
                confidence=sum(confs) / len(confs) if confs else 0.0,
                words=words,
                language=msg.get("language_code"),
            )
        )


def _routine(code: int | None, text: str) -> bool:
    """Session cap reached or inactivity timeout: expected, reconnect without spending retries."""
    low = text.lower()
    return code in (3008, 4008, 4031) or "expired" in low or "idle" in low or "inactiv" in low


def _word(w: dict[str, Any]) -> WordTiming:
    conf = w.get("confidence")
    return WordTiming(
        str(w["text"]),
        float(w["start"]) / 1000.0,
        float(w["end"]) / 1000.0,
        None if conf is None else float(conf),
        None if w.get("speaker") is None else str(w["speaker"]),
    )


#: Registered through the ``waav.plugins`` entry point ``stt-assemblyai``.
PLUGIN = PluginConstructor.stt("assemblyai", None, AssemblyAISTT)
