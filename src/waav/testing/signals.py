"""Deterministic test signals as int16 PCM bytes or float arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["sine", "speech_bursts", "speech_like", "white_noise"]


def sine(
    freq: float, seconds: float, rate: int, amplitude: float = 0.5, phase: float = 0.0
) -> npt.NDArray[np.float64]:
    """A sine tone as float64 samples in [-amplitude, amplitude]."""
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t + phase)


def white_noise(seconds: float, rate: int, dbfs: float = -20.0, seed: int = 0) -> bytes:
    """Gaussian white noise at an RMS level of ``dbfs``, as int16 PCM bytes."""
    x = np.random.default_rng(seed).standard_normal(round(seconds * rate))
    x *= 10 ** (dbfs / 20) * 32768
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def speech_like(seconds: float, rate: int, seed: int = 0) -> bytes:
    """Speech-like int16 PCM: voiced bursts (1.2 s on, 0.8 s off) over a -50 dBFS floor.

    The bursts are a gliding 110–170 Hz fundamental with seven harmonics under a raised
    cosine envelope: enough like voiced speech for gates, VADs and benchmarks.
    """
    r = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    cycle = t % 2.0
    envelope = (cycle < 1.2) * (0.5 - 0.5 * np.cos(2 * np.pi * cycle / 1.2))
    x = 0.3 * voiced * envelope + 10 ** (-50 / 20) * r.standard_normal(n)
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def speech_bursts(
    spans: list[tuple[float, float]],
    seconds: float,
    rate: int,
    level_dbfs: float = -20.0,
    floor_dbfs: float = -60.0,
    seed: int = 0,
) -> bytes:
    """Voiced bursts with sharp, known boundaries over a noise floor, as int16 PCM bytes.

    Each ``(start, end)`` span (seconds) holds the voiced sound of :func:`speech_like`
    (a gliding 110–170 Hz fundamental and seven harmonics) at an RMS of about
    ``level_dbfs``, switched on and off with 1 ms ramps; elsewhere there is only white
    noise at ``floor_dbfs``. For VAD tests whose expected boundaries are the spans.
    """
    r = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    voiced *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(voiced**2))
    ramp = 0.001
    envelope = np.zeros(n)
    for a, b in spans:
        envelope = np.maximum(envelope, np.clip(np.minimum(t - a, b - t) / ramp, 0.0, 1.0))
    x = voiced * envelope + 10 ** (floor_dbfs / 20) * r.standard_normal(n)
    out: bytes = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    return out
