"""Isolation: exceptions become PluginErrors naming the plugin, timeouts, degraded/failed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from waav import AuthenticationError, PluginError, PluginTimeoutError, PluginUnavailableError
from waav.plugin import AudioFormat, AudioPipeline, AudioProcessor, PluginConfig, PluginRegistry, WSContext

from .plugins_for_tests import TokenAuth


class Flaky(AudioProcessor):
    """Raises on chunks that start with b"X", hangs on b"H", else passes audio through."""

    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        if audio[:1] == b"X":
            raise ZeroDivisionError("bad chunk")
        if audio[:1] == b"H":
            await asyncio.sleep(10)
        return audio


def _registry(**policy: Any) -> PluginRegistry:
    reg = PluginRegistry(builtins=False)
    reg.configure(PluginConfig(**policy))
    reg.register_audio_processor("flaky", lambda opts: Flaky())
    return reg


async def test_exception_becomes_plugin_error_for_that_session_only() -> None:
    reg = _registry()
    a, b = reg.create_audio_processor("flaky"), reg.create_audio_processor("flaky")
    fmt = AudioFormat()

    async def session(proc: AudioProcessor, chunks: list[bytes]) -> list[Any]:
        out: list[Any] = []
        for c in chunks:
            try:
                out.append(await proc.process(c, fmt))
            except PluginError as exc:
                out.append(exc)
        return out

    good, bad = await asyncio.gather(session(a, [b"ok"] * 5), session(b, [b"ok", b"XX", b"ok"]))
    assert good == [b"ok"] * 5
    assert bad[0] == b"ok"
    assert bad[2] == b"ok"
    err = bad[1]
    assert isinstance(err, PluginError)
    assert err.plugin_id == "processor:flaky"
    assert "plugin 'processor:flaky' raised in process: ZeroDivisionError: bad chunk" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)
    stats = reg.plugin("processor:flaky").stats
    assert stats["call_count"] == 10
    assert stats["error_count"] == 1
    assert "ZeroDivisionError" in stats["last_error"]


async def test_async_calls_time_out() -> None:
    reg = _registry(call_timeout=0.05)
    p = reg.create_audio_processor("flaky")
    with pytest.raises(PluginTimeoutError, match="timed out in process") as exc:
        await p.process(b"HH", AudioFormat())
    assert isinstance(exc.value, TimeoutError)
    assert await p.process(b"ok", AudioFormat()) == b"ok"  # the session goes on


async def test_repeated_failures_degrade_then_fail() -> None:
    reg = _registry(degrade_after=2, fail_after=4)
    p = reg.create_audio_processor("flaky")
    fmt = AudioFormat()
    for i in range(4):
        with pytest.raises(PluginError):
            await p.process(b"XX", fmt)
        info = reg.plugin("processor:flaky")
        if i == 0:
            assert info.health != "degraded"
        elif i < 3:
            assert info.health == "degraded"
            assert info.state == "registered"
    info = reg.plugin("processor:flaky")
    assert (info.state, info.health) == ("failed", "unhealthy")
    with pytest.raises(PluginUnavailableError, match="is failed"):
        await p.process(b"ok", fmt)
    with pytest.raises(PluginUnavailableError):
        reg.create_audio_processor("flaky")
    reg.reset("processor:flaky")
    assert await p.process(b"ok", fmt) == b"ok"
    assert reg.plugin("processor:flaky").health == "healthy"


async def test_success_resets_the_failure_streak() -> None:
    reg = _registry(degrade_after=2, fail_after=3)
    p = reg.create_audio_processor("flaky")
    for _ in range(5):
        with pytest.raises(PluginError):
            await p.process(b"XX", AudioFormat())
        await p.process(b"ok", AudioFormat())
    assert reg.plugin("processor:flaky").state == "registered"


async def test_factory_crash_is_isolated() -> None:
    reg = PluginRegistry(builtins=False)

    def broken(opts: Mapping[str, Any]) -> AudioProcessor:
        raise KeyError("threshold")

    reg.register_audio_processor("broken", broken)
    with pytest.raises(PluginError, match="plugin 'processor:broken' raised in create_processor: KeyError"):
        reg.create_audio_processor("broken")


async def test_declared_errors_pass_through_uncounted_as_failures() -> None:
    reg = PluginRegistry(builtins=False)
    reg.register_auth_strategy("token", lambda opts: TokenAuth(opts["tokens"]))
    strategy = reg.create_auth_strategy("token", {"tokens": {"t1": "alice"}})
    creds = strategy.extract_credentials({"authorization": "Bearer t1"})
    assert creds is not None
    assert (await strategy.authenticate(creds)).id == "alice"
    for _ in range(20):
        with pytest.raises(AuthenticationError, match="unknown token"):
            await strategy.authenticate(type(creds)("bearer", "nope"))
    info = reg.plugin("auth:token")
    assert info.state == "registered"
    assert info.stats["error_count"] == 20
    assert info.health != "degraded"


async def test_ws_handler_errors_and_timeouts_become_error_frames() -> None:
    reg = PluginRegistry(builtins=False)
    reg.configure(PluginConfig(call_timeout=0.05))

    async def boom(payload: Any, ctx: WSContext) -> None:
        raise RuntimeError("nope")

    async def stuck(payload: Any, ctx: WSContext) -> None:
        await asyncio.sleep(10)

    async def fine(payload: Any, ctx: WSContext) -> dict[str, Any]:
        return {"ok": payload}

    reg.register_ws_handler("job", boom, id="boom")
    reg.register_ws_handler("job", stuck, id="stuck")
    reg.register_ws_handler("job", fine, id="fine")
    frames = await reg.dispatch_ws("JOB", 7, WSContext("s1"))
    assert frames[0] == {"type": "error", "message": frames[0]["message"]}  # type: ignore[index]
    assert "Plugin handler error: plugin 'ws_handler:boom' raised in handle: RuntimeError: nope" in str(
        frames[0]
    )
    assert "timed out" in str(frames[1])
    assert frames[2] == {"type": "plugin_response", "message_type": "JOB", "payload": {"ok": 7}}


async def test_pipeline_of_isolated_processors() -> None:
    reg = _registry()
    pipe = AudioPipeline.from_registry(reg, ["flaky", "flaky"])
    assert await pipe.process(b"ok") == b"ok"
    with pytest.raises(PluginError):
        await pipe.process(b"XX")
