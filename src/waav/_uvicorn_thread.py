"""Run a uvicorn server in a daemon thread on a socket the caller bound.

Shared by :class:`waav.gateway.GatewayServer` and the test fakes in :mod:`waav.testing`. It lives
at the package's bottom layer (it needs only uvicorn) so the gateway does not import the testing
kit and the testing kit does not pull in the whole gateway just to serve a vendor fake.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import TypeVar

import uvicorn

__all__ = ["BackgroundServing", "ServerThread"]

_S = TypeVar("_S", bound="BackgroundServing")


class ServerThread:
    """One uvicorn server serving ``sock`` from a daemon thread named ``name``."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, *, name: str) -> None:
        self.server = server
        self.sock = sock
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)

    def start(self, timeout: float) -> bool:
        """Start the thread; True once the server accepts connections, False if it died or timed out."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self, timeout: float) -> None:
        """Ask the server to exit, wait up to ``timeout`` seconds for the thread, free the socket."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
        self.sock.close()


class BackgroundServing:
    """``with`` / ``async with`` for a server whose ``start()`` and ``stop()`` block.

    The async forms run them in a worker thread, so a test's own event loop keeps running
    while the server (in its own thread and loop) starts or drains.
    """

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self: _S) -> _S:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
