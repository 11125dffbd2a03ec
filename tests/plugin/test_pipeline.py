"""AudioPipeline: chaining, format tracking, built-in native processors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import waav.audio as A
from waav import AudioFormatError, ConfigError
from waav.plugin import AudioEncoding, AudioFormat, AudioPipeline, AudioProcessor, PluginRegistry
from waav.testing.signals import speech_like


class HalfRate(AudioProcessor):
    """Drops every other sample and says so in its output format."""

    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        return np.frombuffer(audio, np.int16)[::2].tobytes()

    def output_format(self, fmt: AudioFormat) -> AudioFormat:
        return dataclasses.replace(fmt, sample_rate=fmt.sample_rate // 2)

    def latency_ms(self) -> float:
        return 1.5


async def test_pipeline_tracks_formats_and_chains() -> None:
    reg = PluginRegistry()
    reg.register_audio_processor("half", lambda o: HalfRate())
    pipe = AudioPipeline.from_registry(
        reg, ["half", ("noise-gate", {"threshold_db": -30.0})], AudioFormat(32000)
    )
    assert [f.sample_rate for f in pipe.formats] == [32000, 16000, 16000]
    assert pipe.output_format.sample_rate == 16000
    assert pipe.latency_ms() == 1.5
    pcm = speech_like(0.5, 32000, seed=5)
    chunks = [pcm[i : i + 1280] for i in range(0, len(pcm), 1280)]
    out = b"".join([await pipe.process(c) for c in chunks]) + await pipe.flush()
    gate = A.NoiseGate(16000, threshold_db=-30.0)
    assert out == gate.process(np.frombuffer(pcm, np.int16)[::2].tobytes())
    pipe.reset()
    with pytest.raises(AudioFormatError, match="not a whole number"):
        await pipe.process(b"\0\0\0")


async def test_builtin_noise_gate_streaming_matches_kernel() -> None:
    reg = PluginRegistry()
    assert reg.get_audio_processor_names()[:1] == ["noise-gate"]
    proc = reg.create_audio_processor("gate", {"threshold_db": -35.0, "hold_ms": 20.0})
    pcm = speech_like(1.0, 16000, seed=9)
    out = b"".join([await proc.process(pcm[i : i + 640], AudioFormat()) for i in range(0, len(pcm), 640)])
    assert out == A.NoiseGate(16000, threshold_db=-35.0, hold_ms=20.0).process(pcm)


async def test_processor_options_and_formats_are_checked() -> None:
    reg = PluginRegistry()
    with pytest.raises(ConfigError, match=r"unknown noise-gate option\(s\) \['treshold'\]"):
        reg.create_audio_processor("noise-gate", {"treshold": 0.1})
    with pytest.raises(AudioFormatError):
        reg.create_audio_processor("noise-gate", {"threshold": -1.0})
    proc = reg.create_audio_processor("noise-gate")
    with pytest.raises(AudioFormatError, match="needs 16-bit PCM"):
        await proc.process(b"\0", AudioFormat(encoding=AudioEncoding.MULAW, bits_per_sample=8))
    with pytest.raises(AudioFormatError, match="needs mono"):
        await proc.process(b"\0\0\0\0", AudioFormat(channels=2))


@pytest.mark.skipif(not hasattr(A, "Resampler"), reason="this build has no resampler kernel yet")
async def test_builtin_resample_processor() -> None:
    reg = PluginRegistry()
    pipe = AudioPipeline.from_registry(reg, [("resample", {"out_rate": 16000})], AudioFormat(48000))
    assert pipe.output_format.sample_rate == 16000
    pcm = speech_like(0.5, 48000, seed=2)
    out = await pipe.process(pcm) + await pipe.flush()
    assert abs(len(out) // 2 - 8000) <= 2


async def test_builtin_vad_processor_events_and_passthrough() -> None:
    from waav.plugin.pipeline import VadProcessor

    reg = PluginRegistry()
    assert reg.has_audio_processor("voice-activity")
    pipe = AudioPipeline.from_registry(reg, [("vad", {"classifier": "energy"})], AudioFormat(16000))
    vad = pipe.processors[0].inner  # type: ignore[attr-defined]
    assert isinstance(vad, VadProcessor)
    seen: list[str] = []
    vad.on_event(lambda ev: seen.append(ev.kind))
    pcm = speech_like(4.0, 16000, seed=5)
    out = b"".join([await pipe.process(pcm[i : i + 640]) for i in range(0, len(pcm), 640)])
    await pipe.flush()
    assert out == pcm  # audio passes through unchanged
    events = vad.drain_events()
    assert [e.kind for e in events] == seen
    assert seen[:2] == ["start", "end"]  # the first 1.2 s burst, closed in the 0.8 s pause
    assert events[1].audio
    assert 0.0 <= events[1].start < events[1].end <= 4.0
    assert vad.drain_events() == []


async def test_vad_processor_mutes_silence_and_rejects_bad_options() -> None:
    from waav.plugin.pipeline import VadProcessor
    from waav.testing.signals import white_noise

    proc = VadProcessor({"classifier": "energy", "mute_silence": True})
    fmt = AudioFormat(16000)
    hiss = white_noise(0.5, 16000, dbfs=-50, seed=3)  # steady background: never speech
    out = await proc.process(hiss, fmt)
    assert len(out) == len(hiss)
    assert out == bytes(len(hiss))  # muted outside utterances
    loud = white_noise(0.5, 16000, dbfs=-10, seed=4)
    assert await proc.process(loud, fmt) == loud  # an utterance started: passes unchanged
    assert [e.kind for e in proc.drain_events()] == ["start"]
    with pytest.raises(ConfigError, match="unknown vad option"):
        VadProcessor({"threshold": 3})
    with pytest.raises(AudioFormatError, match="classifier"):
        VadProcessor({"classifier": "nope"})
