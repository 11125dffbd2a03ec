"""The streaming plumbing shared by the STT and realtime bases (waav.providers._stream)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

import waav
from waav.providers._stream import (
    AudioBacklog,
    drop_oversize,
    http_url,
    join_path,
    keep_tail,
    keep_whole,
    option_float,
    reconnection_option,
    ws_url,
)
from waav.providers.base import ReconnectionConfig


def test_backlog_drops_the_oldest_and_counts_it() -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len)
    assert b.push(b"a" * 4, 10) == 0
    assert b.push(b"b" * 4, 10) == 0
    assert b.push(b"c" * 4, 10) == 4  # "a" goes: the newest audio stays
    assert b.nbytes == 8
    assert len(b) == 2
    assert b.popleft() == b"b" * 4
    assert b.peek() == b"c" * 4
    assert b.nbytes == 4
    assert b.dropped_bytes == 4


def test_backlog_front_push_is_first_out() -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len)
    b.push(b"later", 100)
    b.push(b"first", 100, front=True)
    assert b.popleft() == b"first"


@pytest.mark.parametrize(
    ("oversize", "left", "dropped"),
    [(drop_oversize, [], 12), (keep_tail, [b"56789012"], 4), (keep_whole, [b"123456789012"], 0)],
)
def test_backlog_oversized_item_policies(
    oversize: Callable[[bytes, int], bytes | None], left: list[bytes], dropped: int
) -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len, oversize)
    b.push(b"old", 8)
    assert b.push(b"123456789012", 8) == dropped + 3  # the older item always goes
    assert [b.popleft() for _ in range(len(b))] == left
    assert b.nbytes == 0
    assert b.dropped_bytes == dropped + 3


def test_backlog_keep_tail_with_a_zero_bound_keeps_nothing() -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len, keep_tail)
    assert b.push(b"abc", 0) == 3
    assert len(b) == 0
    assert b.nbytes == 0


def test_backlog_sizes_items_with_the_given_function() -> None:
    b: AudioBacklog[tuple[bytes, float]] = AudioBacklog(lambda item: len(item[0]))
    b.push((b"xx", 0.0), 10)
    b.push((b"yyyy", 1.0), 10)
    assert b.nbytes == 6


def test_backlog_overflow_is_new_once_per_outage() -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len)
    assert b.overflow_is_new()
    assert not b.overflow_is_new()
    b.rearm()
    assert b.overflow_is_new()


async def test_backlog_drain_keeps_what_was_not_sent() -> None:
    b: AudioBacklog[bytes] = AudioBacklog(len)
    for chunk in (b"1", b"22", b"333"):
        b.push(chunk, 100)
    sent: list[bytes] = []

    async def send(chunk: bytes) -> None:
        if chunk == b"333":
            raise ConnectionError("socket closed")
        sent.append(chunk)

    with pytest.raises(ConnectionError):
        await b.drain(send)
    assert sent == [b"1", b"22"]
    assert b.peek() == b"333"
    assert b.nbytes == 3

    sent.clear()
    await b.drain(send, go_on=lambda: False)
    assert sent == []
    assert len(b) == 1


def test_option_float() -> None:
    opts = {"a": "2.5", "z": 0, "n": None, "neg": -1, "bad": "x", "inf": math.inf}
    assert option_float(opts, "a", None, "p") == 2.5
    assert option_float(opts, "missing", 3.0, "p") == 3.0
    assert option_float(opts, "n", 3.0, "p") is None  # explicit None: the caller's default
    assert option_float(opts, "inf", None, "p") == math.inf
    with pytest.raises(waav.ConfigError, match="option n must be a number"):
        option_float(opts, "n", 3.0, "p", nullable=False)
    with pytest.raises(ValueError, match=r"p: option bad must be a number, got 'x'"):
        option_float(opts, "bad", None, "p")
    with pytest.raises(waav.ConfigError, match="option neg must be >= 0"):
        option_float(opts, "neg", None, "p")
    with pytest.raises(waav.ConfigError, match="option z must be > 0"):
        option_float(opts, "z", None, "p", positive=True)
    with pytest.raises(waav.ConfigError, match="option inf must be >= 0"):
        option_float(opts, "inf", None, "p", finite=True)


def test_reconnection_option() -> None:
    assert reconnection_option({}, "p").enabled
    assert not reconnection_option({"reconnect": False}, "p").enabled
    cfg = ReconnectionConfig(max_attempts=2)
    assert reconnection_option({"reconnect": cfg}, "p") is cfg
    assert reconnection_option({"reconnect": {"max_attempts": 7}}, "p").max_attempts == 7
    with pytest.raises(waav.ConfigError, match="reconnect must be a bool or a mapping"):
        reconnection_option({"reconnect": "yes"}, "p")


def test_url_helpers() -> None:
    assert ws_url("https://h/x") == "wss://h/x"
    assert ws_url("http://h") == "ws://h"
    assert ws_url("wss://h") == "wss://h"
    assert http_url("wss://h/x") == "https://h/x"
    assert http_url("ws://h") == "http://h"
    assert join_path("https://h/v1/", "/listen") == "https://h/v1/listen"
    assert join_path("https://h/v1/listen", "/listen") == "https://h/v1/listen"
