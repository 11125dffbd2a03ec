"""Fake Amazon Transcribe streaming WebSocket (``/stream-transcription-websocket``), for tests.

Checks the SigV4 presigned URL the way AWS does: ``X-Amz-Algorithm``, a credential scope for
service ``transcribe`` whose access key it knows, ``X-Amz-Date`` within 5 minutes,
``X-Amz-Expires`` at most 300, ``X-Amz-SignedHeaders`` including ``host``, and the
signature recomputed from the request it received (its real ``Host`` header) with the secret
(HTTP 403 otherwise); requires ``language-code`` (or ``identify-language``),
``media-encoding`` (``pcm``/``flac``/``ogg-opus``) and ``sample-rate`` 8000–48000 (HTTP 400).
Every client frame must be one valid event-stream ``AudioEvent`` (checked CRCs); anything else
is answered with a ``BadRequestException``. Results are ``TranscriptEvent`` s: a partial
(``IsPartial: true``, items ``Stable``) then the final with item times and confidences; an
empty ``AudioEvent`` flushes pending audio into a final result, then the socket closes.

Faults: ``reject_auth`` (401 at the handshake), ``rate_limit_retry_after`` (429),
``drop_after``, ``first_result_delay``, ``idle_close_after`` (a ``BadRequestException``
"no new audio was received for 15 seconds", then close), ``ignore_finalize`` (the empty
``AudioEvent`` gets no answer), ``vendor_error`` (a ``BadRequestException`` with that text)::

    async with FakeAWSTranscribe(script=["hello world"]) as fake:
        stt = AWSTranscribeSTT(STTConfig(api_key=fake.access_key, base_url=fake.ws_url,
                                         options={"secret_access_key": fake.secret_key}))
"""

from __future__ import annotations

import datetime as _dt
import hmac
import json
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.websockets import WebSocket

from waav.providers._aws import EventStreamError, HeaderValue, decode_message, encode_message, presign_url
from waav.testing.fakes._server import Faults
from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeAWSTranscribe"]


def _event(event_type: str, body: Any) -> bytes:
    headers: dict[str, HeaderValue] = {
        ":content-type": "application/json",
        ":event-type": event_type,
        ":message-type": "event",
    }
    return encode_message(headers, json.dumps(body).encode())


def _exception(name: str, message: str) -> bytes:
    headers: dict[str, HeaderValue] = {
        ":content-type": "application/json",
        ":exception-type": name,
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"Message": message}).encode())


class FakeAWSTranscribe(ScriptedSTTFake):
    """In-process Amazon Transcribe streaming WebSocket (see the module docstring)."""

    vendor = "aws-transcribe"
    path = "/stream-transcription-websocket"

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        access_key: str = "AKIDEXAMPLE",
        secret_key: str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region: str = "us-east-1",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
    ) -> None:
        super().__init__(script, api_key=access_key, faults=faults, bytes_per_result=bytes_per_result)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    # --- handshake ---------------------------------------------------------------------
    def check_handshake(self, ws: WebSocket) -> Response | None:
        raw_query = ws.scope.get("query_string", b"").decode()
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        q = dict(pairs)
        problem = self._check_signature(ws, q)
        if problem is not None:
            return self.deny(403, problem)
        if "language-code" not in q and q.get("identify-language") != "true":
            return self.deny(400, "BadRequestException: language-code is required")
        if q.get("media-encoding") not in ("pcm", "flac", "ogg-opus"):
            return self.deny(400, f"BadRequestException: invalid media-encoding {q.get('media-encoding')!r}")
        rate = q.get("sample-rate", "")
        if not rate.isdigit() or not 8000 <= int(rate) <= 48000:
            return self.deny(400, f"BadRequestException: invalid sample-rate {rate!r}")
        return None

    def _check_signature(self, ws: WebSocket, q: dict[str, str]) -> str | None:
        if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            return "Missing or unsupported X-Amz-Algorithm"
        cred = q.get("X-Amz-Credential", "").split("/")
        if len(cred) != 5 or cred[3] != "transcribe" or cred[4] != "aws4_request":
            return "Credential should be scoped to a valid region and service transcribe"
        key, day, region = cred[0], cred[1], cred[2]
        if key != self.access_key:
            return "The security token included in the request is invalid."
        stamp = q.get("X-Amz-Date", "")
        try:
            when = _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            return "X-Amz-Date is not a valid date"
        if stamp[:8] != day:
            return "Credential date does not match X-Amz-Date"
        expires = q.get("X-Amz-Expires", "")
        if not expires.isdigit() or not 1 <= int(expires) <= 300:
            return "X-Amz-Expires must be between 1 and 300 seconds"
        now = _dt.datetime.now(_dt.timezone.utc)
        if abs((now - when).total_seconds()) > 300 or (now - when).total_seconds() > int(expires):
            return "Signature expired"
        if "host" not in q.get("X-Amz-SignedHeaders", "").split(";"):
            return "host must be a signed header"
        params = {k: v for k, v in q.items() if not k.startswith("X-Amz-")}  # presign_url adds those
        expected = presign_url(
            scheme="wss",
            host=ws.headers.get("host", ""),
            path=ws.url.path,
            params=params,
            access_key=key,
            secret_key=self.secret_key,
            region=region,
            service="transcribe",
            expires=int(expires),
            session_token=q.get("X-Amz-Security-Token"),
            when=when,
        )
        want = expected.rsplit("X-Amz-Signature=", 1)[1]
        if not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
            return (
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )
        return None

    # --- messages ----------------------------------------------------------------------
    async def on_open(self, ws: WebSocket, s: Session) -> None:
        s.extra["session_id"] = str(uuid.uuid4())

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, str):
            raise ProtocolViolation("Text frames are not supported; send event-stream encoded binary frames")
        try:
            headers, payload = decode_message(data)
        except EventStreamError as exc:
            raise ProtocolViolation(f"Could not decode the audio stream: {exc}") from None
        if (
            headers.get(":message-type") != "event"
            or headers.get(":event-type") != "AudioEvent"
            or headers.get(":content-type") != "application/octet-stream"
        ):
            raise ProtocolViolation(f"Unexpected event headers {sorted(headers.items())}")
        if not payload:
            return ClientEvent("finish")
        if len(payload) > 32 * 1024:
            raise ProtocolViolation("The maximum audio chunk size is 32 KB")
        return ClientEvent("audio", payload)

    def _result(self, s: Session, words: list[Word], final: bool) -> dict[str, Any]:
        items = [
            {
                "Content": w.text,
                "StartTime": w.start,
                "EndTime": w.end,
                "Type": "pronunciation",
                "VocabularyFilterMatch": False,
                "Stable": True,
                **({"Confidence": w.confidence} if final else {}),
            }
            for w in words
        ]
        return {
            "Transcript": {
                "Results": [
                    {
                        "Alternatives": [{"Items": items, "Transcript": self.transcript(words)}],
                        "ChannelId": "ch_0",
                        "EndTime": words[-1].end if words else 0.0,
                        "IsPartial": not final,
                        "ResultId": s.extra.setdefault(f"r{s.results_sent}", str(uuid.uuid4())),
                        "StartTime": words[0].start if words else 0.0,
                        "LanguageCode": "en-US",
                    }
                ]
            }
        }

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        await ws.send_bytes(_event("TranscriptEvent", self._result(s, words, final)))

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        pending = self.take_pending(s)
        if pending:
            await ws.send_bytes(_event("TranscriptEvent", self._result(s, pending, True)))
            s.results_sent += 1
        await ws.close(1000)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        await ws.send_bytes(_exception("BadRequestException", message))
        await ws.close(1000)

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await ws.send_bytes(
            _exception(
                "BadRequestException",
                "Your request timed out because no new audio was received for 15 seconds.",
            )
        )
        await ws.close(1000)
