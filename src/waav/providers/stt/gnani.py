"""Gnani.ai (Vachana) streaming speech-to-text over gRPC (``Listener/DoSpeechToText``).

Protocol (Gnani "API Service" setup guide; message schema see below):

* ``asr.gnani.ai:443`` over TLS, with the certificate Gnani sends to registered users as the
  trust root (``options["certificate_path"]`` = ``GNANI_CERTIFICATE_PATH``, or the PEM text
  in ``options["certificate_content"]`` = ``GNANI_CERTIFICATE_CONTENT``; the system roots when
  neither is set).
* Call metadata on every request: ``token`` (``api_key`` = ``GNANI_TOKEN``), ``accesskey``
  (``options["access_key"]`` = ``GNANI_ACCESS_KEY``), ``lang`` (``kn-IN``, ``hi-IN``,
  ``en-IN``, … 14 codes), ``audioformat`` (``wav``) and ``encoding`` (``pcm16``). Audio is
  16 kHz mono PCM16. A request missing any of these is not authenticated.
* Bidirectional stream: ``SpeechChunk`` up, ``TranscriptChunk`` down.

**Message schema.** Gnani does not publish its ``.proto``; the messages are defined here from
the documented fields with the field numbers the upstream gateway uses (an assumption that
could not be checked against Gnani)::

    service Listener { rpc DoSpeechToText(stream SpeechChunk) returns (stream TranscriptChunk); }
    message SpeechChunk { bytes content = 1; string token = 2; string lang = 3; string demo = 4; }
    message TranscriptChunk { string asr = 1; string transcript = 2; bool is_final = 3;
        float confidence = 4; string answer = 5; string image_url = 6; string image_yes_no = 7; }

They are built at run time with ``protobuf`` (no generated code); extra ``waav[gnani]``.

Mapping: ``transcript`` (else ``asr``) → text, ``is_final`` → final and speech-final,
``confidence``. Gnani gives no word timings.
"""

from __future__ import annotations

import os
from typing import Any

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, require_credential
from waav.providers.base import STTConfig, STTResult
from waav.providers.stt._grpc import StreamingGrpcSTT

__all__ = ["DEFAULT_URL", "LANGUAGES", "METHOD", "PLUGIN", "GnaniSTT", "gnani_messages"]

DEFAULT_URL = "https://asr.gnani.ai:443"
METHOD = "/Listener/DoSpeechToText"
LANGUAGES = (
    "kn-IN", "hi-IN", "ta-IN", "te-IN", "gu-IN", "mr-IN", "bn-IN",
    "ml-IN", "pa-guru-IN", "ur-IN", "en-IN", "en-GB", "en-US", "en-SG",
)  # fmt: skip

_MESSAGES: tuple[Any, Any] | None = None


def gnani_messages() -> tuple[Any, Any]:
    """The ``(SpeechChunk, TranscriptChunk)`` protobuf classes (built once)."""
    global _MESSAGES
    if _MESSAGES is not None:
        return _MESSAGES
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        raise ConfigError("gnani STT needs protobuf and grpcio: pip install 'waav[gnani]'") from None
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="waav_gnani_listener.proto", package="", syntax="proto3")

    def message(name: str, fields: list[tuple[str, int, int]]) -> None:
        msg = proto.message_type.add(name=name)
        for field_name, number, kind in fields:
            msg.field.add(name=field_name, number=number, type=kind, label=f.LABEL_OPTIONAL)

    text, raw = f.TYPE_STRING, f.TYPE_BYTES
    message("SpeechChunk", [("content", 1, raw), ("token", 2, text), ("lang", 3, text), ("demo", 4, text)])
    message(
        "TranscriptChunk",
        [
            ("asr", 1, text),
            ("transcript", 2, text),
            ("is_final", 3, f.TYPE_BOOL),
            ("confidence", 4, f.TYPE_FLOAT),
            ("answer", 5, text),
            ("image_url", 6, text),
            ("image_yes_no", 7, text),
        ],
    )
    service = proto.service.add(name="Listener")
    service.method.add(
        name="DoSpeechToText",
        input_type=".SpeechChunk",
        output_type=".TranscriptChunk",
        client_streaming=True,
        server_streaming=True,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    _MESSAGES = (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("SpeechChunk")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("TranscriptChunk")),
    )
    return _MESSAGES


class GnaniSTT(StreamingGrpcSTT):
    """Gnani.ai streaming speech-to-text for Indian languages over gRPC."""

    provider_id = "gnani"
    extra = "gnani"
    default_url = DEFAULT_URL

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._speech: Any = None
        self._transcript: Any = None

    def root_url(self) -> str:
        return base_url(self.config, DEFAULT_URL)

    @property
    def language(self) -> str:
        lang = self.config.language
        for code in LANGUAGES:  # case-insensitive match onto Gnani's spelling
            if code.lower() == lang.lower():
                return code
        raise ConfigError(f"gnani: language {lang!r} is not supported; use one of {', '.join(LANGUAGES)}")

    def check_config(self) -> None:
        self._speech, self._transcript = gnani_messages()
        require_credential(self.config, self.provider_id, self.kind)
        require_credential(self.config, self.provider_id, self.kind, option="access_key")
        _ = self.language
        if canonical_encoding(self.config.encoding) != "linear16" or self.config.sample_rate != 16000:
            raise ConfigError("gnani: send 16 kHz linear16 (PCM16) audio")
        if self.config.channels != 1:
            raise ConfigError("gnani: send mono audio")
        path = self.config.options.get("certificate_path")
        if path and not os.path.isfile(str(path)):
            raise ConfigError(f"gnani: certificate file {path!r} not found (GNANI_CERTIFICATE_PATH)")

    def channel_credentials(self) -> Any:
        opts = self.config.options
        pem: bytes | None = None
        if opts.get("certificate_content"):
            pem = str(opts["certificate_content"]).encode()
        elif opts.get("certificate_path"):
            with open(str(opts["certificate_path"]), "rb") as fh:
                pem = fh.read()
        return self._grpc.ssl_channel_credentials(root_certificates=pem)

    async def metadata(self) -> list[tuple[str, str]]:
        return [
            ("token", self.config.api_key),
            ("accesskey", str(self.config.options["access_key"])),
            ("lang", self.language),
            ("audioformat", "wav"),
            ("encoding", "pcm16"),
        ]

    def open_call(self, channel: Any, metadata: list[tuple[str, str]]) -> Any:
        method = channel.stream_stream(
            METHOD,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self._transcript.FromString,
        )
        return method(metadata=metadata)

    def audio_request(self, chunk: bytes) -> Any:
        return self._speech(content=chunk, token=self.config.api_key, lang=self.language)

    async def handle_response(self, response: Any) -> None:
        text = response.transcript or response.asr
        final = bool(response.is_final)
        if not text and not final:
            return
        await self._emit_result(
            STTResult(
                text,
                is_final=final,
                is_speech_final=final,
                confidence=float(response.confidence),
                language=self.language,
            )
        )


#: Registered through the ``waav.plugins`` entry point ``stt-gnani`` (catalog id ``gnani``).
PLUGIN = PluginConstructor.stt("gnani", None, GnaniSTT)
