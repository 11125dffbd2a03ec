"""Hume EVI adapter against the fake EVI chat."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import waav
from waav.providers.base import ConnectionState, RealtimeConfig
from waav.providers.realtime.hume import HumeEVI, HumeTranscript, split_wav
from waav.testing.fakes import FakeHumeEVI, Faults, Reply
from waav.testing.fakes._realtime import EMOTIONS, tone
from waav.testing.fakes.hume_evi import wav_chunk

from ._util import Collector, peak_hz, seconds, stream, until, utterance

FAST_RECONNECT = {"initial_delay_ms": 20, "max_delay_ms": 100, "max_attempts": 3, "jitter": False}


def config(fake: FakeHumeEVI, **kw: Any) -> RealtimeConfig:
    options = {"connect_timeout": 3, **kw.pop("options", {})}
    return RealtimeConfig(
        provider="hume",
        api_key=kw.pop("api_key", "test-key"),
        base_url=fake.base_url,
        options=options,
        reconnection=kw.pop("reconnection", FAST_RECONNECT),
        **kw,
    )


async def session(fake: FakeHumeEVI, **kw: Any) -> tuple[HumeEVI, Collector]:
    rt = HumeEVI(config(fake, **kw))
    col = Collector(rt)
    await rt.connect()
    return rt, col


async def test_full_turn_with_prosody_and_audio_at_the_client_rate() -> None:
    fake = FakeHumeEVI(replies=[Reply("Hello there. How are you today?")], transcripts=["good morning"])
    async with fake:
        rt, col = await session(fake, instructions="be kind", voice="ITO", options={"sample_rate": 16000})
        s = fake.sessions[0]
        await until(lambda: s.settings)  # EVI does not acknowledge session_settings
        assert rt.chat_group_id == s.chat_group_id
        assert rt.chat_id == s.chat_id
        assert s.request.query == {"api_key": "test-key", "verbose_transcription": "true"}
        assert s.settings == {
            "audio": {"encoding": "linear16", "sample_rate": 44100, "channels": 1},
            "system_prompt": "be kind",
            "voice_id": "ITO",
        }
        await stream(rt, utterance(16000), 16000)
        await until(lambda: col.done)
        # EVI got PCM16 at 44.1 kHz: the whole utterance with its 300 Hz tone
        await until(lambda: abs(seconds(bytes(s.audio), 44100) - 1.8) < 0.02)  # the fake runs a little behind
        assert abs(peak_hz(bytes(s.audio[: 44100 * 2 * 8 // 10]), 44100) - 300) < 3
        assert not s.errors
        users = [t for t in col.transcripts if t.role == "user"]
        assert [(t.text, t.is_final) for t in users] == [("good", False), ("good morning", True)]
        final = users[-1]
        assert isinstance(final, HumeTranscript)
        assert final.prosody is not None
        assert set(final.prosody) == set(EMOTIONS)
        assert len(final.prosody) == 48
        assert final.top_emotions(1)[0][1] == max(final.prosody.values())
        assert col.finals("assistant") == ["Hello there.", "How are you today?"]
        assert [(e.kind, e.audio_ms) for e in col.speech] == [("started", 0), ("stopped", 1300)]
        # the WAV chunks (48 kHz) arrive as PCM16 at 16 kHz: 2 + 4 words x 200 ms of 600 Hz
        assert {a.sample_rate for a in col.audio} == {16000}
        pcm = col.pcm()
        assert abs(seconds(pcm, 16000) - 1.2) < 0.01
        assert abs(peak_hz(pcm, 16000) - 600) < 3
        assert not pcm.startswith(b"RIFF")
        assert b"WAVE" not in pcm
        assert len(col.done) == 1
        assert col.done[0].startswith("msg-")
        assert not col.errors
        await rt.disconnect()
        await until(lambda: s.closed)


async def test_vendor_rate_equal_to_the_client_rate_skips_resampling() -> None:
    async with FakeHumeEVI() as fake:
        rt, _ = await session(fake, options={"sample_rate": 16000, "vendor_sample_rate": 16000})
        pcm = tone(440, 200, 16000)
        await stream(rt, pcm, 16000)
        await until(lambda: len(fake.sessions[0].audio) == len(pcm))
        assert bytes(fake.sessions[0].audio) == pcm
        assert fake.sessions[0].sample_rate == 16000
        await rt.disconnect()


async def test_text_input_gets_a_reply() -> None:
    async with FakeHumeEVI(replies=[Reply("Sure.")]) as fake:
        rt, col = await session(fake)
        await rt.send_text("say something")
        await until(lambda: col.done)
        assert fake.sessions[0].messages_of("user_input") == [{"type": "user_input", "text": "say something"}]
        assert col.finals("user") == ["say something"]
        assert col.finals("assistant") == ["Sure."]
        assert not col.speech  # typed, not spoken
        assert {a.sample_rate for a in col.audio} == {44100}  # the upstream default client rate
        await rt.disconnect()


async def test_function_call_round_trip_and_tool_error() -> None:
    replies = [
        Reply(function_call=("get_weather", '{"city": "Paris"}')),
        Reply("It is {tool_output} degrees."),
        Reply(function_call=("get_weather", '{"city": "Oslo"}')),
    ]
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
        }
    ]
    async with FakeHumeEVI(replies=replies) as fake:
        rt, col = await session(fake, tools=tools)
        s = fake.sessions[0]
        await until(lambda: s.settings)
        (tool,) = s.settings["tools"]
        assert tool["name"] == "get_weather"
        assert json.loads(tool["parameters"]) == {"type": "object"}
        await rt.send_text("weather?")
        await until(lambda: col.calls)
        call = col.calls[0]
        assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
        await rt.submit_function_result(call.call_id, "21")
        await until(lambda: col.done)
        assert col.finals("assistant") == ["It is 21 degrees."]
        assert s.tool_responses[0] == {
            "type": "tool_response",
            "tool_call_id": call.call_id,
            "content": "21",
            "tool_name": "get_weather",
        }
        await rt.send_text("and Oslo?")
        await until(lambda: len(col.calls) == 2)
        await rt.submit_function_error(
            col.calls[1].call_id, "service down", content="The weather service is down."
        )
        await until(lambda: len(col.done) == 2)
        assert col.finals("assistant")[-1] == "The weather service is down."
        assert not s.errors
        assert not col.errors
        await rt.disconnect()


async def test_cancel_drops_the_rest_of_the_reply() -> None:
    long = Reply(" ".join(["word"] * 20) + ".")
    async with FakeHumeEVI(replies=[long, Reply("Next.")], chunk_delay=0.03) as fake:
        rt, col = await session(fake)
        await rt.send_text("talk")
        await until(lambda: len(col.audio) >= 2)
        await rt.cancel_response()
        n = len(col.audio)
        await until(lambda: col.done)
        assert len(col.audio) == n  # EVI went on (it has no cancel message); nothing reached us
        assert fake.sessions[0].audio_outputs_sent > n
        await rt.send_text("again")
        await until(lambda: len(col.done) == 2)
        assert len(col.audio) > n
        assert col.finals("assistant")[-1] == "Next."
        await rt.disconnect()


async def test_user_interruption_stops_playback() -> None:
    async with FakeHumeEVI(
        replies=[Reply(" ".join(["word"] * 30) + "."), Reply("Yes?")], chunk_delay=0.03
    ) as fake:
        rt, col = await session(fake, options={"sample_rate": 16000})
        await rt.send_text("talk")
        await until(lambda: len(col.audio) >= 2)
        await stream(rt, utterance(16000, speech_ms=300, silence_ms=600), 16000)
        await until(lambda: fake.sessions[0].interruptions == 1)
        await until(lambda: len(col.done) == 2)  # the interrupted reply ends, the user's turn is answered
        assert col.speech[0].kind == "started"
        assert col.finals("assistant")[-1] == "Yes?"
        await rt.disconnect()


async def test_reconnect_after_a_drop_resumes_the_chat_group() -> None:
    async with FakeHumeEVI(
        faults=Faults(drop_after=2), replies=[Reply("a b c d e f."), Reply("Back.")]
    ) as fake:
        rt, col = await session(fake, instructions="stay")
        first_group = rt.chat_group_id
        await rt.send_text("first")
        await until(lambda: col.reconnects and rt.is_ready())
        assert col.reconnects[0].success
        second = fake.sessions[1]
        assert second.request.query["resumed_chat_group_id"] == first_group
        await until(lambda: second.settings)
        assert second.settings["system_prompt"] == "stay"  # settings re-sent
        await rt.send_text("second")
        await until(lambda: col.done)
        assert col.finals("assistant")[-1] == "Back."
        assert not col.errors
        await rt.disconnect()


async def test_max_duration_close_reconnects_at_once() -> None:
    slow = {**FAST_RECONNECT, "initial_delay_ms": 5000}
    async with FakeHumeEVI(faults=Faults(session_expires_after=1.1)) as fake:
        rt, col = await session(fake, reconnection=slow)
        await until(lambda: len(fake.sessions) == 2, timeout=4)
        await until(lambda: rt.is_ready())
        assert [(r.attempt, r.success) for r in col.reconnects] == [(1, True)]
        assert fake.sessions[1].request.query["resumed_chat_group_id"] == fake.sessions[0].chat_group_id
        await until(lambda: fake.sessions[1].settings)
        assert fake.sessions[1].settings["audio"]["sample_rate"] == 44100
        assert not col.errors
        await rt.disconnect()


@pytest.mark.parametrize(
    ("faults", "cls"),
    [
        (Faults(reject_auth=True), waav.ProviderAuthError),
        (Faults(rate_limit_retry_after=3), waav.ProviderRateLimitError),
    ],
)
async def test_handshake_errors_are_mapped(faults: Faults, cls: type) -> None:
    async with FakeHumeEVI(faults=faults) as fake:
        rt = HumeEVI(config(fake))
        with pytest.raises(cls):
            await rt.connect()
        assert rt.state is ConnectionState.ERROR


async def test_vendor_errors_are_reported_and_the_chat_goes_on() -> None:
    async with FakeHumeEVI(faults=Faults(vendor_error="rate_limit_exceeded")) as fake:
        rt, col = await session(fake)
        await rt.send_text("hi")
        await until(lambda: col.errors)
        assert isinstance(col.errors[0], waav.ProviderRateLimitError)
        fake.faults.vendor_error = None
        await rt.send_text("again")
        await until(lambda: col.done)
        await rt.disconnect()


async def test_slow_first_reply_and_create_response_is_a_no_op() -> None:
    async with FakeHumeEVI(faults=Faults(first_result_delay=0.3)) as fake:
        rt, col = await session(fake)
        await rt.create_response()
        await rt.commit_audio_buffer()
        await rt.clear_audio_buffer()
        assert fake.sessions[0].messages_of("audio_input") == []
        t0 = asyncio.get_running_loop().time()
        await rt.send_text("hi")
        await until(lambda: col.audio)
        assert asyncio.get_running_loop().time() - t0 >= 0.3
        assert not col.errors
        await rt.disconnect()


async def test_access_token_instead_of_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    async with FakeHumeEVI(access_token="tok") as fake:
        rt = HumeEVI(
            RealtimeConfig(
                provider="hume", base_url=fake.base_url, options={"access_token": "tok", "config_id": "cfg-1"}
            )
        )
        await rt.connect()
        assert fake.sessions[0].request.query == {
            "access_token": "tok",
            "config_id": "cfg-1",
            "verbose_transcription": "true",
        }
        assert rt.provider_info()["config_id"] == "cfg-1"
        await rt.disconnect()


def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="HUME_API_KEY"):
        HumeEVI(RealtimeConfig(provider="hume"))
    for kw in (
        {"options": {"vendor_sample_rate": 96000}},
        {"options": {"vendor_sample_rate": "44100"}},
        {"options": {"verbose_transcription": "yes"}},
        {"output_audio_format": "opus"},
    ):
        with pytest.raises(waav.ConfigError):
            HumeEVI(RealtimeConfig(provider="hume", api_key="k", **kw))  # type: ignore[arg-type]


def test_split_wav() -> None:
    pcm = tone(600, 10, 48000)
    assert split_wav(wav_chunk(pcm, 48000)) == (48000, pcm)
    assert split_wav(pcm) == (None, pcm)
    with pytest.raises(waav.ProviderError, match="no data chunk"):
        split_wav(wav_chunk(pcm, 48000)[:36])
