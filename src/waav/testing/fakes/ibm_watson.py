"""Fake IBM Watson Speech to Text (IAM token endpoint + ``/v1/recognize`` WebSocket).

One server plays both IBM hosts: ``POST /identity/token`` exchanges the API key for an access
token (form ``grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=…``; an unknown key gets
HTTP 400 ``BXNIM0415E`` like IAM), and ``/instances/{instance_id}/v1/recognize`` takes the
WebSocket. The handshake needs an issued ``access_token`` (HTTP 401 otherwise), **this fake's
instance id in the path** (HTTP 404 otherwise — the upstream adapter omitted it) and an IBM
``model`` name. Then: a ``{"action": "start", "content-type": "audio/l16;rate=N…"}`` message
first (audio before it is an ``{"error"}``), answered ``{"state": "listening"}``; binary audio;
``{"action": "stop"}`` answered with the pending final result (``end_of_utterance:
"end_of_data"``) and ``{"state": "listening"}`` (the connection stays open). Results carry
``timestamps`` and ``word_confidence`` when the start message asked for them. The idle fault
sends ``{"error": "Session timed out."}`` and closes; ``reject_auth`` makes IAM refuse the key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.websockets import WebSocket

from waav.testing.fakes._ibm_iam import issue_iam_token
from waav.testing.fakes._server import Faults
from waav.testing.fakes._stt_ws import ClientEvent, ProtocolViolation, ScriptedSTTFake, Session, Word

__all__ = ["FakeIBMWatson"]


class FakeIBMWatson(ScriptedSTTFake):
    """In-process IBM Watson STT with its IAM token endpoint (see the module docstring)."""

    vendor = "ibm-watson"
    path = "/instances/{instance_id}/v1/recognize"
    keep_open_after_finish = True

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        instance_id: str = "test-instance",
        faults: Faults | None = None,
        bytes_per_result: int = 3200,
    ) -> None:
        super().__init__(script, api_key=api_key, faults=faults, bytes_per_result=bytes_per_result)
        #: The service instance the fake answers for.
        self.instance_id = instance_id
        #: Access tokens issued so far.
        self.tokens: list[str] = []

    def extra_routes(self) -> list[BaseRoute]:
        async def token(request: Request) -> Response:
            return await issue_iam_token(
                self, request, self.api_key, 3600, lambda tok, _expiration: self.tokens.append(tok)
            )

        return [Route("/identity/token", token, methods=["POST"])]

    def check_handshake(self, ws: WebSocket) -> Response | None:
        if ws.query_params.get("access_token") not in self.tokens:
            return self.deny(401, "Unauthorized")
        if ws.path_params.get("instance_id") != self.instance_id:
            return self.deny(404, "Instance not found")
        if "_" not in ws.query_params.get("model", ""):
            return self.deny(400, f"Model {ws.query_params.get('model')!r} not found")
        return None

    def parse(self, data: str | bytes, s: Session) -> ClientEvent:
        if isinstance(data, bytes):
            if not s.started:
                raise ProtocolViolation("Audio received before the start action")
            return ClientEvent("audio", data)
        msg = json.loads(data)
        action = msg.get("action")
        if action == "start":
            ctype = str(msg.get("content-type") or "")
            if "rate=" not in ctype and not ctype.startswith(("audio/wav", "audio/ogg", "audio/flac")):
                raise ProtocolViolation(f"content-type {ctype!r} needs a rate")
            s.started = True
            s.extra["start"] = msg
            return ClientEvent("config")
        if action == "stop":
            return ClientEvent("finish")
        raise ProtocolViolation(f"Invalid action {action!r}")

    async def on_config(self, ws: WebSocket, s: Session) -> None:
        await self.send_json(ws, {"state": "listening"})

    def _result(self, s: Session, words: list[Word], *, final: bool, eou: str | None) -> dict[str, object]:
        start = s.extra.get("start", {})
        alt: dict[str, object] = {"transcript": self.transcript(words).lower() + " "}
        if final:
            alt["confidence"] = 0.89
            if start.get("timestamps"):
                alt["timestamps"] = [[w.text.lower(), w.start, w.end] for w in words]
            if start.get("word_confidence"):
                alt["word_confidence"] = [[w.text.lower(), w.confidence] for w in words]
        result: dict[str, object] = {"final": final, "alternatives": [alt]}
        if final and eou and start.get("split_transcript_at_phrase_end"):
            result["end_of_utterance"] = eou
        return {"result_index": s.results_sent, "results": [result]}

    async def send_results(self, ws: WebSocket, s: Session, words: list[Word], final: bool) -> None:
        if not final and not s.extra.get("start", {}).get("interim_results"):
            return
        await self.send_json(ws, self._result(s, words, final=final, eou="silence"))

    async def on_finish(self, ws: WebSocket, s: Session) -> None:
        words = self.take_pending(s)
        if words:
            await self.send_json(ws, self._result(s, words, final=True, eou="end_of_data"))
            s.results_sent += 1
        s.started = False
        await self.send_json(ws, {"state": "listening"})

    async def send_error(self, ws: WebSocket, s: Session, message: str) -> None:
        await self.send_json(ws, {"error": message})
        await ws.close(1011, message[:120])

    async def idle_close(self, ws: WebSocket, s: Session) -> None:
        await self.send_json(ws, {"error": "Session timed out."})
        await ws.close(1011, "Session timed out.")
