"""Serve a ``grpc.aio`` server on 127.0.0.1:<free port> on the running event loop, for tests.

The gRPC counterpart of :class:`~waav.testing.fakes.FakeServer`, with the same
:class:`Faults`; an async context manager serving on the caller's event loop
(``async with FakeGoogleSpeech() as fake``). Needs ``grpcio`` (extras ``waav[google]`` /
``waav[gnani]``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from waav.testing.fakes._server import Faults, RecordedRequest

__all__ = ["GrpcAbort", "GrpcFakeServer", "GrpcSession", "StreamServe"]


class GrpcAbort(Exception):
    """Raised inside a fake's handler: end the call with status ``code`` (a
    ``grpc.StatusCode`` name), ``details`` and trailing metadata."""

    def __init__(self, code: str, details: str, trailing: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(details)
        self.code, self.details, self.trailing = code, details, trailing


class GrpcSession(RecordedRequest):
    """One gRPC call as the fake saw it: ``headers`` is the call metadata, ``messages`` the
    decoded request messages."""


#: A fake's body of one streaming call: (request iterator, context, its record) → responses.
StreamServe = Callable[[AsyncIterator[Any], Any, "GrpcSession"], AsyncIterator[Any]]


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

    def stream_method(
        self,
        service: str,
        method: str,
        serve: StreamServe,
        *,
        request_deserializer: Callable[[bytes], Any],
        response_serializer: Callable[[Any], bytes],
    ) -> Any:
        """The handler of the bidirectional-streaming RPC ``/service/method``: each call is
        recorded, answered by ``serve``, and ended the way a :class:`GrpcAbort` it raises says."""
        import grpc

        path = f"/{service}/{method}"

        async def call(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            rec = self.record(path, context.invocation_metadata())
            try:
                async for response in serve(requests, context, rec):
                    yield response
            except GrpcAbort as exc:
                await self.abort(context, exc)

        handler = grpc.stream_stream_rpc_method_handler(
            call, request_deserializer=request_deserializer, response_serializer=response_serializer
        )
        return grpc.method_handlers_generic_handler(service, {method: handler})

    def check_rate_limit(self, details: str) -> None:
        """Raise the vendor's ``RESOURCE_EXHAUSTED`` (``retry-after`` trailer) when that fault is on."""
        if self.faults.rate_limit_retry_after is not None:
            raise GrpcAbort(
                "RESOURCE_EXHAUSTED", details, (("retry-after", str(self.faults.rate_limit_retry_after)),)
            )

    async def next_request(self, it: AsyncIterator[Any], idle: GrpcAbort) -> Any | None:
        """The client's next request; None when it closed its stream; ``idle`` raised when
        nothing came for ``faults.idle_close_after`` seconds."""
        try:
            return await asyncio.wait_for(it.__anext__(), timeout=self.faults.idle_close_after)
        except StopAsyncIteration:
            return None
        except asyncio.TimeoutError:
            raise idle from None

    def check_stream_faults(self, call_index: int, messages: int) -> None:
        """``drop_after`` (the first call ends ``UNAVAILABLE`` at that many requests) and
        ``vendor_error`` (``INVALID_ARGUMENT``), checked at each request."""
        f = self.faults
        if f.drop_after is not None and call_index == 1 and messages >= f.drop_after:
            raise GrpcAbort("UNAVAILABLE", "Connection reset by peer")
        if f.vendor_error is not None:
            raise GrpcAbort("INVALID_ARGUMENT", f.vendor_error)

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
