"""``AudioPipeline``: chain audio processors, tracking the format from stage to stage.

Built-in processors come from the native kernels and are registered in every registry:

* ``noise-gate`` (aliases ``noise_gate``, ``gate``): with option ``threshold`` (linear, e.g.
  0.01) it is the upstream plugin guide's gate (:func:`waav.audio.noise_gate`); otherwise the
  click-free streaming :class:`waav.audio.NoiseGate` (``threshold_db`` -40, ``attack_ms`` 1,
  ``hold_ms`` 50, ``release_ms`` 50).
* ``resample`` (alias ``resampler``): :class:`waav.audio.Resampler` to ``out_rate``
  (``quality`` "hq"), registered only when this build of waav has the resampler kernel.
* ``vad`` (alias ``voice-activity``): :class:`waav.audio.VadSegmenter` over the stream. Audio
  passes through unchanged (or, with ``mute_silence``, zeroed outside utterances, same length);
  the ``start``/``end`` :class:`waav.audio.VadEvent` s go to ``on_event`` callbacks and are
  kept for :meth:`VadProcessor.drain_events`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from waav import audio
from waav._exceptions import AudioFormatError, ConfigError
from waav.plugin.capabilities import AudioEncoding, AudioFormat, AudioProcessor
from waav.plugin.discovery import PluginConstructor
from waav.plugin.metadata import ProviderMetadata

if TYPE_CHECKING:
    from waav.plugin.registry import PluginRegistry

__all__ = ["AudioPipeline", "NoiseGateProcessor", "ResampleProcessor", "VadProcessor", "builtin_processors"]


def _options(given: Mapping[str, Any], allowed: Mapping[str, Any], owner: str) -> dict[str, Any]:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown {owner} option(s) {unknown}; valid: {sorted(allowed)}")
    return {**allowed, **given}


def _require_pcm16(fmt: AudioFormat, owner: str, *, mono: bool = True) -> None:
    if fmt.encoding is not AudioEncoding.PCM or fmt.bits_per_sample != 16:
        raise AudioFormatError(
            f"{owner} needs 16-bit PCM, got {fmt.encoding.value}/{fmt.bits_per_sample}-bit"
        )
    if mono and fmt.channels != 1:
        raise AudioFormatError(f"{owner} needs mono audio, got {fmt.channels} channels")


class NoiseGateProcessor(AudioProcessor):
    """The ``noise-gate`` processor (see the module docstring for its options)."""

    DEFAULTS: Mapping[str, Any] = {
        "threshold": None,
        "threshold_db": -40.0,
        "attack_ms": 1.0,
        "hold_ms": 50.0,
        "release_ms": 50.0,
    }

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = _options(options or {}, self.DEFAULTS, "noise-gate")
        self._gate: Any = None
        self._rate = 0
        if self.options["threshold"] is not None:
            audio.noise_gate(b"", self.options["threshold"])  # validate now, not on the first frame

    async def process(self, chunk: bytes, fmt: AudioFormat) -> bytes:
        _require_pcm16(fmt, "noise-gate")
        if self.options["threshold"] is not None:
            gated: bytes = audio.noise_gate(chunk, self.options["threshold"])
            return gated
        if self._gate is None or self._rate != fmt.sample_rate:
            o = self.options
            self._gate = audio.NoiseGate(
                fmt.sample_rate, o["threshold_db"], o["attack_ms"], o["hold_ms"], o["release_ms"]
            )
            self._rate = fmt.sample_rate
        out: bytes = self._gate.process(chunk)
        return out

    def latency_ms(self) -> float:
        return 0.0

    def reset(self) -> None:
        if self._gate is not None:
            self._gate.reset()


class ResampleProcessor(AudioProcessor):
    """The ``resample`` processor: int16 PCM to ``out_rate`` with :class:`waav.audio.Resampler`."""

    DEFAULTS: Mapping[str, Any] = {"out_rate": None, "quality": "hq"}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = _options(options or {}, self.DEFAULTS, "resample")
        out_rate = self.options["out_rate"]
        if isinstance(out_rate, bool) or not isinstance(out_rate, int) or out_rate <= 0:
            raise ConfigError(f"resample: out_rate must be a positive integer, got {out_rate!r}")
        self._rs: Any = None
        self._key: tuple[int, int] | None = None

    def _resampler(self, fmt: AudioFormat) -> Any:
        key = (fmt.sample_rate, fmt.channels)
        if self._rs is None or self._key != key:
            self._rs = audio.Resampler(
                fmt.sample_rate,
                self.options["out_rate"],
                channels=fmt.channels,
                dtype="int16",
                quality=self.options["quality"],
            )
            self._key = key
        return self._rs

    async def process(self, chunk: bytes, fmt: AudioFormat) -> bytes:
        _require_pcm16(fmt, "resample", mono=False)
        return bytes(self._resampler(fmt).process(chunk))

    def output_format(self, fmt: AudioFormat) -> AudioFormat:
        return dataclasses.replace(fmt, sample_rate=self.options["out_rate"])

    def changes_duration(self) -> bool:
        return False  # same duration, different sample count

    async def flush(self, fmt: AudioFormat) -> bytes:
        return bytes(self._rs.flush()) if self._rs is not None else b""

    def reset(self) -> None:
        if self._rs is not None:
            self._rs.reset()


class VadProcessor(AudioProcessor):
    """The ``vad`` processor: speech segmentation as a side channel of a pass-through stage.

    Options are :class:`waav.audio.VadSegmenter`'s (``frame_ms``, ``classifier``, ``mode``,
    ``pre_roll_ms``, ``hangover_ms``, ``min_speech_ms``, ``max_utterance_s``) plus
    ``mute_silence`` (zero the samples outside utterances; the length never changes).
    """

    DEFAULTS: Mapping[str, Any] = {
        "frame_ms": 20,
        "classifier": "webrtc",
        "mode": 2,
        "pre_roll_ms": 300.0,
        "hangover_ms": 300.0,
        "min_speech_ms": 100.0,
        "max_utterance_s": 30.0,
        "mute_silence": False,
    }

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = _options(options or {}, self.DEFAULTS, "vad")
        seg = {k: v for k, v in self.options.items() if k != "mute_silence"}
        audio.VadSegmenter(16000, **seg)  # validate the options now, not on the first frame
        self._seg: Any = None
        self._rate = 0
        self._speaking = False
        self._events: list[Any] = []
        self._callbacks: list[Callable[[Any], object]] = []

    def on_event(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(event)`` for every start/end event, in stream order."""
        self._callbacks.append(callback)

    def drain_events(self) -> list[Any]:
        """The events since the last call (oldest first)."""
        events, self._events = self._events, []
        return events

    def _emit(self, events: Iterable[Any]) -> None:
        for ev in events:
            self._speaking = ev.kind == "start"
            self._events.append(ev)
            for cb in list(self._callbacks):
                cb(ev)

    async def process(self, chunk: bytes, fmt: AudioFormat) -> bytes:
        _require_pcm16(fmt, "vad")
        if self._seg is None or self._rate != fmt.sample_rate:
            seg = {k: v for k, v in self.options.items() if k != "mute_silence"}
            self._seg = audio.VadSegmenter(fmt.sample_rate, **seg)
            self._rate = fmt.sample_rate
        was_speaking = self._speaking
        self._emit(self._seg.process(chunk))
        if self.options["mute_silence"] and not (was_speaking or self._speaking):
            return bytes(len(chunk))
        return bytes(chunk)

    async def flush(self, fmt: AudioFormat) -> bytes:
        if self._seg is not None:
            self._emit(self._seg.flush())
        return b""

    def reset(self) -> None:
        if self._seg is not None:
            self._seg.reset()
        self._speaking = False
        self._events.clear()


def builtin_processors() -> list[PluginConstructor]:
    """Constructors of the processors this build has kernels for."""
    out = [
        PluginConstructor.processor(
            "noise-gate",
            lambda: (
                ProviderMetadata.processor("noise-gate", "Noise gate (native)")
                .with_description(
                    "Zero quiet samples (threshold) or the click-free streaming NoiseGate (threshold_db)"
                )
                .with_optional_config(list(NoiseGateProcessor.DEFAULTS))
                .with_features(["native", "streaming"])
            ),
            NoiseGateProcessor,
        ).with_aliases(["noise_gate", "gate"])
    ]
    if hasattr(audio, "Resampler"):
        out.append(
            PluginConstructor.processor(
                "resample",
                lambda: (
                    ProviderMetadata.processor("resample", "Resampler (native)")
                    .with_description("Sample-rate conversion of int16 PCM with waav.audio.Resampler")
                    .with_required_config(["out_rate"])
                    .with_optional_config(["quality"])
                    .with_features(["native", "streaming", "changes-rate"])
                ),
                ResampleProcessor,
            ).with_aliases(["resampler"])
        )
    if hasattr(audio, "VadSegmenter"):
        out.append(
            PluginConstructor.processor(
                "vad",
                lambda: (
                    ProviderMetadata.processor("vad", "Voice activity detection (native)")
                    .with_description(
                        "Utterance start/end events from waav.audio.VadSegmenter; audio passes through"
                    )
                    .with_optional_config(list(VadProcessor.DEFAULTS))
                    .with_features(["native", "streaming", "events"])
                ),
                VadProcessor,
            ).with_aliases(["voice-activity"])
        )
    return out


class AudioPipeline:
    """Run audio through processors in order; ``output_format`` follows every stage.

    ``processors`` are :class:`AudioProcessor` objects (from ``registry.create_audio_processor``
    they are isolated). One pipeline per stream.
    """

    def __init__(self, processors: Sequence[AudioProcessor], fmt: AudioFormat | None = None) -> None:
        self.processors = list(processors)
        self.input_format = fmt or AudioFormat()
        self.formats = [self.input_format]
        for p in self.processors:
            self.formats.append(p.output_format(self.formats[-1]))

    @classmethod
    def from_registry(
        cls,
        registry: PluginRegistry,
        stages: Iterable[str | tuple[str, Mapping[str, Any]]],
        fmt: AudioFormat | None = None,
    ) -> AudioPipeline:
        """Build from processor names, or ``(name, options)`` pairs, created by ``registry``."""
        procs = []
        for stage in stages:
            name, opts = (stage, {}) if isinstance(stage, str) else stage
            procs.append(registry.create_audio_processor(name, opts))
        return cls(procs, fmt)

    @property
    def output_format(self) -> AudioFormat:
        return self.formats[-1]

    def latency_ms(self) -> float:
        return sum(p.latency_ms() for p in self.processors)

    def changes_duration(self) -> bool:
        return any(p.changes_duration() for p in self.processors)

    async def process(self, chunk: bytes) -> bytes:
        fmt = self.input_format
        if fmt.encoding is AudioEncoding.PCM and len(chunk) % fmt.bytes_per_frame:
            raise AudioFormatError(
                f"chunk of {len(chunk)} bytes is not a whole number of {fmt.bytes_per_frame}-byte frames"
            )
        for p, f in zip(self.processors, self.formats, strict=False):
            chunk = await p.process(chunk, f)
        return chunk

    async def flush(self) -> bytes:
        """End of stream: drain every stage's held-back audio through the stages after it."""
        out = b""
        for i, p in enumerate(self.processors):
            tail = await p.flush(self.formats[i])
            for q, f in zip(self.processors[i + 1 :], self.formats[i + 1 :], strict=False):
                tail = await q.process(tail, f) if tail else tail
            out += tail
        return out

    def reset(self) -> None:
        for p in self.processors:
            p.reset()
