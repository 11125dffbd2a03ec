"""Google Cloud Speech-to-Text v2 ``StreamingRecognize`` over gRPC.

Protocol (Cloud Speech-to-Text v2 reference: ``google.cloud.speech.v2.Speech``,
``StreamingRecognizeRequest``, ``StreamingRecognitionConfig``, ``StreamingRecognizeResponse``;
the message classes come from ``google-cloud-speech``, extra ``waav[google]``):

* Method ``/google.cloud.speech.v2.Speech/StreamingRecognize`` on ``speech.googleapis.com:443``
  (``{location}-speech.googleapis.com`` for a regional ``options["location"]``), with
  ``x-goog-request-params: recognizer=…`` and auth metadata: ``authorization: Bearer <token>``
  (service account / ADC via ``google-auth``, or ``options["access_token"]``) or
  ``x-goog-api-key`` for an API key.
* First request: ``recognizer`` (``projects/{project}/locations/{location}/recognizers/_``)
  and ``streaming_config`` {``config`` {``explicit_decoding_config`` {``encoding`` LINEAR16 |
  MULAW | ALAW, ``sample_rate_hertz``, ``audio_channel_count``}, ``model``,
  ``language_codes``, ``features`` {``enable_automatic_punctuation``,
  ``enable_word_time_offsets``, ``enable_word_confidence``}}, ``streaming_features``
  {``interim_results``, ``enable_voice_activity_events``}}; then requests with only
  ``audio`` (at most 15 KB each).
* Responses: ``results`` [{``alternatives`` [{``transcript``, ``confidence``, ``words``
  [{``start_offset``, ``end_offset``, ``word``, ``confidence``, ``speaker_label``}]},
  ``is_final``, ``stability``, ``result_end_offset``, ``language_code``}],
  ``speech_event_type`` (``SPEECH_ACTIVITY_BEGIN``/``END``).
* A stream is limited to about five minutes and ends early when no audio arrives for a while
  (``OUT_OF_RANGE`` / "Audio Timeout"): both are routine ends here, reopened at once; while
  idle, 100 ms of silence is sent every 5 s.

Mapping: ``is_final`` → final; ``stability`` is the interim confidence. With voice activity
events (requested by default) a final is speech-final when ``SPEECH_ACTIVITY_END`` came before
it; when the end comes after, an empty speech-final result marks it (as Deepgram's
``UtteranceEnd``). Without them every final counts as speech-final. Project: ``options["project_id"]``,
``GOOGLE_CLOUD_PROJECT``, the service account's ``project_id``, or a ``model`` written
``project:model`` (upstream's form).
"""

from __future__ import annotations

import json
import os
from typing import Any

from waav._exceptions import ConfigError, ProviderAuthError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._grpc import StreamingGrpcSTT
from waav.providers.tts.google import _is_service_account, _TokenSource, google_auth_available

__all__ = ["DEFAULT_URL", "METHOD", "PLUGIN", "GoogleSTT", "speech_types"]

DEFAULT_URL = "https://speech.googleapis.com"
METHOD = "/google.cloud.speech.v2.Speech/StreamingRecognize"
DEFAULT_MODEL = "long"
#: Models offered for streaming (a config model outside these, e.g. ``nova-3``, means "default").
MODELS = (
    "long",
    "short",
    "telephony",
    "telephony_short",
    "chirp_2",
    "chirp_3",
    "latest_long",
    "latest_short",
)
_ENCODINGS = {"linear16": "LINEAR16", "mulaw": "MULAW", "alaw": "ALAW"}


def speech_types() -> Any:
    """The ``google.cloud.speech_v2`` message module (ConfigError naming the extra if missing)."""
    try:
        from google.cloud.speech_v2.types import cloud_speech
    except ImportError:
        raise ConfigError(
            "google STT needs google-cloud-speech and grpcio: pip install 'waav[google]'"
        ) from None
    return cloud_speech


class GoogleSTT(StreamingGrpcSTT):
    """Google Cloud Speech-to-Text v2 streaming recognition over gRPC."""

    provider_id = "google"
    extra = "google"
    default_url = DEFAULT_URL
    max_frame_bytes = 15 * 1024
    default_keepalive_interval = 5.0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._tokens: _TokenSource | None = None
        self._cs: Any = None
        self._open_final = False  # a final arrived; its speech end has not been seen yet
        self._speech_ended = False  # speech ended before its final result arrived

    # --- config ----------------------------------------------------------------------
    @property
    def location(self) -> str:
        return str(self.config.options.get("location") or "global")

    @property
    def model(self) -> str:
        model = self.config.options.get("model") or self.config.model or ""
        if ":" in model:
            model = model.split(":", 1)[1]
        return model if model in MODELS or model.startswith(("chirp", "latest_")) else DEFAULT_MODEL

    @property
    def project(self) -> str:
        opts = self.config.options
        project = opts.get("project_id") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project and ":" in (self.config.model or ""):
            project = self.config.model.split(":", 1)[0]
        key = self.config.api_key
        if not project and key and _is_service_account(key):
            try:
                info = json.loads(key) if key.lstrip().startswith("{") else json.load(open(key))  # noqa: SIM115
                project = info.get("project_id")
            except (OSError, ValueError):
                project = None
        if not project:
            raise ConfigError(
                "google: no project id; set options.project_id or GOOGLE_CLOUD_PROJECT "
                "(or use a service-account key that names its project)"
            )
        return str(project)

    @property
    def recognizer(self) -> str:
        return str(
            self.config.options.get("recognizer")
            or f"projects/{self.project}/locations/{self.location}/recognizers/_"
        )

    def root_url(self) -> str:
        if self.config.base_url:
            return base_url(self.config, DEFAULT_URL)
        if self.location != "global":
            return f"https://{self.location}-speech.googleapis.com"
        return DEFAULT_URL

    def check_config(self) -> None:
        self._cs = speech_types()
        enc = canonical_encoding(self.config.encoding)
        if enc not in _ENCODINGS:
            raise ConfigError(
                f"google: encoding {self.config.encoding!r} not supported; use linear16, mulaw or alaw"
            )
        _ = self.recognizer
        if self.config.options.get("access_token"):
            return
        key = self.config.api_key
        if key and not _is_service_account(key):
            return  # an API key
        if key and not key.lstrip().startswith("{") and not os.path.isfile(key):
            raise ProviderAuthError(
                f"google: credentials file {key!r} not found (GOOGLE_APPLICATION_CREDENTIALS)",
                provider="google",
            )
        if not google_auth_available():
            raise ProviderAuthError(
                "google: no credentials configured; set GOOGLE_APPLICATION_CREDENTIALS "
                "(service-account JSON), pass api_key (an API key) or options.access_token "
                "(ADC needs 'waav[google]')",
                provider="google",
            )
        self._tokens = _TokenSource(key)

    async def metadata(self) -> list[tuple[str, str]]:
        md = [("x-goog-request-params", f"recognizer={self.recognizer}")]
        token = self.config.options.get("access_token")
        if token:
            return [*md, ("authorization", f"Bearer {token}")]
        if self._tokens is not None:
            return [*md, ("authorization", f"Bearer {await self._tokens.token()}")]
        return [*md, ("x-goog-api-key", self.config.api_key)]

    # --- protocol ----------------------------------------------------------------------
    def open_call(self, channel: Any, metadata: list[tuple[str, str]]) -> Any:
        cs = self._cs
        method = channel.stream_stream(
            METHOD,
            request_serializer=cs.StreamingRecognizeRequest.serialize,
            response_deserializer=cs.StreamingRecognizeResponse.deserialize,
        )
        return method(metadata=metadata)

    def first_requests(self) -> list[Any]:
        cs = self._cs
        cfg = self.config
        opts = cfg.options
        decoding = cs.ExplicitDecodingConfig(
            encoding=getattr(
                cs.ExplicitDecodingConfig.AudioEncoding, _ENCODINGS[canonical_encoding(cfg.encoding)]
            ),
            sample_rate_hertz=cfg.sample_rate,
            audio_channel_count=cfg.channels,
        )
        languages = opts.get("language_codes") or [cfg.language]
        features = cs.RecognitionFeatures(
            enable_automatic_punctuation=cfg.punctuation,
            enable_word_time_offsets=bool(opts.get("word_time_offsets", True)),
            enable_word_confidence=bool(opts.get("word_confidence", True)),
            profanity_filter=bool(opts.get("profanity_filter", False)),
        )
        streaming = cs.StreamingRecognitionConfig(
            config=cs.RecognitionConfig(
                explicit_decoding_config=decoding,
                model=self.model,
                language_codes=list(languages),
                features=features,
            ),
            streaming_features=cs.StreamingRecognitionFeatures(
                interim_results=bool(opts.get("interim_results", True)),
                enable_voice_activity_events=bool(opts.get("voice_activity_events", True)),
            ),
        )
        return [cs.StreamingRecognizeRequest(recognizer=self.recognizer, streaming_config=streaming)]

    def audio_request(self, chunk: bytes) -> Any:
        return self._cs.StreamingRecognizeRequest(audio=chunk)

    def keepalive_chunk(self) -> bytes | None:
        enc = canonical_encoding(self.config.encoding)
        silence = {"linear16": b"\x00\x00", "mulaw": b"\xff", "alaw": b"\xd5"}[enc]
        return silence * (self.config.sample_rate * self.config.channels // 10)

    def is_expected_end(self, code_name: str, details: str) -> bool:
        low = details.lower()
        return code_name == "OUT_OF_RANGE" and ("stream duration" in low or "audio timeout" in low)

    async def handle_response(self, response: Any) -> None:
        cs = self._cs
        events = cs.StreamingRecognizeResponse.SpeechEventType
        event = response.speech_event_type
        if event == events.SPEECH_ACTIVITY_BEGIN:
            self._speech_ended = False
        elif event == events.SPEECH_ACTIVITY_END:
            if self._open_final:
                self._open_final = False
                await self._emit_result(STTResult("", is_final=True, is_speech_final=True, confidence=1.0))
            else:
                self._speech_ended = True
        vad_events = bool(self.config.options.get("voice_activity_events", True))
        for res in response.results:
            if not res.alternatives:
                continue
            alt = res.alternatives[0]
            text = alt.transcript
            final = bool(res.is_final)
            if not text and not final:
                continue
            words = tuple(_word(w) for w in alt.words) or None
            # with voice activity events, SPEECH_ACTIVITY_END marks the end of speech
            speech_final = final and (not vad_events or self._speech_ended)
            if final and vad_events:
                self._open_final = bool(text) and not speech_final
                self._speech_ended = False
            await self._emit_result(
                STTResult(
                    text,
                    is_final=final,
                    is_speech_final=speech_final,
                    confidence=float(alt.confidence) if final else float(res.stability),
                    words=words,
                    language=res.language_code or None,
                    speaker=words[0].speaker if words else None,
                )
            )


def _word(w: Any) -> WordTiming:
    return WordTiming(
        str(w.word),
        round(w.start_offset.total_seconds(), 3),
        round(w.end_offset.total_seconds(), 3),
        float(w.confidence) if w.confidence else None,
        str(w.speaker_label) if w.speaker_label else None,
    )


#: Registered through the ``waav.plugins`` entry point ``stt-google`` (catalog id ``google``).
PLUGIN = PluginConstructor.stt("google", None, GoogleSTT)
