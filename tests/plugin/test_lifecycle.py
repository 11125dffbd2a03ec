"""Lifecycle: the enforced state machine, start_all / shutdown_all with timeouts, stats."""

from __future__ import annotations

import asyncio

import pytest

from waav import LifecycleError, PluginUnavailableError
from waav.plugin import PluginConstructor, PluginContext, PluginLifecycle, PluginRegistry, PluginState
from waav.plugin.lifecycle import TRANSITIONS, PluginEntry

from .plugins_for_tests import EchoSTT

S = PluginState
LEGAL = [
    (S.DISCOVERED, S.REGISTERED),
    (S.REGISTERED, S.INITIALIZING),
    (S.INITIALIZING, S.READY),
    (S.INITIALIZING, S.FAILED),
    (S.READY, S.RUNNING),
    (S.RUNNING, S.STOPPING),
    (S.STOPPING, S.STOPPED),
]
ILLEGAL = [
    (S.DISCOVERED, S.RUNNING),
    (S.REGISTERED, S.READY),
    (S.INITIALIZING, S.RUNNING),
    (S.RUNNING, S.READY),
    (S.RUNNING, S.STOPPED),
    (S.STOPPED, S.RUNNING),
    (S.FAILED, S.RUNNING),
    (S.STOPPING, S.RUNNING),
]


@pytest.mark.parametrize(("a", "b"), LEGAL)
def test_legal_transitions(a: PluginState, b: PluginState) -> None:
    e = PluginEntry("x", a)
    e.transition(b)
    assert e.state is b


@pytest.mark.parametrize(("a", "b"), ILLEGAL)
def test_illegal_transitions_raise(a: PluginState, b: PluginState) -> None:
    e = PluginEntry("x", a)
    with pytest.raises(LifecycleError, match=f"illegal lifecycle transition {a.value} -> {b.value}"):
        e.transition(b)
    assert e.state is a


def test_every_state_has_a_way_out_but_failed_needs_reset() -> None:
    assert set(TRANSITIONS) == set(PluginState)
    assert TRANSITIONS[S.FAILED] == {S.REGISTERED}


class Hooks(PluginLifecycle):
    def __init__(self, init_delay: float = 0.0, fail_init: bool = False, shutdown_delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.init_delay, self.fail_init, self.shutdown_delay = init_delay, fail_init, shutdown_delay
        self.ctx: PluginContext | None = None

    async def init(self, ctx: PluginContext) -> None:
        self.calls.append("init")
        self.ctx = ctx
        await asyncio.sleep(self.init_delay)
        if self.fail_init:
            raise RuntimeError("model file missing")

    async def start(self, ctx: PluginContext) -> None:
        self.calls.append("start")

    async def shutdown(self) -> None:
        self.calls.append("shutdown")
        await asyncio.sleep(self.shutdown_delay)


async def test_start_all_and_shutdown_all_drive_every_plugin() -> None:
    reg = PluginRegistry(builtins=False)
    good, bad, slow, hang = Hooks(), Hooks(fail_init=True), Hooks(init_delay=0.01), Hooks(shutdown_delay=10)
    for name, hooks in [("good", good), ("bad", bad), ("slow", slow), ("hang", hang)]:
        reg.register(PluginConstructor.stt(name, None, EchoSTT).with_lifecycle(hooks))
    reg.register_stt("plain", EchoSTT)  # no hooks: still driven through the states
    # lifecycle plugins cannot be used before they are started
    with pytest.raises(PluginUnavailableError, match="has not been started"):
        reg.create_stt("good")
    reg.create_stt("plain")
    states = await reg.start_all(timeout=1.0)
    assert states == {
        "stt:good": "running",
        "stt:bad": "failed",
        "stt:slow": "running",
        "stt:hang": "running",
        "stt:plain": "running",
    }
    assert good.calls == ["init", "start"]
    assert bad.calls == ["init"]
    assert good.ctx is not None
    assert good.ctx.plugin_id == "stt:good"
    assert "model file missing" in (reg.plugin("stt:bad").stats["last_error"] or "")
    with pytest.raises(PluginUnavailableError, match="is failed"):
        reg.create_stt("bad")
    reg.create_stt("good")
    t0 = asyncio.get_running_loop().time()
    states = await reg.shutdown_all(timeout=0.2)
    assert asyncio.get_running_loop().time() - t0 < 2.0  # the hanging shutdown was cut off
    assert states == {
        "stt:good": "stopped",
        "stt:slow": "stopped",
        "stt:hang": "failed",
        "stt:plain": "stopped",
    }
    assert "timed out in shutdown" in (reg.plugin("stt:hang").stats["last_error"] or "")
    with pytest.raises(PluginUnavailableError, match="is stopped"):
        reg.create_stt("good")
    # a stopped plugin can be started again
    states = await reg.start_all(timeout=1.0)
    assert states["stt:good"] == "running"
    assert good.calls == ["init", "start", "shutdown", "init", "start"]


async def test_init_timeout_marks_failed() -> None:
    reg = PluginRegistry(builtins=False)
    reg.register(PluginConstructor.stt("sleepy", None, EchoSTT).with_lifecycle(Hooks(init_delay=5)))
    assert await reg.start_all(timeout=0.05) == {"stt:sleepy": "failed"}
    assert "timed out in init" in (reg.plugin("stt:sleepy").stats["last_error"] or "")
    reg.reset("stt:sleepy")
    assert reg.plugin("stt:sleepy").state == "registered"


async def test_stats_are_recorded() -> None:
    reg = PluginRegistry(builtins=False)
    reg.register_stt("echo-stt", EchoSTT)
    info = reg.plugin("stt:echo-stt")
    assert info.stats["last_active"] is None
    assert info.stats["call_count"] == 0
    assert info.stats["loaded_at"] > 0
    reg.create_stt("echo-stt")
    reg.create_stt("echo-stt")
    info = reg.plugin("stt:echo-stt")
    assert info.stats["call_count"] == 2
    assert info.stats["error_count"] == 0
    assert info.stats["last_active"] >= info.stats["loaded_at"]
    assert set(info.to_dict()) >= {
        "state",
        "loaded_at",
        "last_active",
        "call_count",
        "error_count",
        "last_error",
    }


async def test_health_is_polled_through_isolation() -> None:
    from waav.plugin import PluginHealth

    class Sick(Hooks):
        async def health(self) -> PluginHealth:
            return PluginHealth.DEGRADED

    class Crashy(Hooks):
        async def health(self) -> PluginHealth:
            raise OSError("probe failed")

    reg = PluginRegistry(builtins=False)
    reg.register(PluginConstructor.stt("ok", None, EchoSTT).with_lifecycle(Hooks()))
    reg.register(PluginConstructor.stt("sick", None, EchoSTT).with_lifecycle(Sick()))
    reg.register(PluginConstructor.stt("crashy", None, EchoSTT).with_lifecycle(Crashy()))
    await reg.start_all()
    assert await reg.health() == {"stt:ok": "healthy", "stt:sick": "degraded", "stt:crashy": "unhealthy"}
