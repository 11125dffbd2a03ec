"""Groq speech-to-text: the OpenAI-compatible ``POST /openai/v1/audio/transcriptions``.

Groq (docs "Speech to Text", API reference "Create transcription") serves Whisper behind
OpenAI's request and response shapes at ``https://api.groq.com/openai/v1``: multipart
``file``, ``model`` (``whisper-large-v3-turbo`` (default here), ``whisper-large-v3``,
``distil-whisper-large-v3-en``), ``language``, ``prompt``, ``temperature``,
``response_format`` (``json``, ``text``, ``verbose_json``) and ``timestamp_granularities[]``
(with ``verbose_json``). Every model answers ``verbose_json``, so word timings are requested
by default. ``options["task"] = "translate"`` uses ``/audio/translations`` (English text;
no ``language``). Everything else is :class:`~waav.providers.stt.openai.OpenAISTT`.
"""

from __future__ import annotations

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers.base import STTConfig
from waav.providers.stt.openai import OpenAISTT

__all__ = ["DEFAULT_URL", "PLUGIN", "GroqSTT"]

DEFAULT_URL = "https://api.groq.com/openai/v1"
DEFAULT_MODEL = "whisper-large-v3-turbo"


class GroqSTT(OpenAISTT):
    """Groq Whisper transcriptions on utterances cut by the native VAD."""

    provider_id = "groq"
    default_url = DEFAULT_URL
    api_prefix = "/openai/v1"
    default_model = DEFAULT_MODEL
    model_prefixes = ("whisper", "distil-whisper")
    verbose_models = ("whisper-large-v3-turbo", "whisper-large-v3", "distil-whisper-large-v3-en")

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        task = config.options.get("task", "transcribe")
        if task not in ("transcribe", "translate"):
            raise ConfigError(f"groq: option task must be 'transcribe' or 'translate', got {task!r}")
        self.endpoint = "/audio/translations" if task == "translate" else "/audio/transcriptions"


#: Registered through the ``waav.plugins`` entry point ``stt-groq`` (catalog id ``groq``).
PLUGIN = PluginConstructor.stt("groq", None, GroqSTT)
