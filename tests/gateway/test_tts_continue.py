"""``speak`` with ``continue`` (waav extension): one utterance sent in pieces, through the real
server and waav's own adapters against the vendor fakes. Streaming-input vendors (Cartesia,
ElevenLabs) get the pieces over their WebSocket as they arrive; a REST-only vendor (Deepgram)
gets the text cut at sentence ends. Also: ``clear`` mid-utterance, a bad ``continue``, the
open-utterance timeout, and time-to-first-audio on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from tests.gateway.conftest import Client, connect

from waav.plugin import PluginRegistry
from waav.testing.fakes import FakeCartesiaTTS, FakeDeepgramTTS, FakeElevenLabsTTS, decode_levels

RATE = 16000
CARTESIA_VOICE = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"


def gateway(make_gateway: Callable[..., Any], provider: str, fake: Any, **gw: Any) -> Any:
    reg = PluginRegistry()
    reg.discover(third_party=False)
    return make_gateway(
        reg,
        providers={f"{provider}_api_key": fake.api_key},
        plugins={"provider_config": {provider: {"base_url": fake.base_url}}},
        gateway=gw,
    )


def tts_config(provider: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {"provider": provider, "sample_rate": RATE}
    if provider == "cartesia":
        cfg["voice_id"] = CARTESIA_VOICE
    return cfg


def piece(text: str, more: bool, **extra: Any) -> dict[str, Any]:
    return {"type": "speak", "text": text, "continue": more, **extra}


async def first_audio(c: Client, timeout: float = 5.0) -> None:
    """Wait for a binary frame; any JSON message first is a failure."""
    m = await c.recv(timeout)
    assert isinstance(m, bytes), m
    c.audio.append(m)


async def until_quiet(c: Client, quiet: float = 0.5) -> list[Any]:
    """Messages (JSON and binary) until none arrives for ``quiet`` seconds."""
    got: list[Any] = []
    while True:
        try:
            got.append(await c.recv(timeout=quiet))
        except asyncio.TimeoutError:
            return got


async def eventually(pred: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait for what the fake records (it runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_cartesia_pieces_stream_over_the_vendor_websocket(make_gateway: Callable[..., Any]) -> None:
    async with FakeCartesiaTTS(chunk_delay=0.002) as fake:
        gw = gateway(make_gateway, "cartesia", fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("cartesia"))
            await c.send(piece("Hello there, ", True))
            await first_audio(c)  # before the utterance's other pieces were even sent
            await c.send(piece("my ", True))
            await c.send(piece("friend.", False))
            await c.expect("tts_playback_complete", timeout=10)
            rest = await until_quiet(c, 0.3)
            assert all(isinstance(m, bytes) for m in rest), rest  # one completion only
            c.audio += rest
            assert decode_levels(b"".join(c.audio), RATE) == "Hello there, my friend."
        assert fake.ws_sessions == 1
        assert not [r for r in fake.requests if r.path == "/tts/bytes"]  # no REST request
        msgs = [m for m in fake.requests[-1].json_messages() if "transcript" in m]
        # the pieces in order, as they came (pieces that arrive together may go as one); the
        # first went out before the others existed; Cartesia's end of input is continue=false
        sent = [(m["transcript"], m["continue"]) for m in msgs]
        assert sent[0] == ("Hello there, ", True)
        assert sent[-1] == ("", False)
        assert all(more for _, more in sent[:-1])
        assert "".join(t for t, _ in sent[1:]) == "my friend."
        assert len({m["context_id"] for m in msgs}) == 1
        assert fake.completed == 1


async def test_elevenlabs_pieces_use_stream_input(make_gateway: Callable[..., Any]) -> None:
    # the fake (like ElevenLabs) starts generating once 120 characters are buffered
    first = "This first sentence is long enough that the vendor starts generating audio, " * 2
    async with FakeElevenLabsTTS(chunk_delay=0.002) as fake:
        gw = gateway(make_gateway, "elevenlabs", fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("elevenlabs"))
            await c.send(piece(first, True))
            await first_audio(c)
            await c.send(piece("The ", True))
            await c.send(piece("end.", False))
            await c.expect("tts_playback_complete", timeout=10)
            rest = await until_quiet(c, 0.3)
            assert all(isinstance(m, bytes) for m in rest), rest
        assert fake.ws_sessions == 1
        ws_rec = [r for r in fake.requests if r.path.endswith("/stream-input")]
        assert len(ws_rec) == 1
        assert len(fake.requests) == 1
        texts = [m["text"] for m in ws_rec[0].json_messages() if "text" in m]
        assert texts[0] == " "
        assert texts[-1] == ""
        assert "".join(texts[1:-1]).strip() == (first + "The end.").strip()


async def test_rest_vendor_gets_sentence_cuts_as_they_complete(make_gateway: Callable[..., Any]) -> None:
    async with FakeDeepgramTTS(chunk_delay=0.002) as fake:
        gw = gateway(make_gateway, "deepgram", fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("deepgram"))
            for token in ["Hi", " there", ".", " How", " are"]:
                await c.send(piece(token, True))
            await first_audio(c)  # the first sentence plays before the second one is complete
            assert len(fake.requests) == 1
            for token in [" you", "?", " Fine"]:
                await asyncio.sleep(0.05)
                await c.send(piece(token, True))
            await c.send(piece(".", False))
            await c.expect("tts_playback_complete", timeout=10)
            rest = await until_quiet(c, 0.3)
            assert all(isinstance(m, bytes) for m in rest), rest  # one completion for all requests
            c.audio += rest
        texts = [json.loads(r.body)["text"] for r in fake.requests]
        # cut at sentence ends only (sentences that arrive together may share a request)
        assert texts[0] == "Hi there."
        assert " ".join(texts) == "Hi there. How are you? Fine."
        assert all(t[-1] in ".?" for t in texts)
        assert decode_levels(b"".join(c.audio), RATE) == "".join(texts)


async def test_clear_cancels_the_utterance_and_drops_its_later_pieces(
    make_gateway: Callable[..., Any],
) -> None:
    async with FakeCartesiaTTS(chunk_bytes=960, chunk_delay=0.01) as fake:
        gw = gateway(make_gateway, "cartesia", fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("cartesia"))
            await c.send(piece("L" * 300 + " ", True))  # 3 s of audio, streamed slowly
            for _ in range(3):
                await first_audio(c)
            await c.send({"type": "clear"})
            await eventually(lambda: fake.aborted == 1)  # the vendor context was cancelled
            # later pieces of the cleared utterance, its end included, are dropped
            await c.send(piece("dropped ", True))
            await c.send(piece("too.", False))
            after = await until_quiet(c, 0.5)
            assert all(isinstance(m, bytes) for m in after), after  # no completion, no error
            assert len(after) <= 3  # at most the frames already on their way
            # the next utterance plays normally
            c.audio.clear()
            await c.send(piece("ok ", True))
            await c.send(piece("now", False))
            await c.expect("tts_playback_complete", timeout=10)
            assert decode_levels(b"".join(c.audio), RATE) == "ok now"
        # nothing of the dropped pieces reached the vendor, over the socket or REST
        texts = "".join(m.get("transcript", "") for r in fake.requests for m in r.json_messages())
        texts += "".join(json.loads(r.body)["transcript"] for r in fake.requests if r.body)
        assert "L" * 300 in texts
        assert "ok" in texts
        assert "dropped" not in texts
        assert "too" not in texts
        assert fake.completed == 1


async def test_continue_must_be_a_boolean(make_gateway: Callable[..., Any]) -> None:
    async with FakeCartesiaTTS() as fake:
        gw = gateway(make_gateway, "cartesia", fake)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("cartesia"))
            for bad in ("yes", 1, [True]):
                await c.send({"type": "speak", "text": "Hi", "continue": bad})
                assert "speak.continue must be a boolean" in await c.error()
            await c.alive()
            # a blank piece is fine inside an utterance, a blank whole text is not
            await c.send({"type": "speak", "text": " ", "continue": False})
            assert "Text cannot be empty" in await c.error()
            await c.send(piece("Hi", True))
            await c.send(piece(" ", False))
            await c.expect("tts_playback_complete", timeout=10)
            # "Hi " over the socket when the pieces went apart (the fake voices the space as a
            # pause), "Hi" over REST when both arrived before synthesis started
            assert decode_levels(b"".join(c.audio), RATE).rstrip() == "Hi"


async def test_an_open_utterance_times_out_and_is_finished(make_gateway: Callable[..., Any]) -> None:
    async with FakeDeepgramTTS() as fake:
        gw = gateway(make_gateway, "deepgram", fake, tts_continue_timeout_seconds=0.4)
        async with connect(gw.ws_url) as ws:
            c = Client(ws)
            await c.ready(tts_config=tts_config("deepgram"))
            t0 = time.monotonic()
            await c.send(piece("Left", True))
            await c.send(piece(" open", True))
            err = await c.error(timeout=5)
            assert "no `continue` piece for 0.4 s" in err
            assert time.monotonic() - t0 >= 0.35
            await c.expect("tts_playback_complete", timeout=5)
            assert decode_levels(b"".join(c.audio), RATE) == "Left open"
            # later pieces start a new utterance
            c.audio.clear()
            await c.send(piece("late", False))
            await c.expect("tts_playback_complete", timeout=5)
            assert decode_levels(b"".join(c.audio), RATE) == "late"
        assert len(fake.requests) == 2


def ttfa(text: str, provider: str) -> int:
    for line in text.splitlines():
        if line.startswith("waav_tts_time_to_first_audio_seconds_count") and f'provider="{provider}"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def test_time_to_first_audio_is_recorded_for_an_utterance_in_pieces(
    make_gateway: Callable[..., Any],
) -> None:
    async with FakeCartesiaTTS() as fake:
        gw = gateway(make_gateway, "cartesia", fake)
        async with connect(gw.ws_url) as ws, httpx.AsyncClient(base_url=gw.url) as http:
            c = Client(ws)
            await c.ready(tts_config=tts_config("cartesia"))
            before = ttfa((await http.get("/metrics")).text, "cartesia")
            await c.send(piece("One ", True))
            await c.send(piece("two.", False))
            await c.expect("tts_playback_complete", timeout=10)
            assert ttfa((await http.get("/metrics")).text, "cartesia") == before + 1


def test_the_streaming_input_capability_decides_the_path() -> None:
    from tests.gateway._doubles import ToneTTS

    from waav.plugin._provider_config import TTSConfig
    from waav.providers.tts.cartesia import CartesiaTTS
    from waav.providers.tts.deepgram import DeepgramTTS
    from waav.providers.tts.elevenlabs import ElevenLabsTTS

    def cfg(**kw: Any) -> TTSConfig:
        return TTSConfig(provider="x", api_key="k", **kw)

    assert ToneTTS(cfg(), "ok", []).streaming_input_enabled is False  # the BaseTTS default
    assert DeepgramTTS(cfg()).streaming_input_enabled is False
    assert CartesiaTTS(cfg()).streaming_input_enabled is True
    assert ElevenLabsTTS(cfg()).streaming_input_enabled is True
    # the adapters' own switch turns it off: the gateway then cuts sentences for them too
    assert CartesiaTTS(cfg(options={"streaming_input": False})).streaming_input_enabled is False
