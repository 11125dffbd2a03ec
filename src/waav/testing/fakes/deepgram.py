"""Fake Deepgram listen API (``/v1/listen``), for tests without the network.

Checks ``Authorization: Token <api_key>`` (HTTP 401 otherwise, as Deepgram does) and that raw
``encoding`` comes with a ``sample_rate`` (HTTP 400 otherwise); accepts binary audio and the
text control messages ``KeepAlive``, ``Finalize``, ``CloseStream`` (anything else closes with
``1008 DATA-0000``). Answers with ``Results`` messages (interim, then final with
``speech_final``), ``SpeechStarted`` with ``vad_events=true``, ``UtteranceEnd`` with
``utterance_end_ms``, ``from_finalize`` results for ``Finalize`` when audio was pending, and
``Metadata`` then a normal close for ``CloseStream``. The idle fault closes with
``1011 NET-0001`` like Deepgram's 10-second timeout; ``vendor_error`` closes with ``1008``::

    async with FakeDeepgram(script=["hello world"]) as fake:
        stt = DeepgramSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url))
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from starlette.responses import Response
from starlette.websockets import WebSocket

from waav.testing.fakes._server import Faults
from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeDeepgram"]


class FakeDeepgram(ScriptedSTTFake):
    """In-process Deepgram listen WebSocket (see the module docstring)."""

    vendor = "deepgram"
    path = "/v1/listen"

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
        speech_final: bool = True,
    ) -> None:
        super().__init__(script, api_key=api_key, faults=faults, bytes_per_result=bytes_per_result)
        #: Flag finals ``speech_final`` (False imitates endpoints that go missing in noise).
        self.speech_final = speech_final

    def check_handshake(self, ws: WebSocket) -> Response | None:
        auth = ws.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "token" or key != self.api_key:
            return self.deny(401, "Invalid credentials.")
        q = ws.query_params
        if "encoding" in q and "sample_rate" not in q:
            return self.deny(400, "sample_rate is required with encoding")
        return None

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, bytes):
            return ClientEvent("audio", data)
        try:
            kind = json.loads(data).get("type")
        except ValueError:
            raise ProtocolViolation("DATA-0000: could not parse control message") from None
        mapping = {"KeepAlive": "keepalive", "Finalize": "finalize", "CloseStream": "finish"}
        if kind not in mapping:
            raise ProtocolViolation(f"DATA-0000: unknown message type {kind!r}")
        return ClientEvent(mapping[kind])

    def _results(
        self, s: Session, words: list[Word], *, final: bool, from_finalize: bool = False
    ) -> dict[str, object]:
        start = words[0].start if words else 0.0
        end = words[-1].end if words else start
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - start, 3),
            "start": start,
            "is_final": final,
            "speech_final": final and self.speech_final,
            "from_finalize": from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": self.transcript(words),
                        "confidence": 0.98 if final else 0.7,
                        "words": [
                            {
                                "word": w.text.lower(),
                                "start": w.start,
                                "end": w.end,
                                "confidence": w.confidence,
                                "punctuated_word": w.text,
                            }
                            for w in words
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": s.extra.setdefault("request_id", str(uuid.uuid4())),
                "model_info": {"name": "general-nova-3", "version": "2024-01-09.29447", "arch": "nova-3"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
        }

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        q = ws.query_params
        if not final and q.get("vad_events") == "true":
            await self.send_json(
                ws, {"type": "SpeechStarted", "channel": [0, 1], "timestamp": words[0].start}
            )
        if not final and q.get("interim_results") != "true":
            return
        await self.send_json(ws, self._results(s, words, final=final))
        if final and not self.speech_final and "utterance_end_ms" in q:
            await self.send_json(
                ws, {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": words[-1].end}
            )

    async def _flush_pending(self, ws: WebSocket, s: Session) -> None:
        """Finalize: audio received beyond the last answered utterance becomes a final result."""
        words = self.take_pending(s)
        if words:
            await self.send_json(ws, self._results(s, words, final=True, from_finalize=True))
            s.results_sent += 1

    async def on_finalize(self, ws: WebSocket, s: Session) -> None:
        await self._flush_pending(ws, s)

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        await self._flush_pending(ws, s)
        await self.send_json(
            ws,
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": s.extra.setdefault("request_id", str(uuid.uuid4())),
                "sha256": "0" * 64,
                "created": "2024-08-29T22:37:55.202Z",
                "duration": round(s.audio_bytes / self.bytes_per_second, 3),
                "channels": 1,
            },
        )
        await ws.close(1000)

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        await ws.close(1008, message[:120])

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await ws.close(
            1011, "NET-0001: did not receive audio data or a text message within the timeout window"
        )
