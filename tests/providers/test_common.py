"""Shared adapter plumbing: credentials, base URLs, error mapping, backoff, audio conversion."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import httpx
import numpy as np
import pytest

import waav
from waav.providers._audio import AudioConverter, canonical_encoding, content_type
from waav.providers._common import (
    backoff_delays,
    base_url,
    error_for_status,
    error_from_exception,
    parse_retry_after,
    require_credential,
)
from waav.providers.base import ReconnectionConfig, STTConfig, TTSConfig


def test_require_credential_names_the_env_var() -> None:
    with pytest.raises(waav.ProviderAuthError, match="DEEPGRAM_API_KEY"):
        require_credential(STTConfig(provider="deepgram"), "deepgram", "stt")
    assert require_credential(STTConfig(provider="deepgram", api_key="k"), "deepgram", "stt") == "k"
    with pytest.raises(waav.ProviderAuthError, match="PLAYHT_USER_ID"):
        require_credential(TTSConfig(provider="playht"), "playht", "tts", option="user_id")
    with pytest.raises(waav.ProviderAuthError, match="pass api_key"):
        require_credential(STTConfig(), "not-in-catalog", "stt")


def test_base_url() -> None:
    assert base_url(STTConfig(), "wss://api.deepgram.com/") == "wss://api.deepgram.com"
    assert base_url(STTConfig(base_url="ws://127.0.0.1:9/"), "wss://x") == "ws://127.0.0.1:9"


def test_retry_after() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert 8 <= parse_retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10  # type: ignore[operator]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, waav.ProviderAuthError),
        (403, waav.ProviderAuthError),
        (429, waav.ProviderRateLimitError),
        (408, waav.ProviderTimeoutError),
        (504, waav.ProviderTimeoutError),
        (500, waav.ProviderError),
        (400, waav.ProviderError),
    ],
)
def test_error_for_status(status: int, cls: type) -> None:
    err = error_for_status(status, b'{"error": {"message": "bad key"}}', {"retry-after": "3"}, "x")
    assert type(err) is cls
    assert err.provider == "x"
    assert f"HTTP {status}" in str(err)
    assert "bad key" in str(err)
    if status == 429:
        assert err.retry_after == 3.0  # type: ignore[attr-defined]


def test_error_from_exception() -> None:
    assert isinstance(error_from_exception(httpx.ConnectError("refused"), "x"), waav.ProviderConnectionError)
    assert isinstance(error_from_exception(httpx.ReadTimeout("slow"), "x"), waav.ProviderTimeoutError)
    assert isinstance(error_from_exception(TimeoutError(), "x"), waav.ProviderTimeoutError)
    assert isinstance(error_from_exception(ValueError("bad json"), "x"), waav.ProviderProtocolError)
    original = waav.ProviderAuthError("k", provider="x")
    assert error_from_exception(original, "x") is original


def test_backoff_delays() -> None:
    cfg = ReconnectionConfig(max_attempts=6, initial_delay_ms=100, max_delay_ms=1000, jitter=False)
    assert list(backoff_delays(cfg)) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    jittered = list(backoff_delays(ReconnectionConfig(), rng=random.Random(1)))
    assert len(jittered) == 5
    for d, base in zip(jittered, [1, 2, 4, 8, 16], strict=True):
        assert 0.75 * base <= d <= 1.25 * base
    assert list(backoff_delays(ReconnectionConfig(enabled=False))) == []


# --- audio conversion ------------------------------------------------------------------


def _pcm(n: int = 2400, rate: int = 24000) -> bytes:
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes()


def _feed(conv: AudioConverter, data: bytes, step: int) -> bytes:
    out = b"".join(conv.feed(data[i : i + step]) for i in range(0, len(data), step))
    return out + conv.flush()


def test_encodings_and_content_types() -> None:
    assert canonical_encoding("PCM") == "linear16"
    assert canonical_encoding("ulaw") == "mulaw"
    assert content_type("linear16") == "audio/pcm"
    assert content_type("mp3") == "audio/mpeg"
    assert content_type("mulaw") == "audio/basic"
    assert content_type("weird") == "application/octet-stream"
    with pytest.raises(waav.AudioFormatError, match="unknown audio format"):
        canonical_encoding("speex")


@pytest.mark.parametrize("step", [1, 3, 7, 480, 10_000])
def test_same_rate_conversions_split_anywhere(step: int) -> None:
    pcm = _pcm()
    assert _feed(AudioConverter("linear16", 24000, "pcm", 24000), pcm, step) == pcm
    assert _feed(AudioConverter("linear16", 24000, "mulaw", 24000), pcm, step) == waav.audio.ulaw_encode(pcm)
    ulaw = waav.audio.ulaw_encode(pcm)
    assert _feed(AudioConverter("ulaw", 8000, "alaw", 8000), ulaw, step) == waav.audio.alaw_encode(
        waav.audio.ulaw_decode(ulaw)
    )
    f32 = waav.audio.int16_to_float32(pcm).tobytes()
    assert _feed(AudioConverter("pcm_f32le", 24000, "linear16", 24000), f32, step) == pcm


@pytest.mark.parametrize("step", [5, 44, 45, 1000])
def test_wav_header_is_parsed_across_chunks(step: int, tmp_path) -> None:
    from waav.audio.wav import write_wav

    pcm = _pcm(800, 16000)
    write_wav(tmp_path / "v.wav", pcm, 16000)
    blob = (tmp_path / "v.wav").read_bytes()
    assert _feed(AudioConverter("wav", 16000, "linear16", 16000), blob, step) == pcm


def test_compressed_passthrough_and_refusal() -> None:
    conv = AudioConverter("mp3", 44100, "mp3", 24000)
    assert conv.passthrough
    assert conv.feed(b"ID3\x04") == b"ID3\x04"
    with pytest.raises(waav.AudioFormatError, match="cannot convert mp3 audio to linear16"):
        AudioConverter("mp3", 44100, "linear16", 24000)


@pytest.mark.parametrize("step", [1, 7, 480, 10_000])
def test_rate_conversion_is_split_invariant(step: int) -> None:
    pcm = _pcm(4800, 24000)
    whole = _feed(AudioConverter("linear16", 24000, "linear16", 16000), pcm, len(pcm))
    assert len(whole) == 2 * 3200  # exactly 200 ms at 16 kHz after the flush
    assert _feed(AudioConverter("linear16", 24000, "linear16", 16000), pcm, step) == whole
    ulaw8k = _feed(AudioConverter("linear16", 24000, "mulaw", 8000), pcm, step)
    assert len(ulaw8k) == 1600
