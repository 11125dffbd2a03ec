"""Cartesia Ink streaming speech-to-text (``wss://api.cartesia.ai/stt/websocket``).

Protocol (Cartesia docs: STT WebSocket API reference / AsyncAPI, "Realtime STT (Manual)",
"Concurrency and WebSocket limits"; the official Python SDK's STT WebSocket client):

* Handshake: ``Authorization: Bearer <key>`` and ``Cartesia-Version`` headers (the docs'
  current scheme; the upstream put the key in the query string, where it lands in logs);
  query ``model`` (``ink-whisper``), ``language`` (ISO 639-1), ``encoding``
  (``pcm_s16le``/``pcm_f32le``/``pcm_mulaw``/``pcm_alaw``), ``sample_rate`` and the optional
  ``min_volume``, ``max_silence_duration_secs``.
* Up: binary audio; text ``finalize`` (flush; answered with ``flush_done``) and ``done``
  (finish; answered with ``done``, then the server closes).
* Down: ``transcript {request_id, text, is_final, duration, language, words[{word, start,
  end}]}``, ``flush_done``, ``done``, ``error {message, code?}``.

Mapping: ``is_final`` → final and speech-final (Cartesia's finals are utterance segments; the
upstream did the same); transcript texts are deltas (the docs concatenate final ones), so each
result carries its own segment, stripped. Cartesia sends no confidence: finals report 1.0,
interims 0.0. No keepalive message is documented; Cartesia closes idle sockets (``1001``
idle timeout), which reconnects here without spending the retry budget.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, join_path, words_from

__all__ = ["API_VERSION", "DEFAULT_URL", "PLUGIN", "CartesiaSTT"]

DEFAULT_URL = "wss://api.cartesia.ai"
PATH = "/stt/websocket"
API_VERSION = "2025-04-16"
DEFAULT_MODEL = "ink-whisper"
_ENCODINGS = {"linear16": "pcm_s16le", "float32": "pcm_f32le", "mulaw": "pcm_mulaw", "alaw": "pcm_alaw"}
QUERY_OPTIONS = ("min_volume", "max_silence_duration_secs")


class CartesiaSTT(StreamingWebSocketSTT):
    """Cartesia Ink streaming transcription."""

    provider_id = "cartesia"

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        self._encoding()

    def _encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in _ENCODINGS:
            raise ConfigError(
                f"cartesia: encoding {self.config.encoding!r} not supported; use one of {list(_ENCODINGS)}"
            )
        return _ENCODINGS[enc]

    def query(self) -> dict[str, Any]:
        cfg = self.config
        params: dict[str, Any] = {
            "model": cfg.model if cfg.model.startswith("ink") else DEFAULT_MODEL,
            "language": cfg.language.split("-")[0].lower(),
            "encoding": self._encoding(),
            "sample_rate": cfg.sample_rate,
        }
        params.update({k: cfg.options[k] for k in QUERY_OPTIONS if k in cfg.options})
        params.update(dict(cfg.options.get("query") or {}))
        return {k: v for k, v in params.items() if v is not None}

    def url(self) -> str:
        return join_path(base_url(self.config, DEFAULT_URL), PATH) + "?" + urlencode(self.query())

    def headers(self) -> dict[str, str]:
        version = str(self.config.options.get("cartesia_version") or API_VERSION)
        return {"Authorization": f"Bearer {self.config.api_key}", "Cartesia-Version": version}

    def finalize_frames(self) -> list[Frame]:
        return ["finalize"]

    def finish_frames(self) -> list[Frame]:
        return ["finalize", "done"]

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        return "idle" in reason.lower() or "timeout" in reason.lower()

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        if code == 1008 and ("auth" in reason.lower() or "key" in reason.lower()):
            return self._error(f"closed {code}: {reason}", 401)
        return super().close_error(code, reason)

    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        msg = json.loads(message)
        kind = msg.get("type")
        if kind == "transcript":
            text = str(msg.get("text") or "").strip()
            final = bool(msg.get("is_final"))
            if not text:
                return
            await self._emit_result(
                STTResult(
                    text,
                    is_final=final,
                    is_speech_final=final,
                    confidence=1.0 if final else 0.0,
                    words=words_from(msg.get("words"), _word),
                    language=msg.get("language"),
                )
            )
        elif kind == "done":
            self._set_finished()
        elif kind == "error":
            code = msg.get("code")
            status = code if isinstance(code, int) else None
            await self._vendor_error(self._error(str(msg.get("message") or message), status))


def _word(w: dict[str, Any]) -> WordTiming:
    return WordTiming(str(w["word"]).strip(), float(w["start"]), float(w["end"]))


#: Registered through the ``waav.plugins`` entry point ``stt-cartesia``.
PLUGIN = PluginConstructor.stt("cartesia", None, CartesiaSTT)
