"""Fake Google Cloud Speech-to-Text v2 ``StreamingRecognize`` (in-process gRPC), for tests.

Implements ``google.cloud.speech.v2.Speech/StreamingRecognize`` with the message classes of
``google-cloud-speech``. Checks what Google checks: credentials in the call metadata
(``x-goog-api-key`` or ``authorization: Bearer``; ``UNAUTHENTICATED`` otherwise), a first
request with a ``recognizer`` named ``projects/{project}/locations/{location}/recognizers/{id}``
for its project and a ``streaming_config`` with explicit decoding, a sample rate and a
language (``INVALID_ARGUMENT`` otherwise), then requests with only ``audio`` of at most 15 KB.

Per ``bytes_per_result`` of audio it answers ``SPEECH_ACTIVITY_BEGIN``, an interim result
(first half of the words, ``stability`` 0.8), ``SPEECH_ACTIVITY_END`` and the final result
with word offsets and confidences (``speech_end_first=False`` sends the end after the final).
Closing the request stream turns pending audio into a final result and ends the call OK.

Faults: ``reject_auth`` (``UNAUTHENTICATED``), ``rate_limit_retry_after``
(``RESOURCE_EXHAUSTED`` with ``retry-after`` trailing metadata), ``drop_after`` (the first call
ends ``UNAVAILABLE`` after that many requests), ``first_result_delay``, ``idle_close_after``
(``OUT_OF_RANGE`` "Audio Timeout Error"), ``ignore_finalize`` (a closed request stream gets
no answer), ``vendor_error`` (``INVALID_ARGUMENT`` with that text at the first audio)::

    async with FakeGoogleSpeech(script=["hello world"]) as fake:
        stt = GoogleSTT(STTConfig(api_key=fake.api_key, base_url=fake.base_url,
                                  options={"project_id": fake.project}))
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from waav.testing.fakes._grpc import GrpcAbort, GrpcFakeServer, GrpcSession
from waav.testing.fakes._server import Faults

__all__ = ["FakeGoogleSpeech"]

SERVICE = "google.cloud.speech.v2.Speech"
WORD_STEP = 0.3
WORD_LENGTH = 0.25
_RECOGNIZER = re.compile(r"^projects/([^/]+)/locations/([^/]+)/recognizers/([^/]+)$")


class FakeGoogleSpeech(GrpcFakeServer):
    """In-process Google Speech-to-Text v2 streaming server (see the module docstring)."""

    vendor = "google"

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        access_token: str = "test-token",
        project: str = "test-project",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
        speech_end_first: bool = True,
    ) -> None:
        super().__init__(faults=faults)
        self.script = list(script)
        self.api_key = api_key
        self.access_token = access_token
        self.project = project
        self.bytes_per_result = bytes_per_result
        self.speech_end_first = speech_end_first
        #: The decoded first request of every call.
        self.configs: list[Any] = []

    def handlers(self) -> list[Any]:
        from google.cloud.speech_v2.types import cloud_speech as cs

        self._cs = cs
        return [
            self.stream_method(
                SERVICE,
                "StreamingRecognize",
                self._serve,
                request_deserializer=cs.StreamingRecognizeRequest.deserialize,
                response_serializer=cs.StreamingRecognizeResponse.serialize,
            )
        ]

    def _words(self, index: int) -> list[tuple[str, float, float]]:
        base = index * self.bytes_per_result / 32000
        return [
            (w, round(base + k * WORD_STEP, 3), round(base + k * WORD_STEP + WORD_LENGTH, 3))
            for k, w in enumerate(self.script[index].split())
        ]

    def _result(self, words: list[tuple[str, float, float]], final: bool) -> Any:
        cs = self._cs
        alt = cs.SpeechRecognitionAlternative(
            transcript=" ".join(w for w, _, _ in words),
            confidence=0.92 if final else 0.0,
            words=[
                cs.WordInfo(
                    word=w,
                    start_offset=_dt.timedelta(seconds=s),
                    end_offset=_dt.timedelta(seconds=e),
                    confidence=0.9 if final else 0.0,
                )
                for w, s, e in words
            ]
            if final
            else [],
        )
        return cs.StreamingRecognizeResponse(
            results=[
                cs.StreamingRecognitionResult(
                    alternatives=[alt],
                    is_final=final,
                    stability=0.0 if final else 0.8,
                    result_end_offset=_dt.timedelta(seconds=words[-1][2] if words else 0.0),
                    language_code="en-us",
                )
            ]
        )

    def _event(self, name: str) -> Any:
        cs = self._cs
        return cs.StreamingRecognizeResponse(
            speech_event_type=getattr(cs.StreamingRecognizeResponse.SpeechEventType, name)
        )

    def _check_auth(self, rec: GrpcSession) -> None:
        f = self.faults
        key = rec.headers.get("x-goog-api-key")
        auth = rec.headers.get("authorization")
        ok = key == self.api_key if key is not None else auth == f"Bearer {self.access_token}"
        if f.reject_auth or not ok:
            raise GrpcAbort(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        self.check_rate_limit("Quota exceeded for quota metric 'Streaming recognize requests'.")

    def _check_config(self, first: Any, rec: GrpcSession) -> None:
        if "streaming_config" not in first:
            raise GrpcAbort("INVALID_ARGUMENT", "The first request must carry streaming_config.")
        m = _RECOGNIZER.match(first.recognizer)
        if m is None:
            raise GrpcAbort(
                "INVALID_ARGUMENT", f"Invalid resource field value in the request: {first.recognizer!r}"
            )
        if m.group(1) != self.project:
            raise GrpcAbort("PERMISSION_DENIED", f"Permission denied on resource project {m.group(1)}.")
        if rec.headers.get("x-goog-request-params") != f"recognizer={first.recognizer}":
            raise GrpcAbort("INVALID_ARGUMENT", "Missing or mismatched x-goog-request-params routing header.")
        config = first.streaming_config.config
        dec = config.explicit_decoding_config
        if "explicit_decoding_config" not in config or not dec.sample_rate_hertz or not dec.encoding:
            raise GrpcAbort(
                "INVALID_ARGUMENT", "Explicit decoding config with encoding and sample rate is required."
            )
        if not config.language_codes:
            raise GrpcAbort("INVALID_ARGUMENT", "At least one language code is required.")

    async def _serve(
        self, requests: AsyncIterator[Any], context: Any, rec: GrpcSession
    ) -> AsyncIterator[Any]:
        cs = self._cs
        f = self.faults
        index = len(self.requests)
        self._check_auth(rec)
        await context.send_initial_metadata(())
        it = requests.__aiter__()
        first = await self.next_request(
            it, GrpcAbort("OUT_OF_RANGE", "Audio Timeout Error: Long duration elapsed without audio.")
        )
        if first is None:
            return
        rec.messages.append(cs.StreamingRecognizeRequest.to_json(first, use_integers_for_enums=False))
        self._check_config(first, rec)
        self.configs.append(first)
        audio = consumed = sent = messages = 0
        nxt = 0
        while True:
            req = await self.next_request(
                it,
                GrpcAbort(
                    "OUT_OF_RANGE",
                    "Audio Timeout Error: Long duration elapsed without audio. "
                    "Audio should be sent close to real time.",
                ),
            )
            if req is None:
                break
            messages += 1
            if "audio" not in req or "streaming_config" in req or req.recognizer:
                raise GrpcAbort(
                    "INVALID_ARGUMENT", "Only the first request may carry a config; later ones only audio."
                )
            rec.messages.append(bytes(req.audio))
            if len(req.audio) > 15 * 1024:
                raise GrpcAbort("INVALID_ARGUMENT", "Audio chunk can be of a maximum of 15360 bytes.")
            self.check_stream_faults(index, messages)
            audio += len(req.audio)
            while nxt < len(self.script) and audio - consumed >= self.bytes_per_result:
                words = self._words(nxt)
                nxt += 1
                consumed += self.bytes_per_result
                if sent == 0 and f.first_result_delay:
                    await asyncio.sleep(f.first_result_delay)
                yield self._event("SPEECH_ACTIVITY_BEGIN")
                yield self._result(words[: max(1, len(words) // 2)], final=False)
                if self.speech_end_first:
                    yield self._event("SPEECH_ACTIVITY_END")
                yield self._result(words, final=True)
                if not self.speech_end_first:
                    yield self._event("SPEECH_ACTIVITY_END")
                sent += 1
        # the client closed its stream: the last results, then the call ends
        if f.ignore_finalize:
            await asyncio.Event().wait()
        if audio > consumed and nxt < len(self.script):
            yield self._result(self._words(nxt), final=True)
