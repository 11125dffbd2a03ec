"""Deepgram streaming speech-to-text (``wss://api.deepgram.com/v1/listen``).

Protocol (Deepgram docs: Live Audio API reference, KeepAlive, Finalize, CloseStream, Interim
Results, Endpointing, Utterance End, "Troubleshooting WebSocket, NET and DATA errors"):

* Handshake: ``Authorization: Token <key>``; options in the query string (``model``,
  ``language``, ``encoding``, ``sample_rate``, ``channels``, ``punctuate``, ``interim_results``,
  ``smart_format``, and the optional ``endpointing``, ``utterance_end_ms``, ``vad_events``,
  ``diarize``, ``keyterm`` …). A bad key fails the handshake with HTTP 401.
* Up: raw binary audio; control messages as *text* JSON: ``{"type": "KeepAlive"}`` (the server
  closes with ``1011 NET-0001`` after ~10 s without audio or KeepAlive; docs: send every
  3–5 s), ``{"type": "Finalize"}`` (flush; the reply, flagged ``from_finalize``, only comes when
  audio was pending), ``{"type": "CloseStream"}`` (finish: last results, a ``Metadata``
  summary, then the server closes).
* Down: ``Results`` (``is_final``: this segment will not change; ``speech_final``: an endpoint
  was detected; ``channel.alternatives[0]`` with ``transcript``, ``confidence``, ``words``
  [``word``, ``punctuated_word``, ``start``, ``end``, ``confidence``, ``speaker``], and
  ``languages``), ``Metadata``, ``SpeechStarted`` (with ``vad_events``), ``UtteranceEnd``
  (with ``utterance_end_ms``). Errors during the stream arrive as close frames
  (``1008 DATA-…`` bad audio, ``1011 NET-…`` network/timeout).

Mapping: ``is_final`` → ``STTResult.is_final``, ``speech_final`` → ``is_speech_final``;
``UtteranceEnd`` after finals that never got ``speech_final`` (it goes missing in noise) emits
an empty speech-final result so a session still sees the end of the utterance.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from waav._exceptions import ProviderError, ProviderProtocolError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, join_path, words_from

__all__ = ["DEFAULT_URL", "PLUGIN", "DeepgramSTT"]

DEFAULT_URL = "wss://api.deepgram.com"
PATH = "/v1/listen"

#: Options passed through to the query string when set.
QUERY_OPTIONS = (
    "endpointing",
    "utterance_end_ms",
    "vad_events",
    "diarize",
    "smart_format",
    "interim_results",
    "keyterm",
    "keywords",
    "filler_words",
    "numerals",
    "profanity_filter",
    "redact",
    "tag",
    "version",
    "multichannel",
    "no_delay",
    "dictation",
    "search",
    "replace",
)


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class DeepgramSTT(StreamingWebSocketSTT):
    """Deepgram live transcription over its listen WebSocket."""

    provider_id = "deepgram"
    default_keepalive_interval = 4.0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._open_utterance = False

    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)

    def url(self) -> str:
        return join_path(base_url(self.config, DEFAULT_URL), PATH) + "?" + urlencode(self.query(), doseq=True)

    def query(self) -> dict[str, Any]:
        """The listen options (config fields, then ``options``, then ``options["query"]``)."""
        cfg = self.config
        params: dict[str, Any] = {
            "model": cfg.model or "nova-3",
            "language": cfg.language,
            "encoding": canonical_encoding(cfg.encoding),
            "sample_rate": cfg.sample_rate,
            "channels": cfg.channels,
            "punctuate": cfg.punctuation,
            "interim_results": True,
            "smart_format": True,
        }
        extra = {k: cfg.options[k] for k in QUERY_OPTIONS if k in cfg.options}
        params.update(extra)
        params.update(dict(cfg.options.get("query") or {}))
        return {
            k: [_query_value(x) for x in v] if isinstance(v, (list, tuple)) else _query_value(v)
            for k, v in params.items()
            if v is not None
        }

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.config.api_key}"}

    def keepalive_frame(self) -> Frame:
        return json.dumps({"type": "KeepAlive"})

    def finalize_frames(self) -> list[Frame]:
        return [json.dumps({"type": "Finalize"})]

    def finish_frames(self) -> list[Frame]:
        return [json.dumps({"type": "CloseStream"})]

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        if code == 1008 or reason.startswith("DATA-"):
            return ProviderProtocolError(
                f"{self.provider_id}: vendor rejected the audio ({code} {reason})", provider=self.provider_id
            )
        return super().close_error(code, reason)

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        # the documented idle timeout: no audio or KeepAlive for ~10 s
        return "NET-0001" in reason

    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        msg = json.loads(message)
        kind = msg.get("type")
        if kind == "Results":
            await self._on_results(msg)
        elif kind == "UtteranceEnd":
            if self._open_utterance:
                self._open_utterance = False
                await self._emit_result(STTResult("", is_final=True, is_speech_final=True, confidence=1.0))
        elif kind == "Metadata":
            if self._closing:
                self._set_finished()  # the summary that ends a CloseStream
        elif kind in ("Error", "error"):
            text = msg.get("description") or msg.get("message") or msg.get("variant") or message
            await self._vendor_error(self._error(str(text)))

    async def _on_results(self, msg: dict[str, Any]) -> None:
        alts = (msg.get("channel") or {}).get("alternatives") or []
        if not alts:
            return
        alt = alts[0]
        transcript = str(alt.get("transcript") or "")
        is_final = bool(msg.get("is_final"))
        speech_final = bool(msg.get("speech_final"))
        if not transcript and not speech_final:
            return
        words = words_from(alt.get("words"), _word)
        languages = alt.get("languages") or []
        language = languages[0] if languages else None
        if language is None and alt.get("words"):
            language = alt["words"][0].get("language")
        speaker = words[0].speaker if words else None
        if is_final:
            self._open_utterance = bool(transcript) and not speech_final
        await self._emit_result(
            STTResult(
                transcript,
                is_final=is_final,
                is_speech_final=speech_final,
                confidence=float(alt.get("confidence") or 0.0),
                words=words,
                language=language,
                speaker=speaker,
            )
        )


def _word(w: dict[str, Any]) -> WordTiming:
    speaker = w.get("speaker")
    return WordTiming(
        str(w.get("punctuated_word") or w["word"]),
        float(w["start"]),
        float(w["end"]),
        float(w["confidence"]) if w.get("confidence") is not None else None,
        None if speaker is None else str(speaker),
    )


#: Registered through the ``waav.plugins`` entry point ``stt-deepgram`` (catalog id ``deepgram``).
PLUGIN = PluginConstructor.stt("deepgram", None, DeepgramSTT)
