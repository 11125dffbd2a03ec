"""Small helpers shared by the TTS adapters: output-format choice, WebSocket URLs, emotion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from waav._exceptions import ConfigError
from waav.plugin._typed import fields_set
from waav.providers._audio import canonical_encoding
from waav.providers._common import error_from_exception, raise_for_response
from waav.providers._stream import ws_url as to_ws_url  # the old name, kept importable
from waav.providers.base import TTSConfig

__all__ = [
    "configured_voice",
    "emotion_intensity",
    "emotion_words",
    "fetch_json",
    "float_option",
    "nearest_rate",
    "option",
    "requested_format",
    "to_ws_url",
]


def nearest_rate(requested: int, supported: Iterable[int]) -> int:
    """The supported rate to ask a vendor for: the requested one if offered, else the lowest
    higher one (downsampling loses nothing the client wanted), else the highest."""
    rates = sorted(set(supported))
    if requested in rates:
        return requested
    higher = [r for r in rates if r > requested]
    return higher[0] if higher else rates[-1]


def requested_format(config: TTSConfig) -> tuple[str, int]:
    """The client's (canonical encoding, sample rate)."""
    return canonical_encoding(config.audio_format), int(config.sample_rate)


def option(config: TTSConfig, name: str, default: object = None) -> object:
    """A provider option from ``config.options``."""
    return config.options.get(name, default)


def float_option(config: TTSConfig, name: str, default: float, lo: float, hi: float) -> float:
    """A numeric provider option, checked against the vendor's documented range."""
    value = config.options.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{config.provider}: option {name}={value!r} is not a number") from None
    if not lo <= number <= hi:
        raise ConfigError(f"{config.provider}: option {name}={number} outside [{lo}, {hi}]")
    return number


def emotion_intensity(config: TTSConfig, default: float = 0.5) -> float:
    """The emotion intensity in [0, 1] (``low``/``medium``/``high`` already mapped)."""
    emo = config.emotion_config
    if emo is None or emo.intensity is None:
        return default
    return float(emo.intensity)


async def fetch_json(
    config: TTSConfig,
    provider: str,
    url: str,
    *,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
) -> Any:
    """GET ``url`` and return its JSON body; vendor and transport failures become waav errors."""
    timeout = httpx.Timeout(config.request_timeout, connect=config.connection_timeout)
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            resp = await client.get(url, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise error_from_exception(exc, provider) from exc
        await raise_for_response(resp, provider)
        try:
            return resp.json()
        except ValueError as exc:
            raise error_from_exception(exc, provider) from exc


def configured_voice(config: TTSConfig) -> str | None:
    """The voice the caller chose, or None for the vendor's default.

    ``TTSConfig.voice_id`` defaults to upstream's Deepgram voice ``aura-asteria-en``; for other
    vendors that default means "not chosen", so only an explicitly given voice counts.
    """
    if "voice_id" not in fields_set(config):
        return None
    return config.voice_id or None


def emotion_words(config: TTSConfig) -> str | None:
    """The emotion fields as one short English instruction, for vendors steered by prompts."""
    emo = config.emotion_config
    if emo is None:
        return None
    parts: list[str] = []
    if emo.emotion:
        level = ""
        if emo.intensity is not None:
            i = float(emo.intensity)
            level = "slightly " if i < 0.4 else ("very " if i >= 0.8 else "")
        parts.append(f"Sound {level}{emo.emotion}.")
    if emo.delivery_style:
        parts.append(f"Delivery: {emo.delivery_style}.")
    if emo.description:
        parts.append(emo.description.strip())
    return " ".join(parts) or None
