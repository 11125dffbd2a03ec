"""Inputs and helpers shared by the offline-engine tests."""

from __future__ import annotations

import re

#: Sentences hibari says and the recognisers return exactly (checked by the tests, not assumed).
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A gentle breeze moved across the quiet lake.",
    "Please call me back when you get home.",
)
RATE = 16000
FRAME = 640  # 20 ms of 16 kHz int16


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: how transcripts are compared."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def silence(seconds: float, rate: int = RATE) -> bytes:
    return b"\0\0" * round(seconds * rate)


def frames(pcm: bytes, size: int = FRAME) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]
