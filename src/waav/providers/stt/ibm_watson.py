"""IBM Watson Speech to Text over its ``/v1/recognize`` WebSocket, with IAM tokens.

Protocol (IBM Cloud docs: "The WebSocket interface", "Understanding speech recognition
results", "Audio transmission and timeouts", IAM "Generating an access token with an API key"):

* Before each connection the API key is exchanged for an IAM access token:
  ``POST https://iam.cloud.ibm.com/identity/token`` (form ``grant_type=
  urn:ibm:params:oauth:grant-type:apikey``, ``apikey``) → ``{access_token, expires_in,
  expiration}``. Tokens are cached until a minute before they expire.
* ``wss://api.{region}.speech-to-text.watson.cloud.ibm.com/instances/{instance_id}/v1/recognize
  ?access_token=…&model=…`` (region default ``us-south``). **The instance id is part of the
  path**; the upstream left it out unless set by hand (its connect failed through the registry
  path). Here it comes from ``options["instance_id"]`` or ``IBM_WATSON_INSTANCE_ID`` and a missing
  one is a clear error naming that variable.
* The client sends a text ``{"action": "start", "content-type": "audio/l16;rate=16000;channels=1",
  "interim_results": true, "timestamps": true, "word_confidence": true,
  "inactivity_timeout": -1, "split_transcript_at_phrase_end": true, …}``; the service answers
  ``{"state": "listening"}`` and only then takes binary audio. ``{"action": "stop"}`` ends the
  request: the service sends the last results and ``{"state": "listening"}`` again.
* Results: ``{"result_index", "results": [{"final", "alternatives": [{"transcript",
  "confidence", "timestamps": [[word, start, end]…], "word_confidence": [[word, c]…]}],
  "end_of_utterance"?}]}``; errors ``{"error": "…"}`` (then the service closes).

Mapping: ``final`` → ``is_final``; speech-final when the phrase ended at a pause or the end of
data (``end_of_utterance`` of ``silence``/``full_stop``/``end_of_data``; with
``split_transcript_at_phrase_end`` off every final counts). Word times and confidences come
from ``timestamps``/``word_confidence``. The service ends a session after 30 s without audio:
while idle, 100 ms of silence is sent every 15 s (``inactivity_timeout: -1`` keeps that silence
from ending it).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from waav._exceptions import ConfigError, ProviderAuthError, ProviderError
from waav.plugin import PluginConstructor
from waav.providers._audio import canonical_encoding
from waav.providers._common import base_url, error_for_status, error_from_exception, require_credential
from waav.providers.base import STTConfig, STTResult, WordTiming
from waav.providers.stt._ws import Frame, StreamingWebSocketSTT, http_url, join_path

__all__ = ["DEFAULT_IAM_URL", "PLUGIN", "IBMWatsonSTT"]

DEFAULT_URL = "wss://api.{region}.speech-to-text.watson.cloud.ibm.com"
DEFAULT_IAM_URL = "https://iam.cloud.ibm.com/identity/token"
_CONTENT_TYPES = {"linear16": "audio/l16", "mulaw": "audio/mulaw", "alaw": "audio/alaw"}
_SILENCE = {"linear16": b"\x00", "mulaw": b"\xff", "alaw": b"\xd5"}
SPEECH_FINAL = ("silence", "full_stop", "end_of_data")
#: ``start`` message parameters taken from ``options`` when set.
START_OPTIONS = (
    "inactivity_timeout",
    "smart_formatting",
    "speaker_labels",
    "profanity_filter",
    "end_of_phrase_silence_time",
    "split_transcript_at_phrase_end",
    "background_audio_suppression",
    "speech_detector_sensitivity",
    "low_latency",
    "max_alternatives",
    "keywords",
    "keywords_threshold",
)
QUERY_OPTIONS = ("language_customization_id", "acoustic_customization_id", "base_model_version")


class IBMWatsonSTT(StreamingWebSocketSTT):
    """IBM Watson Speech to Text (WebSocket recognize with IAM authentication)."""

    provider_id = "ibm-watson"
    wait_for_ready = True
    default_keepalive_interval = 15.0

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._token: str | None = None
        self._token_expires = 0.0
        self._expected_close = False

    # --- configuration -----------------------------------------------------------------
    def check_config(self) -> None:
        require_credential(self.config, self.provider_id, self.kind)
        require_credential(self.config, self.provider_id, self.kind, option="instance_id")
        self._content_type()

    def _encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in _CONTENT_TYPES:
            raise ConfigError(
                f"ibm-watson: encoding {self.config.encoding!r} not supported; use linear16 or mulaw"
            )
        return enc

    def _content_type(self) -> str:
        cfg = self.config
        return f"{_CONTENT_TYPES[self._encoding()]};rate={cfg.sample_rate};channels={cfg.channels}"

    @property
    def model(self) -> str:
        """The IBM model: ``config.model`` when it is an IBM name, else a next-generation model
        for the language (``…_Telephony`` at 8 kHz, ``…_Multimedia`` otherwise)."""
        model = str(self.config.options.get("model") or self.config.model)
        if "_" in model:
            return model
        kind = "Telephony" if self.config.sample_rate <= 8000 else "Multimedia"
        return f"{self.config.language}_{kind}"

    @property
    def region(self) -> str:
        return str(self.config.options.get("region") or "us-south")

    @property
    def iam_url(self) -> str:
        """IAM token endpoint: ``options["iam_url"]``, else ``base_url`` + ``/identity/token``
        when ``base_url`` is set (one fake or proxy serves both), else IBM's."""
        explicit = self.config.options.get("iam_url")
        if explicit:
            return str(explicit)
        if self.config.base_url:
            return http_url(base_url(self.config, "")) + "/identity/token"
        return DEFAULT_IAM_URL

    # --- connection ----------------------------------------------------------------------
    async def prepare(self) -> None:
        if self._token is not None and time.time() < self._token_expires - 60:
            return
        data = {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": self.config.api_key}
        try:
            async with httpx.AsyncClient(timeout=self.connect_timeout) as client:
                resp = await client.post(self.iam_url, data=data, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise error_from_exception(exc, self.provider_id) from None
        if resp.status_code == 400:  # IAM answers an unknown API key with 400 (BXNIM0415E)
            raise ProviderAuthError(
                f"{self.provider_id}: IAM rejected the API key: {resp.text[:200]}", provider=self.provider_id
            )
        if not resp.is_success:
            raise error_for_status(resp.status_code, resp.content, resp.headers, self.provider_id)
        body = resp.json()
        self._token = str(body["access_token"])
        expires = body.get("expiration") or time.time() + float(body.get("expires_in") or 3600)
        self._token_expires = float(expires)

    def url(self) -> str:
        root = base_url(self.config, DEFAULT_URL).replace("{region}", self.region)
        instance = self.config.options["instance_id"]
        path = f"/instances/{instance}/v1/recognize"
        params: dict[str, Any] = {"access_token": self._token or "", "model": self.model}
        params.update({k: self.config.options[k] for k in QUERY_OPTIONS if k in self.config.options})
        params.update(dict(self.config.options.get("query") or {}))
        return join_path(root, path) + "?" + urlencode(params)

    def start_message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "action": "start",
            "content-type": self._content_type(),
            "interim_results": True,
            "timestamps": True,
            "word_confidence": True,
            "smart_formatting": self.config.punctuation,
            "inactivity_timeout": -1,
            "split_transcript_at_phrase_end": True,
        }
        msg.update({k: self.config.options[k] for k in START_OPTIONS if k in self.config.options})
        return msg

    async def on_open(self, ws: Any) -> None:
        await ws.send(json.dumps(self.start_message()))

    def keepalive_frame(self) -> Frame:
        return _SILENCE[self._encoding()] * (self.bytes_per_second // 10)

    def finish_frames(self) -> list[Frame]:
        return [json.dumps({"action": "stop"})]

    def is_expected_close(self, code: int | None, reason: str) -> bool:
        expected, self._expected_close = self._expected_close, False
        return expected or "timed out" in reason.lower() or "inactivity" in reason.lower()

    def close_error(self, code: int | None, reason: str) -> ProviderError | None:
        if code == 1008 and "auth" in reason.lower():
            return self._error(f"closed {code}: {reason}", 401)
        return super().close_error(code, reason)

    # --- results -----------------------------------------------------------------------
    async def handle_message(self, message: Frame) -> None:
        if isinstance(message, bytes):
            return
        msg = json.loads(message)
        if msg.get("state") == "listening":
            if self._ready.is_set() and self._closing:
                self._set_finished()  # the request ended after "stop"
            self._set_ready()
        elif "error" in msg:
            text = str(msg["error"])
            low = text.lower()
            if "timed out" in low or "inactivity" in low:
                self._expected_close = True  # session timeout: routine, reconnect for free
                return
            status = 401 if "unauthorized" in low or "authentic" in low else None
            await self._vendor_error(self._error(text, status))
        elif "results" in msg:
            for result in msg.get("results") or []:
                await self._on_result(result)

    async def _on_result(self, result: dict[str, Any]) -> None:
        alts = result.get("alternatives") or []
        if not alts:
            return
        alt = alts[0]
        text = str(alt.get("transcript") or "").strip()
        final = bool(result.get("final"))
        if not text:
            return
        eou = result.get("end_of_utterance")
        split = bool(self.start_message().get("split_transcript_at_phrase_end"))
        speech_final = final and (eou in SPEECH_FINAL if split else True)
        confs = {i: float(c[1]) for i, c in enumerate(alt.get("word_confidence") or [])}
        words = tuple(
            WordTiming(str(t[0]), float(t[1]), float(t[2]), confs.get(i))
            for i, t in enumerate(alt.get("timestamps") or [])
        )
        await self._emit_result(
            STTResult(
                text,
                is_final=final,
                is_speech_final=speech_final,
                confidence=float(alt.get("confidence") or 0.0),
                words=words or None,
            )
        )


#: Registered through the ``waav.plugins`` entry point ``stt-ibm-watson`` (aliases ``watson``, ``ibm``).
PLUGIN = PluginConstructor.stt("ibm-watson", None, IBMWatsonSTT)
