"""ElevenLabs Scribe realtime adapter against FakeElevenLabs."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

import waav
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.elevenlabs import ElevenLabsSTT
from waav.testing.fakes import FakeElevenLabs, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeElevenLabs, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[ElevenLabsSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    stt = ElevenLabsSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url, options=options, **(cfg or {})))
    return stt, STTCollector(stt)


def sent(fake: FakeElevenLabs, session: int = 0) -> list[dict[str, Any]]:
    return fake.requests[session].json_messages()


async def test_partial_and_committed_transcripts_with_word_timestamps() -> None:
    async with FakeElevenLabs(script=["Hello world.", "Second line"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        assert stt.session_id
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        partial, final = got.results[:2]
        assert (partial.transcript, partial.is_final, partial.confidence) == ("Hello", False, 0.0)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("Hello world.", True, True)
        assert final.confidence == pytest.approx(0.9)  # mean of exp(logprob)
        assert final.language == "en"
        assert final.words is not None  # the "spacing" entries are not words
        assert [(w.word, w.start, w.end) for w in final.words] == [
            ("Hello", 0.0, 0.25),
            ("world.", 0.3, 0.55),
        ]
        assert len(got.finals) == 2  # committed_transcript is not a second final
        await stt.disconnect()
        req = fake.requests[0]
        assert req.headers["xi-api-key"] == fake.api_key
        assert req.query == {
            "model_id": "scribe_v2_realtime",
            "audio_format": "pcm_16000",
            "commit_strategy": "vad",
            "include_timestamps": "true",
            "language_code": "en",
        }
        chunks = sent(fake)
        assert all(isinstance(m, str) for m in req.messages)  # no binary frames
        assert chunks[0]["message_type"] == "input_audio_chunk"
        assert base64.b64decode(chunks[0]["audio_base_64"]) == CHUNK
        assert (chunks[0]["commit"], chunks[0]["sample_rate"]) == (False, 16000)
        assert chunks[-1]["commit"] is True  # the finish commits what is pending
        assert got.errors == []


async def test_without_timestamps_committed_transcript_is_the_final() -> None:
    async with FakeElevenLabs(script=["no words"]) as fake:
        stt, got = make(fake, {"sample_rate": 24000}, include_timestamps=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["no words"]
        assert got.finals[0].words is None
        q = fake.requests[0].query
        assert (q["include_timestamps"], q["audio_format"]) == ("false", "pcm_24000")
        await stt.disconnect()


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="ELEVENLABS_API_KEY"):
        await ElevenLabsSTT(STTConfig()).connect()
    # the upstream silently sent pcm_16000 for other rates (the audio is then misread)
    with pytest.raises(waav.ConfigError, match="11025 Hz is not supported"):
        await ElevenLabsSTT(STTConfig(api_key="k", sample_rate=11025)).connect()
    assert (
        ElevenLabsSTT(STTConfig(api_key="k", encoding="mulaw", sample_rate=8000)).audio_format()
        == "ulaw_8000"
    )


async def test_auth_error_message_fails_connect() -> None:
    async with FakeElevenLabs(api_key="right") as fake:
        stt = ElevenLabsSTT(STTConfig(api_key="wrong", base_url=fake.ws_url))
        with pytest.raises(waav.ProviderAuthError, match="auth_error: Invalid API key"):
            await stt.connect()


async def test_vendor_error_types_are_reported_and_mapped() -> None:
    async with FakeElevenLabs(faults=Faults(vendor_error="model overloaded")) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        assert [str(e) for e in got.errors] == ["elevenlabs: transcriber_error: model overloaded"]
        await stt.disconnect()
    stt = ElevenLabsSTT(STTConfig(api_key="k"))
    got = STTCollector(stt)
    stt._ready.set()
    for kind, cls in [
        ("rate_limited", waav.ProviderRateLimitError),
        ("quota_exceeded", waav.ProviderAuthError),
        ("chunk_size_exceeded", waav.ProviderProtocolError),
        ("commit_throttled", waav.ProviderError),
    ]:
        await stt.handle_message(json.dumps({"message_type": kind, "error": "x"}))
        assert type(got.errors[-1]) is cls


async def test_mid_stream_drop_reconnects() -> None:
    async with FakeElevenLabs(script=["one"], faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["one"]
        assert got.errors == []
        await stt.disconnect()


async def test_insufficient_audio_activity_reconnects_for_free() -> None:
    # no keepalive message exists for Scribe realtime; an idle close is routine
    async with FakeElevenLabs(script=["back"], faults=Faults(idle_close_after=0.1)) as fake:
        stt, got = make(fake, reconnect={"max_attempts": 0})
        assert stt.keepalive_interval is None
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["back"]
        assert got.errors == []
        await stt.disconnect()


async def test_finish_commits_pending_audio_and_waits_for_it() -> None:
    async with FakeElevenLabs(script=["first", "pending"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK[:600])
        await got.wait_for(lambda: got.finals)
        t0 = time.monotonic()
        await stt.disconnect()
        assert time.monotonic() - t0 < 1.0
        assert got.transcripts == ["first", "pending"]


async def test_finish_without_audio_does_not_wait_and_without_reply_is_bounded() -> None:
    async with FakeElevenLabs() as fake:
        stt, _ = make(fake, finish_timeout=5)
        await stt.connect()
        t0 = time.monotonic()
        await stt.disconnect()  # nothing sent: no commit, no wait
        assert time.monotonic() - t0 < 1.0
    async with FakeElevenLabs(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        await stt.send_audio(CHUNK[:500])
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.15 <= time.monotonic() - t0 < 1.5
        assert sent(fake)[-1]["commit"] is True
