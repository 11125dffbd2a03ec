"""REST endpoints: ``/``, ``/health``, ``/voices``, ``/speak``, ``/plugins``, ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from waav import audio
from waav._exceptions import ConfigError, PluginNotFoundError, ProviderAuthError, ProviderError, WaavError
from waav.gateway._providers import bounded, create_provider, default_provider_for, describe_error
from waav.gateway._state import GatewayState
from waav.plugin._provider_base import AudioCallback, AudioData
from waav.plugin._provider_config import TTSConfig
from waav.providers._audio import canonical_encoding, content_type
from waav.providers.base import SupportsVoices

__all__ = ["health", "metrics", "plugins", "root", "speak", "voices"]

#: Upstream limits of ``POST /speak``.
MAX_SPEAK_TEXT = 10_240
SPEAK_TIMEOUT = 30.0
VOICES_TIMEOUT = 5.0
_TTS_FIELDS = {
    "provider",
    "model",
    "voice_id",
    "speaking_rate",
    "audio_format",
    "sample_rate",
    "connection_timeout",
    "request_timeout",
    "pronunciations",
    "api_key",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def root(state: GatewayState, request: Request) -> Response:
    return JSONResponse({"status": "OK"})


async def health(state: GatewayState, request: Request) -> Response:
    await state.startup()
    try:
        plugin_health = await asyncio.wait_for(state.registry.health(), 5.0)
    except asyncio.TimeoutError:
        plugin_health = {}
    providers: dict[str, list[str]] = {}
    states: dict[str, dict[str, str]] = {}
    for info in state.registry.plugins():
        if info.kind in ("stt", "tts", "realtime") and info.available:
            providers.setdefault(info.kind, []).append(info.id)
        if info.available:
            states[info.key] = {"state": info.state, "health": plugin_health.get(info.key, info.health)}
    sessions = {ep: int(state.metrics.get("waav_sessions_active", endpoint=ep)) for ep in ("ws", "realtime")}
    return JSONResponse(
        {
            "status": "draining" if state.draining else "OK",
            "uptime_seconds": round(time.time() - state.started_at, 3),
            "sessions": sessions,
            "providers": providers,
            "plugins": states,
        }
    )


async def plugins(state: GatewayState, request: Request) -> Response:
    kind = request.query_params.get("kind")
    try:
        infos = state.registry.plugins(kind)
    except ConfigError as exc:
        return _error(400, str(exc))
    return JSONResponse({"plugins": [i.to_dict() for i in infos], "count": len(infos)})


async def metrics(state: GatewayState, request: Request) -> Response:
    return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def voices(state: GatewayState, request: Request) -> Response:
    """Voices per TTS provider; providers without credentials (or failing) are skipped."""
    wanted = request.query_params.get("provider")
    reg = state.registry
    names = [i.id for i in reg.plugins("tts") if i.available]
    if wanted:
        key = reg.resolve("tts", wanted)
        names = [n for n in names if n == key]

    async def one(name: str) -> tuple[str, list[dict[str, Any]]] | None:
        try:
            tts = reg.create_tts(name, {})
            if not isinstance(tts, SupportsVoices):
                return None
            found = await bounded(tts.list_voices(), VOICES_TIMEOUT, "list_voices", name)
            return name, [v.to_dict() for v in found]
        except Exception:  # no key, vendor down: skipped, as upstream
            return None

    results = await asyncio.gather(*(one(n) for n in names))
    return JSONResponse({name: vs for r in results if r is not None for name, vs in [r]})


class _Collect(AudioCallback):
    def __init__(self) -> None:
        self.chunks: list[AudioData] = []
        self.error: ProviderError | None = None
        self.done = asyncio.Event()
        #: ``time.monotonic()`` of the provider's first audio (None: none yet).
        self.first_audio: float | None = None

    async def on_audio(self, a: AudioData) -> None:
        if self.first_audio is None:
            self.first_audio = time.monotonic()
        self.chunks.append(a)

    async def on_error(self, error: ProviderError) -> None:
        self.error = error
        self.done.set()

    async def on_complete(self) -> None:
        self.done.set()


def _speak_config(body: dict[str, Any], default_provider: Callable[[], str]) -> tuple[str, dict[str, Any]]:
    """(text, TTS config values) from the nested upstream body or the SDK's flat body."""
    text = body.get("text")
    if not isinstance(text, str):
        raise ConfigError("`text` is required and must be a string")
    nested = body.get("tts_config")
    if nested is not None:
        if not isinstance(nested, dict):
            raise ConfigError("`tts_config` must be an object")
        src = nested
    else:
        src = dict(body)
        if "voice_id" not in src and "voice" in src:
            src["voice_id"] = src["voice"]
    values = {k: v for k, v in src.items() if k in _TTS_FIELDS and v is not None}
    if "provider" not in values:
        values["provider"] = default_provider()
    values.setdefault("voice_id", None)
    if not isinstance(values["provider"], str):
        raise ConfigError("`provider` must be a string")
    return text, values


async def speak(state: GatewayState, request: Request) -> Response:
    """One-shot synthesis: raw audio with ``Content-Type``, ``x-audio-format``, ``x-sample-rate``."""
    await state.startup()
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        return _error(400, f"Invalid JSON body: {exc}")
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object")
    try:
        text, values = _speak_config(body, lambda: default_provider_for(state.config, state.registry, "tts"))
        if not text.strip():
            return _error(400, "Text cannot be empty")
        if len(text.encode("utf-8")) > MAX_SPEAK_TEXT:
            return _error(400, f"Text too long: at most {MAX_SPEAK_TEXT} bytes")
        cfg = TTSConfig(**values)
        fmt = canonical_encoding(cfg.audio_format)
    except PluginNotFoundError as exc:
        return _error(400, str(exc))
    except ConfigError as exc:
        return _error(400, f"Invalid TTS configuration: {exc}")
    except WaavError as exc:
        return _error(400, str(exc))
    name = cfg.provider
    try:
        tts = create_provider(state.registry, "tts", name, cfg)
    except PluginNotFoundError as exc:
        return _error(400, str(exc))
    except WaavError as exc:
        return _error(500, str(exc))
    sink = _Collect()
    tts.on_audio(sink)
    started = time.monotonic()  # time-to-first-audio counts the connect: the caller waits for it too
    try:
        timeout = min(SPEAK_TIMEOUT, state.config.gateway.provider_timeout_seconds)
        await bounded(tts.connect(), timeout, "connect", name)
        await bounded(tts.speak(text, True), timeout, "speak", name)
        try:
            await asyncio.wait_for(sink.done.wait(), timeout)
        except asyncio.TimeoutError:
            return JSONResponse({"error": "TTS synthesis timeout"}, status_code=504)
    except ProviderAuthError as exc:
        return _error(500, f"API key not configured for provider: {name}: {exc}")
    except Exception as exc:
        return _error(500, f"Failed to synthesize speech: {describe_error(exc)}")
    finally:
        if sink.first_audio is not None:  # also when the request failed or timed out after it
            state.metrics.observe(
                "waav_tts_time_to_first_audio_seconds",
                sink.first_audio - started,
                provider=tts.provider_id or name,
            )
        with contextlib.suppress(Exception):
            await bounded(tts.disconnect(), 5.0, "disconnect", name)
    if sink.error is not None:
        return _error(500, f"TTS error: {sink.error}")
    data, rate, fmt = _join(sink.chunks, cfg.sample_rate, fmt)
    return Response(
        data,
        media_type=content_type(fmt),
        headers={"x-audio-format": fmt, "x-sample-rate": str(rate)},
    )


def _join(chunks: list[AudioData], rate: int, fmt: str) -> tuple[bytes, int, str]:
    """Concatenate the provider's chunks; PCM16 at another rate is resampled to the one asked for."""
    if not chunks:
        return b"", rate, fmt
    src_rate = chunks[0].sample_rate
    src_fmt = canonical_encoding(chunks[0].format)
    data = b"".join(bytes(c.data) for c in chunks)
    if src_fmt == "linear16" and src_rate != rate and fmt == "linear16":
        return bytes(audio.resample(data, src_rate, rate)), rate, fmt
    return data, src_rate, src_fmt
