"""StreamingHTTPTTS: FIFO order, streaming delivery, cancellation on clear, errors, conversion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import waav
from waav.providers._common import base_url, raise_for_response
from waav.providers.base import AudioCallback, AudioData, Pronunciation, TTSConfig
from waav.providers.tts._http import StreamingHTTPTTS
from waav.testing.fakes import FakeServer, Faults

RATE = 16000


class FakeSpeech(FakeServer):
    """A minimal speech vendor: POST /speak {"text"} streams PCM16 @ 16 kHz in 10 ms chunks."""

    vendor = "fake-speech"

    def __init__(self, *, faults: Faults | None = None, chunk_delay: float = 0.0) -> None:
        super().__init__(faults=faults)
        self.chunk_delay = chunk_delay
        self.cancelled = asyncio.Event()

    def build_app(self) -> Starlette:
        async def speak(request: Request) -> Response:
            body = await request.body()
            self.recorder.start(request, body=body)
            fault = self.http_fault()
            if fault is not None:
                return fault
            text = (await request.json())["text"]
            # one 10 ms chunk per character, value = the character's code, so order is visible
            codes = [ord(c) for c in text]

            async def stream() -> AsyncIterator[bytes]:
                for i, code in enumerate(codes):
                    if i == 0 and self.faults.first_result_delay:
                        await asyncio.sleep(self.faults.first_result_delay)
                    yield np.full(160, code, "<i2").tobytes()
                    await asyncio.sleep(self.chunk_delay)

            return StreamingResponse(stream(), media_type="audio/pcm")

        return Starlette(routes=[Route("/speak", speak, methods=["POST"])])


class SpeechTTS(StreamingHTTPTTS):
    provider_id = "fake-speech"

    def vendor_format(self) -> tuple[str, int]:
        return "linear16", RATE

    async def request(self, client: httpx.AsyncClient, text: str) -> AsyncIterator[bytes]:
        url = base_url(self.config, "https://speech.invalid") + "/speak"
        async with client.stream("POST", url, json={"text": text}) as resp:
            await raise_for_response(resp, self.provider_id)
            async for chunk in resp.aiter_bytes():
                yield chunk


class Collector(AudioCallback):
    def __init__(self) -> None:
        self.audio: list[AudioData] = []
        self.events: list[str] = []
        self.errors: list[waav.ProviderError] = []
        self.done = asyncio.Event()

    async def on_audio(self, audio: AudioData) -> None:
        self.audio.append(audio)
        self.events.append("audio")

    async def on_complete(self) -> None:
        self.events.append("complete")
        self.done.set()

    async def on_error(self, error: waav.ProviderError) -> None:
        self.errors.append(error)
        self.events.append("error")
        self.done.set()

    def samples(self) -> np.ndarray:
        return np.frombuffer(b"".join(a.data for a in self.audio), "<i2")


async def _session(fake: FakeServer, **cfg: object) -> tuple[SpeechTTS, Collector]:
    config = TTSConfig(provider="fake-speech", base_url=fake.base_url, sample_rate=RATE, **cfg)  # type: ignore[arg-type]
    tts = SpeechTTS(config)
    col = Collector()
    tts.on_audio(col)
    await tts.connect()
    return tts, col


async def _until(pred, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_fifo_order_and_completion() -> None:
    async with FakeSpeech() as fake:
        tts, col = await _session(fake)
        await tts.speak("ab", flush=False)
        await tts.speak("cd")
        await _until(lambda: col.events.count("complete") == 2)
        assert np.unique(col.samples()).tolist() == [97, 98, 99, 100]
        assert col.samples()[::160].tolist() == [97, 98, 99, 100]  # strictly in order
        assert col.events.index("complete") < len(col.events) - 1  # complete after each request
        assert [r.json_messages() for r in fake.requests] == [[], []]
        await tts.disconnect()


async def test_audio_streams_before_the_response_completes() -> None:
    async with FakeSpeech(chunk_delay=0.05) as fake:
        tts, col = await _session(fake)
        await tts.speak("abcdefghij")
        await _until(lambda: len(col.audio) >= 1)
        assert "complete" not in col.events  # first audio well before the 0.5 s response ends
        await _until(lambda: "complete" in col.events)
        await tts.disconnect()


async def test_clear_cancels_in_flight_and_queued() -> None:
    async with FakeSpeech(chunk_delay=0.05) as fake:
        tts, col = await _session(fake)
        await tts.speak("x" * 40)
        await tts.speak("yyyy")
        await _until(lambda: len(col.audio) >= 2)
        await tts.clear()
        n = len(col.audio)
        await asyncio.sleep(0.3)
        assert len(col.audio) == n  # nothing more arrives after clear
        assert "complete" not in col.events
        assert 121 not in col.samples()  # the queued request never ran
        await tts.speak("z")
        await _until(lambda: "complete" in col.events)
        assert col.samples()[-1] == ord("z")
        await tts.disconnect()


async def test_pronunciations_and_conversion() -> None:
    async with FakeSpeech() as fake:
        tts, col = await _session(
            fake, pronunciations=[Pronunciation(word="AI", pronunciation="eh eye")], audio_format="mulaw"
        )
        await tts.speak("say AI now, not AIR")
        await _until(lambda: "complete" in col.events)
        assert fake.requests[0].body == b'{"text":"say eh eye now, not AIR"}'
        assert {a.format for a in col.audio} == {"mulaw"}
        assert b"".join(a.data for a in col.audio)[:160] == waav.audio.ulaw_encode(
            np.full(160, ord("s"), "<i2").tobytes()
        )
        await tts.disconnect()


@pytest.mark.parametrize(
    ("faults", "cls"),
    [
        (Faults(reject_auth=True), waav.ProviderAuthError),
        (Faults(rate_limit_retry_after=7), waav.ProviderRateLimitError),
    ],
)
async def test_vendor_errors_are_mapped(faults: Faults, cls: type) -> None:
    async with FakeSpeech(faults=faults) as fake:
        tts, col = await _session(fake)
        await tts.speak("hello")
        await col.done.wait()
        assert col.errors
        assert type(col.errors[0]) is cls
        assert col.errors[0].provider == "fake-speech"
        await tts.speak("again")  # the session survives the error
        await _until(lambda: len(col.errors) == 2)
        await tts.disconnect()


async def test_unreachable_vendor_is_a_connection_error() -> None:
    fake = FakeSpeech().start()
    url = fake.base_url
    fake.stop()
    tts = SpeechTTS(TTSConfig(provider="fake-speech", base_url=url))
    col = Collector()
    tts.on_audio(col)
    await tts.connect()
    await tts.speak("hi")
    await col.done.wait()
    assert isinstance(col.errors[0], waav.ProviderConnectionError)
    await tts.disconnect()


async def test_speak_before_connect_is_an_error() -> None:
    with pytest.raises(waav.ProviderError, match="not connected"):
        await SpeechTTS(TTSConfig()).speak("hi")
