"""``/ws`` through the real server: every client and server message, audio both ways, errors."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from tests.gateway._doubles import MS_PER_CHAR, TONE_HZ, Doubles, peak_hz, tone
from tests.gateway.conftest import Client, connect

from waav.gateway.ws.stt import BACKLOG

STT16 = {"provider": "rec", "language": "en-US", "sample_rate": 16000, "channels": 1,
         "punctuation": True, "encoding": "linear16", "model": "m"}  # fmt: skip


async def stream(c: Client, pcm: bytes, rate: int, *, realtime: bool = False) -> None:
    step = rate // 50 * 2  # 20 ms frames
    for i in range(0, len(pcm), step):
        await c.send(pcm[i : i + step])
        if realtime:
            await asyncio.sleep(0.02)


async def count_binary_until_quiet(c: Client, quiet: float) -> int:
    """Binary frames received until none arrives for ``quiet`` seconds (JSON is a failure)."""
    n = 0
    while True:
        try:
            m = await c.recv(timeout=quiet)
        except asyncio.TimeoutError:
            return n
        assert isinstance(m, bytes), m  # e.g. no tts_playback_complete for cleared audio
        n += 1


async def until_complete(c: Client, timeout: float = 10.0) -> tuple[bytes, list[int], float]:
    """Audio up to ``tts_playback_complete``: (pcm, frame sizes, seconds it took)."""
    t0 = time.monotonic()
    frames: list[bytes] = []
    while True:
        m = await c.recv(timeout)
        if isinstance(m, bytes):
            frames.append(m)
        elif m["type"] == "tts_playback_complete":
            assert isinstance(m["timestamp"], int)
            assert m["timestamp"] > 1_600_000_000_000
            return b"".join(frames), [len(f) for f in frames], time.monotonic() - t0
        else:
            raise AssertionError(f"unexpected {m}")


async def test_ready_for_stt_only_tts_only_and_both(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        ready = await c.ready(audio=True, stt_config=STT16)
        uuid.UUID(ready["stream_id"])
        assert "livekit_url" in ready
        # TTS-only with voice_id null (the SDK's shape) replaces the STT-only setup
        ready = await c.ready(
            audio=True, tts_config={"provider": "tone", "voice_id": None, "sample_rate": 16000}
        )
        assert d.stt[0].closed
        assert d.tts[0].config.voice_id is None
        ready = await c.ready(
            stream_id="call-7", stt_config=STT16, tts_config={"provider": "tone", "model": ""}
        )
        assert ready["stream_id"] == "call-7"
        # audio=false: no providers, audio refused
        await c.ready(audio=False)
        await c.send(b"\0\0" * 320)
        assert "disabled" in await c.error()
        await c.alive()


async def test_stt_48k_client_audio_reaches_provider_at_16k(make_gateway: Callable[..., Any]) -> None:
    d = Doubles(result_bytes=15000)  # a result per ~0.47 s at 16 kHz
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT16, "sample_rate": 48000})
        await stream(c, tone(1000, 1.0, 48000), 48000)
        got = [await c.expect("stt_result") for _ in range(4)]
        assert [(m["transcript"], m["is_final"]) for m in got] == [
            ("utterance 1", False),
            ("utterance 1", True),
            ("utterance 2", False),
            ("utterance 2", True),
        ]
        assert got[1]["is_speech_final"] is True
        assert got[1]["confidence"] == pytest.approx(0.9)
        stt = d.stt[0]
        assert stt.config.sample_rate == 16000
        assert stt.config.encoding == "linear16"
        for _ in range(100):
            if len(stt.audio) >= 31000:
                break
            await asyncio.sleep(0.01)
        assert abs(len(stt.audio) / 2 - 16000) < 200  # 1 s at 16 kHz (minus the filter delay)
        assert abs(peak_hz(bytes(stt.audio[4000:]), 16000) - 1000) < 3


async def test_stt_stereo_mulaw_and_processors(make_gateway: Callable[..., Any]) -> None:
    from waav import audio

    d = Doubles(result_bytes=8000)
    gw = make_gateway(d.registry, gateway={"processors": ["noise-gate"]})
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT16, "sample_rate": 8000, "encoding": "mulaw", "channels": 2},
                      processors=["noise-gate", {"name": "vad", "options": {"mode": 3}}])  # fmt: skip
        mono = tone(500, 1.0, 8000)
        await stream(c, audio.ulaw_encode(audio.mono_to_stereo(mono)), 16000)  # 2 ch x 1 B
        await c.expect("stt_result")
        assert abs(peak_hz(bytes(d.stt[0].audio), 16000) - 500) < 5
        # a processor that does not exist: error, the session keeps its old setup
        await c.send({"type": "config", "stt_config": STT16, "processors": ["nope"]})
        assert "nope" in await c.error()
        await c.alive()
        await stream(c, audio.ulaw_encode(audio.mono_to_stereo(mono)), 16000)
        while (await c.expect("stt_result"))["transcript"] != "utterance 7":
            pass  # 2 s of 16 kHz PCM16 = 64 000 bytes: results up to 8, all from the first provider
        assert len(d.stt) == 1


async def test_tts_24k_provider_to_16k_client_in_paced_20ms_frames(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone", "sample_rate": 16000})
        text = "x" * 50  # 1 s of tone
        await c.send({"type": "speak", "text": text})
        pcm, sizes, took = await until_complete(c)
        assert set(sizes[:-1]) == {640}  # 20 ms at 16 kHz
        assert abs(len(pcm) / 2 / 16000 - len(text) * MS_PER_CHAR / 1000) < 0.01
        assert abs(peak_hz(pcm, 16000) - TONE_HZ) < 3
        assert took > 0.85  # paced at real time, not one burst
        assert d.tts[0].config.sample_rate == 16000


async def test_speak_queue_flush_and_clear(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone", "sample_rate": 24000})
        # FIFO: both play, in order, each with its completion
        await c.send({"type": "speak", "text": "a" * 10, "flush": False})
        await c.send({"type": "speak", "text": "b" * 15, "flush": False})
        first, *_ = await until_complete(c)
        second, *_ = await until_complete(c)
        assert (len(first), len(second)) == (2 * 4800, 2 * 7200)
        # flush=true drops what is still waiting: B never plays
        await c.send({"type": "speak", "text": "A" * 25, "flush": False})
        await c.send({"type": "speak", "text": "B" * 25, "flush": False})
        await c.send({"type": "speak", "text": "C" * 5, "flush": True})
        a, *_ = await until_complete(c)
        cc, *_ = await until_complete(c)
        assert (len(a), len(cc)) == (2 * 12000, 2 * 2400)
        assert d.tts[0].spoken[-2:] == ["A" * 25, "C" * 5]
        # clear (barge-in) stops the audio at once; no completion follows
        await c.send({"type": "speak", "text": "L" * 150})  # 3 s
        n = 0
        while n < 5:
            n += isinstance(await c.recv(), bytes)
        await c.send({"type": "clear"})
        t_clear = time.monotonic()
        late = await count_binary_until_quiet(c, quiet=0.5)
        assert late <= 3
        assert time.monotonic() - t_clear < 1.5
        assert d.tts[0].clears >= 1
        # the next speak starts clean
        await c.send({"type": "speak", "text": "z" * 10})
        pcm, *_ = await until_complete(c)
        assert len(pcm) == 2 * 4800


async def test_clear_is_ignored_while_non_interruptible_audio_plays(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone"})
        await c.send({"type": "speak", "text": "n" * 25, "allow_interruption": False})
        assert isinstance(await c.recv(), bytes)
        await c.send({"type": "clear"})
        first = await c.recv()
        pcm, *_ = await until_complete(c)
        assert len(first) + len(pcm) + 0 >= 2 * 12000 - 960 * 2  # all of it (minus the frame read)
        assert d.tts[0].clears == 0


BIG = "x" * (1024 * 1024 + 10)


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        ("{not json", "Invalid message format"),
        ('{"type": "dance"}', "unknown message type `dance`"),
        ('{"no_type": 1}', "missing field `type`"),
        ("[1, 2]", "must be an object"),
        ('{"type": "speak", "text": 5}', "speak.text must be a string"),
        ('{"type": "speak"}', "missing field `text`"),
        (
            '{"type": "config", "stt_config": {"sample_rate": "16k"}}',
            "stt_config.sample_rate must be an integer",
        ),
        ('{"type": "config", "tts_config": {"sample_rate": -1}}', "sample_rate must be in"),
        ('{"type": "config", "stt_config": 3}', "stt_config must be an object"),
        ('{"type": "speak", "text": "hi"}', "TTS is not configured"),
        ('{"type": "speak", "text": "' + "y" * (100 * 1024 + 1) + '"}', "speak.text is too large"),
        (
            '{"type": "custom", "message_type": "' + "t" * 300 + '", "payload": 1}',
            "custom.message_type is too large",
        ),
        ('{"type": "auth", "token": "' + "t" * 5000 + '"}', "auth.token is too large"),
        ('{"type": "send_message", "message": "hi", "role": "user"}', "no room backend"),
        ('{"type": "config", "audio": true}', "STT or TTS configuration is required"),
        ('{"type": "config", "stt_config": {"provider": "nobody"}}', "Unknown STT provider 'nobody'"),
        ('{"type": "config", "stt_config": {}}', "waav[local]"),
        ('{"type": "config", "tts_config": {}}', "'hibari'"),
        (BIG, "text frames are limited to 1048576 bytes"),
        (b"\0" * 320, "send a config message before audio"),
        (b"\0" * (5 * 1024 * 1024 + 2), "binary frames are limited to 5242880 bytes"),
    ],
    ids=lambda v: (v if isinstance(v, str) else f"{len(v)} bytes")[:40],
)
async def test_bad_input_gets_an_error_and_the_session_continues(
    make_gateway: Callable[..., Any], frame: str | bytes, needle: str
) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.send(frame)
        assert needle in await c.error()
        await c.alive()
        await c.ready(tts_config={"provider": "tone"})  # and it can still be configured


async def test_sip_transfer_and_auth_messages_without_backends(make_gateway: Callable[..., Any]) -> None:
    gw = make_gateway(Doubles().registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.send({"type": "sip_transfer", "transfer_to": "+15551234567"})
        assert "SIP" in (await c.expect("sip_transfer_error"))["message"]
        await c.send({"type": "auth", "token": "t"})
        assert "not pending" in await c.error()
        await c.send({"type": "config", "tts_config": {"provider": "tone"}, "livekit": {"room_name": "r"}})
        assert "LiveKit" in await c.error()
        await c.expect("ready")
        await c.send({"type": "ping"})
        assert isinstance((await c.expect("pong"))["timestamp"], int)


async def test_cloud_provider_without_credentials_names_the_env_var(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    gw = make_gateway(Doubles(builtins=True).registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.send({"type": "config", "stt_config": {**STT16, "provider": "deepgram"}})
        assert "DEEPGRAM_API_KEY" in await c.error()
        await c.send({"type": "config", "tts_config": {"provider": "elevenlabs"}})
        assert "ELEVENLABS_API_KEY" in await c.error()
        await c.alive()


async def test_custom_messages_reach_ws_handler_plugins(make_gateway: Callable[..., Any]) -> None:
    from waav.plugin import WSResponse

    d = Doubles()
    seen: list[Any] = []

    async def echo(payload: Any, ctx: Any) -> Any:
        seen.append((payload, ctx.stream_id, ctx.authenticated))
        return WSResponse.multiple([WSResponse.json({"echo": payload}), WSResponse.binary(b"\x01\x02")])

    async def broken(payload: Any, ctx: Any) -> Any:
        raise RuntimeError("handler bug")

    d.registry.register_ws_handler("Echo", echo)
    d.registry.register_ws_handler("broken", broken)
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        ready = await c.ready(tts_config={"provider": "tone"})
        await c.send({"type": "custom", "message_type": "ECHO", "payload": {"n": 1}})
        m = await c.recv()
        assert m == {"type": "plugin_response", "message_type": "ECHO", "payload": {"echo": {"n": 1}}}
        assert await c.recv() == b"\x01\x02"
        assert seen == [({"n": 1}, ready["stream_id"], True)]
        await c.send({"type": "custom", "message_type": "broken", "payload": None})
        assert "Plugin handler error" in await c.error()
        await c.send({"type": "custom", "message_type": "nobody", "payload": None})
        assert "Unknown custom message type: nobody" in await c.error()
        await c.alive()


async def test_a_misbehaving_session_does_not_disturb_another(make_gateway: Callable[..., Any]) -> None:
    d = Doubles(result_bytes=16000)
    gw = make_gateway(d.registry, gateway={"provider_timeout_seconds": 1.0})
    async with connect(gw.ws_url) as ws_bad, connect(gw.ws_url) as ws_good:
        bad, good = Client(ws_bad), Client(ws_good)
        await bad.ready(stt_config={**STT16, "provider": "rec-hang"}, tts_config={"provider": "tone-hang"})
        await good.ready(stt_config=STT16, tts_config={"provider": "tone"})

        async def misbehave() -> list[str]:
            errors = []
            await bad.send("{oops")
            await stream(bad, tone(300, 0.5, 16000), 16000)
            await bad.send({"type": "speak", "text": "never"})
            for _ in range(3):
                errors.append(await bad.error(timeout=5))
            return errors

        async def behave() -> None:
            await good.send({"type": "speak", "text": "g" * 25})
            await stream(good, tone(700, 1.0, 16000), 16000, realtime=True)
            pcm, *_ = await until_complete(good)
            assert len(pcm) == 2 * 12000
            finals = [await good.expect("stt_result") for _ in range(4)]
            assert [m["transcript"] for m in finals if m["is_final"]] == ["utterance 1", "utterance 2"]

        errors, _ = await asyncio.gather(misbehave(), behave())
        assert any("Invalid message format" in e for e in errors)
        assert any("did not accept audio within 1 s" in e for e in errors)
        assert any("made no progress" in e for e in errors)
        await bad.alive()
        # a provider that raises or reports errors: errors with the upstream prefixes
        await bad.ready(stt_config={**STT16, "provider": "rec-boom"}, tts_config={"provider": "tone-boom"})
        await bad.send(b"\0\0" * 320)
        assert (await bad.error()).startswith("STT streaming error: ")
        await bad.send({"type": "speak", "text": "x"})
        assert (await bad.error()).startswith("TTS error: ")
        await bad.ready(tts_config={"provider": "tone-raise"})
        await bad.send({"type": "speak", "text": "x"})
        assert (await bad.error()).startswith("Failed to synthesize speech: ")
        await good.alive()


async def test_idle_session_is_closed(make_gateway: Callable[..., Any]) -> None:
    gw = make_gateway(Doubles().registry, gateway={"idle_timeout_seconds": 0.4})
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        assert "inactivity" in await c.error(timeout=5)
        await asyncio.wait_for(ws.wait_closed(), 5)


async def test_stop_drains_queued_speech_then_closes(make_gateway: Callable[..., Any]) -> None:
    d = Doubles()
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone"})
        await c.send({"type": "speak", "text": "d" * 25})
        assert isinstance(await c.recv(), bytes)
        stopping = asyncio.get_running_loop().run_in_executor(None, gw.stop)
        pcm, *_ = await until_complete(c)
        assert len(pcm) >= 2 * 12000 - 2 * 480 * 3
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 1001
        await stopping


async def test_tts_mulaw_8k_client_gets_encoded_10ms_frames(make_gateway: Callable[..., Any]) -> None:
    from waav import audio

    d = Doubles()
    gw = make_gateway(d.registry, gateway={"tts_frame_ms": 10})
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone", "audio_format": "mulaw", "sample_rate": 8000})
        await c.send({"type": "speak", "text": "m" * 25})
        ulaw, sizes, _ = await until_complete(c)
        assert set(sizes[:-1]) == {80}  # 10 ms of 8 kHz µ-law
        pcm = audio.ulaw_decode(ulaw)
        assert abs(len(pcm) / 2 / 8000 - 0.5) < 0.01
        assert abs(peak_hz(pcm, 8000) - TONE_HZ) < 5


async def test_a_slow_stt_provider_drops_audio_beyond_the_backlog_and_says_so(
    make_gateway: Callable[..., Any],
) -> None:
    import httpx

    d = Doubles()
    gw = make_gateway(d.registry, gateway={"provider_timeout_seconds": 30})
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT16, "provider": "rec-hang"})
        sent = 300  # 6 s of 20 ms frames; the provider hangs on the first one it is handed
        for _ in range(sent):
            await c.send(b"\0\0" * 320)
        assert "not keeping up; audio is being dropped" in await c.error()
        await c.alive()
        assert not [m for m in c.seen if m.get("type") == "error"]  # the drop is reported once
        async with httpx.AsyncClient(base_url=gw.url) as http:
            text = (await http.get("/metrics")).text
        assert f'waav_frames_in_total{{endpoint="ws",kind="binary"}} {sent}' in text
        m = re.search(r'waav_audio_frames_dropped_total\{provider="rec-hang"\} (\d+)', text)
        assert m is not None, text
        dropped = int(m.group(1))
        # Whether the worker took its one frame before the backlog filled depends on
        # scheduling (CPU load): kept = the full backlog plus 0 or 1 frame, the rest dropped.
        taken = sent - BACKLOG - dropped
        assert taken in (0, 1), dropped


async def test_synthetic_speech_final_when_the_provider_never_ends_the_turn(
    make_gateway: Callable[..., Any],
) -> None:
    d = Doubles(result_bytes=6400)
    gw = make_gateway(d.registry, gateway={"speech_final_wait_seconds": 0.3})
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT16, "provider": "rec-nosf"})
        await c.send(tone(300, 0.2, 16000))  # one result: interim + final without speech_final
        assert (await c.expect("stt_result"))["is_final"] is False
        final = await c.expect("stt_result")
        assert (final["transcript"], final["is_final"], final["is_speech_final"]) == (
            "utterance 1",
            True,
            False,
        )
        t0 = asyncio.get_running_loop().time()
        synthetic = await c.expect("stt_result")
        assert synthetic == {
            "type": "stt_result",
            "transcript": "",
            "is_final": True,
            "is_speech_final": True,
            "confidence": 1.0,
        }
        assert 0.2 < asyncio.get_running_loop().time() - t0 < 1.5


async def test_vad_events_do_not_accumulate_in_a_session(make_gateway: Callable[..., Any]) -> None:
    from waav.testing.signals import speech_like

    d = Doubles(result_bytes=10**9)
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(stt_config={**STT16, "sample_rate": 48000}, processors=["vad"])
        await stream(c, speech_like(6.0, 48000, seed=3), 48000)  # three utterances
        await c.alive()
        for _ in range(200):
            if len(d.stt[0].audio) >= 2 * 16000 * 5.9:
                break
            await asyncio.sleep(0.01)
        (session,) = list(gw.state.sessions)
        vad = session.stt.pipeline.processors[0]
        assert vad._seg is not None  # it ran
        assert vad._events == []  # drained each frame: the utterances' audio is not kept


async def test_a_bug_in_a_handler_costs_the_message_not_the_session(
    make_gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from waav.gateway.ws.session import VoiceSession

    async def broken(self: Any, msg: Any) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(VoiceSession, "speak", broken)
    gw = make_gateway(Doubles().registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "tone"})
        await c.send({"type": "speak", "text": "hi"})
        assert await c.error() == "Internal error: KeyError: 'oops'"
        await c.alive()


async def test_tts_chunks_splitting_samples_are_resampled_whole(make_gateway: Callable[..., Any]) -> None:
    from tests.gateway._doubles import OddChunkTTS

    d = Doubles()
    made: list[Any] = []
    d.registry.register_tts("odd", lambda cfg: OddChunkTTS(cfg, "ok", made))
    gw = make_gateway(d.registry)
    async with connect(gw.ws_url) as ws:
        c = Client(ws)
        await c.ready(tts_config={"provider": "odd", "sample_rate": 16000})
        await c.send({"type": "speak", "text": "o" * 25})
        pcm, _, _ = await until_complete(c)
        assert len(pcm) == 2 * 8000  # 0.5 s at 16 kHz: nothing lost at the odd boundaries
        assert abs(peak_hz(pcm, 16000) - TONE_HZ) < 3
