"""Serve a ``grpc.aio`` server on 127.0.0.1:<free port> on the running event loop, for tests.

The gRPC counterpart of :class:`~waav.testing.fakes.FakeServer`, with the same
:class:`Faults`; an async context manager serving on the caller's event loop
(``async with FakeGoogleSpeech() as fake``). Needs ``grpcio`` (extras ``waav[google]`` /
``waav[gnani]``).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from waav.testing.fakes._server import Faults, RecordedRequest

__all__ = ["GrpcAbort", "GrpcFakeServer", "GrpcSession"]


class GrpcAbort(Exception):
    """Raised inside a fake's handler: end the call with status ``code`` (a
    ``grpc.StatusCode`` name), ``details`` and trailing metadata."""

    def __init__(self, code: str, details: str, trailing: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(details)
        self.code, self.details, self.trailing = code, details, trailing


class GrpcSession(RecordedRequest):
    """One gRPC call as the fake saw it: ``headers`` is the call metadata, ``messages`` the
    decoded request messages."""


class GrpcFakeServer:
    """Base class: serve :meth:`handlers` on ``127.0.0.1`` on a free port."""

    vendor = "fake"

    def __init__(self, *, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.port = 0
        self._server: Any = None
        self._lock = threading.Lock()
        self._sessions: list[GrpcSession] = []

    # --- to implement ---------------------------------------------------------------
    def handlers(self) -> list[Any]:
        """The ``grpc.GenericRpcHandler`` s of the vendor's service(s)."""
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------
    @staticmethod
    async def abort(context: Any, exc: GrpcAbort) -> None:
        """End the call the way ``exc`` says."""
        import grpc

        await context.abort(getattr(grpc.StatusCode, exc.code), exc.details, trailing_metadata=exc.trailing)

    def record(self, method: str, metadata: Any) -> GrpcSession:
        """Record a new call with its metadata."""
        rec = GrpcSession(
            method="GRPC", path=method, query={}, headers={str(k).lower(): str(v) for k, v in metadata or ()}
        )
        with self._lock:
            self._sessions.append(rec)
        return rec

    @property
    def requests(self) -> list[GrpcSession]:
        """Every call so far, in order."""
        with self._lock:
            return list(self._sessions)

    @property
    def sessions(self) -> int:
        return len(self.requests)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (plaintext): point an adapter's ``base_url`` here."""
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> GrpcFakeServer:
        """Bind a free port and serve on the running event loop until :meth:`stop`.

        ``grpc.aio`` ties its completion queue to one event loop, so the fake serves on the
        caller's loop (a server thread with its own loop makes calls fail at random with
        ``INTERNAL``); handlers are async and never block it.
        """
        if self._server is not None:
            return self
        import grpc

        server = grpc.aio.server()
        for handler in self.handlers():
            server.add_generic_rpc_handlers((handler,))
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        return self

    async def stop(self) -> None:
        """Stop serving (calls in progress are cancelled)."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace=0.2)

    async def __aenter__(self) -> GrpcFakeServer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
