"""Plugin lifecycle: states, the enforced transition table, per-plugin stats, hooks.

::

    discovered ──► registered ──► initializing ──► ready ──► running ──► stopping ──► stopped
        │              │               │             │          │           │            │
        └──────────────┴───────────────┴─────────────┴──────────┴───────────┴──► failed ◄┘
                                                                                   │
    failed ──► registered (reload / reset)      stopped ──► initializing (restart) │
    ready ──► stopping (shut down without having run)

Any other transition raises :class:`waav.LifecycleError` (the upstream accepted every
transition and never made one; here the registry drives every entry through this table).
"""

from __future__ import annotations

import enum
import threading
import time
from abc import ABC
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from waav._exceptions import LifecycleError

__all__ = [
    "TRANSITIONS",
    "PluginContext",
    "PluginEntry",
    "PluginHealth",
    "PluginLifecycle",
    "PluginState",
]


class PluginState(str, enum.Enum):
    DISCOVERED = "discovered"
    REGISTERED = "registered"
    INITIALIZING = "initializing"
    READY = "ready"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def is_healthy(self) -> bool:
        return self in (PluginState.READY, PluginState.RUNNING)

    @property
    def can_start(self) -> bool:
        return self is PluginState.READY

    @property
    def can_stop(self) -> bool:
        return self in (PluginState.RUNNING, PluginState.READY)


S = PluginState
#: Allowed transitions: state -> states it may move to.
TRANSITIONS: Mapping[PluginState, frozenset[PluginState]] = {
    S.DISCOVERED: frozenset({S.REGISTERED, S.FAILED}),
    S.REGISTERED: frozenset({S.INITIALIZING, S.FAILED}),
    S.INITIALIZING: frozenset({S.READY, S.FAILED}),
    S.READY: frozenset({S.RUNNING, S.STOPPING, S.FAILED}),
    S.RUNNING: frozenset({S.STOPPING, S.FAILED}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED}),
    S.STOPPED: frozenset({S.INITIALIZING, S.REGISTERED}),
    S.FAILED: frozenset({S.REGISTERED}),
}


class PluginHealth(str, enum.Enum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PluginContext:
    """Handed to :meth:`PluginLifecycle.init` / ``start``."""

    plugin_id: str
    #: This plugin's section of ``plugins.provider_config`` (or {}).
    config: Mapping[str, Any] = field(default_factory=dict)
    #: The whole :class:`waav.config.ServerConfig`, when the gateway runs one.
    gateway_config: Any = None


class PluginLifecycle(ABC):  # noqa: B024 - every hook is optional; subclassing marks the plugin
    """Optional hooks a plugin implements to be driven by ``start_all`` / ``shutdown_all``."""

    async def init(self, ctx: PluginContext) -> None:  # noqa: B027
        """Acquire resources (load a model, open a pool). Failure marks the plugin failed."""

    async def start(self, ctx: PluginContext) -> None:  # noqa: B027
        """Begin serving."""

    async def shutdown(self) -> None:  # noqa: B027
        """Release resources; called once, with a timeout."""

    async def health(self) -> PluginHealth:
        return PluginHealth.HEALTHY


class PluginEntry:
    """One plugin's state and counters. Updates are locked, so threads may share it."""

    __slots__ = (
        "_lock",
        "call_count",
        "consecutive_failures",
        "error_count",
        "health",
        "key",
        "last_active",
        "last_error",
        "loaded_at",
        "state",
    )

    def __init__(self, key: str, state: PluginState = PluginState.DISCOVERED) -> None:
        self.key = key
        self.state = state
        self.loaded_at = time.time()
        self.last_active: float | None = None
        self.call_count = 0
        self.error_count = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.health = PluginHealth.UNKNOWN
        self._lock = threading.Lock()

    def transition(self, new: PluginState) -> None:
        with self._lock:
            if new not in TRANSITIONS[self.state]:
                raise LifecycleError(
                    f"plugin {self.key!r}: illegal lifecycle transition {self.state.value} -> {new.value}",
                    plugin_id=self.key,
                )
            self.state = new

    def record_success(self) -> None:
        with self._lock:
            self.call_count += 1
            self.last_active = time.time()
            self.consecutive_failures = 0
            if self.health is not PluginHealth.HEALTHY and self.state is not PluginState.FAILED:
                self.health = PluginHealth.HEALTHY

    def record_error(self, message: str, *, failure: bool) -> int:
        """Count an error; ``failure`` errors (crash, timeout) also count toward degradation.

        Returns the number of consecutive failures.
        """
        with self._lock:
            self.call_count += 1
            self.error_count += 1
            self.last_active = time.time()
            self.last_error = message
            if failure:
                self.consecutive_failures += 1
            return self.consecutive_failures

    def reset_counters(self) -> None:
        with self._lock:
            self.consecutive_failures = 0
            self.health = PluginHealth.UNKNOWN

    @property
    def uptime(self) -> float:
        return time.time() - self.loaded_at

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state.value,
                "health": self.health.value,
                "loaded_at": self.loaded_at,
                "last_active": self.last_active,
                "call_count": self.call_count,
                "error_count": self.error_count,
                "consecutive_failures": self.consecutive_failures,
                "last_error": self.last_error,
            }
