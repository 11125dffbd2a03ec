"""Pieces shared by the streaming provider sessions (STT over WebSocket, gRPC and REST; realtime).

* URL helpers: :func:`ws_url`, :func:`http_url`, :func:`join_path`.
* Option parsing: :func:`option_float` (a number >= 0, or a :class:`~waav.ConfigError` naming the
  option) and :func:`reconnection_option` (``options["reconnect"]``: bool, mapping or
  :class:`~waav.providers.base.ReconnectionConfig`).
* :class:`AudioBacklog`: what waits for a (re)connection, bounded in bytes; overflow drops the
  *oldest* items (a live stream should stay current) and counts them.
* :func:`report_soon`: deliver an error from synchronous code without blocking it.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from waav._exceptions import ConfigError
from waav.providers.base import ReconnectionConfig

__all__ = [
    "AudioBacklog",
    "drop_oversize",
    "http_url",
    "join_path",
    "keep_tail",
    "keep_whole",
    "option_float",
    "reconnection_option",
    "report_soon",
    "ws_url",
]

T = TypeVar("T")


def ws_url(url: str) -> str:
    """``http(s)://`` → ``ws(s)://`` (users and fakes may give either scheme)."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


def http_url(url: str) -> str:
    """``ws(s)://`` → ``http(s)://``."""
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://") :]
    return url


def join_path(base: str, path: str) -> str:
    """``base`` + ``path``, unless ``base`` already ends with it (a full endpoint URL)."""
    base = base.rstrip("/")
    return base if base.endswith(path) else base + path


def option_float(
    options: Mapping[str, Any],
    name: str,
    default: float | None,
    provider: str,
    *,
    nullable: bool = True,
    positive: bool = False,
    finite: bool = False,
) -> float | None:
    """``options[name]`` (else ``default``) as a float >= 0 (> 0 with ``positive``).

    An explicit ``None`` means "the default behaviour" (returned as None) when ``nullable``;
    otherwise it is an error like any other non-number.
    """
    value = options.get(name, default)
    if value is None and nullable:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{provider}: option {name} must be a number, got {value!r}") from None
    if out < 0 or (positive and out == 0) or (finite and not math.isfinite(out)):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"{provider}: option {name} must be {bound}, got {value!r}")
    return out


def reconnection_option(options: Mapping[str, Any], provider: str) -> ReconnectionConfig:
    """``options["reconnect"]`` (default on): ``False``, ``True``, a mapping or a config."""
    value = options.get("reconnect", True)
    if isinstance(value, ReconnectionConfig):
        return value
    if isinstance(value, bool):
        return ReconnectionConfig(enabled=value)
    if isinstance(value, Mapping):
        return ReconnectionConfig(**dict(value))
    raise ConfigError(f"{provider}: option reconnect must be a bool or a mapping, got {value!r}")


def report_soon(report: Awaitable[object]) -> None:
    """Run ``report`` (e.g. an ``on_error`` emit) as a task; its failure is only retrieved."""
    task = asyncio.ensure_future(report)
    task.add_done_callback(lambda t: t.exception())


# What to keep of the newest item when it alone exceeds the bound (see AudioBacklog).
def drop_oversize(item: object, limit: int) -> None:
    """Drop it: nothing of an oversized item waits."""
    return None


def keep_tail(item: bytes, limit: int) -> bytes | None:
    """Keep its newest ``limit`` bytes (audio: the most recent part)."""
    return item[len(item) - limit :] if limit > 0 else None


def keep_whole(item: T, limit: int) -> T:
    """Keep it whole: the newest item always waits, even beyond the bound."""
    return item


class AudioBacklog(Generic[T]):
    """A FIFO of items waiting for a (re)connection, bounded by their total size in bytes.

    :meth:`push` drops the *oldest* items while the total exceeds the bound; when the newest
    item alone exceeds it, ``oversize(item, limit)`` says what of it stays (None: nothing).
    :attr:`dropped_bytes` counts everything dropped; :meth:`overflow_is_new` is True once per
    outage (until :meth:`rearm`), so an overflow is reported once, not per chunk.
    """

    def __init__(
        self,
        size: Callable[[T], int],
        oversize: Callable[[T, int], T | None] = drop_oversize,
    ) -> None:
        self._items: deque[T] = deque()
        self._size = size
        self._oversize = oversize
        self._overflow_noted = False
        #: Total size of the waiting items.
        self.nbytes = 0
        #: Total size of everything dropped so far.
        self.dropped_bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T, limit: int, *, front: bool = False) -> int:
        """Add ``item`` (at the front: first to go) and enforce ``limit``; the bytes dropped."""
        if front:
            self._items.appendleft(item)
        else:
            self._items.append(item)
        self.nbytes += self._size(item)
        dropped = 0
        while self.nbytes > limit and len(self._items) > 1:
            old = self._items.popleft()
            self.nbytes -= self._size(old)
            dropped += self._size(old)
        if self.nbytes > limit:  # one item larger than the whole bound
            only = self._items.popleft()
            kept = self._oversize(only, limit)
            self.nbytes = 0 if kept is None else self._size(kept)
            dropped += self._size(only) - self.nbytes
            if kept is not None:
                self._items.append(kept)
        self.dropped_bytes += dropped
        return dropped

    def peek(self) -> T:
        return self._items[0]

    def popleft(self) -> T:
        item = self._items.popleft()
        self.nbytes -= self._size(item)
        return item

    async def drain(
        self, send: Callable[[T], Awaitable[object]], *, go_on: Callable[[], bool] | None = None
    ) -> None:
        """Send the items oldest first; one leaves only once sent (if ``send`` raises, it and
        the rest stay). ``go_on`` is asked before each item."""
        while self._items and (go_on is None or go_on()):
            item = self._items[0]
            await send(item)
            self.popleft()

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def overflow_is_new(self) -> bool:
        """True the first time it is asked after an overflow since the last :meth:`rearm`."""
        if self._overflow_noted:
            return False
        self._overflow_noted = True
        return True

    def rearm(self) -> None:
        """The outage is over: the next overflow is reported again."""
        self._overflow_noted = False
