"""OpenAI speech-to-text: ``POST /v1/audio/transcriptions`` on VAD-cut utterances.

Protocol (OpenAI API reference "Create transcription", speech-to-text guide):

* ``Authorization: Bearer <key>``; ``multipart/form-data`` with ``file`` (here ``audio.wav``,
  PCM16 mono), ``model`` (``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``),
  optional ``language`` (ISO-639-1), ``prompt``, ``temperature``, ``response_format``
  (``json``, ``text``, ``srt``, ``vtt``, ``verbose_json``) and ``timestamp_granularities[]``
  (``word``/``segment``; only with ``verbose_json``, which only ``whisper-1`` supports).
  Files are limited to 25 MB.
* ``json`` answers ``{"text"}``; ``verbose_json`` answers ``{"task", "language",
  "duration", "text", "words": [{"word", "start", "end"}], "segments": [{…, "avg_logprob",
  "no_speech_prob"}]}``. Errors are ``{"error": {"message", "type", "param", "code"}}``
  with 401 (bad key), 429 (rate limit, ``Retry-After``), 400 (bad request).

Here ``whisper-1`` (the default model) is asked for ``verbose_json`` with word and segment
timestamps, giving ``STTResult.words`` and a confidence (``exp`` of the segments' mean
``avg_logprob``); the ``gpt-4o`` models are asked for ``json`` (text only, confidence 1).
Options: ``prompt``, ``temperature``, ``response_format`` (``json`` | ``verbose_json``),
``word_timestamps`` (default True) and the buffering options of
:mod:`waav.providers.stt._rest`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from waav._exceptions import ConfigError, ProviderProtocolError
from waav.plugin import PluginConstructor
from waav.providers.base import STTResult
from waav.providers.stt._rest import BufferedRestSTT, Utterance

__all__ = ["DEFAULT_URL", "PLUGIN", "OpenAISTT"]

DEFAULT_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "whisper-1"
#: Models that answer ``verbose_json`` (word timestamps); the others answer ``json``/``text``.
VERBOSE_MODELS = ("whisper-1",)
RESPONSE_FORMATS = ("json", "verbose_json")


class OpenAISTT(BufferedRestSTT):
    """OpenAI transcriptions on utterances cut by the native VAD."""

    provider_id = "openai"
    default_url = DEFAULT_URL
    api_prefix = "/v1"
    default_model = DEFAULT_MODEL
    #: Model name prefixes this vendor serves (anything else, e.g. the STTConfig default
    #: ``nova-3``, means "not chosen": the vendor default is used).
    model_prefixes: tuple[str, ...] = ("whisper", "gpt-")
    verbose_models: tuple[str, ...] = VERBOSE_MODELS

    @property
    def model(self) -> str:
        model = self.config.model or ""
        return model if model.startswith(self.model_prefixes) else self.default_model

    @property
    def response_format(self) -> str:
        fmt = self.config.options.get("response_format")
        if fmt is None:
            return "verbose_json" if self.model in self.verbose_models else "json"
        if fmt not in RESPONSE_FORMATS:
            raise ConfigError(f"{self.provider_id}: option response_format must be one of {RESPONSE_FORMATS}")
        return str(fmt)

    def form_fields(self) -> dict[str, Any]:
        opts = self.config.options
        fields: dict[str, Any] = {"model": self.model, "response_format": self.response_format}
        language = self.iso639_1(self.config.language)
        if language and self.endpoint.endswith("transcriptions"):
            fields["language"] = language
        for name in ("prompt", "temperature"):
            if opts.get(name) is not None:
                fields[name] = str(opts[name])
        if fields["response_format"] == "verbose_json" and opts.get("word_timestamps", True):
            fields["timestamp_granularities[]"] = ["word", "segment"]
        return fields

    def parse_response(self, body: Any, utterance: Utterance) -> STTResult | None:
        if not isinstance(body, Mapping) or not isinstance(body.get("text"), str):
            raise ProviderProtocolError(
                f"{self.provider_id}: response has no text: {str(body)[:200]}", provider=self.provider_id
            )
        text = body["text"].strip()
        if not text:
            return None
        language = body.get("language")
        return STTResult(
            text,
            is_final=True,
            is_speech_final=True,
            confidence=_confidence(body.get("segments")),
            words=self.shift_words(body.get("words"), utterance.start),
            language=str(language) if language else None,
        )


def _confidence(segments: Any) -> float:
    """``exp`` of the duration-weighted mean ``avg_logprob`` of the segments (1.0 without)."""
    if not isinstance(segments, list):
        return 1.0
    total = weight = 0.0
    for seg in segments:
        if isinstance(seg, Mapping) and isinstance(seg.get("avg_logprob"), (int, float)):
            w = max(float(seg.get("end", 0.0)) - float(seg.get("start", 0.0)), 1e-3)
            total += float(seg["avg_logprob"]) * w
            weight += w
    return math.exp(total / weight) if weight else 1.0


#: Registered through the ``waav.plugins`` entry point ``stt-openai`` (catalog id ``openai``).
PLUGIN = PluginConstructor.stt("openai", None, OpenAISTT)
