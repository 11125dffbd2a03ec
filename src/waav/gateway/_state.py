"""What the whole gateway app shares: config, registry, metrics, live sessions, drain on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Protocol

from waav.config import ServerConfig
from waav.gateway.metrics import Metrics
from waav.gateway.security import Authenticator
from waav.plugin import PluginRegistry

__all__ = ["GatewayState", "Session"]

log = logging.getLogger("waav.gateway")


class Session(Protocol):
    """A live WebSocket session the gateway can drain at shutdown."""

    async def drain(self, deadline: float) -> None:
        """Finish what was asked (e.g. queued speech) until ``deadline`` (loop time), then close."""


class GatewayState:
    """Shared by every route of one app (``app.state.waav``)."""

    def __init__(self, config: ServerConfig, registry: PluginRegistry, authenticator: Authenticator) -> None:
        self.config = config
        self.registry = registry
        self.authenticator = authenticator
        self.metrics = Metrics()
        self.started_at = time.time()
        self.draining = False
        self.sessions: dict[Session, asyncio.Task[object] | None] = {}
        self._started = False
        self._owned: list[str] = []
        self._start_lock: asyncio.Lock | None = None

    async def startup(self) -> None:
        """Start the registry's plugins once (from the lifespan, or lazily when the app is
        mounted inside another app whose lifespan does not reach it)."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if not self._started:
                started = await self.registry.start_all()
                # what this gateway started is what it stops: plugins already running in a
                # shared registry (the process-wide one, say) are left as they were
                self._owned = [key for key, state in started.items() if state == "running"]
                self._started = True

    async def shutdown(self) -> None:
        await self.drain()
        if self._started:
            self._started = False
            await self.registry.shutdown_all(keys=self._owned)

    @contextlib.contextmanager
    def live(self, session: Session, endpoint: str) -> Iterator[None]:
        """Count ``session`` in the metrics and track it (so a shutdown drains it) while it runs."""
        m = self.metrics
        m.inc("waav_sessions_total", endpoint=endpoint)
        m.inc("waav_sessions_active", endpoint=endpoint)
        self.add(session)
        try:
            yield
        finally:
            self.remove(session)
            m.inc("waav_sessions_active", -1, endpoint=endpoint)

    def add(self, session: Session) -> None:
        self.sessions[session] = asyncio.current_task()

    def remove(self, session: Session) -> None:
        self.sessions.pop(session, None)

    async def drain(self) -> None:
        """Refuse new sessions; let the open ones finish their work (bounded), then close them."""
        if self.draining:
            return
        self.draining = True
        if not self.sessions:
            return
        timeout = self.config.gateway.drain_timeout_seconds
        deadline = asyncio.get_running_loop().time() + timeout
        log.info("draining %d session(s) (up to %.0f s)", len(self.sessions), timeout)
        sessions = list(self.sessions)
        await asyncio.gather(*(s.drain(deadline) for s in sessions), return_exceptions=True)
        tasks = [t for t in self.sessions.values() if t is not None]
        if tasks:
            _, pending = await asyncio.wait(
                tasks, timeout=max(0.1, deadline - asyncio.get_running_loop().time())
            )
            for t in pending:
                t.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending, return_exceptions=True)
