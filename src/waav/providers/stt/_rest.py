"""Base class for speech-to-text vendors that only transcribe whole files over REST.

OpenAI and Groq (its OpenAI-compatible API) take one audio file per ``POST`` and answer with
its transcript. A live session therefore has to decide *when* a piece of audio is complete;
what is shared lives here:

**Cutting utterances.** By default (``options["flush"] = "vad"``) the audio runs through the
native :class:`waav.audio.VadSegmenter` (classifier ``options["vad_classifier"]``:
``"webrtc"`` (default) or ``"energy"``; ``vad_mode`` 0–3, ``silence_ms`` of non-speech that
ends an utterance (default 500), ``min_speech_ms`` (100), ``pre_roll_ms`` (300)). Each
utterance is sent the moment the VAD sees it end, so a session gets its transcript a
``silence_ms`` after the speaker stopped, not at disconnect. An utterance longer than
``max_utterance_seconds`` (default 30) is cut there. ``flush = "disconnect"`` buffers
everything and sends it on :meth:`finalize`/:meth:`disconnect` (the upstream default), cut
into ``max_utterance_seconds`` pieces so no upload exceeds the vendor's file limit.

**Uploads** are WAV files (:func:`waav.audio.wav.wav_bytes`, PCM16 mono; µ-law/A-law input is
decoded, stereo is down-mixed), sent one at a time in order by a worker task, so results
arrive in speech order. Utterances waiting for the worker are bounded by
``options["max_buffer_seconds"]`` (default 60 s of audio): on overflow the *oldest* waiting
utterance is dropped, counted in :attr:`dropped_audio_bytes` and reported once through
``on_error``.

**Results.** Each upload gives one :class:`~waav.providers.base.STTResult` with
``is_final = is_speech_final = True`` (the vendor has no interim results); empty transcripts
(noise) are not emitted. Word timings from the vendor are shifted by the utterance's start, so
``WordTiming.start``/``end`` count from the start of the session's audio.

**Errors.** 401/403 are fatal (reported through ``on_error``; later :meth:`send_audio` calls
raise it). A 429 (honouring ``Retry-After``), a timeout, a 5xx or a dropped connection is retried
with the session's reconnect backoff (``options["reconnect"]``); when retries are spent the
utterance's error is reported and the session carries on with the next one. Other 4xx
(bad request) are reported and the utterance skipped. Nothing is sent on :meth:`connect`
(REST has no session to open), so a bad key surfaces with the first utterance.

**Finishing.** :meth:`disconnect` sends what is still buffered and waits up to
``options["finish_timeout"]`` (default 15 s) for the outstanding uploads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from waav._exceptions import (
    ConfigError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from waav.audio import VadSegmenter, _vad_py, alaw_decode, stereo_to_mono, ulaw_decode
from waav.audio.wav import wav_bytes
from waav.providers._audio import canonical_encoding
from waav.providers._common import backoff_delays, base_url, error_for_status, require_credential
from waav.providers._stream import AudioBacklog, http_url, join_path, keep_whole, option_float
from waav.providers.base import ConnectionState, STTConfig, STTResult, WordTiming
from waav.providers.stt._stream import SessionSTT

__all__ = ["BufferedRestSTT", "Utterance"]

log = logging.getLogger("waav.providers.stt")

FLUSH_MODES = ("vad", "disconnect")
VAD_CLASSIFIERS = ("webrtc", "energy")


@dataclass(frozen=True)
class Utterance:
    """One piece of session audio to transcribe: mono PCM16 starting at ``start`` seconds."""

    pcm16: bytes
    start: float


def _utterance_bytes(utt: Utterance) -> int:
    return len(utt.pcm16)


class BufferedRestSTT(SessionSTT):
    """A live STT session over a file-transcription REST API (see the module docstring)."""

    #: Vendor API root (``base_url`` / ``WAAV_<ID>_BASE_URL`` replace it).
    default_url = ""
    #: The API's version prefix (``/v1``); a ``base_url`` may or may not include it.
    api_prefix = ""
    #: The endpoint under the prefix.
    endpoint = "/audio/transcriptions"

    def __init__(self, config: STTConfig) -> None:
        # utterances waiting for an upload; the newest always stays (an upload is one piece)
        super().__init__(config, AudioBacklog(_utterance_bytes, keep_whole))
        self._client: httpx.AsyncClient | None = None
        self._segmenter: _vad_py.VadSegmenter | None = None  # native or twin: same interface
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._busy = False
        self._carry = b""  # odd trailing byte / partial frame of the last chunk
        self._raw = bytearray()  # flush="disconnect": audio since the last upload
        self._raw_start = 0.0
        self._time_base = 0.0  # stream seconds before the current segmenter's time 0
        self._seg_samples = 0  # samples fed to the current segmenter
        #: Upload requests made (retries included).
        self.requests_made = 0

    # ------------------------------------------------------------------------------------
    # what a vendor adapter implements
    # ------------------------------------------------------------------------------------
    @abstractmethod
    def form_fields(self) -> dict[str, Any]:
        """The multipart form fields besides ``file`` (model, language, response_format, …)."""

    @abstractmethod
    def parse_response(self, body: Any, utterance: Utterance) -> STTResult | None:
        """Turn the vendor's JSON answer into a result (None: nothing was said)."""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"}

    def check_config(self) -> None:
        """Validate config and credentials (raise a waav error naming the missing env var)."""
        require_credential(self.config, self.provider_id, self.kind)

    # ------------------------------------------------------------------------------------
    # options
    # ------------------------------------------------------------------------------------
    def _opt_float(self, name: str, default: float) -> float:
        out = option_float(self.config.options, name, default, self.provider_id, nullable=False, finite=True)
        assert out is not None  # not nullable
        return out

    def _opt_choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.config.options.get(name, default)
        if value not in choices:
            raise ConfigError(f"{self.provider_id}: option {name} must be one of {choices}, got {value!r}")
        return str(value)

    @property
    def url(self) -> str:
        """The endpoint: ``base_url`` may be the host, the API root (with its version prefix)
        or the full endpoint URL."""
        root = http_url(base_url(self.config, self.default_url))
        if root.endswith(self.endpoint):
            return root
        if self.api_prefix and root.endswith(self.api_prefix):
            return root + self.endpoint
        return join_path(root, self.api_prefix + self.endpoint)

    @property
    def flush_mode(self) -> str:
        return self._opt_choice("flush", "vad", FLUSH_MODES)

    @property
    def finish_timeout(self) -> float:
        return self._opt_float("finish_timeout", 15.0)

    @property
    def max_utterance_seconds(self) -> float:
        return max(1.0, self._opt_float("max_utterance_seconds", 30.0))

    @property
    def max_buffer_bytes(self) -> int:
        return int(self._opt_float("max_buffer_seconds", 60.0) * self.config.sample_rate * 2)

    @property
    def buffered_bytes(self) -> int:
        """PCM16 waiting for an upload (queued utterances and, with ``flush="disconnect"``, the
        audio not yet cut)."""
        return self._backlog.nbytes + len(self._raw)

    def _encoding(self) -> str:
        enc = canonical_encoding(self.config.encoding)
        if enc not in ("linear16", "mulaw", "alaw"):
            raise ConfigError(
                f"{self.provider_id}: encoding {self.config.encoding!r} is not supported; "
                "send linear16, mulaw or alaw"
            )
        return enc

    def _make_segmenter(self) -> _vad_py.VadSegmenter:
        opts = self.config.options
        classifier = self._opt_choice("vad_classifier", "webrtc", VAD_CLASSIFIERS)
        mode = opts.get("vad_mode", 2)
        if mode not in (0, 1, 2, 3):
            raise ConfigError(f"{self.provider_id}: option vad_mode must be 0-3, got {mode!r}")
        return VadSegmenter(
            self.config.sample_rate,
            frame_ms=20,
            classifier=classifier,
            mode=int(mode),
            pre_roll_ms=self._opt_float("pre_roll_ms", 300.0),
            hangover_ms=self._opt_float("silence_ms", 500.0),
            min_speech_ms=self._opt_float("min_speech_ms", 100.0),
            max_utterance_s=self.max_utterance_seconds,
        )

    # ------------------------------------------------------------------------------------
    # BaseSTT
    # ------------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self.state in (ConnectionState.CONNECTED, ConnectionState.PROCESSING):
            return
        self.check_config()
        if self.config.channels not in (1, 2):
            raise ConfigError(f"{self.provider_id}: channels must be 1 or 2, got {self.config.channels}")
        self._encoding()
        _ = self.reconnection, self.finish_timeout, self.max_buffer_bytes, self.form_fields()
        self._segmenter = self._make_segmenter() if self.flush_mode == "vad" else None
        self._closing = False
        self._fatal = None
        self._carry, self._raw = b"", bytearray()
        self._time_base = self._raw_start = 0.0
        self._seg_samples = 0
        timeout = self._opt_float("request_timeout", 30.0) or 30.0
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))
        self._worker = asyncio.create_task(self._work(), name=f"stt-{self.provider_id}")
        self.state = ConnectionState.CONNECTED

    async def send_audio(self, audio: bytes) -> None:
        self._check_usable()
        if not audio:
            return
        self.stats.total_audio_bytes += len(audio)
        pcm = self._to_mono16(bytes(audio))
        if pcm:
            self._feed(pcm)

    async def finalize(self) -> None:
        """Send the audio heard so far now (an open utterance is cut here)."""
        if self._client is None or self._closing:
            return
        self._cut()

    async def disconnect(self) -> None:
        """Send what is buffered, wait (bounded) for the outstanding transcripts, close."""
        if self._client is None:
            self.state = ConnectionState.DISCONNECTED
            return
        if self._fatal is None:
            self._cut()
        self._closing = True
        self._wake.set()
        worker, self._worker = self._worker, None
        if worker is not None:
            done, _ = await asyncio.wait({worker}, timeout=self.finish_timeout)
            if not done:
                log.warning(
                    "%s: transcripts still pending after %g s; giving up",
                    self.provider_id,
                    self.finish_timeout,
                )
                worker.cancel()
                with contextlib.suppress(BaseException):
                    await worker
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        self._raw.clear()
        self._segmenter = None
        self._ended()

    # ------------------------------------------------------------------------------------
    # audio → utterances
    # ------------------------------------------------------------------------------------
    def _to_mono16(self, data: bytes) -> bytes:
        enc = self._encoding()
        if enc == "mulaw":
            pcm = ulaw_decode(data)
        elif enc == "alaw":
            pcm = alaw_decode(data)
        else:
            pcm = data
        frame = 2 * self.config.channels
        pcm = self._carry + pcm
        whole = len(pcm) - len(pcm) % frame
        self._carry = pcm[whole:]  # a chunk may end mid-sample: keep the rest for the next one
        pcm = pcm[:whole]
        if self.config.channels == 2 and pcm:
            pcm = stereo_to_mono(pcm)
        return pcm

    def _feed(self, pcm: bytes) -> None:
        rate = self.config.sample_rate
        if self._segmenter is None:
            self._raw += pcm
            limit = int(self.max_utterance_seconds * rate) * 2
            while len(self._raw) >= limit:
                piece = bytes(self._raw[:limit])
                del self._raw[:limit]
                self._enqueue(Utterance(piece, self._raw_start))
                self._raw_start += limit / 2 / rate
            return
        self._seg_samples += len(pcm) // 2
        for event in self._segmenter.process(pcm):
            if event.kind == "end" and event.audio:
                self._enqueue(Utterance(event.audio, self._time_base + float(event.start or 0.0)))

    def _cut(self) -> None:
        """End the current utterance now (finalize / disconnect)."""
        rate = self.config.sample_rate
        if self._segmenter is None:
            if self._raw:
                self._enqueue(Utterance(bytes(self._raw), self._raw_start))
                self._raw_start += len(self._raw) / 2 / rate
                self._raw.clear()
            return
        for event in self._segmenter.flush():
            if event.kind == "end" and event.audio:
                self._enqueue(Utterance(event.audio, self._time_base + float(event.start or 0.0)))
        # a flushed segmenter is done; the next audio starts a new one at the current time
        self._time_base += self._seg_samples / rate
        self._seg_samples = 0
        self._segmenter.reset()

    def _enqueue(self, utt: Utterance) -> None:
        dropped = self._backlog.push(utt, self.max_buffer_bytes)
        self._report_overflow(
            dropped,
            "transcription requests fall behind the audio (max_buffer_seconds bound); "
            f"dropped {dropped} bytes of the oldest audio",
        )
        self._wake.set()

    # ------------------------------------------------------------------------------------
    # uploads
    # ------------------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            if not self._backlog:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            utt: Utterance = self._backlog.popleft()
            if not self._backlog:
                self._backlog.rearm()
            self.state = ConnectionState.PROCESSING
            try:
                await self._transcribe(utt)
            except ProviderAuthError as exc:
                await self._give_up(exc)
                return
            except ProviderError as exc:
                await self._emit_error(exc)
            except Exception:  # a failing result callback must not end the session
                log.exception("%s: error while delivering a transcript", self.provider_id)
            if self.state is ConnectionState.PROCESSING:
                self.state = ConnectionState.CONNECTED

    async def _transcribe(self, utt: Utterance) -> None:
        body = await self._post(utt)
        result = self.parse_response(body, utt)
        if result is not None:
            await self._emit_result(result)

    async def _post(self, utt: Utterance) -> Any:
        """Upload one utterance, retrying transient failures with the reconnect backoff."""
        client = self._client
        assert client is not None
        wav = wav_bytes(utt.pcm16, self.config.sample_rate, 1)
        delays = backoff_delays(self.reconnection)
        pid = self.provider_id
        while True:
            self.requests_made += 1
            try:
                resp = await client.post(
                    self.url,
                    headers=self.headers(),
                    data=self.form_fields(),
                    files={"file": ("audio.wav", wav, "audio/wav")},
                )
                if resp.is_success:
                    try:
                        return resp.json()
                    except ValueError:
                        raise ProviderProtocolError(
                            f"{pid}: response is not JSON: {resp.text[:200]!r}", provider=pid
                        ) from None
                error = error_for_status(resp.status_code, resp.content, resp.headers, pid)
                if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                    raise error  # auth or a bad request: retrying sends the same thing again
            except httpx.TimeoutException as exc:
                error = ProviderTimeoutError(f"{pid}: request timed out: {exc!r}", provider=pid)
            except httpx.TransportError as exc:
                error = ProviderConnectionError(f"{pid}: {type(exc).__name__}: {exc}", provider=pid)
            delay = next(delays, None)
            if delay is None:
                raise error
            retry_after = getattr(error, "retry_after", None) or 0.0
            log.warning(
                "%s: transcription failed (%s); retrying in %.2f s", pid, error, max(delay, retry_after)
            )
            await asyncio.sleep(max(delay, retry_after))

    # ------------------------------------------------------------------------------------
    # helpers for adapters
    # ------------------------------------------------------------------------------------
    @staticmethod
    def iso639_1(language: str | None) -> str | None:
        """``en-US`` → ``en`` (Whisper takes ISO-639-1); empty / ``auto`` / ``multi`` → None."""
        if not language:
            return None
        code = language.replace("_", "-").split("-")[0].strip().lower()
        return None if code in ("", "auto", "multi") else code

    @staticmethod
    def shift_words(items: Any, offset: float) -> tuple[WordTiming, ...] | None:
        """Vendor ``words`` ``[{word, start, end}]`` as word timings from the stream start."""
        if not isinstance(items, list) or not items:
            return None
        out = [
            WordTiming(
                str(w["word"]).strip(),
                round(float(w["start"]) + offset, 3),
                round(float(w["end"]) + offset, 3),
            )
            for w in items
            if isinstance(w, Mapping) and "word" in w
        ]
        return tuple(out) if out else None
