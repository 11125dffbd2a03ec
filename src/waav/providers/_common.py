"""Shared plumbing for the provider adapters: credentials, base URLs, error mapping, backoff.

Every adapter maps vendor failures onto the same :mod:`waav` error types, so the gateway and
users handle a 401 from Deepgram exactly like a 401 from Polly:

====================================  =========================================
vendor says                           waav raises
====================================  =========================================
HTTP/WS handshake 401, 403            :class:`~waav.ProviderAuthError`
HTTP 429 (``Retry-After`` honoured)   :class:`~waav.ProviderRateLimitError`
HTTP 408, 504, read/connect timeout   :class:`~waav.ProviderTimeoutError`
connect refused, reset, dropped WS    :class:`~waav.ProviderConnectionError`
unparseable message                   :class:`~waav.ProviderProtocolError`
any other HTTP status / vendor error  :class:`~waav.ProviderError`
====================================  =========================================
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from waav._exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimitError,
    ProviderTimeoutError,
)
from waav.plugin import catalog_entry
from waav.providers.base import ReconnectionConfig

__all__ = [
    "backoff_delays",
    "base_url",
    "error_for_status",
    "error_from_exception",
    "parse_retry_after",
    "raise_for_response",
    "require_credential",
]


def require_credential(config: Any, provider: str, kind: str, option: str = "api_key") -> str:
    """Return a credential from ``config`` (``api_key`` or ``options[option]``) or raise.

    The error names the environment variable(s) the catalog lists for that credential, so a
    user who forgot ``DEEPGRAM_API_KEY`` is told exactly that.
    """
    value = config.api_key if option == "api_key" else config.options.get(option)
    if value:
        return str(value)
    env = ""
    try:
        entry = catalog_entry(kind, provider)
    except (KeyError, ValueError):
        entry = None
    if entry is not None:
        names = [c.env for c in entry.credentials if c.option == option and c.env]
        if names:
            env = " or ".join(names)
    hint = f"set {env} or pass {option}" if env else f"pass {option}"
    raise ProviderAuthError(f"{provider}: no {option} configured; {hint}", provider=provider)


def base_url(config: Any, default: str) -> str:
    """The adapter's endpoint root: ``config.base_url`` (or ``WAAV_<ID>_BASE_URL``, which the
    registry puts there) when set, else the vendor default; never with a trailing slash."""
    url = getattr(config, "base_url", None) or default
    return str(url).rstrip("/")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _vendor_message(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(data, Mapping):
        for key in ("message", "error", "detail", "err_msg", "error_message", "description"):
            val = data.get(key)
            if isinstance(val, Mapping):
                val = val.get("message") or json.dumps(val)
            if val:
                return str(val)[:300]
    return text.strip()[:300]


def error_for_status(
    status: int, body: bytes | str, headers: Mapping[str, str] | None, provider: str
) -> ProviderError:
    """The waav error for a failed HTTP response (or WebSocket handshake) of ``provider``."""
    detail = _vendor_message(body)
    msg = f"{provider}: HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        return ProviderAuthError(msg, provider=provider)
    if status == 429:
        retry = parse_retry_after((headers or {}).get("retry-after") or (headers or {}).get("Retry-After"))
        return ProviderRateLimitError(msg, provider=provider, retry_after=retry)
    if status in (408, 504):
        return ProviderTimeoutError(msg, provider=provider)
    return ProviderError(msg, provider=provider)


async def raise_for_response(response: httpx.Response, provider: str) -> None:
    """Raise the mapped waav error if ``response`` failed (reads the body of a streamed one)."""
    if response.is_success:
        return
    body = await response.aread()
    raise error_for_status(response.status_code, body, response.headers, provider)


def error_from_exception(exc: BaseException, provider: str) -> ProviderError:
    """Map a transport exception (httpx, websockets, OSError, timeouts) to a waav error."""
    if isinstance(exc, ProviderError):
        return exc
    name = f"{provider}: {type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return ProviderTimeoutError(name, provider=provider)
    try:  # websockets is a dependency, but keep the mapping usable without it
        from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
    except ImportError:  # pragma: no cover
        pass
    else:
        if isinstance(exc, InvalidStatus):
            resp = exc.response
            return error_for_status(resp.status_code, bytes(resp.body or b""), dict(resp.headers), provider)
        if isinstance(exc, ConnectionClosed):
            return ProviderConnectionError(name, provider=provider)
        if isinstance(exc, InvalidURI):
            return ProviderError(name, provider=provider)
    if isinstance(exc, (httpx.TransportError, OSError, EOFError)):
        return ProviderConnectionError(name, provider=provider)
    if isinstance(exc, (ValueError, KeyError, TypeError)) and not isinstance(exc, ProviderError):
        return ProviderProtocolError(name, provider=provider)
    return ProviderError(name, provider=provider)


def backoff_delays(
    config: ReconnectionConfig | None = None, *, rng: random.Random | None = None
) -> Iterator[float]:
    """Reconnect delays in seconds: exponential from ``initial_delay_ms`` to ``max_delay_ms``,
    ``max_attempts`` of them, each with ±25 % jitter when ``jitter`` is on (upstream's rule)."""
    cfg = config or ReconnectionConfig()
    if not cfg.enabled:
        return
    r = rng or random
    delay = cfg.initial_delay_ms / 1000.0
    for _ in range(cfg.max_attempts):
        d = min(delay, cfg.max_delay_ms / 1000.0)
        if cfg.jitter:
            d *= 1.0 + r.uniform(-0.25, 0.25)
        yield d
        delay *= cfg.backoff_multiplier
