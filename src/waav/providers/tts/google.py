"""Google Cloud Text-to-Speech v1: ``POST /v1/text:synthesize``, decoded while it streams.

Request: JSON ``{input: {text | ssml}, voice: {languageCode, name?}, audioConfig:
{audioEncoding, sampleRateHertz, speakingRate?, pitch?, volumeGainDb?}}``. Google answers
``{"audioContent": "<base64>"}``; waav does not wait for the whole JSON document: the
base64 string is decoded as the body arrives, so audio reaches the client from the first
network chunk. ``LINEAR16``, ``MULAW`` and ``ALAW`` audio comes with a WAV header, which is
parsed (its format and rate win) and stripped. Google synthesises at any
``sampleRateHertz``, so the client's rate is requested directly; µ-law/A-law clients get
``MULAW``/``ALAW`` untouched, mp3/opus clients ``MP3``/``OGG_OPUS``.

Credentials, in order:

* ``options["access_token"]``: an OAuth2 bearer token you obtained yourself;
* ``api_key`` holding an API key: sent as ``X-Goog-Api-Key``;
* ``api_key`` holding a service-account JSON document or the path to one (what
  ``GOOGLE_APPLICATION_CREDENTIALS`` names), or no key at all (Application Default
  Credentials): an OAuth2 token minted with ``google-auth`` — ``pip install "waav[google]"``.

Emotion: Google's v1 REST API has no emotion or style control; the emotion fields are
ignored (``speakingRate`` comes from ``speaking_rate``, ``pitch``/``volume_gain_db`` from
options). Voices: ``GET /v1/voices``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib.util
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from waav._exceptions import ConfigError, ProviderAuthError, ProviderProtocolError
from waav.plugin import PluginConstructor
from waav.providers._common import base_url, raise_for_response
from waav.providers.base import TTSConfig, Voice
from waav.providers.tts._http import StreamingHTTPTTS
from waav.providers.tts._util import configured_voice, fetch_json, requested_format

__all__ = ["DEFAULT_BASE_URL", "PLUGIN", "AudioContentDecoder", "GoogleTTS", "iter_audio_content"]

DEFAULT_BASE_URL = "https://texttospeech.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_ENCODINGS = {
    "linear16": "LINEAR16",
    "float32": "LINEAR16",
    "wav": "LINEAR16",
    "mulaw": "MULAW",
    "alaw": "ALAW",
    "mp3": "MP3",
    "opus": "OGG_OPUS",
    "ogg": "OGG_OPUS",
}
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class AudioContentDecoder:
    """Incrementally decode the ``audioContent`` base64 string of a streamed JSON body."""

    _KEY = b'"audioContent"'

    def __init__(self) -> None:
        self._state = "seek"  # seek → value → done
        self._buf = b""
        self._b64 = b""

    def feed(self, chunk: bytes) -> bytes:
        """Consume a body chunk; return the audio bytes it completes (may be empty)."""
        if self._state == "done":
            return b""
        self._buf += chunk
        if self._state == "seek":
            at = self._buf.find(self._KEY)
            if at < 0:
                if len(self._buf) > 1 << 20:
                    raise ProviderProtocolError("no audioContent in the first MiB of the response")
                return b""
            rest = self._buf[at + len(self._KEY) :].lstrip()
            if not rest.startswith(b":"):
                return b"" if not rest else self._fail()
            rest = rest[1:].lstrip()
            if not rest:
                return b""
            if not rest.startswith(b'"'):
                return self._fail()
            self._buf, self._state = rest[1:], "value"
        end = self._buf.find(b'"')
        data = self._buf if end < 0 else self._buf[:end]
        self._buf = b"" if end < 0 else self._buf[end + 1 :]
        if end >= 0:
            self._state = "done"
        self._b64 += data.replace(b"\\/", b"/").replace(b"\\n", b"").replace(b"\n", b"")
        cut = len(self._b64) if self._state == "done" else len(self._b64) - len(self._b64) % 4
        ready, self._b64 = self._b64[:cut], self._b64[cut:]
        if not ready:
            return b""
        if not set(ready) <= _B64:
            raise ProviderProtocolError("audioContent is not base64")
        try:
            return base64.b64decode(ready)
        except binascii.Error as exc:
            raise ProviderProtocolError(f"bad base64 in audioContent: {exc}") from exc

    def finish(self) -> None:
        """End of body: raise if no complete ``audioContent`` string was seen."""
        if self._state != "done":
            self._fail()

    def _fail(self) -> bytes:
        raise ProviderProtocolError("response has no audioContent string")


async def iter_audio_content(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The audio of a streamed ``{"audioContent": "<base64>"}`` body, decoded as it arrives."""
    decoder = AudioContentDecoder()
    async for chunk in resp.aiter_bytes():
        audio = decoder.feed(chunk)
        if audio:
            yield audio
    decoder.finish()


class _TokenSource:
    """OAuth2 access tokens from a service account or ADC, via the ``google-auth`` extra."""

    def __init__(self, credential: str) -> None:
        self.credential = credential
        self._creds: Any = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            creds = self._creds
            if (
                creds is None
                or not creds.valid
                or (creds.expiry and creds.expiry.timestamp() - time.time() < 60)
            ):
                self._creds = creds = await asyncio.to_thread(self._refresh)
            return str(creds.token)

    def _refresh(self) -> Any:
        try:
            import google.auth
            import google.auth.transport.requests
            from google.oauth2 import service_account
        except ImportError as exc:
            raise ConfigError(
                'google: service-account / ADC credentials need google-auth: pip install "waav[google]" '
                "(or pass an API key as api_key, or options.access_token)"
            ) from exc
        cred = self.credential
        if cred.lstrip().startswith("{"):
            creds = service_account.Credentials.from_service_account_info(json.loads(cred), scopes=[SCOPE])
        elif cred:
            creds = service_account.Credentials.from_service_account_file(cred, scopes=[SCOPE])
        else:
            creds, _ = google.auth.default(scopes=[SCOPE])
        creds.refresh(google.auth.transport.requests.Request())
        return creds


def google_auth_available() -> bool:
    """Whether the ``google-auth`` package (the ``waav[google]`` extra) is installed."""
    try:
        return importlib.util.find_spec("google.auth") is not None
    except ModuleNotFoundError:  # no "google" namespace at all
        return False


def _is_service_account(value: str) -> bool:
    v = value.strip()
    return v.startswith("{") or v.endswith(".json") or os.sep in v or os.path.isfile(v)


class GoogleTTS(StreamingHTTPTTS):
    """Google Cloud Text-to-Speech over REST v1 ``text:synthesize``."""

    provider_id = "google"

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._tokens: _TokenSource | None = None

    def check_config(self) -> None:
        if self.config.options.get("access_token"):
            return
        key = self.config.api_key
        if key and not _is_service_account(key):
            return
        if key and not key.lstrip().startswith("{") and not os.path.isfile(key):
            raise ProviderAuthError(
                f"google: credentials file {key!r} not found (GOOGLE_APPLICATION_CREDENTIALS)",
                provider="google",
            )
        if not google_auth_available():
            hint = (
                "set GOOGLE_APPLICATION_CREDENTIALS (service-account JSON) or pass api_key (an API key) "
                "or options.access_token"
            )
            if key:
                raise ConfigError(
                    'google: service-account credentials need google-auth: pip install "waav[google]" '
                    "(or pass an API key as api_key, or options.access_token)"
                )
            raise ProviderAuthError(
                f"google: no credentials configured; {hint} "
                '(Application Default Credentials need "waav[google]")',
                provider="google",
            )
        self._tokens = _TokenSource(key)

    async def auth_headers(self) -> dict[str, str]:
        """The auth header for the configured credential kind."""
        token = self.config.options.get("access_token")
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._tokens is None:
            self.check_config()
        if self._tokens is not None:
            return {"Authorization": f"Bearer {await self._tokens.token()}"}
        return {"X-Goog-Api-Key": self.config.api_key}

    @property
    def voice_name(self) -> str | None:
        return configured_voice(self.config)

    @property
    def language(self) -> str:
        lang = self.config.options.get("language")
        if lang:
            return str(lang)
        name = self.voice_name
        if name and name.count("-") >= 2:
            return "-".join(name.split("-")[:2])
        return "en-US"

    def vendor_format(self) -> tuple[str, int]:
        encoding, rate = requested_format(self.config)
        google = _ENCODINGS.get(encoding, "LINEAR16")
        if google in ("LINEAR16", "MULAW", "ALAW"):
            return "wav", rate  # the WAV header names the exact format; it is stripped
        return encoding, rate

    def body(self, text: str) -> dict[str, Any]:
        """The JSON request body for ``text``."""
        encoding, rate = requested_format(self.config)
        google = _ENCODINGS.get(encoding, "LINEAR16")
        voice: dict[str, Any] = {"languageCode": self.language}
        if self.voice_name:
            voice["name"] = self.voice_name
        audio: dict[str, Any] = {"audioEncoding": google}
        if google not in ("MP3", "OGG_OPUS"):
            audio["sampleRateHertz"] = rate
        if self.config.speaking_rate != 1.0:
            audio["speakingRate"] = min(4.0, max(0.25, self.config.speaking_rate))
        for opt, field in (("pitch", "pitch"), ("volume_gain_db", "volumeGainDb")):
            if opt in self.config.options:
                audio[field] = float(self.config.options[opt])
        kind = "ssml" if text.lstrip().startswith("<speak") else "text"
        return {"input": {kind: text}, "voice": voice, "audioConfig": audio}

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/text:synthesize"
        headers = await self.auth_headers()
        async with client.stream("POST", url, json=self.body(text), headers=headers) as resp:
            await raise_for_response(resp, self.provider_id)
            async for audio in iter_audio_content(resp):
                yield audio

    async def list_voices(self) -> list[Voice]:
        """Google's voices (``GET /v1/voices``, optionally ``options["language"]``-filtered)."""
        params = (
            {"languageCode": str(self.config.options["language"])}
            if "language" in self.config.options
            else None
        )
        url = base_url(self.config, DEFAULT_BASE_URL) + "/v1/voices"
        data = await fetch_json(
            self.config, self.provider_id, url, headers=await self.auth_headers(), params=params
        )
        voices = []
        for v in data.get("voices", []):
            langs = v.get("languageCodes") or []
            gender = str(v.get("ssmlGender") or "").lower()
            voices.append(
                Voice(
                    id=str(v["name"]),
                    name=str(v["name"]),
                    language=langs[0] if langs else None,
                    gender=gender if gender in ("male", "female", "neutral") else None,
                )
            )
        return voices


def _create(config: TTSConfig) -> GoogleTTS:
    return GoogleTTS(config)


#: Registered through the ``waav.plugins`` entry point ``tts-google``.
PLUGIN = PluginConstructor.tts("google", None, _create)
