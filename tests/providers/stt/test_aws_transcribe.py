"""Amazon Transcribe streaming: SigV4 presigning, the event-stream codec, and the adapter
against FakeAWSTranscribe."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
import uuid
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import waav
from waav.plugin import PluginRegistry
from waav.providers._aws import EventStreamError, decode_message, encode_message, presign_url
from waav.providers.base import ConnectionState, STTConfig
from waav.providers.stt.aws_transcribe import AWSTranscribeSTT, audio_event
from waav.testing.fakes import FakeAWSTranscribe, Faults, STTCollector

CHUNK = b"\x01\x00" * 1600  # 100 ms of PCM16 @ 16 kHz = the fake's bytes_per_result
FAST = {"initial_delay_ms": 10, "max_delay_ms": 50, "max_attempts": 3}

# Known-good messages from the event-stream specification's test vectors (prelude, headers,
# payload, both CRC32s): an empty message, a payload without headers, and a string header.
EMPTY = b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"
PAYLOAD_ONLY = b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96"
STRING_HEADER = (
    b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10application/json"
    b"{'foo':'bar'}\x8d\x9c\x08\xb1"
)


# --- the codec -----------------------------------------------------------------------
def test_codec_matches_the_spec_vectors() -> None:
    assert encode_message({}, b"") == EMPTY
    assert encode_message({}, b"{'foo':'bar'}") == PAYLOAD_ONLY
    assert encode_message({"content-type": "application/json"}, b"{'foo':'bar'}") == STRING_HEADER
    assert decode_message(EMPTY) == ({}, b"")
    assert decode_message(STRING_HEADER) == ({"content-type": "application/json"}, b"{'foo':'bar'}")


def test_audio_event_layout_built_by_hand() -> None:
    payload = b"\x01\x02\x03"
    head = b""
    for name, value in (
        (":content-type", "application/octet-stream"),
        (":event-type", "AudioEvent"),
        (":message-type", "event"),
    ):
        head += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
    prelude = struct.pack(">II", 12 + len(head) + len(payload) + 4, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + head + payload
    msg += struct.pack(">I", zlib.crc32(msg))
    assert audio_event(payload) == msg


def test_codec_round_trips_every_header_type() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers: dict[str, Any] = {"t": True, "f": False, "i": -7, "b": b"\x00\xff", "s": "é", "d": when, "u": u}
    assert decode_message(encode_message(headers, b"x")) == (headers, b"x")


@pytest.mark.parametrize("index", [2, 9, 14, 20])
def test_codec_rejects_corruption(index: int) -> None:
    bad = bytearray(STRING_HEADER)
    bad[index] ^= 0x01
    with pytest.raises(EventStreamError):
        decode_message(bytes(bad))
    with pytest.raises(EventStreamError):
        decode_message(STRING_HEADER[:-1])
    assert isinstance(EventStreamError("x"), waav.ProviderProtocolError)


# --- SigV4 ---------------------------------------------------------------------------
def test_presign_matches_the_aws_documented_example() -> None:
    # AWS docs, "Authenticating Requests: Using Query Parameters (SigV4)" (S3 GET example)
    url = presign_url(
        scheme="https",
        host="examplebucket.s3.amazonaws.com",
        path="/test.txt",
        params={},
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="s3",
        expires=86400,
        when=dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc),
        payload_hash="UNSIGNED-PAYLOAD",
    )
    assert url.endswith("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


def test_default_url_is_the_regional_8443_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "tok/en")
    stt = AWSTranscribeSTT(
        STTConfig(api_key="AKID", language="en-GB", options={"secret_access_key": "s", "region": "eu-west-1"})
    )
    url = urlsplit(stt.url())
    assert (url.scheme, url.netloc, url.path) == (
        "wss",
        "transcribestreaming.eu-west-1.amazonaws.com:8443",
        "/stream-transcription-websocket",
    )
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["X-Amz-Credential"].startswith("AKID/")
    assert q["X-Amz-Credential"].endswith("/eu-west-1/transcribe/aws4_request")
    assert (q["X-Amz-Expires"], q["X-Amz-SignedHeaders"], q["X-Amz-Security-Token"]) == (
        "300",
        "host",
        "tok/en",
    )
    assert (q["language-code"], q["media-encoding"], q["sample-rate"]) == ("en-GB", "pcm", "16000")


# --- the adapter ---------------------------------------------------------------------
def make(
    fake: FakeAWSTranscribe, cfg: dict[str, Any] | None = None, **options: Any
) -> tuple[AWSTranscribeSTT, STTCollector]:
    options.setdefault("reconnect", FAST)
    options.setdefault("secret_access_key", fake.secret_key)
    stt = AWSTranscribeSTT(
        STTConfig(api_key=fake.access_key, base_url=fake.ws_url, options=options, **(cfg or {}))
    )
    return stt, STTCollector(stt)


async def test_partial_and_final_results_with_word_timings() -> None:
    async with FakeAWSTranscribe(script=["Hello world", "How are you"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) == 2)
        partial, final = got.results[0], got.results[1]
        assert (partial.transcript, partial.is_final, partial.is_speech_final) == ("Hello", False, False)
        assert (final.transcript, final.is_final, final.is_speech_final) == ("Hello world", True, True)
        assert final.confidence == pytest.approx(0.9)
        assert final.language == "en-US"
        assert final.words is not None
        assert [(w.word, w.start, w.end, w.confidence) for w in final.words] == [
            ("Hello", 0.0, 0.25, 0.9),
            ("world", 0.3, 0.55, 0.9),
        ]
        assert got.transcripts == ["Hello world", "How are you"]
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED
        req = fake.requests[0]
        assert req.path == "/stream-transcription-websocket"
        frames = [decode_message(m) for m in req.messages if isinstance(m, bytes)]
        assert [p for _, p in frames] == [CHUNK, CHUNK, b""]  # audio, then the empty end frame
        assert all(h[":event-type"] == "AudioEvent" for h, _ in frames)
        assert got.errors == []


async def test_big_chunks_are_sent_in_200_ms_audio_events() -> None:
    async with FakeAWSTranscribe(script=["a", "b", "c"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK * 5)  # 500 ms in one call
        await got.wait_for(lambda: len(got.finals) == 3)
        await stt.disconnect()
        sizes = [
            len(p) for _, p in (decode_message(m) for m in fake.requests[0].messages if isinstance(m, bytes))
        ]
        assert sizes == [6400, 6400, 3200, 0]


async def test_graceful_finish_flushes_pending_audio_into_a_final() -> None:
    async with FakeAWSTranscribe(script=["tail end"]) as fake:
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK[:1000])  # less than one scripted result
        await stt.disconnect()
        assert got.transcripts == ["tail end"]


async def test_finish_without_reply_is_bounded() -> None:
    async with FakeAWSTranscribe(faults=Faults(ignore_finalize=True)) as fake:
        stt, _ = make(fake, finish_timeout=0.2)
        await stt.connect()
        await stt.send_audio(CHUNK[:100])
        await stt.disconnect()
        assert stt.state is ConnectionState.DISCONNECTED


async def test_wrong_secret_fails_the_signature_check_with_403() -> None:
    async with FakeAWSTranscribe() as fake:
        stt, _ = make(fake, secret_access_key="not-the-secret")
        with pytest.raises(waav.ProviderAuthError, match=r"403.*signature we calculated"):
            await stt.connect()
        assert stt.state is ConnectionState.ERROR


async def test_unknown_key_and_rejected_auth() -> None:
    async with FakeAWSTranscribe(access_key="AKIDRIGHT") as fake:
        stt = AWSTranscribeSTT(
            STTConfig(
                api_key="AKIDWRONG", base_url=fake.ws_url, options={"secret_access_key": fake.secret_key}
            )
        )
        with pytest.raises(waav.ProviderAuthError, match="security token"):
            await stt.connect()
    async with FakeAWSTranscribe(faults=Faults(reject_auth=True)) as fake:
        stt, _ = make(fake)
        with pytest.raises(waav.ProviderAuthError):
            await stt.connect()


async def test_rate_limit_carries_retry_after() -> None:
    async with FakeAWSTranscribe(faults=Faults(rate_limit_retry_after=4)) as fake:
        stt, _ = make(fake)
        with pytest.raises(waav.ProviderRateLimitError) as info:
            await stt.connect()
        assert info.value.retry_after == 4


async def test_vendor_exception_is_reported() -> None:
    async with FakeAWSTranscribe(faults=Faults(vendor_error="Invalid audio stream")) as fake:
        stt, got = make(fake, reconnect=False)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.errors)
        err = got.errors[0]
        assert isinstance(err, waav.ProviderProtocolError)  # BadRequestException → 400
        assert "BadRequestException: Invalid audio stream" in str(err)
        await got.wait_for(lambda: stt.state is ConnectionState.ERROR)
        with pytest.raises(waav.ProviderError):
            await stt.send_audio(CHUNK)
        await stt.disconnect()


async def test_drop_mid_stream_reconnects_without_losing_audio() -> None:
    async with FakeAWSTranscribe(script=["before", "after"]) as fake:
        fake.faults.drop_after = 2
        stt, got = make(fake)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await stt.send_audio(CHUNK)  # the fake drops the connection on this one
        await got.wait_for(lambda: fake.sessions >= 2 and stt.is_ready(), timeout=5)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: len(got.finals) >= 2)
        # every fake session plays its script from the start
        assert got.transcripts[:2] == ["before", "before"]
        assert stt.connections == 2
        assert got.errors == []
        await stt.disconnect()


async def test_idle_timeout_reconnects_and_keepalive_prevents_it() -> None:
    async with FakeAWSTranscribe(script=["still here"], faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0)  # no keepalive: the fake's idle close hits
        await stt.connect()
        await got.wait_for(lambda: fake.sessions >= 2, timeout=5)
        await got.wait_for(stt.is_ready)
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.errors == []  # the routine idle close is not an error
        await stt.disconnect()
    async with FakeAWSTranscribe(faults=Faults(idle_close_after=0.3)) as fake:
        stt, got = make(fake, keepalive_interval=0.1)
        await stt.connect()
        await asyncio.sleep(0.8)
        assert fake.sessions == 1
        silence = [
            p for _, p in (decode_message(m) for m in fake.requests[0].messages if isinstance(m, bytes))
        ]
        assert silence
        assert all(p == b"\x00" * 3200 for p in silence)
        await stt.disconnect()


async def test_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(waav.ProviderAuthError, match="AWS_ACCESS_KEY_ID"):
        await AWSTranscribeSTT(STTConfig()).connect()
    with pytest.raises(waav.ProviderAuthError, match="AWS_SECRET_ACCESS_KEY"):
        await AWSTranscribeSTT(STTConfig(api_key="AKID")).connect()
    opts = {"secret_access_key": "s"}
    with pytest.raises(waav.ConfigError, match="encoding"):
        await AWSTranscribeSTT(STTConfig(api_key="AKID", encoding="mulaw", options=opts)).connect()
    with pytest.raises(waav.ConfigError, match="sample_rate"):
        await AWSTranscribeSTT(STTConfig(api_key="AKID", sample_rate=96000, options=opts)).connect()
    with pytest.raises(waav.ConfigError, match="expires"):
        await AWSTranscribeSTT(STTConfig(api_key="AKID", options={**opts, "expires": 900})).connect()


async def test_registry_creates_it_from_aws_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeAWSTranscribe(script=["from the registry"]) as fake:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", fake.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", fake.secret_key)
        monkeypatch.setenv("AWS_REGION", "ap-south-1")
        monkeypatch.setenv("WAAV_AWS_TRANSCRIBE_BASE_URL", fake.base_url)
        registry = PluginRegistry()
        registry.discover(third_party=False)
        for name in ("transcribe", "amazon-transcribe", "aws_transcribe"):
            assert type(registry.create_stt(name)) is AWSTranscribeSTT
        stt = registry.create_stt("aws-transcribe", {"language": "en-IN"})
        got = STTCollector(stt)
        await stt.connect()
        await stt.send_audio(CHUNK)
        await got.wait_for(lambda: got.finals)
        assert got.transcripts == ["from the registry"]
        await stt.disconnect()
        q = fake.requests[0].query
        assert "/ap-south-1/transcribe/" in q["X-Amz-Credential"]
        assert q["language-code"] == "en-IN"
