"""OpenAI and Groq transcription adapters (buffered REST, VAD-cut utterances) against their fakes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import waav
from waav.audio import ulaw_encode
from waav.plugin import PluginRegistry
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt._rest import BufferedRestSTT
from waav.providers.stt.groq import GroqSTT
from waav.providers.stt.openai import OpenAISTT
from waav.testing.fakes import FakeGroq, FakeOpenAISTT, Faults, STTCollector

RATE = 16000
FAST = {"initial_delay_ms": 10, "max_delay_ms": 30, "max_attempts": 2}
ENERGY = {"vad_classifier": "energy", "reconnect": FAST}


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def speech(seconds: float, seed: int = 1) -> bytes:
    """A voiced-like signal: a 150 Hz harmonic series with a 4 Hz syllable envelope, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    x = 6000 * env * voice / 3 + rng.normal(0, 300, t.size)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


async def feed(stt: BufferedRestSTT, pcm: bytes, chunk: int = 640) -> None:
    for i in range(0, len(pcm), chunk):
        await stt.send_audio(pcm[i : i + chunk])


def make(
    fake: FakeOpenAISTT, cls: type[OpenAISTT] = OpenAISTT, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[OpenAISTT, STTCollector]:
    opts = {**ENERGY, **options}
    stt = cls(STTConfig(api_key=fake.api_key, base_url=fake.base_url, options=opts, **(cfg or {})))
    return stt, STTCollector(stt)


async def test_an_utterance_is_transcribed_when_the_vad_hears_it_end() -> None:
    async with FakeOpenAISTT(script=["Hello world."]) as fake:
        stt, got = make(fake)
        await stt.connect()
        assert stt.is_ready()
        await feed(stt, silence(1.0) + speech(0.8) + silence(0.8))
        # the transcript arrives before disconnect: the VAD ended the utterance
        await got.wait_for(lambda: got.finals)
        (result,) = got.results
        assert (result.transcript, result.is_final, result.is_speech_final) == ("Hello world.", True, True)
        assert result.confidence == pytest.approx(math.exp(-0.105))
        assert result.language == "english"
        assert result.words is not None
        # word times count from the session start: the utterance (with 300 ms pre-roll) began at 0.7 s
        assert [(w.word, w.start, w.end) for w in result.words] == [
            ("Hello", 0.7, 0.95),
            ("world.", 1.0, 1.25),
        ]
        req = fake.requests[0]
        assert req.path == "/v1/audio/transcriptions"
        assert req.headers["authorization"] == f"Bearer {fake.api_key}"
        assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
        (upload,) = fake.uploads
        assert upload.fields == {
            "model": ["whisper-1"],
            "response_format": ["verbose_json"],
            "language": ["en"],
            "timestamp_granularities[]": ["word", "segment"],
        }
        assert (upload.sample_rate, upload.channels) == (RATE, 1)
        # pre-roll + speech + 500 ms of hangover silence, give or take a frame
        assert 1.5 <= len(upload.pcm16) / 2 / RATE <= 1.7
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED
        assert len(fake.uploads) == 1  # nothing left to send at disconnect
        assert got.errors == []
        assert stt.stats.final_results_count == 1


async def test_utterances_arrive_in_order_with_their_own_offsets() -> None:
    async with FakeOpenAISTT(script=["one", "two three"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(0.5, 1) + silence(1.0) + speech(0.5, 2) + silence(1.0))
        await got.wait_for(lambda: len(got.finals) == 2)
        assert got.transcripts == ["one", "two three"]
        second = got.finals[1].words
        assert second is not None
        assert second[0].start == pytest.approx(1.7, abs=0.03)
        await stt.disconnect()


async def test_default_webrtc_vad_cuts_speech_too() -> None:
    async with FakeOpenAISTT(script=["webrtc"]) as fake:
        stt = OpenAISTT(STTConfig(api_key=fake.api_key, base_url=fake.base_url))
        got = STTCollector(stt)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(1.0) + silence(1.0))
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["webrtc"]
        await stt.disconnect()


async def test_gpt4o_models_get_json_without_timestamps() -> None:
    async with FakeOpenAISTT(script=["plain text"]) as fake:
        stt, got = make(
            fake, cfg={"model": "gpt-4o-mini-transcribe", "language": "de-DE"}, prompt="names: Ada"
        )
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        (result,) = got.finals
        assert (result.transcript, result.words, result.confidence) == ("plain text", None, 1.0)
        assert fake.uploads[0].fields == {
            "model": ["gpt-4o-mini-transcribe"],
            "response_format": ["json"],
            "language": ["de"],
            "prompt": ["names: Ada"],
        }
        await stt.disconnect()


async def test_flush_on_disconnect_buffers_everything_until_the_end() -> None:
    async with FakeOpenAISTT(script=["all of it"]) as fake:
        stt, got = make(fake, flush="disconnect")
        await stt.connect()
        await feed(stt, speech(0.5) + silence(1.0) + speech(0.5))
        assert fake.uploads == []
        assert stt.buffered_bytes == len(speech(0.5)) * 2 + len(silence(1.0))
        await stt.disconnect()
        assert got.transcripts == ["all of it"]
        assert len(fake.uploads[0].pcm16) == stt.stats.total_audio_bytes


async def test_long_speech_is_cut_at_max_utterance_seconds() -> None:
    async with FakeOpenAISTT(script=["part one", "part two"]) as fake:
        stt, got = make(fake, max_utterance_seconds=1.0)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(2.2))  # no pause: only the length bound cuts it
        await got.wait_for(lambda: len(got.finals) == 2)  # before disconnect
        assert [len(u.pcm16) / 2 / RATE for u in fake.uploads] == [pytest.approx(1.0, abs=0.02)] * 2
        second = got.finals[1].words
        assert second is not None
        assert second[0].start == pytest.approx(got.finals[0].words[0].start + 1.0, abs=0.02)  # type: ignore[index]
        await stt.disconnect()
        assert len(fake.uploads) == 3  # the rest at disconnect


async def test_finish_sends_the_open_utterance_and_waits_for_a_slow_answer() -> None:
    async with FakeOpenAISTT(script=["cut off"], faults=Faults(first_result_delay=0.3)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(0.6))  # still speaking: no end from the VAD yet
        assert fake.uploads == []
        await stt.disconnect()
        assert got.transcripts == ["cut off"]
        assert got.errors == []


async def test_finalize_sends_now_and_the_session_goes_on() -> None:
    async with FakeOpenAISTT(script=["first", "second"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(0.6))
        await stt.finalize()
        await got.wait_for(lambda: got.finals)
        await feed(stt, silence(0.5) + speech(0.6) + silence(0.8))
        await got.wait_for(lambda: len(got.finals) == 2)
        words = got.finals[1].words
        assert words is not None
        assert words[0].start == pytest.approx(1.1 + 0.5 - 0.3, abs=0.03)
        await stt.disconnect()


async def test_bad_key_is_fatal_and_reported() -> None:
    async with FakeOpenAISTT(api_key="right") as fake:
        stt = OpenAISTT(STTConfig(api_key="wrong", base_url=fake.base_url, options=ENERGY))
        got = STTCollector(stt)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.errors)
        assert isinstance(got.errors[0], waav.ProviderAuthError)
        assert "401" in str(got.errors[0])
        assert "Incorrect API key" in str(got.errors[0])
        assert stt.state is ConnectionState.ERROR
        with pytest.raises(waav.ProviderAuthError):
            await stt.send_audio(silence(0.1))
        assert len(fake.requests) == 1  # never retried
        await stt.disconnect()


async def test_rate_limit_is_retried_then_reported_with_retry_after() -> None:
    async with FakeOpenAISTT(script=["later"], faults=Faults(rate_limit_retry_after=0.05)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.errors)
        err = got.errors[0]
        assert isinstance(err, waav.ProviderRateLimitError)
        assert err.retry_after == pytest.approx(0.05)
        assert len(fake.requests) == 3  # the first try and FAST's two retries
        # the session carries on once the vendor accepts requests again
        fake.faults.rate_limit_retry_after = None
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["later"]
        await stt.disconnect()


async def test_vendor_error_is_reported_and_the_next_utterance_still_works() -> None:
    async with FakeOpenAISTT(script=["fine"], faults=Faults(vendor_error="Audio file is too short.")) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.errors)
        assert type(got.errors[0]) is waav.ProviderError
        assert "Audio file is too short." in str(got.errors[0])
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["fine"]
        assert len(fake.requests) == 2  # a 400 is not retried
        await stt.disconnect()


async def test_dropped_connection_is_retried_without_losing_the_utterance() -> None:
    async with FakeOpenAISTT(script=["survived"], faults=Faults(drop_after=0)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["survived"]
        assert got.errors == []
        assert len(fake.requests) == 2
        assert len(fake.uploads) == 1
        assert fake.uploads[0].pcm16 in fake.requests[0].body
        await stt.disconnect()


async def test_unreachable_vendor_is_a_connection_error() -> None:
    stt = OpenAISTT(STTConfig(api_key="k", base_url="http://127.0.0.1:9", options=ENERGY))
    got = STTCollector(stt)
    await stt.connect()
    await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
    await got.wait_for(lambda: got.errors)
    assert isinstance(got.errors[0], waav.ProviderConnectionError)
    await stt.disconnect()


async def test_waiting_uploads_are_bounded() -> None:
    async with FakeOpenAISTT(script=["a", "b", "c", "d"], faults=Faults(first_result_delay=0.5)) as fake:
        stt, got = make(fake, max_buffer_seconds=1.0)
        await stt.connect()
        for seed in range(4):  # four utterances while the first request is still waiting
            await feed(stt, silence(0.3) + speech(0.4, seed) + silence(0.7))
        assert stt.dropped_audio_bytes > 0
        assert stt.buffered_bytes <= 2 * RATE * 1.2  # the bound (1 s), or one longer utterance (1.2 s)
        await got.wait_for(lambda: got.errors)
        assert "max_buffer_seconds" in str(got.errors[0])
        await stt.disconnect()
        assert got.transcripts[0] == "a"
        assert len(got.transcripts) < 4


async def test_mulaw_and_stereo_input_reach_the_vendor_as_pcm16_mono() -> None:
    async with FakeOpenAISTT(script=["mu", "two ears"]) as fake:
        stt, got = make(fake, cfg={"encoding": "mulaw", "sample_rate": 8000})
        await stt.connect()
        pcm8 = np.frombuffer(speech(1.0), "<i2")[::2].tobytes()
        await stt.send_audio(ulaw_encode(bytes(1600) + pcm8 + bytes(16000)))
        await got.wait_for(lambda: got.finals)
        assert fake.uploads[0].sample_rate == 8000
        await stt.disconnect()
        stt, got = make(fake, cfg={"channels": 2})
        await stt.connect()
        mono = silence(0.3) + speech(0.5) + silence(0.8)
        stereo = np.repeat(np.frombuffer(mono, "<i2"), 2).tobytes()
        await stt.send_audio(stereo[:1001])  # a chunk that ends mid-sample
        await stt.send_audio(stereo[1001:])
        await got.wait_for(lambda: got.finals)
        assert fake.uploads[1].channels == 1
        await stt.disconnect()


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="OPENAI_API_KEY"):
        await OpenAISTT(STTConfig()).connect()
    with pytest.raises(waav.ConfigError, match="flush"):
        await OpenAISTT(STTConfig(api_key="k", options={"flush": "sometimes"})).connect()
    with pytest.raises(waav.ConfigError, match="vad_classifier"):
        await OpenAISTT(STTConfig(api_key="k", options={"vad_classifier": "magic"})).connect()
    with pytest.raises(waav.ConfigError, match="encoding"):
        await OpenAISTT(STTConfig(api_key="k", encoding="mp3")).connect()
    with pytest.raises(waav.ConfigError, match="response_format"):
        await OpenAISTT(STTConfig(api_key="k", options={"response_format": "srt"})).connect()
    with pytest.raises(ValueError, match="silence_ms"):  # input errors are ValueErrors too
        await OpenAISTT(STTConfig(api_key="k", options={"silence_ms": -1})).connect()
    stt = OpenAISTT(STTConfig(api_key="k"))
    with pytest.raises(waav.ProviderError, match="not connected"):
        await stt.send_audio(b"\0\0")


def test_base_url_forms() -> None:
    def url(base: str | None, cls: type[OpenAISTT] = OpenAISTT) -> str:
        return cls(STTConfig(api_key="k", base_url=base)).url

    assert url(None) == "https://api.openai.com/v1/audio/transcriptions"
    assert url("http://h:1") == "http://h:1/v1/audio/transcriptions"
    assert url("http://h:1/v1/") == "http://h:1/v1/audio/transcriptions"
    assert url("http://h:1/v1/audio/transcriptions") == "http://h:1/v1/audio/transcriptions"
    assert url(None, GroqSTT) == "https://api.groq.com/openai/v1/audio/transcriptions"
    assert url("http://h:1", GroqSTT) == "http://h:1/openai/v1/audio/transcriptions"


async def test_groq_defaults_and_word_timings() -> None:
    async with FakeGroq(script=["namaste world"]) as fake:
        stt, got = make(fake, GroqSTT)
        await stt.connect()
        await feed(stt, silence(0.5) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        (result,) = got.finals
        assert result.words is not None
        assert result.words[0].start == pytest.approx(0.2)
        assert fake.requests[0].path == "/openai/v1/audio/transcriptions"
        assert fake.uploads[0].fields["model"] == ["whisper-large-v3-turbo"]
        assert fake.uploads[0].fields["response_format"] == ["verbose_json"]
        await stt.disconnect()


async def test_groq_translation_and_model_choice() -> None:
    async with FakeGroq(script=["in english"]) as fake:
        stt, got = make(
            fake, GroqSTT, cfg={"model": "whisper-large-v3", "language": "hi-IN"}, task="translate"
        )
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        assert fake.requests[0].path == "/openai/v1/audio/translations"
        assert "language" not in fake.uploads[0].fields
        assert fake.uploads[0].fields["model"] == ["whisper-large-v3"]
        await stt.disconnect()
    with pytest.raises(waav.ConfigError, match="task"):
        GroqSTT(STTConfig(api_key="k", options={"task": "summarise"}))


async def test_groq_bad_key_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="GROQ_API_KEY"):
        await GroqSTT(STTConfig()).connect()
    async with FakeGroq(faults=Faults(reject_auth=True)) as fake:
        stt, got = make(fake, GroqSTT)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.errors)
        assert isinstance(got.errors[0], waav.ProviderAuthError)
        await stt.disconnect()


@pytest.mark.parametrize(
    ("pid", "fake_cls", "cls", "env"),
    [
        ("openai", FakeOpenAISTT, OpenAISTT, "OPENAI"),
        ("groq", FakeGroq, GroqSTT, "GROQ"),
    ],
)
async def test_registry_creates_them_from_env_vars(
    monkeypatch: pytest.MonkeyPatch, pid: str, fake_cls: type[FakeOpenAISTT], cls: type[OpenAISTT], env: str
) -> None:
    async with fake_cls(script=["from the registry"]) as fake:
        monkeypatch.setenv(f"{env}_API_KEY", fake.api_key)
        monkeypatch.setenv(f"WAAV_{env}_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        stt = registry.create_stt(pid.upper(), {"options": {"vad_classifier": "energy"}})
        assert type(stt) is cls
        got = STTCollector(stt)
        await stt.connect()
        await feed(stt, silence(0.3) + speech(0.5) + silence(0.8))
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["from the registry"]
        await stt.disconnect()
