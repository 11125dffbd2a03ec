"""Pure-Python twin of ``waav._native._gate``: the readable spec and the test oracle."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from waav._exceptions import AudioFormatError
from waav.audio._buffers import as_int16, as_real

__all__ = ["NoiseGate", "noise_gate"]


def noise_gate(pcm16: Any, threshold: float) -> bytes:
    """Zero every sample whose ``abs(s) / 32768 < threshold``; others pass unchanged."""
    t = as_real(threshold, "threshold")
    if math.isnan(t) or t < 0.0:
        raise AudioFormatError(f"threshold must be a non-negative number, got {threshold!r}")
    x = as_int16(pcm16, "pcm16")
    quiet = np.abs(x.astype(np.int32)) / 32768.0 < t
    return np.where(quiet, 0, x).astype("<i2").tobytes()


MAX_MS = 3_600_000.0  # one hour: longer ramps are a mistake, and the sample count must fit


def _check_ms(value: float, name: str) -> float:
    v = as_real(value, name)
    if not math.isfinite(v) or v < 0.0 or v > MAX_MS:
        raise AudioFormatError(f"{name} must be a number in [0, {MAX_MS:.0f}] ms, got {value!r}")
    return v


class NoiseGate:
    """Click-free streaming noise gate with attack, hold and release.

    Per sample: the gate is *open* when ``abs(s) / 32768 >= 10 ** (threshold_db / 20)``
    (which also restarts the hold counter), or while hold samples remain; otherwise it
    is closed. An open gate raises the gain by ``1 / attack_samples`` (capped at 1), a
    closed one lowers it by ``1 / release_samples`` (floored at 0). The output sample is
    ``round_half_even(s * gain)``. The gate starts closed (gain 0).
    """

    def __init__(
        self,
        sample_rate: int,
        threshold_db: float = -40.0,
        attack_ms: float = 1.0,
        hold_ms: float = 50.0,
        release_ms: float = 50.0,
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise AudioFormatError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if sample_rate > 10_000_000:
            raise AudioFormatError(f"sample_rate {sample_rate} is out of range")
        db = as_real(threshold_db, "threshold_db")
        if math.isnan(db) or db > 0.0:
            # int16 never exceeds 0 dBFS, so a higher threshold could never open the gate.
            raise AudioFormatError(f"threshold_db must be a number <= 0 dBFS, got {threshold_db!r}")
        self.sample_rate = sample_rate
        self.threshold_db = db
        self.attack_ms = _check_ms(attack_ms, "attack_ms")
        self.hold_ms = _check_ms(hold_ms, "hold_ms")
        self.release_ms = _check_ms(release_ms, "release_ms")
        # abs(s) / 32768 >= level  <=>  abs(s) >= ceil(level * 32768) for integer abs(s)
        self._t = min(math.ceil(10.0 ** (db / 20.0) * 32768.0), 32769)
        self._up = 1.0 / max(1, round(self.attack_ms * sample_rate / 1000.0))
        self._down = 1.0 / max(1, round(self.release_ms * sample_rate / 1000.0))
        self._hold_len = round(self.hold_ms * sample_rate / 1000.0)
        self.reset()

    def reset(self) -> None:
        """Close the gate and forget the hold state."""
        self._g = 0.0
        self._hold = 0

    @property
    def gain(self) -> float:
        """Current gain in [0, 1] (after the last processed sample)."""
        return self._g

    def process(self, chunk: Any) -> bytes:
        """Gate one chunk of int16 PCM and return the gated chunk (same length)."""
        x = as_int16(chunk, "chunk").tolist()
        out = [0] * len(x)
        g, hold, t, up, down = self._g, self._hold, self._t, self._up, self._down
        for i, s in enumerate(x):
            if s >= t or s <= -t:
                hold = self._hold_len
                g = min(g + up, 1.0)
            elif hold > 0:
                hold -= 1
                g = min(g + up, 1.0)
            else:
                g = max(g - down, 0.0)
            out[i] = round(s * g)  # Python's round(): half to even
        self._g, self._hold = g, hold
        return np.array(out, dtype="<i2").tobytes()

    def __repr__(self) -> str:
        return (
            f"NoiseGate(sample_rate={self.sample_rate}, threshold_db={self.threshold_db}, "
            f"attack_ms={self.attack_ms}, hold_ms={self.hold_ms}, release_ms={self.release_ms})"
        )
