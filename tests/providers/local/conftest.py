"""Shared inputs for the offline-engine tests: hibari speech at 16 kHz, made once per session.

The engines are real (installed by the ``test`` extra through ``waav[local]``); each model
is loaded once per process by the providers' own engine caches.
"""

from __future__ import annotations

import pytest

from waav.providers.local import batch

from ._speech import RATE, SENTENCES, silence


@pytest.fixture(scope="session")
def speech() -> list[bytes]:
    """Each sentence as 16 kHz mono int16 PCM (hibari at 24 kHz, resampled natively)."""
    return [batch.synthesize(s, sample_rate=RATE).pcm16 for s in SENTENCES]


@pytest.fixture(scope="session")
def conversation(speech: list[bytes]) -> bytes:
    """1 s of silence, then the three sentences with 1 s of silence after each."""
    return silence(1.0) + b"".join(s + silence(1.0) for s in speech)
