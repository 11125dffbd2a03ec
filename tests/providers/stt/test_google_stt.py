"""Google Speech-to-Text v2 StreamingRecognize adapter against the in-process gRPC fake."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("grpc", reason="the google extra (grpcio) is in the test extra")
pytest.importorskip(
    "google.cloud.speech_v2", reason="the google extra (google-cloud-speech) is in the test extra"
)

import waav
from waav.plugin import PluginRegistry
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.google import GoogleSTT
from waav.testing.fakes import FakeGoogleSpeech, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600  # 100 ms of PCM16 @ 16 kHz = the fake's bytes_per_result
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeGoogleSpeech, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[GoogleSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    options.setdefault("project_id", fake.project)
    stt = GoogleSTT(STTConfig(api_key=fake.api_key, base_url=fake.base_url, options=options, **(cfg or {})))
    return stt, STTCollector(stt)


async def test_interim_and_final_results_with_word_offsets() -> None:
    async with FakeGoogleSpeech(script=["hello world", "how are you"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        assert stt.is_ready()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        interim, final = got.results[0], got.results[1]
        assert (interim.transcript, interim.is_final, interim.is_speech_final) == ("hello", False, False)
        assert interim.confidence == pytest.approx(0.8)  # stability
        assert (final.transcript, final.is_final, final.is_speech_final) == ("hello world", True, True)
        assert final.confidence == pytest.approx(0.92)
        assert final.language == "en-us"
        assert final.words is not None
        assert [(w.word, w.start, w.end, w.confidence) for w in final.words] == [
            ("hello", 0.0, 0.25, pytest.approx(0.9)),
            ("world", 0.3, 0.55, pytest.approx(0.9)),
        ]
        assert got.transcripts == ["hello world", "how are you"]
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED
        call = fake.requests[0]
        assert call.path == "/google.cloud.speech.v2.Speech/StreamingRecognize"
        assert call.headers["x-goog-api-key"] == fake.api_key
        first = json.loads(call.messages[0])
        assert first["recognizer"] == "projects/test-project/locations/global/recognizers/_"
        config = first["streamingConfig"]["config"]
        assert config["explicitDecodingConfig"] == {
            "encoding": "LINEAR16",
            "sampleRateHertz": 16000,
            "audioChannelCount": 1,
        }
        assert (config["model"], config["languageCodes"]) == ("long", ["en-US"])
        assert config["features"]["enableWordTimeOffsets"] is True
        assert first["streamingConfig"]["streamingFeatures"]["interimResults"] is True
        assert call.messages[1:] == [CHUNK, CHUNK]
        assert got.errors == []


async def test_speech_end_after_the_final_marks_it_with_an_empty_result() -> None:
    async with FakeGoogleSpeech(script=["late end"], speech_end_first=False) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: any(r.is_speech_final for r in got.results))
        assert [(r.transcript, r.is_final, r.is_speech_final) for r in got.finals] == [
            ("late end", True, False),
            ("", True, True),
        ]
        await stt.disconnect()


async def test_large_chunks_are_split_to_the_15kb_limit_and_finish_flushes() -> None:
    async with FakeGoogleSpeech(script=["one", "tail"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK * 12)  # 38400 bytes in one call
        await stt.send_audio(b"\x00\x00" * 100)
        await stt.disconnect()  # half-close: the fake answers pending audio with a final
        sizes = [len(m) for m in fake.requests[0].messages[1:]]
        assert sizes == [15360, 15360, 7680, 200]
        assert got.transcripts == ["one", "tail"]


async def test_bearer_token_auth() -> None:
    async with FakeGoogleSpeech(script=["token"]) as fake:
        stt = GoogleSTT(
            STTConfig(
                base_url=fake.base_url,
                options={"project_id": fake.project, "access_token": fake.access_token},
            )
        )
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        await stt.disconnect()
        assert fake.requests[0].headers["authorization"] == f"Bearer {fake.access_token}"


async def test_bad_key_fails_connect() -> None:
    async with FakeGoogleSpeech(api_key="right") as fake:
        stt = GoogleSTT(
            STTConfig(api_key="wrong", base_url=fake.base_url, options={"project_id": fake.project})
        )
        with pytest.raises(waav.ProviderAuthError, match="UNAUTHENTICATED"):
            await stt.connect()
        assert stt.state is ConnectionState.ERROR


async def test_rate_limit_carries_retry_after() -> None:
    async with FakeGoogleSpeech(faults=Faults(rate_limit_retry_after=6)) as fake:
        stt, _ = make(fake)
        with pytest.raises(waav.ProviderRateLimitError) as info:
            await stt.connect()
        assert info.value.retry_after == 6


async def test_wrong_project_is_denied() -> None:
    async with FakeGoogleSpeech() as fake:
        stt, _ = make(fake, project_id="someone-else")
        with pytest.raises(waav.ProviderAuthError, match="PERMISSION_DENIED"):
            await stt.connect()  # the refusal of the config request arrives within ready_wait
        assert stt.state is ConnectionState.ERROR
        with pytest.raises(waav.ProviderError):
            await stt.send_audio(CHUNK)


async def test_vendor_error_is_reported_and_not_retried() -> None:
    async with FakeGoogleSpeech(faults=Faults(vendor_error="Invalid audio encoding")) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        assert isinstance(got.errors[0], waav.ProviderProtocolError)
        assert "Invalid audio encoding" in str(got.errors[0])
        assert fake.sessions == 1
        await stt.disconnect()


async def test_drop_mid_stream_reconnects_and_keeps_going() -> None:
    async with FakeGoogleSpeech(script=["again"], faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)  # the first call ends UNAVAILABLE on this one
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["again"]
        assert stt.connections == 2
        assert got.errors == []
        await stt.disconnect()


async def test_audio_sent_while_reconnecting_is_buffered_and_bounded() -> None:
    async with FakeGoogleSpeech(script=["kept"], faults=Faults(drop_after=1)) as fake:
        slow = {"initial_delay_ms": 300, "max_delay_ms": 300, "max_attempts": 2, "jitter": False}
        stt, got = make(fake, reconnect=slow, max_buffer_seconds=0.15)  # 4800 bytes
        await stt.connect()
        await stt.send_audio(CHUNK)  # the first call ends UNAVAILABLE on this one
        await got.wait_for(lambda: stt.state is ConnectionState.RECONNECTING)
        for _ in range(3):
            await stt.send_audio(CHUNK)  # 9600 bytes while reconnecting: whole oldest chunks go
        assert stt.buffered_bytes == 3200
        assert stt.dropped_audio_bytes == 6400
        await got.wait_for(lambda: got.errors)
        assert "max_buffer_seconds" in str(got.errors[0])
        await got.wait_for(lambda: got.finals)  # the kept audio reached the new call
        assert got.transcripts == ["kept"]
        assert fake.requests[1].messages[1:] == [CHUNK]  # only the newest audio survived
        await stt.disconnect()


async def test_audio_timeout_reopens_quietly_and_keepalive_prevents_it() -> None:
    async with FakeGoogleSpeech(script=["back"], faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0)
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2)
        await got.wait_for(stt.is_ready)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.errors == []
        await stt.disconnect()
    async with FakeGoogleSpeech(faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0.1)
        await stt.connect()
        await asyncio.sleep(0.8)
        assert fake.sessions == 1
        assert all(m == b"\x00" * 3200 for m in fake.requests[0].messages[1:])
        assert len(fake.requests[0].messages) > 2
        await stt.disconnect()


async def test_finish_without_reply_is_bounded() -> None:
    async with FakeGoogleSpeech(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        await stt.send_audio(CHUNK[:100])
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(waav.ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        await GoogleSTT(STTConfig(api_key="AIzaKEY")).connect()
    with pytest.raises(waav.ProviderAuthError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        await GoogleSTT(STTConfig(api_key="/no/such/key.json", options={"project_id": "p"})).connect()
    with pytest.raises(waav.ConfigError, match="encoding"):
        await GoogleSTT(STTConfig(api_key="AIzaKEY", encoding="mp3", options={"project_id": "p"})).connect()
    with pytest.raises(waav.ProviderConnectionError, match="cannot reach"):
        await GoogleSTT(
            STTConfig(
                api_key="k",
                base_url="http://127.0.0.1:9",
                options={"project_id": "p", "connect_timeout": 0.3},
            )
        ).connect()


def test_project_and_location_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    stt = GoogleSTT(STTConfig(api_key="k", model="proj-1:chirp_2", options={"location": "europe-west4"}))
    assert stt.recognizer == "projects/proj-1/locations/europe-west4/recognizers/_"
    assert stt.model == "chirp_2"
    assert stt.root_url() == "https://europe-west4-speech.googleapis.com"
    assert stt.target(stt.root_url()) == ("europe-west4-speech.googleapis.com:443", True)
    sa = json.dumps({"type": "service_account", "project_id": "from-key"})
    assert GoogleSTT(STTConfig(api_key=sa)).project == "from-key"
    assert GoogleSTT(STTConfig(api_key="k", options={"project_id": "p"})).model == "long"  # nova-3 → default


async def test_registry_creates_it_with_the_base_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeGoogleSpeech(script=["registry"]) as fake:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", fake.api_key)  # an API key works too
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", fake.project)
        monkeypatch.setenv("WAAV_GOOGLE_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        stt = registry.create_stt("google")
        assert type(stt) is GoogleSTT
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["registry"]
        await stt.disconnect()
