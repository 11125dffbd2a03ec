"""Shared parts of the realtime (speech-to-speech) vendor fakes: scripts, VAD, tones, drops."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from waav.testing.fakes._stt_ws import abort_connection

__all__ = ["EMOTIONS", "EnergyVAD", "Reply", "abort_connection", "prosody_scores", "tone"]

#: Hume's 48 prosody emotion names, as they appear in ``models.prosody.scores``.
EMOTIONS = (
    "Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety", "Awe",
    "Awkwardness", "Boredom", "Calmness", "Concentration", "Confusion", "Contemplation", "Contempt",
    "Contentment", "Craving", "Desire", "Determination", "Disappointment", "Disgust", "Distress",
    "Doubt", "Ecstasy", "Embarrassment", "Empathic Pain", "Entrancement", "Envy", "Excitement",
    "Fear", "Guilt", "Horror", "Interest", "Joy", "Love", "Nostalgia", "Pain", "Pride",
    "Realization", "Relief", "Romance", "Sadness", "Satisfaction", "Shame", "Surprise (negative)",
    "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
)  # fmt: skip


@dataclass(frozen=True)
class Reply:
    """One scripted assistant response.

    ``text`` is spoken (audio plus transcript) or written (text modality); ``{tool_output}`` in
    it is replaced by the last function result the client submitted. With ``function_call =
    (name, arguments_json)`` the response is a function call instead, and the client is
    expected to submit its result.
    """

    text: str = ""
    function_call: tuple[str, str] | None = None


def tone(freq: float, ms: float, rate: int, *, amplitude: float = 0.3, start_sample: int = 0) -> bytes:
    """A PCM16 sine tone (phase-continuous across calls through ``start_sample``)."""
    n = round(ms * rate / 1000)
    t = (np.arange(n) + start_sample) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def prosody_scores(text: str) -> dict[str, float]:
    """Deterministic scores in [0, 1) for the 48 emotions, derived from ``text``."""
    seed = hashlib.sha256(text.encode()).digest()
    return {
        name: round(seed[i % len(seed)] / 256 * (0.5 + 0.5 * math.cos(i)), 6)
        for i, name in enumerate(EMOTIONS)
    }


class EnergyVAD:
    """A deterministic stand-in for a vendor's server VAD: 10 ms windows over PCM16, speech
    when a window's RMS is above ``threshold_dbfs``; speech stops after ``silence_ms`` of
    quiet windows. Times are milliseconds of audio fed since the start of the session."""

    def __init__(
        self, rate: int, *, threshold_dbfs: float = -35.0, silence_ms: int = 500, prefix_ms: int = 300
    ) -> None:
        self.rate = rate
        self.window = rate // 100
        self.threshold = 32768 * 10 ** (threshold_dbfs / 20)
        self.silence_ms = silence_ms
        self.prefix_ms = prefix_ms
        self.samples = 0
        self.in_speech = False
        self.speech_start_ms = 0
        self._quiet_ms = 0
        self._carry = np.zeros(0, dtype=np.int16)

    @property
    def position_ms(self) -> int:
        return self.samples * 1000 // self.rate

    def feed(self, pcm: bytes) -> list[tuple[str, int]]:
        """Feed PCM16; returns ``[("started" | "stopped", ms), …]``."""
        x = np.concatenate([self._carry, np.frombuffer(pcm, "<i2")])
        events: list[tuple[str, int]] = []
        n = len(x) // self.window
        for i in range(n):
            w = x[i * self.window : (i + 1) * self.window].astype(np.float64)
            self.samples += self.window
            loud = math.sqrt(float(np.mean(w * w))) > self.threshold
            if loud:
                self._quiet_ms = 0
                if not self.in_speech:
                    self.in_speech = True
                    self.speech_start_ms = max(0, self.position_ms - 10 - self.prefix_ms)
                    events.append(("started", self.speech_start_ms))
            elif self.in_speech:
                self._quiet_ms += 10
                if self._quiet_ms >= self.silence_ms:
                    self.in_speech = False
                    events.append(("stopped", self.position_ms))
        self._carry = x[n * self.window :].copy()
        return events
