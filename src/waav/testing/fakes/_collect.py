"""An :class:`~waav.providers.base.AudioCallback` that records what a TTS session delivered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from waav._exceptions import ProviderError
from waav.plugin._provider_base import AudioCallback, AudioData

__all__ = ["AudioCollector"]


class AudioCollector(AudioCallback):
    """Records audio chunks, completions and errors of a TTS session, in order.

    ``events`` is the sequence of ``"audio"``, ``"complete"`` and ``"error"``; ``times``
    holds the monotonic time of each event (for time-to-first-audio checks).
    """

    def __init__(self) -> None:
        self.audio: list[AudioData] = []
        self.errors: list[ProviderError] = []
        self.events: list[str] = []
        self.times: list[float] = []

    async def on_audio(self, audio: AudioData) -> None:
        self.audio.append(audio)
        self._event("audio")

    async def on_complete(self) -> None:
        self._event("complete")

    async def on_error(self, error: ProviderError) -> None:
        self.errors.append(error)
        self._event("error")

    def _event(self, name: str) -> None:
        self.events.append(name)
        self.times.append(time.monotonic())

    @property
    def data(self) -> bytes:
        """All audio bytes received, concatenated."""
        return b"".join(a.data for a in self.audio)

    @property
    def completions(self) -> int:
        return self.events.count("complete")

    async def wait_for(self, predicate: Callable[[AudioCollector], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` holds; raise :class:`TimeoutError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s; events so far: {self.events}")
            await asyncio.sleep(0.002)

    async def wait_done(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``n`` requests have completed or failed."""
        await self.wait_for(lambda c: c.completions + len(c.errors) >= n, timeout)
