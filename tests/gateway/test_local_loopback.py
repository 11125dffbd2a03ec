"""Real speech through the real gateway: hibari speaks on ``/ws``, the audio goes back in as
microphone audio (20 ms frames), and the offline recognisers answer on the same session.

One gateway serves the module, on its own registry holding every installed adapter (the real
local engines) — stopping it must not stop the process-wide registry other tests use; the
models load once per process either way.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.gateway.conftest import Client, connect, server_config

from waav import audio
from waav.gateway import GatewayServer
from waav.plugin import PluginRegistry
from waav.providers.local import batch

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A gentle breeze moved across the quiet lake.",
    "Please call me back when you get home.",
)
RATE = 16000
FRAME = 640  # 20 ms of 16 kHz int16
STT = {"language": "en-US", "sample_rate": RATE, "channels": 1, "punctuation": True,
       "encoding": "linear16", "model": ""}  # fmt: skip
TTS = {"provider": "hibari", "model": "", "sample_rate": RATE, "audio_format": "linear16"}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayServer]:
    registry = PluginRegistry()
    registry.discover()
    gw = GatewayServer(server_config(server={"host": "127.0.0.1", "port": 0}), registry=registry).start()
    yield gw
    gw.stop()


async def spoken(c: Client, text: str) -> bytes:
    """``speak`` on the session; the audio up to ``tts_playback_complete``."""
    await c.send({"type": "speak", "text": text})
    frames: list[bytes] = []
    while True:
        m = await c.recv(timeout=20)
        if isinstance(m, bytes):
            frames.append(m)
        elif m["type"] == "tts_playback_complete":
            return b"".join(frames)
        else:
            raise AssertionError(f"unexpected {m}")


async def stream(c: Client, pcm: bytes, frame_s: float) -> None:
    """Send ``pcm`` in 20 ms frames, one every ``frame_s`` seconds (the loop clock paces)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for n, i in enumerate(range(0, len(pcm), FRAME), 1):
        await c.send(pcm[i : i + FRAME])
        await asyncio.sleep(max(0.0, t0 + n * frame_s - loop.time()))


async def results_until(c: Client, finals: int, timeout: float = 30) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while sum(1 for r in got if r["is_final"]) < finals:
        m = await c.recv(timeout=timeout)
        assert not isinstance(m, bytes)
        assert m["type"] == "stt_result", m
        got.append(m)
    return got


async def test_hibari_to_whisper_through_ws_returns_each_sentence(gateway: GatewayServer) -> None:
    async with connect(gateway.ws_url) as ws:
        c = Client(ws)
        # model "" is the provider's own default (tiny.en), not the generic STT default
        await c.ready(stt_config={**STT, "provider": "whisper"})
        # hibari at 24 kHz, resampled natively to 16 kHz (unpaced: /ws TTS would take real time)
        speech = [batch.synthesize(s, sample_rate=RATE).pcm16 for s in SENTENCES]
        for pcm in speech:
            assert 1.5 < len(pcm) / 2 / RATE < 5
            assert audio.rms_dbfs(pcm) > -30
        gap = b"\0\0" * RATE  # 1 s of silence after each sentence ends its utterance
        pcm = gap + b"".join(s + gap for s in speech)
        # 20 ms frames at 4x real time: the VAD works on the audio's own clock, not the wall's
        sender = asyncio.create_task(stream(c, pcm, 0.005))
        got = await results_until(c, finals=3)
        await sender
        finals = [r for r in got if r["is_final"]]
        assert [normalise(r["transcript"]) for r in finals] == [normalise(s) for s in SENTENCES]
        assert all(r["is_speech_final"] and 0 < r["confidence"] <= 1 for r in finals)
        await c.alive()


async def test_pocketsphinx_over_ws_sends_interim_results_then_a_final(gateway: GatewayServer) -> None:
    async with connect(gateway.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT, "provider": "pocketsphinx"}, tts_config=TTS)
        pcm = await spoken(c, SENTENCES[2])  # through the gateway's TTS half, 16 kHz
        assert 1.5 < len(pcm) / 2 / RATE < 5
        gap = b"\0\0" * RATE
        sender = asyncio.create_task(stream(c, gap + pcm + gap, 0.02))  # real time
        got = await results_until(c, finals=1)
        await sender
        *interims, final = got
        assert len(interims) >= 2, "no interim results while the sentence was spoken"
        assert all(not r["is_final"] and not r["is_speech_final"] for r in interims)
        assert all(a["transcript"] != b["transcript"] for a, b in itertools.pairwise(interims))
        assert final["is_final"]
        assert final["is_speech_final"]
        assert normalise(final["transcript"]) == normalise(SENTENCES[2])
        await c.alive()
