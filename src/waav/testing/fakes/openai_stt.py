"""Fake OpenAI and Groq transcription APIs (``POST …/audio/transcriptions``), for tests.

Checks what the vendors check: ``Authorization: Bearer <key>`` (401 ``invalid_api_key``), a
``multipart/form-data`` body with a ``file`` that is a readable WAV (400 otherwise) and a
known ``model`` (404), ``response_format`` in ``json``/``text``/``verbose_json`` (OpenAI: only
``whisper-1`` answers ``verbose_json``), ``timestamp_granularities[]`` only with
``verbose_json`` and ``language`` as an ISO-639-1 code. Errors use the
``{"error": {"message", "type", "param", "code"}}`` shape.

Each accepted upload is answered with the next utterance of ``script`` (an empty transcript
once the script is used up): ``{"text"}`` for ``json``; for ``verbose_json`` also
``language``, ``duration`` (of the uploaded audio), ``segments`` (with ``avg_logprob``) and,
with ``timestamp_granularities[]=word``, ``words`` timed ``0.3 s`` apart from the start of
the file. :attr:`FakeOpenAISTT.uploads` keeps every accepted file's PCM and form fields.

Faults: ``reject_auth`` (401), ``rate_limit_retry_after`` (429 with ``Retry-After``, on every
request while set), ``drop_after`` (request number ``drop_after``, counted from 0, is dropped
mid-response; once), ``first_result_delay`` (before the first answer), ``vendor_error`` (a
400 ``invalid_request_error`` with that message, once). ``idle_close_after`` and
``ignore_finalize`` have no meaning for a REST API and are ignored::

    async with FakeOpenAISTT(script=["hello world"]) as fake:
        stt = OpenAISTT(STTConfig(api_key=fake.api_key, base_url=fake.base_url))
"""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
import wave
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from waav.testing.fakes._server import FakeServer, Faults

__all__ = ["FakeGroq", "FakeOpenAISTT", "Upload"]

WORD_STEP = 0.3
WORD_LENGTH = 0.25


@dataclass
class Upload:
    """One accepted transcription request: the decoded WAV and the form fields."""

    pcm16: bytes
    sample_rate: int
    channels: int
    fields: dict[str, list[str]] = field(default_factory=dict)


def _error(
    status: int, message: str, type_: str, param: str | None = None, code: str | None = None
) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}, status_code=status
    )


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """Form fields (all values per name) and files of a ``multipart/form-data`` body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for part in msg.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a part has no name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields.setdefault(name, []).append(data.decode())
    return fields, files


class FakeOpenAISTT(FakeServer):
    """In-process fake of OpenAI's transcription endpoint (see the module docstring)."""

    vendor = "openai"
    path = "/v1/audio/transcriptions"
    models: tuple[str, ...] = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
    verbose_models: tuple[str, ...] = ("whisper-1",)
    formats: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")

    def __init__(
        self,
        script: Sequence[str] = ("hello world",),
        *,
        api_key: str = "test-key",
        faults: Faults | None = None,
        language: str = "english",
    ) -> None:
        super().__init__(faults=faults)
        #: Transcripts answered in order, one per accepted upload.
        self.script = list(script)
        self.api_key = api_key
        #: What ``verbose_json`` reports as the detected language.
        self.language = language
        #: Every accepted upload, in order.
        self.uploads: list[Upload] = []
        self._lock = threading.Lock()
        self._seen = 0
        self._dropped = False
        self._errored = False

    def extra(self) -> dict[str, Any]:
        """Vendor-specific fields added to every answer."""
        return {}

    def paths(self) -> list[str]:
        return [self.path]

    def build_app(self) -> Starlette:
        return Starlette(routes=[Route(p, self._endpoint, methods=["POST"]) for p in self.paths()])

    async def _endpoint(self, request: Request) -> Response:
        raw = await request.body()
        self.recorder.start(request, body=raw)
        with self._lock:
            index = self._seen
            self._seen += 1
        f = self.faults
        if f.reject_auth or request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key")
        if f.rate_limit_retry_after is not None:
            return JSONResponse(
                {
                    "error": {
                        "message": "Rate limit reached for requests",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
                status_code=429,
                headers={"Retry-After": f"{f.rate_limit_retry_after:g}"},
            )
        try:
            fields, files = _parse_multipart(request.headers.get("content-type", ""), raw)
        except ValueError as exc:
            return _error(400, f"Could not parse multipart form: {exc}", "invalid_request_error")
        problem = self.check(fields, files)
        if problem is not None:
            return problem
        try:
            with wave.open(io.BytesIO(files["file"])) as w:
                rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
                pcm = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as exc:
            return _error(400, f"Invalid file format ({exc}).", "invalid_request_error", "file")
        if width != 2:
            return _error(400, "Invalid file format.", "invalid_request_error", "file")
        if f.vendor_error is not None and not self._errored:
            self._errored = True
            return _error(400, f.vendor_error, "invalid_request_error")
        if f.drop_after is not None and index >= f.drop_after and not self._dropped:
            self._dropped = True
            return StreamingResponse(self._dropping(), media_type="application/json")
        with self._lock:
            n = len(self.uploads)
            self.uploads.append(Upload(pcm, rate, channels, fields))
        if n == 0 and f.first_result_delay:
            await asyncio.sleep(f.first_result_delay)
        text = self.script[n] if n < len(self.script) else ""
        duration = len(pcm) / (2 * channels * rate)
        return self.answer(text, duration, fields)

    @staticmethod
    async def _dropping() -> AsyncIterator[bytes]:
        yield b'{"text": '
        raise ConnectionResetError("fake vendor dropped the connection mid-response")

    def check(self, fields: dict[str, list[str]], files: dict[str, bytes]) -> Response | None:
        """The vendor's 400/404 for a bad request, or None."""
        if "file" not in files:
            return _error(400, "Missing required parameter: 'file'.", "invalid_request_error", "file")
        model = (fields.get("model") or [""])[0]
        if not model:
            return _error(400, "Missing required parameter: 'model'.", "invalid_request_error", "model")
        if model not in self.models:
            return _error(404, f"The model `{model}` does not exist.", "invalid_request_error", "model")
        fmt = (fields.get("response_format") or ["json"])[0]
        if fmt not in self.formats:
            return _error(
                400, f"Invalid response_format {fmt!r}.", "invalid_request_error", "response_format"
            )
        if fmt == "verbose_json" and model not in self.verbose_models:
            return _error(
                400,
                f"response_format 'verbose_json' is not compatible with {model}; use 'json' or 'text'.",
                "invalid_request_error",
                "response_format",
            )
        grains = fields.get("timestamp_granularities[]", [])
        if grains and fmt != "verbose_json":
            return _error(
                400,
                "timestamp_granularities requires response_format=verbose_json.",
                "invalid_request_error",
                "timestamp_granularities",
            )
        if any(g not in ("word", "segment") for g in grains):
            return _error(
                400, "Invalid timestamp_granularities.", "invalid_request_error", "timestamp_granularities"
            )
        langs = fields.get("language")
        language = langs[0] if langs else None
        if language is not None and (len(language) != 2 or not language.isalpha() or not language.islower()):
            return _error(
                400,
                f"Language '{language}' is not supported (use ISO-639-1).",
                "invalid_request_error",
                "language",
            )
        return None

    def answer(self, text: str, duration: float, fields: dict[str, list[str]]) -> Response:
        fmt = (fields.get("response_format") or ["json"])[0]
        if fmt == "text":
            return PlainTextResponse(text)
        body: dict[str, Any] = {"text": text}
        if fmt == "verbose_json":
            words = text.split()
            body = {
                "task": "transcribe",
                "language": self.language,
                "duration": round(duration, 3),
                "text": text,
                "segments": [
                    {
                        "id": 0,
                        "seek": 0,
                        "start": 0.0,
                        "end": round(duration, 3),
                        "text": text,
                        "tokens": [],
                        "temperature": 0.0,
                        "avg_logprob": -0.105,
                        "compression_ratio": 1.0,
                        "no_speech_prob": 0.01,
                    }
                ]
                if words
                else [],
            }
            if "word" in fields.get("timestamp_granularities[]", []):
                body["words"] = [
                    {
                        "word": w,
                        "start": round(k * WORD_STEP, 3),
                        "end": round(k * WORD_STEP + WORD_LENGTH, 3),
                    }
                    for k, w in enumerate(words)
                ]
        body.update(self.extra())
        return JSONResponse(body)


class FakeGroq(FakeOpenAISTT):
    """In-process fake of Groq's OpenAI-compatible transcription and translation endpoints."""

    vendor = "groq"
    path = "/openai/v1/audio/transcriptions"
    models = ("whisper-large-v3-turbo", "whisper-large-v3", "distil-whisper-large-v3-en")
    verbose_models = models
    formats = ("json", "text", "verbose_json")

    def paths(self) -> list[str]:
        return [self.path, "/openai/v1/audio/translations"]

    def extra(self) -> dict[str, Any]:
        return {"x_groq": {"id": f"req_{uuid.uuid4().hex[:26]}"}}
