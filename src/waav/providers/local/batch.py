"""Whole-file work with the offline engines (what ``waav transcribe`` and ``waav speak`` run).

:func:`transcribe` takes int16 PCM at any rate and channel count, down-mixes and resamples
it natively to 16 kHz, cuts it into utterances with the :class:`waav.audio.VadSegmenter`
(so long files become Whisper-sized pieces) and transcribes them one by one, reporting
progress. :func:`synthesize` runs a local TTS engine sentence by sentence and resamples
natively to the requested rate. Both are blocking: call them from a thread in async code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from waav import audio
from waav._exceptions import AudioFormatError, ConfigError
from waav.providers.base import STTConfig
from waav.providers.local._engine import float_option, int_option
from waav.providers.local._stt import RATE, segmenter_for, to_mono16k

__all__ = [
    "STT_PROVIDERS",
    "TTS_PROVIDERS",
    "Segment",
    "Synthesis",
    "Transcription",
    "synthesize",
    "transcribe",
]

STT_PROVIDERS = ("whisper", "pocketsphinx")
TTS_PROVIDERS = ("hibari", "espeak")
_STT_ALIASES = {
    "faster-whisper": "whisper",
    "local-whisper": "whisper",
    "sphinx": "pocketsphinx",
    "cmu-sphinx": "pocketsphinx",
}
_TTS_ALIASES = {"hibari-tts": "hibari", "local-tts": "hibari", "espeak-ng": "espeak"}


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcription:
    """The result of :func:`transcribe`; ``rtf`` is seconds of audio per second of work."""

    provider: str
    text: str
    duration_s: float
    elapsed_s: float
    segments: list[Segment] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "text": self.text,
            "duration_s": round(self.duration_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "x_realtime": round(self.rtf, 2),
            "segments": [
                {"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text} for s in self.segments
            ],
        }


def stt_provider(name: str) -> str:
    key = name.strip().lower()
    key = _STT_ALIASES.get(key, key)
    if key not in STT_PROVIDERS:
        raise ConfigError(f"unknown offline STT provider {name!r}; choose one of {', '.join(STT_PROVIDERS)}")
    return key


def tts_provider(name: str) -> str:
    key = name.strip().lower()
    key = _TTS_ALIASES.get(key, key)
    if key not in TTS_PROVIDERS:
        raise ConfigError(f"unknown offline TTS provider {name!r}; choose one of {', '.join(TTS_PROVIDERS)}")
    return key


Recogniser = Callable[[bytes, float], list[Segment]]


def _recogniser(provider: str, options: dict[str, Any]) -> Recogniser:
    """``recognise(pcm16k, start_s) -> segments`` for one piece of a file."""
    if provider == "whisper":
        from waav.providers.local import whisper

        eng = whisper.engine_for(STTConfig(provider="whisper", options=options))
        beam = int_option(options, "whisper", "beam_size", 5, 1, 20)

        def by_whisper(pcm: bytes, start: float) -> list[Segment]:
            result = eng.transcribe(pcm, beam_size=beam, offset=start)
            return [Segment(a, e, t) for a, e, t in result.segments]

        return by_whisper
    from waav.providers.local import pocketsphinx

    decoder = pocketsphinx.new_decoder(options)

    def by_sphinx(pcm: bytes, start: float) -> list[Segment]:
        text = pocketsphinx.transcribe(decoder, pcm)
        return [Segment(start, start + len(pcm) / 2 / RATE, text)] if text else []

    return by_sphinx


def _windows(events: list[Any], window_s: float) -> list[tuple[float, float]]:
    """Pack consecutive VAD utterances into spans of at most ``window_s`` seconds, cut only
    in the silences between them (Whisper reads 30 s at a time; one short utterance per
    call would pay for a whole window each time)."""
    spans: list[tuple[float, float]] = []
    for e in events:
        a, b = float(e.start or 0.0), float(e.end or 0.0)
        if spans and b - spans[-1][0] <= window_s:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def transcribe(
    pcm16: bytes,
    sample_rate: int,
    channels: int = 1,
    *,
    provider: str = "whisper",
    options: dict[str, Any] | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> Transcription:
    """Transcribe interleaved int16 PCM (any rate/channels) with an offline engine.

    The VAD cuts the file into utterances. For ``whisper`` consecutive utterances are packed
    into pieces of up to ``options["window_s"]`` (30) seconds, cut only in silences;
    ``window_s`` 0 sends each utterance alone. ``progress(done_s, total_s)`` is called after
    each piece. The model load is not counted in ``elapsed_s``.
    """
    name = stt_provider(provider)
    opts = dict(options or {})
    recognise = _recogniser(name, opts)
    t0 = time.perf_counter()
    pcm = to_mono16k(pcm16, sample_rate, channels)
    total = len(pcm) / 2 / RATE
    seg = segmenter_for(opts, name)
    events = [e for e in (*seg.process(pcm), *seg.flush()) if e.kind == "end" and e.audio]
    window_s = float_option(opts, name, "window_s", 30.0, 0.0, 600.0) if name == "whisper" else 0.0
    if window_s > 0:
        pieces = _windows(events, window_s)
    else:
        pieces = [(float(e.start or 0.0), float(e.end or 0.0)) for e in events]
    segments: list[Segment] = []
    for a, b in pieces:
        segments += recognise(pcm[2 * round(a * RATE) : 2 * round(b * RATE)], a)
        if progress is not None:
            progress(min(total, b), total)
    if progress is not None:
        progress(total, total)
    elapsed = time.perf_counter() - t0
    return Transcription(name, " ".join(s.text for s in segments), total, elapsed, segments)


@dataclass
class Synthesis:
    """The result of :func:`synthesize`: mono int16 PCM at ``sample_rate``."""

    provider: str
    pcm16: bytes
    sample_rate: int
    elapsed_s: float
    first_audio_s: float
    sentences: int

    @property
    def duration_s(self) -> float:
        return len(self.pcm16) / 2 / self.sample_rate

    @property
    def rtf(self) -> float:
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def synthesize(
    text: str,
    *,
    provider: str = "hibari",
    sample_rate: int | None = None,
    options: dict[str, Any] | None = None,
    speaking_rate: float = 1.0,
    voice: str | None = None,
) -> Synthesis:
    """Synthesise ``text`` with an offline engine; ``sample_rate`` None keeps the engine's."""
    name = tts_provider(provider)
    if not text.strip():
        raise ConfigError("nothing to say: the text is empty")
    if sample_rate is not None and not 1000 <= sample_rate <= 384000:
        raise AudioFormatError(f"sample rate must be 1000-384000 Hz, got {sample_rate}")
    opts = dict(options or {})
    gen: Callable[[str], np.ndarray[Any, Any]]
    if name == "hibari":
        from waav.providers.local import hibari

        if voice not in (None, hibari.VOICE):
            raise ConfigError(
                f"hibari: voice {voice!r} is not available offline; the bundled voice is 'heart'"
            )
        heng = hibari.engine(int_option(opts, "hibari", "threads", 1, 1, 64))
        speed = min(2.0, max(0.5, speaking_rate))
        seed = opts.get("seed", 0)
        sentences = heng.sentences(text)
        native = hibari.RATE

        def gen(s: str) -> np.ndarray[Any, Any]:
            return heng.synthesize(s, speed=speed, seed=seed)
    else:
        from waav.providers.local import espeak

        eeng = espeak.engine()
        wpm = round(min(450.0, max(80.0, espeak.WPM * speaking_rate)))
        sentences = [s for s in espeak._SENTENCE.split(text) if s.strip()]
        native = eeng.sample_rate

        def gen(s: str) -> np.ndarray[Any, Any]:
            return eeng.synthesize(s, voice=voice or espeak.DEFAULT_VOICE, wpm=wpm)

    rate = int(sample_rate or native)
    resampler = audio.Resampler(native, rate, dtype="int16") if rate != native else None
    t0 = time.perf_counter()
    first = 0.0
    out = bytearray()
    for i, sentence in enumerate(sentences):
        samples = gen(sentence)
        pcm = (
            samples.astype("<i2").tobytes() if samples.dtype == np.int16 else audio.float32_to_int16(samples)
        )
        out += resampler.process(pcm) if resampler is not None else pcm
        if i == 0:
            first = time.perf_counter() - t0
    if resampler is not None:
        out += resampler.flush()
    return Synthesis(name, bytes(out), rate, time.perf_counter() - t0, first, len(sentences))
