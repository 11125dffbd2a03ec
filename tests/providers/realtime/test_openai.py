"""OpenAI Realtime adapter against the fake OpenAI Realtime API (GA interface)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import pytest

import waav
from waav import audio
from waav.providers.base import ConnectionState, RealtimeConfig
from waav.providers.realtime.openai import OpenAIRealtime
from waav.testing.fakes import FakeOpenAIRealtime, Faults, Reply

from ._util import Collector, peak_hz, seconds, stream, until, utterance

FAST_RECONNECT = {"initial_delay_ms": 20, "max_delay_ms": 100, "max_attempts": 3, "jitter": False}


def config(fake: FakeOpenAIRealtime, **kw: Any) -> RealtimeConfig:
    options = {"connect_timeout": 3, **kw.pop("options", {})}
    return RealtimeConfig(
        provider="openai",
        api_key=kw.pop("api_key", "test-key"),
        base_url=fake.base_url,
        options=options,
        reconnection=kw.pop("reconnection", FAST_RECONNECT),
        **kw,
    )


async def session(fake: FakeOpenAIRealtime, **kw: Any) -> tuple[OpenAIRealtime, Collector]:
    rt = OpenAIRealtime(config(fake, **kw))
    col = Collector(rt)
    await rt.connect()
    return rt, col


async def test_full_turn_audio_in_transcripts_and_audio_out_at_the_client_rate() -> None:
    fake = FakeOpenAIRealtime(replies=[Reply("hello there my friend")], transcripts=["what is the time"])
    async with fake:
        rt, col = await session(
            fake, input_audio_transcription={"model": "whisper-1"}, options={"sample_rate": 16000}
        )
        assert rt.is_ready()
        assert rt.state is ConnectionState.CONNECTED
        await stream(rt, utterance(16000), 16000)
        await until(lambda: col.done)
        s = fake.sessions[0]
        # the vendor got PCM16 at 24 kHz: the whole utterance, the tone still at 300 Hz
        assert s.input_format == "audio/pcm"
        assert s.session["audio"]["input"]["transcription"] == {"model": "whisper-1"}
        await until(lambda: abs(seconds(bytes(s.audio), 24000) - 1.8) < 0.02)  # the fake runs a little behind
        assert abs(peak_hz(bytes(s.audio[: 24000 * 2 * 8 // 10]), 24000) - 300) < 3
        assert not s.errors
        assert [(e.kind, e.audio_ms) for e in col.speech] == [("started", 0), ("stopped", 1300)]
        assert [(t.text, t.is_final) for t in col.transcripts if t.role == "user"] == [
            ("what", False),
            ("what is the time", True),
        ]
        assistant = [(t.text, t.is_final) for t in col.transcripts if t.role == "assistant"]
        assert assistant[0] == ("hello", False)  # interim results carry the text so far
        assert assistant[-1] == ("hello there my friend", True)
        # audio out: PCM16 at the client's 16 kHz, 4 words x 200 ms of a 600 Hz tone
        assert {a.sample_rate for a in col.audio} == {16000}
        pcm = col.pcm()
        assert abs(seconds(pcm, 16000) - 0.8) < 0.01
        assert abs(peak_hz(pcm, 16000) - 600) < 3
        assert col.done == [s.responses[0]["id"]]
        assert {a.response_id for a in col.audio} == {s.responses[0]["id"]}
        assert not col.errors
        await rt.disconnect()
        assert rt.state is ConnectionState.DISCONNECTED
        await until(lambda: s.closed)


async def test_audio_streams_before_the_response_completes() -> None:
    async with FakeOpenAIRealtime(replies=[Reply("one two three four five")], chunk_delay=0.05) as fake:
        rt, col = await session(fake)
        await rt.send_text("hi")
        await until(lambda: len(col.audio) >= 1)
        assert not col.done  # first audio well before the 0.5 s response ends
        await until(lambda: col.done)
        await rt.disconnect()


async def test_g711_is_passed_through_at_8khz() -> None:
    async with FakeOpenAIRealtime(replies=[Reply("a b")]) as fake:
        rt, col = await session(fake, input_audio_format="g711_ulaw", output_audio_format="g711_ulaw")
        s = fake.sessions[0]
        assert s.session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        assert s.session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
        await stream(rt, audio.ulaw_encode(utterance(8000)), 8000, width=1)
        await until(lambda: col.done)
        assert {a.sample_rate for a in col.audio} == {8000}
        pcm = audio.ulaw_decode(col.pcm())
        assert abs(seconds(pcm, 8000) - 0.4) < 0.01
        assert abs(peak_hz(pcm, 8000) - 600) < 5
        await rt.disconnect()


async def test_session_settings_are_mapped_to_the_ga_session(caplog: pytest.LogCaptureFixture) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
        }
    ]
    async with FakeOpenAIRealtime() as fake:
        with caplog.at_level(logging.WARNING, "waav.providers.realtime"):
            rt, _ = await session(
                fake,
                model="gpt-realtime-mini",
                voice="marin",
                instructions="be brief",
                temperature=0.7,
                max_response_output_tokens="inf",
                modalities=["audio", "text"],
                turn_detection={"type": "semantic_vad", "eagerness": "high", "interrupt_response": False},
                tools=tools,
                tool_choice="get_weather",
                options={"speed": 1.2, "noise_reduction": "near_field", "transcription_language": "en"},
                input_audio_transcription={"model": "gpt-4o-transcribe"},
            )
        s = fake.sessions[0]
        assert s.request.query == {"model": "gpt-realtime-mini"}
        assert s.request.headers["authorization"] == "Bearer test-key"
        assert "openai-beta" not in s.request.headers
        update = s.events_of("session.update")[0]["session"]
        assert "temperature" not in update  # the GA session has none
        assert "temperature" in caplog.text
        sess = s.session
        assert sess["instructions"] == "be brief"
        assert sess["max_output_tokens"] == "inf"
        assert sess["output_modalities"] == ["audio"]
        assert sess["audio"]["output"] == {
            "format": {"type": "audio/pcm", "rate": 24000},
            "voice": "marin",
            "speed": 1.2,
        }
        assert sess["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
        assert sess["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe", "language": "en"}
        assert sess["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
        assert sess["audio"]["input"]["turn_detection"]["eagerness"] == "high"
        assert sess["audio"]["input"]["turn_detection"]["interrupt_response"] is False
        assert sess["tools"] == [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object"},
            }
        ]
        assert sess["tool_choice"] == {"type": "function", "name": "get_weather"}
        assert rt.session == sess  # what session.updated confirmed
        assert not s.errors
        await rt.disconnect()


async def test_manual_turns_commit_and_clear() -> None:
    async with FakeOpenAIRealtime(transcripts=["manual turn"]) as fake:
        rt, col = await session(
            fake, turn_detection={"type": "none"}, input_audio_transcription={"model": "whisper-1"}
        )
        s = fake.sessions[0]
        assert s.session["audio"]["input"]["turn_detection"] is None
        await stream(rt, utterance(24000, silence_ms=200), 24000)
        await asyncio.sleep(0.1)
        assert not col.speech
        assert not col.done
        await rt.commit_audio_buffer()
        await until(lambda: col.finals("user") == ["manual turn"])
        await rt.create_response()
        await until(lambda: col.done)
        # too little audio: the vendor's error reaches on_error, the session goes on
        await rt.send_audio(bytes(480))
        await rt.commit_audio_buffer()
        await until(lambda: col.errors)
        assert "input_audio_buffer_commit_empty" in str(col.errors[0])
        await rt.clear_audio_buffer()
        await until(lambda: s.events_of("input_audio_buffer.clear"))
        assert [e["type"] for e in s.events if e["type"] != "input_audio_buffer.append"][-3:] == [
            "response.create",
            "input_audio_buffer.commit",
            "input_audio_buffer.clear",
        ]
        await rt.disconnect()


async def test_function_call_round_trip() -> None:
    replies = [
        Reply(function_call=("get_weather", '{"city": "Paris"}')),
        Reply("It is {tool_output} degrees"),
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    async with FakeOpenAIRealtime(replies=replies) as fake:
        rt, col = await session(fake, tools=tools)
        await rt.send_text("weather in Paris?")
        await until(lambda: col.calls)
        call = col.calls[0]
        assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
        assert call.call_id.startswith("call_")
        assert call.item_id
        await until(lambda: len(col.done) == 1)
        await rt.submit_function_result(call.call_id, "21")
        await until(lambda: len(col.done) == 2)
        assert col.finals("assistant") == ["It is 21 degrees"]
        s = fake.sessions[0]
        outputs = [
            e["item"]
            for e in s.events_of("conversation.item.create")
            if e["item"]["type"] == "function_call_output"
        ]
        assert outputs == [{"type": "function_call_output", "call_id": call.call_id, "output": "21"}]
        assert [e["type"] for e in s.events][-2:] == ["conversation.item.create", "response.create"]
        assert len(col.calls) == 1  # reported once (arguments.done and output_item.done)
        await rt.disconnect()


async def test_cancel_drops_the_rest_and_truncates_what_was_not_heard() -> None:
    async with FakeOpenAIRealtime(replies=[Reply(" ".join(["word"] * 20))], chunk_delay=0.04) as fake:
        rt, col = await session(fake)
        await rt.send_text("talk a lot")
        await until(lambda: len(col.audio) >= 3)
        await rt.cancel_response()
        n = len(col.audio)
        await until(lambda: col.done)
        await asyncio.sleep(0.1)
        assert len(col.audio) == n  # nothing after cancel
        s = fake.sessions[0]
        assert s.responses[0]["status"] == "cancelled"
        assert s.responses[0]["status_details"]["reason"] == "client_cancelled"
        await until(lambda: s.truncations)
        (trunc,) = s.truncations
        delivered_ms = 1000 * seconds(col.pcm(), 24000)
        assert 0 < trunc["audio_end_ms"] <= delivered_ms  # what had time to play, not what was sent
        assert not col.errors
        # the session goes on: the next response is heard
        await rt.send_text("again")
        await until(lambda: len(col.done) == 2)
        assert len(col.audio) > n
        await rt.disconnect()


async def test_server_vad_barge_in_stops_playback_and_truncates() -> None:
    async with FakeOpenAIRealtime(replies=[Reply(" ".join(["word"] * 30))], chunk_delay=0.04) as fake:
        rt, col = await session(fake)
        await rt.send_text("talk")
        await until(lambda: len(col.audio) >= 3)
        await stream(rt, utterance(24000, speech_ms=300, silence_ms=0), 24000)
        await until(lambda: col.speech)
        n = len(col.audio)
        await until(lambda: col.done)
        await asyncio.sleep(0.1)
        assert len(col.audio) <= n + 1  # at most a delta already in flight
        s = fake.sessions[0]
        assert s.responses[0]["status_details"]["reason"] == "turn_detected"
        await until(lambda: s.truncations)
        assert len(s.truncations) == 1
        await rt.disconnect()


async def test_no_barge_in_when_interrupt_response_is_off() -> None:
    async with FakeOpenAIRealtime(replies=[Reply(" ".join(["word"] * 10))], chunk_delay=0.03) as fake:
        rt, col = await session(fake, turn_detection={"type": "server_vad", "interrupt_response": False})
        await rt.send_text("talk")
        await until(lambda: len(col.audio) >= 2)
        await stream(rt, utterance(24000, speech_ms=300, silence_ms=0), 24000)
        await until(lambda: col.done)
        assert fake.sessions[0].responses[0]["status"] == "completed"
        assert abs(seconds(col.pcm(), 24000) - 2.0) < 0.01  # every word was delivered
        assert not fake.sessions[0].truncations
        await rt.disconnect()


async def test_reconnect_after_a_mid_stream_drop() -> None:
    faults = Faults(drop_after=2)
    async with FakeOpenAIRealtime(
        faults=faults, replies=[Reply("a b c d e f"), Reply("after the drop")]
    ) as fake:
        rt, col = await session(fake, instructions="stay")
        await rt.send_text("first")
        await until(lambda: col.reconnects)
        assert col.reconnects[0].success
        assert col.reconnects[0].attempt == 1
        assert len(fake.sessions) == 2
        second = fake.sessions[1]
        assert second.events_of("session.update")[0]["session"]["instructions"] == "stay"  # settings re-sent
        # audio sent while the socket was down is not lost
        await rt.send_text("second")
        await until(lambda: len(col.done) == 1)
        assert col.finals("assistant")[-1] == "after the drop"
        assert rt.connections == 2
        assert rt.is_ready()
        assert not col.errors
        await rt.disconnect()


async def test_audio_sent_while_reconnecting_is_buffered_and_flushed() -> None:
    async with FakeOpenAIRealtime(faults=Faults(drop_after=1), replies=[Reply("a b")]) as fake:
        rt, _col = await session(fake, reconnection={**FAST_RECONNECT, "initial_delay_ms": 300})
        await rt.send_text("go")
        await until(lambda: rt.state is ConnectionState.RECONNECTING)
        chunk = np.full(2400, 1000, "<i2").tobytes()  # 100 ms at 24 kHz, quiet enough for no VAD
        await rt.send_audio(chunk)
        await until(lambda: rt.is_ready())
        await until(lambda: len(fake.sessions[1].audio) == len(chunk))
        assert bytes(fake.sessions[1].audio) == chunk
        await rt.disconnect()


async def test_session_expiry_reconnects_at_once_and_replays_the_conversation() -> None:
    faults = Faults(session_expires_after=1.2)
    slow = {**FAST_RECONNECT, "initial_delay_ms": 5000}  # an expiry must not wait for the backoff
    async with FakeOpenAIRealtime(faults=faults, replies=[Reply("nice to meet you")]) as fake:
        rt, col = await session(fake, instructions="remember", reconnection=slow)
        await rt.send_text("my name is Ada")
        await until(lambda: col.done)
        await until(lambda: len(fake.sessions) == 2, timeout=4)
        await until(lambda: rt.is_ready())
        assert fake.sessions[0].errors[-1]["code"] == "session_expired"
        assert [(r.attempt, r.success) for r in col.reconnects] == [(1, True)]
        second = fake.sessions[1]
        await until(lambda: len(second.events_of("conversation.item.create")) == 2)
        assert second.events_of("session.update")[0]["session"]["instructions"] == "remember"
        items = [e["item"] for e in second.events_of("conversation.item.create")]
        assert items == [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "my name is Ada"}],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "nice to meet you"}],
            },
        ]
        assert not second.errors  # the fake accepted the replayed items
        assert not col.errors  # an expiry is routine, not an error
        await rt.disconnect()


async def test_gives_up_after_the_retry_budget() -> None:
    fake = FakeOpenAIRealtime(faults=Faults(session_expires_after=0.3))
    async with fake:
        rt, col = await session(fake)
    # the fake is gone: every attempt fails
    await until(lambda: col.errors, timeout=5)
    assert isinstance(col.errors[-1], waav.ProviderConnectionError)
    assert [r.success for r in col.reconnects] == [False] * 3
    assert rt.state is ConnectionState.ERROR
    with pytest.raises(waav.ProviderConnectionError):
        await rt.send_audio(bytes(480))
    with pytest.raises(waav.ProviderConnectionError):
        await rt.send_text("hello?")
    await rt.disconnect()


async def test_a_revoked_key_is_not_retried() -> None:
    async with FakeOpenAIRealtime(faults=Faults(drop_after=1)) as fake:
        rt, col = await session(fake)
        fake.faults.reject_auth = True
        await rt.send_text("go")
        await until(lambda: col.errors)
        assert isinstance(col.errors[0], waav.ProviderAuthError)
        assert [(r.attempt, r.success) for r in col.reconnects] == [(1, False)]
        assert rt.state is ConnectionState.ERROR
        await rt.disconnect()


@pytest.mark.parametrize(
    ("faults", "cls"),
    [
        (Faults(reject_auth=True), waav.ProviderAuthError),
        (Faults(rate_limit_retry_after=7), waav.ProviderRateLimitError),
    ],
)
async def test_handshake_errors_are_mapped(faults: Faults, cls: type) -> None:
    async with FakeOpenAIRealtime(faults=faults) as fake:
        rt = OpenAIRealtime(config(fake))
        with pytest.raises(cls) as info:
            await rt.connect()
        assert info.value.provider == "openai"
        if cls is waav.ProviderRateLimitError:
            assert info.value.retry_after == 7
        assert rt.state is ConnectionState.ERROR


async def test_wrong_key_is_an_auth_error() -> None:
    async with FakeOpenAIRealtime(api_key="right") as fake:
        with pytest.raises(waav.ProviderAuthError, match="401"):
            await OpenAIRealtime(config(fake, api_key="wrong")).connect()


async def test_quota_failure_is_a_rate_limit_error_and_the_session_goes_on() -> None:
    async with FakeOpenAIRealtime(faults=Faults(vendor_error="insufficient_quota")) as fake:
        rt, col = await session(fake)
        await rt.create_response()
        await until(lambda: col.errors)
        assert isinstance(col.errors[0], waav.ProviderRateLimitError)
        assert "insufficient_quota" in str(col.errors[0])
        assert col.done == [fake.sessions[0].responses[0]["id"]]
        fake.faults.vendor_error = None
        await rt.create_response()
        await until(lambda: len(col.done) == 2 and col.audio)
        await rt.disconnect()


async def test_slow_first_response_is_waited_for() -> None:
    async with FakeOpenAIRealtime(faults=Faults(first_result_delay=0.3)) as fake:
        rt, col = await session(fake)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await rt.create_response()
        await until(lambda: col.audio)
        assert loop.time() - t0 >= 0.3
        assert not col.errors
        await rt.disconnect()


async def test_invalid_session_settings_fail_connect() -> None:
    async with FakeOpenAIRealtime() as fake:
        rt = OpenAIRealtime(config(fake))
        rt.session_payload = lambda: {"type": "realtime", "temperature": 0.5}  # type: ignore[method-assign]
        with pytest.raises(waav.ProviderError, match="unknown_parameter"):
            await rt.connect()


async def test_unreachable_vendor_and_connect_timeout() -> None:
    fake = FakeOpenAIRealtime().start()
    url = fake.base_url
    fake.stop()
    rt = OpenAIRealtime(RealtimeConfig(provider="openai", api_key="k", base_url=url))
    with pytest.raises(waav.ProviderConnectionError):
        await rt.connect()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts TCP, never answers the handshake; ends when the client leaves
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rt = OpenAIRealtime(
        RealtimeConfig(
            provider="openai",
            api_key="k",
            base_url=f"ws://127.0.0.1:{port}",
            options={"connect_timeout": 0.3},
        )
    )
    with pytest.raises(waav.ProviderTimeoutError):
        await rt.connect()
    server.close()
    await server.wait_closed()


async def test_update_session_keeps_credentials_and_sends_the_merged_session() -> None:
    async with FakeOpenAIRealtime() as fake:
        rt, _col = await session(fake, instructions="one", voice="alloy")
        await rt.update_session(RealtimeConfig(provider="openai", instructions="two"))
        await until(lambda: len(fake.sessions[0].events_of("session.update")) == 2)
        assert rt.config.api_key == "test-key"
        assert rt.config.voice == "alloy"
        second = fake.sessions[0].events_of("session.update")[1]["session"]
        assert second["instructions"] == "two"
        assert second["audio"]["output"]["voice"] == "alloy"
        with pytest.raises(waav.ConfigError):
            await rt.update_session(RealtimeConfig(provider="openai", input_audio_format="mp3"))
        assert rt.config.instructions == "two"  # a bad update changes nothing
        await rt.disconnect()


def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="OPENAI_API_KEY"):
        OpenAIRealtime(RealtimeConfig(provider="openai"))
    for kw in (
        {"input_audio_format": "mp3"},
        {"output_audio_format": "pcm16@abc"},
        {"input_audio_format": "pcm16@1000000"},
        {"modalities": ["video"]},
        {"options": {"connect_timeout": 0}},
        {"options": {"replay_history": -1}},
        {"options": {"truncate_on_interrupt": "yes"}},
    ):
        with pytest.raises(waav.ConfigError):
            OpenAIRealtime(RealtimeConfig(provider="openai", api_key="k", **kw))  # type: ignore[arg-type]


def test_url_and_formats() -> None:
    rt = OpenAIRealtime(RealtimeConfig(provider="openai", api_key="k", input_audio_format="pcm16@16000"))
    assert rt.url() == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert (rt.client_input.encoding, rt.client_input.rate) == ("linear16", 16000)
    assert (rt.client_output.encoding, rt.client_output.rate) == ("linear16", 24000)
    full = OpenAIRealtime(
        RealtimeConfig(provider="openai", api_key="k", base_url="https://proxy.example/v1/realtime")
    )
    assert full.url() == "wss://proxy.example/v1/realtime?model=gpt-realtime"
    info = rt.provider_info()
    assert info["provider"] == "openai"
    assert info["model"] == "gpt-realtime"
    assert info["kind"] == "realtime"
