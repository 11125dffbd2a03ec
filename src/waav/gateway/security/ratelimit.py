"""Token-bucket rate limiter per client, and WebSocket connection caps.

Semantics (what the upstream's settings were documented to mean, not what its limiter did):
each client has a bucket of ``burst`` tokens, refilled at ``rate`` tokens per second; a request
takes one token or is refused with the seconds until the next token (``Retry-After``).

Memory is bounded: buckets are kept in least-recently-used order, and a bucket idle for
``burst / rate`` seconds is full again, i.e. indistinguishable from a new one, so it is
dropped. Beyond ``max_clients`` buckets the least recently used one is dropped even if not
full (that client gets a fresh burst; the alternative is unbounded memory under a flood of
distinct addresses).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ConnectionLimiter", "RateDecision", "TokenBucketLimiter"]


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    #: Seconds until a token is available (0 when allowed).
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` value: whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class TokenBucketLimiter:
    """Per-key token buckets: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate must be > 0, burst and max_clients >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._full_after = self.burst / self.rate
        # key -> [tokens, last update time]; order = least recently used first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        # uvicorn runs one loop, but a user may mount the app in a threaded server
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> RateDecision:
        """Take one token from ``key``'s bucket."""
        now = self._clock()
        with self._lock:
            self._evict(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = [float(self.burst), now]
                self._buckets[key] = bucket
            else:
                self._buckets.move_to_end(key)
                bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
                bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return RateDecision(True)
            return RateDecision(False, (1.0 - bucket[0]) / self.rate)

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            key, (_, last) = next(iter(buckets.items()))
            if now - last >= self._full_after or len(buckets) >= self.max_clients:
                del buckets[key]
            else:
                break


class ConnectionLimiter:
    """Open WebSocket connections: a global cap and a per-address cap (None: unlimited)."""

    def __init__(self, max_total: int | None, max_per_ip: int | None) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.total = 0
        self._per_ip: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, ip: str) -> int:
        return self._per_ip.get(ip, 0)

    def acquire(self, ip: str) -> str | None:
        """Take a slot; returns None, or ``"global"`` / ``"per_ip"`` naming the cap that is full."""
        with self._lock:
            if self.max_total is not None and self.total >= self.max_total:
                return "global"
            n = self._per_ip.get(ip, 0)
            if self.max_per_ip is not None and n >= self.max_per_ip:
                return "per_ip"
            self.total += 1
            self._per_ip[ip] = n + 1
            return None

    def release(self, ip: str) -> None:
        with self._lock:
            n = self._per_ip.get(ip, 0)
            if n <= 1:
                self._per_ip.pop(ip, None)  # no entry per past client: memory stays bounded
            else:
                self._per_ip[ip] = n - 1
            self.total = max(0, self.total - 1)
