"""Isolation: every call the gateway makes into a plugin goes through one wrapper.

What the wrapper guarantees (``Isolation.call`` for sync calls, ``Isolation.acall`` for
coroutines):

* An unexpected exception inside the plugin becomes a :class:`waav.PluginError` naming the
  plugin and the operation, chained to the original (``__cause__``). It is raised to the
  caller that made the call — that session only — and never to anyone else.
* A :class:`waav.WaavError` the plugin raises on purpose (``ConfigError`` for a missing key,
  ``AuthenticationError`` for bad credentials, ``ProviderError``...) passes through unchanged:
  it is an answer, not a crash. It is counted in ``error_count`` but does not degrade the plugin.
* Async calls get a timeout (``PluginTimeoutError``, also a ``TimeoutError``); the call's
  coroutine is cancelled.
* Every call is counted (``call_count``, ``last_active``); errors set ``last_error``.
  ``degrade_after`` consecutive crashes/timeouts mark the plugin ``degraded``;
  ``fail_after`` mark it ``failed``, after which calls are refused with
  :class:`waav.PluginUnavailableError` until ``registry.reset(id)`` or ``reload``.

Limits: Python cannot pre-empt a plugin that blocks the event loop (a ``time.sleep`` or a
CPU loop inside ``async def``): the timeout only fires at the plugin's next ``await``. Such a
plugin stalls every session on that loop. Plugins must do blocking work in a thread
(``asyncio.to_thread``) or a process; this is documented, not enforced. Likewise a plugin
can corrupt shared interpreter state (monkeypatching, ``os._exit``): isolation here is
fault containment for exceptions and hangs, not a security sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from waav._exceptions import (
    PluginError,
    PluginTimeoutError,
    PluginUnavailableError,
    WaavError,
)
from waav.plugin.capabilities import AudioFormat, AudioProcessor, AuthCredentials, AuthIdentity, AuthStrategy
from waav.plugin.lifecycle import TRANSITIONS, PluginEntry, PluginHealth, PluginState

__all__ = ["IsolatedAuthStrategy", "IsolatedProcessor", "Isolation", "IsolationPolicy"]

log = logging.getLogger("waav.plugin")
T = TypeVar("T")

if sys.version_info >= (3, 11):
    _timeout = asyncio.timeout
else:  # pragma: no cover - Python 3.10
    _timeout = None


@dataclass(frozen=True)
class IsolationPolicy:
    """Timeouts and failure thresholds of the isolation wrapper."""

    #: Seconds an async plugin call may take (None: no limit).
    call_timeout: float | None = 5.0
    #: Seconds for lifecycle hooks (init / start / shutdown).
    lifecycle_timeout: float = 10.0
    degrade_after: int = 3
    fail_after: int = 10


class Isolation:
    """The wrapper for one plugin (its :class:`PluginEntry` holds the counters)."""

    __slots__ = ("entry", "policy")

    def __init__(self, entry: PluginEntry, policy: IsolationPolicy) -> None:
        self.entry = entry
        self.policy = policy

    def check_available(self) -> None:
        if self.entry.state is PluginState.FAILED:
            raise PluginUnavailableError(
                f"plugin {self.entry.key!r} is failed ({self.entry.last_error}); "
                "reset or reload it to use it again",
                plugin_id=self.entry.key,
            )

    def _failure(self, what: str, exc: BaseException) -> PluginError:
        key = self.entry.key
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not isinstance(exc, WaavError):
            err: PluginError = PluginTimeoutError(f"plugin {key!r} timed out in {what}", plugin_id=key)
        else:
            err = PluginError(f"plugin {key!r} raised in {what}: {type(exc).__name__}: {exc}", plugin_id=key)
        n = self.entry.record_error(str(err), failure=True)
        log.warning("%s", err)
        if n >= self.policy.fail_after:
            if PluginState.FAILED in TRANSITIONS[self.entry.state]:
                self.entry.transition(PluginState.FAILED)
                self.entry.health = PluginHealth.UNHEALTHY
                log.error("plugin %r marked failed after %d consecutive failures", key, n)
        elif n >= self.policy.degrade_after:
            self.entry.health = PluginHealth.DEGRADED
        return err

    def _declared(self, exc: WaavError) -> None:
        self.entry.record_error(f"{type(exc).__name__}: {exc}", failure=False)
        if isinstance(exc, PluginError) and exc.plugin_id is None:
            exc.plugin_id = self.entry.key

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a synchronous plugin function under isolation."""
        self.check_available()
        try:
            result = fn(*args, **kwargs)
        except WaavError as exc:
            self._declared(exc)
            raise
        except Exception as exc:
            raise self._failure(what, exc) from exc
        self.entry.record_success()
        return result

    async def acall(
        self,
        what: str,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        timeout: float | bool | None = True,
        **kwargs: Any,
    ) -> T:
        """Await a plugin coroutine function under isolation, with a timeout.

        ``timeout=True`` uses the policy's ``call_timeout``; a number overrides it; None
        disables it.
        """
        self.check_available()
        limit = self.policy.call_timeout if timeout is True else (None if timeout is False else timeout)
        try:
            if limit is None:
                result = await fn(*args, **kwargs)
            elif _timeout is not None:
                async with _timeout(limit):
                    result = await fn(*args, **kwargs)
            else:  # pragma: no cover - Python 3.10
                result = await asyncio.wait_for(fn(*args, **kwargs), limit)
        except WaavError as exc:
            self._declared(exc)
            raise
        except Exception as exc:
            raise self._failure(what, exc) from exc
        self.entry.record_success()
        return result


class IsolatedProcessor(AudioProcessor):
    """An :class:`AudioProcessor` whose every call goes through the plugin's isolation."""

    def __init__(self, inner: AudioProcessor, isolation: Isolation) -> None:
        self.inner = inner
        self.isolation = isolation

    async def process(self, audio: bytes, fmt: AudioFormat) -> bytes:
        return await self.isolation.acall("process", self.inner.process, audio, fmt)

    def output_format(self, fmt: AudioFormat) -> AudioFormat:
        return self.isolation.call("output_format", self.inner.output_format, fmt)

    def changes_duration(self) -> bool:
        return self.inner.changes_duration()

    def latency_ms(self) -> float:
        return self.inner.latency_ms()

    async def flush(self, fmt: AudioFormat) -> bytes:
        return await self.isolation.acall("flush", self.inner.flush, fmt)

    def reset(self) -> None:
        self.isolation.call("reset", self.inner.reset)

    def __repr__(self) -> str:
        return f"IsolatedProcessor({self.inner!r})"


class IsolatedAuthStrategy(AuthStrategy):
    """An :class:`AuthStrategy` whose every call goes through the plugin's isolation."""

    def __init__(self, inner: AuthStrategy, isolation: Isolation) -> None:
        self.inner = inner
        self.isolation = isolation

    async def authenticate(self, credentials: AuthCredentials) -> AuthIdentity:
        return await self.isolation.acall("authenticate", self.inner.authenticate, credentials)

    def extract_credentials(self, headers: Mapping[str, str]) -> AuthCredentials | None:
        return self.isolation.call("extract_credentials", self.inner.extract_credentials, headers)
