"""Fake Gnani.ai streaming STT (``/Listener/DoSpeechToText``, in-process gRPC), for tests.

Speaks the message schema of :mod:`waav.providers.stt.gnani` (``SpeechChunk`` up,
``TranscriptChunk`` down). Checks what Gnani's guide requires: call metadata ``token`` and
``accesskey`` matching its credentials (``UNAUTHENTICATED`` otherwise), ``lang`` one of the 14
supported codes, ``audioformat`` ``wav`` and ``encoding`` ``pcm16`` (``INVALID_ARGUMENT``), and
audio in every ``SpeechChunk``. Per ``bytes_per_result`` of audio it answers an interim
``TranscriptChunk`` (first half of the words, ``is_final`` false) and a final one
(``confidence`` 0.93); closing the request stream turns pending audio into a final result.

Faults: ``reject_auth``, ``rate_limit_retry_after`` (``RESOURCE_EXHAUSTED``), ``drop_after``
(the first call ends ``UNAVAILABLE``), ``first_result_delay``, ``idle_close_after``
(``DEADLINE_EXCEEDED``), ``ignore_finalize``, ``vendor_error`` (``INVALID_ARGUMENT``)::

    async with FakeGnani(script=["namaste"]) as fake:
        stt = GnaniSTT(STTConfig(api_key=fake.token, language="hi-IN", base_url=fake.base_url,
                                 options={"access_key": fake.access_key}))
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from waav.testing.fakes._grpc import GrpcAbort, GrpcFakeServer, GrpcSession
from waav.testing.fakes._server import Faults

__all__ = ["FakeGnani"]


class FakeGnani(GrpcFakeServer):
    """In-process Gnani ``Listener`` gRPC service (see the module docstring)."""

    vendor = "gnani"

    def __init__(
        self,
        script: Sequence[str] = ("namaste duniya",),
        *,
        token: str = "test-token",
        access_key: str = "test-access-key",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
    ) -> None:
        super().__init__(faults=faults)
        self.script = list(script)
        self.token = token
        self.access_key = access_key
        self.bytes_per_result = bytes_per_result

    def handlers(self) -> list[Any]:
        from waav.providers.stt.gnani import LANGUAGES, gnani_messages

        self._languages = LANGUAGES
        speech, transcript = gnani_messages()
        self._transcript = transcript
        return [
            self.stream_method(
                "Listener",
                "DoSpeechToText",
                self._serve,
                request_deserializer=speech.FromString,
                response_serializer=lambda m: m.SerializeToString(),
            )
        ]

    def _check(self, rec: GrpcSession) -> None:
        h, f = rec.headers, self.faults
        if f.reject_auth or h.get("token") != self.token or h.get("accesskey") != self.access_key:
            raise GrpcAbort("UNAUTHENTICATED", "Invalid token or accesskey")
        self.check_rate_limit("Request limit reached")
        if h.get("lang") not in self._languages:
            raise GrpcAbort("INVALID_ARGUMENT", f"Unsupported lang {h.get('lang')!r}")
        if h.get("audioformat") not in ("wav", "amr-wb") or h.get("encoding") not in ("pcm16", "amr-wb"):
            raise GrpcAbort("INVALID_ARGUMENT", "audioformat/encoding must be wav/pcm16 or amr-wb")

    def _chunk(self, words: list[str], final: bool) -> Any:
        text = " ".join(words)
        return self._transcript(asr=text, transcript=text, is_final=final, confidence=0.93 if final else 0.6)

    async def _serve(
        self, requests: AsyncIterator[Any], context: Any, rec: GrpcSession
    ) -> AsyncIterator[Any]:
        f = self.faults
        index = len(self.requests)
        self._check(rec)
        await context.send_initial_metadata(())
        it = requests.__aiter__()
        audio = consumed = sent = messages = nxt = 0
        while True:
            req = await self.next_request(it, GrpcAbort("DEADLINE_EXCEEDED", "No audio received"))
            if req is None:
                break
            messages += 1
            if not req.content:
                raise GrpcAbort("INVALID_ARGUMENT", "SpeechChunk without content")
            rec.messages.append(bytes(req.content))
            self.check_stream_faults(index, messages)
            audio += len(req.content)
            while nxt < len(self.script) and audio - consumed >= self.bytes_per_result:
                words = self.script[nxt].split()
                nxt += 1
                consumed += self.bytes_per_result
                if sent == 0 and f.first_result_delay:
                    await asyncio.sleep(f.first_result_delay)
                yield self._chunk(words[: max(1, len(words) // 2)], final=False)
                yield self._chunk(words, final=True)
                sent += 1
        if f.ignore_finalize:
            await asyncio.Event().wait()
        if audio > consumed and nxt < len(self.script):
            yield self._chunk(self.script[nxt].split(), final=True)
