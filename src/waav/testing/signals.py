"""Deterministic test signals as int16 PCM bytes or float arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["sine", "speech_like", "white_noise"]


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
