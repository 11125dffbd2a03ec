"""ElevenLabs TTS adapter (streaming REST + stream-input WebSocket) against FakeElevenLabsTTS."""

from __future__ import annotations

import asyncio
import json

import pytest

import waav
from waav.providers.base import EmotionConfig, Pronunciation
from waav.providers.tts.elevenlabs import ElevenLabsTTS
from waav.testing.fakes import FakeElevenLabsTTS, Faults, synth_pcm16

from . import _contract as C

# --- REST ----------------------------------------------------------------------------------


async def test_streams_before_the_response_completes() -> None:
    await C.check_streams_before_complete(ElevenLabsTTS, FakeElevenLabsTTS)


async def test_fifo_order() -> None:
    await C.check_fifo(ElevenLabsTTS, FakeElevenLabsTTS)


async def test_clear_cancels_the_request_in_flight() -> None:
    await C.check_clear_cancels(ElevenLabsTTS, FakeElevenLabsTTS)


@pytest.mark.parametrize(("faults", "expected"), C.ERROR_CASES)
async def test_errors_are_mapped(faults: Faults, expected: type) -> None:
    await C.check_error(ElevenLabsTTS, FakeElevenLabsTTS, faults, expected)


async def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_missing_key("elevenlabs", "ELEVENLABS_API_KEY", monkeypatch)


async def test_registered_and_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    await C.check_key_from_env("elevenlabs", "ELEVENLABS_API_KEY", FakeElevenLabsTTS, monkeypatch)


async def test_rest_request_shape_and_previous_text() -> None:
    async with FakeElevenLabsTTS() as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, options={"stability": 0.3})
        await tts.speak("first")
        await tts.speak("second")
        await col.wait_done(2)
        assert not col.errors, col.errors
        r1, r2 = fake.requests
        assert r1.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/stream"
        assert r1.query == {"output_format": "pcm_24000"}
        assert r1.headers["xi-api-key"] == "test-key"
        assert json.loads(r1.body) == {
            "text": "first",
            "model_id": "eleven_v3",
            "voice_settings": {"stability": 0.3, "similarity_boost": 0.75},
        }
        assert json.loads(r2.body)["previous_text"] == "first"
        await tts.disconnect()


async def test_bad_voice_setting_is_a_config_error() -> None:
    async with FakeElevenLabsTTS() as fake:
        with pytest.raises(waav.ConfigError, match="stability"):
            await C.session(ElevenLabsTTS, fake, options={"stability": 3})


async def test_rate_22050_is_requested_natively() -> None:
    # ElevenLabs' SDK default is 22.05 kHz; waav always names the format it wants.
    async with FakeElevenLabsTTS() as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, sample_rate=22050)
        await tts.speak("abc")
        await col.wait_done()
        assert fake.requests[0].query == {"output_format": "pcm_22050"}
        assert col.data == synth_pcm16("abc", 22050)
        await tts.disconnect()


async def test_ulaw_8000_passed_through() -> None:
    async with FakeElevenLabsTTS() as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, audio_format="mulaw", sample_rate=8000)
        await tts.speak("twilio")
        await col.wait_done()
        assert fake.requests[0].query == {"output_format": "ulaw_8000"}
        assert col.data == waav.audio.ulaw_encode(synth_pcm16("twilio", 8000))
        await tts.disconnect()


async def test_emotion_is_an_audio_tag_on_eleven_v3() -> None:
    async with FakeElevenLabsTTS() as fake:
        emo = EmotionConfig(emotion="excited", delivery_style="whispered", intensity="high")
        tts, col = await C.session(ElevenLabsTTS, fake, emotion_config=emo, speaking_rate=2.0)
        await tts.speak("we did it")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert body["text"] == "[excited] [whispers] we did it"
        assert body["voice_settings"]["speed"] == 1.2  # clamped to ElevenLabs' range
        assert "style" not in body["voice_settings"]
        await tts.disconnect()


async def test_emotion_intensity_is_style_on_other_models() -> None:
    async with FakeElevenLabsTTS() as fake:
        emo = EmotionConfig(emotion="excited", intensity="medium")
        tts, col = await C.session(ElevenLabsTTS, fake, model="eleven_multilingual_v2", emotion_config=emo)
        await tts.speak("we did it")
        await col.wait_done()
        body = json.loads(fake.requests[0].body)
        assert body["text"] == "we did it"
        assert body["voice_settings"]["style"] == 0.6
        await tts.disconnect()


async def test_list_voices_follows_pages() -> None:
    async with FakeElevenLabsTTS(voices_page_size=2) as fake:
        tts, _ = await C.session(ElevenLabsTTS, fake)
        voices = await tts.list_voices()
        assert [v.id for v in voices] == [
            "JBFqnCBsd6RMkjVDRZzb",
            "21m00Tcm4TlvDq8ikWAM",
            "pNInz6obpgDQGcFmaJgB",
        ]
        assert (voices[0].name, voices[0].gender, voices[0].accent, voices[0].language) == (
            "George",
            "male",
            "british",
            "en",
        )
        assert voices[0].sample.endswith(".mp3")
        assert [r.query.get("next_page_token") for r in fake.requests] == [None, "2"]
        await tts.disconnect()


# --- WebSocket stream-input ----------------------------------------------------------------


def ws_session(fake: FakeElevenLabsTTS) -> list[dict]:
    [rec] = [r for r in fake.requests if r.path.endswith("/stream-input")][-1:]
    return rec.json_messages()


async def test_ws_incremental_text_streams_audio_before_flush() -> None:
    async with FakeElevenLabsTTS(chunk_delay=0.005) as fake:
        tts, col = await C.session(
            ElevenLabsTTS,
            fake,
            pronunciations=[Pronunciation(word="AI", pronunciation="A.I.")],
            options={"chunk_length_schedule": [10]},
        )
        await tts.speak("Hello from the ", flush=False)
        await tts.speak("streaming A", flush=False)
        await col.wait_for(lambda c: len(c.audio) > 0)  # audio while the utterance is still open
        assert col.completions == 0
        await tts.speak("I world.", flush=True)
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col).rstrip() == "Hello from the streaming A.I. world."
        msgs = ws_session(fake)
        assert msgs[0]["text"] == " "
        assert msgs[0]["voice_settings"] == {
            "stability": 0.5,
            "similarity_boost": 0.75,
        }
        assert msgs[0]["generation_config"] == {"chunk_length_schedule": [10]}
        assert [m["text"] for m in msgs[1:]] == ["Hello from the ", "streaming ", "A.I. ", "world. ", ""]
        rec = next(r for r in fake.requests if r.path.endswith("/stream-input"))
        assert rec.headers["xi-api-key"] == "test-key"
        assert rec.query == {
            "model_id": "eleven_flash_v2_5",
            "output_format": "pcm_24000",
            "inactivity_timeout": "60",
        }
        await tts.disconnect()


async def test_ws_and_rest_share_one_fifo() -> None:
    async with FakeElevenLabsTTS() as fake:
        tts, col = await C.session(ElevenLabsTTS, fake)
        await tts.speak("rest1")
        await tts.speak("ws ", flush=False)
        await tts.speak("part", flush=False)
        await tts.flush()
        await tts.speak("rest2")
        await col.wait_done(3)
        assert not col.errors, col.errors
        assert C.spoken(col) == "rest1ws part rest2"
        assert [e for e in col.events if e != "audio"] == ["complete"] * 3
        await tts.disconnect()


async def test_ws_keepalive_prevents_the_idle_close() -> None:
    async with FakeElevenLabsTTS(faults=Faults(idle_close_after=0.25)) as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, options={"keepalive_interval": 0.05})
        await tts.speak("slow llm ", flush=False)
        await asyncio.sleep(0.7)  # far past the vendor's idle timeout
        await tts.speak("tokens", flush=True)
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col).rstrip() == "slow llm tokens"
        assert fake.ws_sessions == 1
        assert fake.keepalives >= 5
        await tts.disconnect()


async def test_ws_idle_close_reconnects_without_losing_words() -> None:
    # No keep-alive in time: the vendor closes with 1008 after 0.2 s, with "slow llm "
    # buffered but not yet synthesised. The adapter reconnects and re-sends exactly that.
    async with FakeElevenLabsTTS(faults=Faults(idle_close_after=0.2)) as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, options={"keepalive_interval": 60})
        await tts.speak("slow llm ", flush=False)
        await asyncio.sleep(0.5)
        await tts.speak("tokens", flush=True)
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col).rstrip() == "slow llm tokens"
        assert fake.ws_sessions >= 2  # (a reconnected socket may idle out again: still no loss)
        await tts.disconnect()


async def test_ws_reconnect_resends_only_unsynthesised_text() -> None:
    async with FakeElevenLabsTTS(faults=Faults(idle_close_after=0.3)) as fake:
        tts, col = await C.session(
            ElevenLabsTTS, fake, options={"keepalive_interval": 60, "chunk_length_schedule": [8]}
        )
        await tts.speak("generated now ", flush=False)  # ≥ 8 chars: synthesised at once
        await tts.speak("tail ", flush=False)  # buffered, lost with the socket
        await asyncio.sleep(0.6)
        await tts.speak("end", flush=True)
        await col.wait_done()
        assert not col.errors, col.errors
        assert C.spoken(col).rstrip() == "generated now tail end"
        assert fake.ws_sessions >= 2  # (a reconnected socket may idle out again: still no loss)
        await tts.disconnect()


async def test_ws_clear_closes_the_stream() -> None:
    async with FakeElevenLabsTTS(chunk_delay=0.03) as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, options={"chunk_length_schedule": [5]})
        await tts.speak("x" * 80 + " ", flush=False)
        await col.wait_for(lambda c: len(c.audio) >= 2)
        await tts.clear()
        n = len(col.audio)
        await C.until(lambda: fake.aborted == 1)
        await asyncio.sleep(0.15)
        assert len(col.audio) == n
        assert col.completions == 0
        assert not col.errors
        await tts.speak("next ", flush=False)  # a cleared utterance does not swallow new text
        await tts.flush()
        await col.wait_done()
        assert C.spoken(col).endswith("next ")
        await tts.disconnect()


async def test_ws_auth_rejected() -> None:
    async with FakeElevenLabsTTS(faults=Faults(reject_auth=True)) as fake:
        tts, col = await C.session(ElevenLabsTTS, fake)
        await tts.speak("hi ", flush=False)
        await tts.flush()
        await col.wait_done()
        assert type(col.errors[0]) is waav.ProviderAuthError
        await tts.disconnect()


async def test_ws_streaming_input_can_be_turned_off() -> None:
    async with FakeElevenLabsTTS() as fake:
        tts, col = await C.session(ElevenLabsTTS, fake, options={"streaming_input": False})
        await tts.speak("a", flush=False)
        await tts.speak("b", flush=True)
        await col.wait_done(2)
        assert [r.path.endswith("/stream") for r in fake.requests] == [True, True]
        await tts.disconnect()
