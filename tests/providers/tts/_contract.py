"""Checks every TTS adapter must pass against its fake (called from each test_<vendor>.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import waav
from waav.plugin import PluginRegistry
from waav.providers.base import BaseTTS, TTSConfig
from waav.testing.fakes import AudioCollector, Faults, TTSFakeServer, decode_levels

FakeFactory = Callable[..., TTSFakeServer]
RATE = 24000


async def session(cls: type[BaseTTS], fake: TTSFakeServer, **cfg: Any) -> tuple[Any, AudioCollector]:
    """A connected adapter pointed at ``fake``, with an :class:`AudioCollector`."""
    cfg.setdefault("api_key", fake.api_key)
    cfg.setdefault("base_url", fake.base_url)
    cfg.setdefault("sample_rate", RATE)
    tts = cls(TTSConfig(**cfg))
    col = AudioCollector()
    tts.on_audio(col)
    await tts.connect()
    return tts, col


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def spoken(col: AudioCollector, rate: int | None = None) -> str:
    """The text the fake synthesised, read back from unconverted linear16 audio (at the rate
    the audio was delivered at, unless ``rate`` is given)."""
    if rate is None:
        rate = col.audio[0].sample_rate if col.audio else RATE
    return decode_levels(col.data, rate)


async def eventually(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait until ``cond()`` holds (another thread is about to make it true); fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def check_streams_before_complete(cls: type[BaseTTS], make: FakeFactory, **cfg: Any) -> None:
    """First audio reaches the callback while the vendor is still sending the response."""
    delay = 0.03
    async with make(chunk_delay=delay, chunk_bytes=480) as fake:
        tts, col = await session(cls, fake, **cfg)
        text = "streaming audio arrives early"
        await tts.speak(text)
        await col.wait_for(lambda c: len(c.audio) >= 1)
        assert col.completions == 0
        assert fake.completed == 0  # the vendor has not finished sending
        await col.wait_done()
        assert not col.errors, col.errors
        # the fake counts a response as completed after its last write, in the server's thread:
        # the client can have read the last byte a moment before that
        await eventually(lambda: fake.completed == 1)
        first, done = col.times[0], col.times[col.events.index("complete")]
        assert done - first > 5 * delay  # audio kept arriving over the paced response
        assert spoken(col) == text
        await tts.disconnect()


async def check_fifo(cls: type[BaseTTS], make: FakeFactory, **cfg: Any) -> None:
    """Requests are synthesised one at a time, in order, each followed by its completion."""
    async with make(chunk_delay=0.002) as fake:
        tts, col = await session(cls, fake, **cfg)
        await tts.speak("one")
        await tts.speak("two")
        await tts.speak("three")
        await col.wait_done(3)
        assert not col.errors, col.errors
        assert spoken(col) == "onetwothree"
        assert col.events[-1] == "complete"
        assert [e for e in col.events if e != "audio"] == ["complete"] * 3
        assert len(fake.requests) >= 3
        await tts.disconnect()


async def check_clear_cancels(cls: type[BaseTTS], make: FakeFactory, **cfg: Any) -> None:
    """``clear`` aborts the response in flight (the vendor sees it) and drops queued text."""
    async with make(chunk_delay=0.04, chunk_bytes=480) as fake:
        tts, col = await session(cls, fake, **cfg)
        await tts.speak("x" * 60)
        await tts.speak("queued text that must never be synthesised")
        await col.wait_for(lambda c: len(c.audio) >= 2)
        t0 = time.monotonic()
        await tts.clear()
        assert time.monotonic() - t0 < 0.5  # barge-in is immediate
        n = len(col.audio)
        await until(lambda: fake.aborted == 1, 3.0)
        await asyncio.sleep(0.2)
        assert len(col.audio) == n  # nothing after clear
        assert col.completions == 0
        assert not col.errors
        assert "q" not in spoken(col)
        requests = len(fake.requests)
        await tts.speak("ok")
        await col.wait_done()
        assert spoken(col).endswith("ok")
        assert len(fake.requests) == requests + 1
        await tts.disconnect()


ERROR_CASES = [
    pytest.param(Faults(reject_auth=True), waav.ProviderAuthError, id="auth"),
    pytest.param(Faults(rate_limit_retry_after=3), waav.ProviderRateLimitError, id="rate-limit"),
    pytest.param(Faults(drop_after=1), waav.ProviderConnectionError, id="mid-stream-drop"),
    pytest.param(Faults(first_result_delay=2.0), waav.ProviderTimeoutError, id="timeout"),
]


async def check_error(
    cls: type[BaseTTS], make: FakeFactory, faults: Faults, expected: type, **cfg: Any
) -> None:
    """Vendor failures arrive as one mapped error on the callback; the session survives."""
    async with make(faults=faults, chunk_bytes=480, chunk_delay=0.01) as fake:
        cfg.setdefault("request_timeout", 0.3)
        tts, col = await session(cls, fake, **cfg)
        await tts.speak("hello there, how are you")
        await col.wait_done()
        assert len(col.errors) == 1, col.events
        err = col.errors[0]
        assert type(err) is expected, repr(err)
        assert err.provider == tts.provider_id
        if expected is waav.ProviderRateLimitError:
            assert err.retry_after == 3
        fake.faults = Faults()  # vendor recovers: the same session works again
        await tts.speak("fine")
        await col.wait_for(lambda c: c.completions == 1)
        await tts.disconnect()


async def check_missing_key(provider: str, env: str, monkeypatch: pytest.MonkeyPatch, **cfg: Any) -> None:
    """Through the registry with no key anywhere: the error names the env variable."""
    monkeypatch.delenv(env, raising=False)
    registry = PluginRegistry()
    registry.discover(third_party=False)
    tts = registry.create_tts(provider, cfg)
    with pytest.raises(waav.ProviderAuthError, match=env):
        await tts.connect()


async def check_key_from_env(
    provider: str, env: str, make: FakeFactory, monkeypatch: pytest.MonkeyPatch, **cfg: Any
) -> None:
    """The built-in entry point is registered, and picks its key up from the env variable."""
    async with make() as fake:
        monkeypatch.setenv(env, fake.api_key)
        monkeypatch.setenv(f"WAAV_{provider.upper().replace('-', '_')}_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        tts = registry.create_tts(provider, {"sample_rate": RATE, **cfg})
        col = AudioCollector()
        tts.on_audio(col)
        await tts.connect()
        await tts.speak("env")
        await col.wait_done()
        assert not col.errors, col.errors
        assert spoken(col) == "env"
        await tts.disconnect()
