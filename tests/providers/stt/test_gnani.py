"""Gnani gRPC streaming STT adapter against the in-process fake, and its message schema."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("grpc", reason="grpcio is in the test extra")
pytest.importorskip("google.protobuf", reason="protobuf is in the test extra")

import waav
from waav.plugin import PluginRegistry
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.gnani import GnaniSTT, gnani_messages
from waav.testing.fakes import FakeGnani, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}


def make(fake: FakeGnani, cfg: dict[str, Any] | None = None, **options: Any) -> tuple[GnaniSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    options.setdefault("access_key", fake.access_key)
    cfg = {"language": "hi-IN", **(cfg or {})}
    stt = GnaniSTT(STTConfig(api_key=fake.token, base_url=fake.base_url, options=options, **cfg))
    return stt, STTCollector(stt)


def test_wire_format_of_the_messages() -> None:
    speech, transcript = gnani_messages()
    # field 1 bytes, 2 token, 3 lang (tags 0x0a, 0x12, 0x1a)
    assert speech(content=b"\x01\x02", token="t", lang="hi-IN").SerializeToString() == (
        b"\x0a\x02\x01\x02" + b"\x12\x01t" + b"\x1a\x05hi-IN"
    )
    raw = b"\x12\x05hello" + b"\x18\x01" + b"\x25" + struct.pack("<f", 0.5)
    msg = transcript.FromString(raw)
    assert (msg.transcript, msg.is_final, msg.confidence) == ("hello", True, 0.5)


async def test_interim_and_final_results() -> None:
    async with FakeGnani(script=["namaste duniya", "kaise ho"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        interim, final = got.results[0], got.results[1]
        assert (interim.transcript, interim.is_final, interim.confidence) == (
            "namaste",
            False,
            pytest.approx(0.6),
        )
        assert (final.transcript, final.is_final, final.is_speech_final) == ("namaste duniya", True, True)
        assert final.confidence == pytest.approx(0.93)
        assert final.words is None  # Gnani gives no word timings
        assert got.transcripts == ["namaste duniya", "kaise ho"]
        await stt.disconnect()
        call = fake.requests[0]
        assert call.path == "/Listener/DoSpeechToText"
        assert {k: call.headers[k] for k in ("token", "accesskey", "lang", "audioformat", "encoding")} == {
            "token": fake.token,
            "accesskey": fake.access_key,
            "lang": "hi-IN",
            "audioformat": "wav",
            "encoding": "pcm16",
        }
        assert call.messages == [CHUNK, CHUNK]
        assert got.errors == []


async def test_graceful_finish_flushes_pending_audio() -> None:
    async with FakeGnani(script=["antim"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK[:640])
        await stt.disconnect()
        assert got.transcripts == ["antim"]
        assert stt.state is ConnectionState.DISCONNECTED


async def test_bad_token_fails_connect() -> None:
    async with FakeGnani(token="right") as fake:
        stt = GnaniSTT(
            STTConfig(
                api_key="wrong",
                language="hi-IN",
                base_url=fake.base_url,
                options={"access_key": fake.access_key},
            )
        )
        with pytest.raises(waav.ProviderAuthError, match="UNAUTHENTICATED"):
            await stt.connect()


async def test_vendor_error_and_drop() -> None:
    async with FakeGnani(faults=Faults(vendor_error="bad audio")) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        assert isinstance(got.errors[0], waav.ProviderProtocolError)
        assert "bad audio" in str(got.errors[0])
        await stt.disconnect()
    async with FakeGnani(script=["phir se"], faults=Faults(drop_after=1)) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready())
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["phir se"]
        assert got.errors == []
        await stt.disconnect()


async def test_rate_limit_fails_connect_with_retry_after() -> None:
    async with FakeGnani(faults=Faults(rate_limit_retry_after=0.01)) as fake:
        stt, _ = make(fake)
        with pytest.raises(waav.ProviderRateLimitError) as info:
            await stt.connect()
        assert info.value.retry_after == pytest.approx(0.01)


async def test_bad_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GNANI_TOKEN", "GNANI_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(waav.ProviderAuthError, match="GNANI_TOKEN"):
        await GnaniSTT(STTConfig(language="hi-IN")).connect()
    with pytest.raises(waav.ProviderAuthError, match="GNANI_ACCESS_KEY"):
        await GnaniSTT(STTConfig(api_key="t", language="hi-IN")).connect()
    opts = {"access_key": "a"}
    with pytest.raises(waav.ConfigError, match="language 'fr-FR'"):
        await GnaniSTT(STTConfig(api_key="t", language="fr-FR", options=opts)).connect()
    with pytest.raises(waav.ConfigError, match="16 kHz"):
        await GnaniSTT(STTConfig(api_key="t", language="hi-IN", sample_rate=8000, options=opts)).connect()
    with pytest.raises(waav.ConfigError, match="GNANI_CERTIFICATE_PATH"):
        await GnaniSTT(
            STTConfig(
                api_key="t", language="hi-IN", options={**opts, "certificate_path": str(tmp_path / "no.pem")}
            )
        ).connect()


async def test_registry_creates_it_from_gnani_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeGnani(script=["registry se"]) as fake:
        monkeypatch.setenv("GNANI_TOKEN", fake.token)
        monkeypatch.setenv("GNANI_ACCESS_KEY", fake.access_key)
        monkeypatch.setenv("WAAV_GNANI_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        for name in ("gnani-ai", "gnani.ai", "vachana"):
            assert type(registry.create_stt(name, {"language": "kn-IN"})) is GnaniSTT
        stt = registry.create_stt("gnani", {"language": "en-in"})
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["registry se"]
        assert fake.requests[0].headers["lang"] == "en-IN"
        await stt.disconnect()
