"""IBM Watson adapter against FakeIBMWatson (IAM token exchange + recognize WebSocket)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest

import waav
from waav.plugin import PluginRegistry
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.ibm_watson import IBMWatsonSTT
from waav.testing.fakes import FakeIBMWatson, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(
    fake: FakeIBMWatson, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[IBMWatsonSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    options.setdefault("instance_id", fake.instance_id)
    values: dict[str, Any] = {"api_key": fake.api_key, "base_url": fake.base_url, **(cfg or {})}
    stt = IBMWatsonSTT(STTConfig(options=options, **values))
    return stt, STTCollector(stt)


def sockets(fake: FakeIBMWatson) -> list[Any]:
    return [r for r in fake.requests if r.method == "WEBSOCKET"]


async def test_token_exchange_start_message_and_result_mapping() -> None:
    async with FakeIBMWatson(script=["hello world", "two words"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        interim, final = got.results[:2]
        assert (interim.transcript, interim.is_final) == ("hello", False)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("hello world", True, True)
        assert final.confidence == pytest.approx(0.89)
        assert final.words is not None
        assert [(w.word, w.start, w.end, w.confidence) for w in final.words] == [
            ("hello", 0.0, 0.25, 0.9),
            ("world", 0.3, 0.55, 0.9),
        ]
        await stt.disconnect()

        token_req = fake.requests[0]
        assert (token_req.method, token_req.path) == ("POST", "/identity/token")
        assert parse_qs(token_req.body.decode()) == {
            "grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
            "apikey": [fake.api_key],
        }
        ws = sockets(fake)[0]
        assert ws.path == f"/instances/{fake.instance_id}/v1/recognize"  # the upstream omitted it
        assert ws.query == {"access_token": fake.tokens[0], "model": "en-US_Multimedia"}
        start = json.loads(ws.messages[0])
        assert start["action"] == "start"
        assert start["content-type"] == "audio/l16;rate=16000;channels=1"
        assert (start["interim_results"], start["timestamps"], start["word_confidence"]) == (True, True, True)
        assert start["inactivity_timeout"] == -1
        assert ws.messages[1:3] == [CHUNK, CHUNK]  # audio only after {"state": "listening"}
        assert json.loads(ws.messages[-1]) == {"action": "stop"}
        assert got.errors == []


async def test_telephony_model_and_options() -> None:
    async with FakeIBMWatson() as fake:
        stt, _ = make(fake, {"sample_rate": 8000, "encoding": "mulaw"}, smart_formatting=False)
        await stt.connect()
        await stt.disconnect()
        ws = sockets(fake)[0]
        assert ws.query["model"] == "en-US_Telephony"
        start = json.loads(ws.messages[0])
        assert (start["content-type"], start["smart_formatting"]) == (
            "audio/mulaw;rate=8000;channels=1",
            False,
        )


async def test_bad_config_names_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IBM_WATSON_API_KEY", raising=False)
    monkeypatch.delenv("IBM_WATSON_INSTANCE_ID", raising=False)
    with pytest.raises(waav.ProviderAuthError, match="IBM_WATSON_API_KEY"):
        await IBMWatsonSTT(STTConfig()).connect()
    with pytest.raises(waav.ProviderAuthError, match="IBM_WATSON_INSTANCE_ID"):
        await IBMWatsonSTT(STTConfig(api_key="k")).connect()


async def test_iam_rejection_and_wrong_instance() -> None:
    async with FakeIBMWatson(api_key="right") as fake:
        stt = IBMWatsonSTT(
            STTConfig(api_key="wrong", base_url=fake.base_url, options={"instance_id": fake.instance_id})
        )
        with pytest.raises(waav.ProviderAuthError, match="API key could not be found"):
            await stt.connect()
        stt, _ = make(fake, {"api_key": "right"}, instance_id="someone-else")
        with pytest.raises(waav.ProviderError, match="404"):
            await stt.connect()


async def test_registry_fills_key_instance_and_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeIBMWatson(script=["via the registry"]) as fake:
        monkeypatch.setenv("IBM_WATSON_API_KEY", fake.api_key)
        monkeypatch.setenv("IBM_WATSON_INSTANCE_ID", fake.instance_id)
        monkeypatch.setenv("WAAV_IBM_WATSON_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        stt = registry.create_stt("watson", {"options": {"reconnect": False}})
        assert isinstance(stt, IBMWatsonSTT)
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["via the registry"]
        await stt.disconnect()


async def test_vendor_error_is_reported() -> None:
    async with FakeIBMWatson(faults=Faults(vendor_error="unable to transcode data stream")) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        assert [str(e) for e in got.errors] == ["ibm-watson: unable to transcode data stream"]
        await stt.disconnect()


async def test_drop_reconnects_with_the_cached_token_and_a_new_start() -> None:
    async with FakeIBMWatson(script=["one"], faults=Faults(drop_after=2)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)  # start + this audio: the fake drops
        await got.wait_for(lambda: fake.sessions == 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["one"]
        assert len(fake.tokens) == 1  # one IAM exchange for both connections
        assert json.loads(sockets(fake)[1].messages[0])["action"] == "start"
        assert got.errors == []
        await stt.disconnect()


async def test_silence_keepalive_and_session_timeout_recovery() -> None:
    async with FakeIBMWatson(faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0.05)
        await stt.connect()
        await asyncio.sleep(0.5)
        silence = [m for m in sockets(fake)[0].messages if isinstance(m, bytes)]
        assert len(silence) >= 4
        assert set(silence) == {b"\x00" * 3200}  # 100 ms of silence
        assert fake.sessions == 1
        await stt.disconnect()
    async with FakeIBMWatson(script=["after timeout"], faults=Faults(idle_close_after=0.1)) as fake:
        stt, got = make(fake, keepalive_interval=0, reconnect={"max_attempts": 0})
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["after timeout"]
        assert got.errors == []  # "Session timed out." is routine
        await stt.disconnect()


async def test_stop_gets_the_end_of_data_result_and_listening() -> None:
    async with FakeIBMWatson(script=["first", "end of data"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK[:1000])
        await got.wait_for(lambda: got.finals)
        t0 = time.monotonic()
        await stt.disconnect()
        assert time.monotonic() - t0 < 1.0
        assert got.transcripts == ["first", "end of data"]
        assert got.finals[-1].is_speech_final  # end_of_utterance: end_of_data


async def test_stop_without_reply_is_bounded() -> None:
    async with FakeIBMWatson(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        t0 = time.monotonic()
        await stt.disconnect()
        assert 0.15 <= time.monotonic() - t0 < 1.5


async def test_speech_final_needs_an_end_of_utterance() -> None:
    stt = IBMWatsonSTT(STTConfig(api_key="k", options={"instance_id": "i"}))
    got = STTCollector(stt)
    msg = {"result_index": 0, "results": [{"final": True, "alternatives": [{"transcript": "a b "}]}]}
    await stt.handle_message(json.dumps(msg))
    msg["results"][0]["end_of_utterance"] = "reset"  # type: ignore[index]
    await stt.handle_message(json.dumps(msg))
    msg["results"][0]["end_of_utterance"] = "full_stop"  # type: ignore[index]
    await stt.handle_message(json.dumps(msg))
    assert [(r.transcript, r.is_speech_final) for r in got.results] == [
        ("a b", False),
        ("a b", False),
        ("a b", True),
    ]
