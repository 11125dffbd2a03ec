"""Provider base classes and typed configs (defaults, validation, results)."""

from __future__ import annotations

import math

import pytest

from waav import ConfigError
from waav.plugin._typed import fields_set, replace, to_dict
from waav.providers.base import (
    BaseRealtime,
    BaseSTT,
    BaseTTS,
    EmotionConfig,
    RealtimeConfig,
    STTConfig,
    STTResult,
    TTSConfig,
    WordTiming,
)


def test_stt_config_upstream_defaults() -> None:
    c = STTConfig()
    assert (c.language, c.sample_rate, c.channels, c.punctuation, c.encoding, c.model) == (
        "en-US",
        16000,
        1,
        True,
        "linear16",
        "nova-3",
    )
    assert c.api_key == ""
    assert c.base_url is None
    assert c.options == {}


def test_tts_config_upstream_defaults() -> None:
    c = TTSConfig()
    assert (c.voice_id, c.model, c.speaking_rate, c.audio_format, c.sample_rate) == (
        "aura-asteria-en",
        "",
        1.0,
        "linear16",
        24000,
    )
    assert (c.connection_timeout, c.request_timeout, c.request_pool_size, c.pronunciations) == (30, 60, 4, [])


def test_realtime_config_defaults_and_nesting() -> None:
    c = RealtimeConfig(
        turn_detection={"type": "server_vad"},
        tools=[{"function": {"name": "lookup", "parameters": {"type": "object"}}}],
        reconnection={"max_attempts": 2},
    )
    assert c.turn_detection is not None
    assert c.turn_detection.threshold == 0.5
    assert (c.turn_detection.prefix_padding_ms, c.turn_detection.silence_duration_ms) == (300, 500)
    assert c.tools[0].function.name == "lookup"
    assert c.tools[0].type == "function"
    r = c.reconnection
    assert (
        r.enabled,
        r.max_attempts,
        r.initial_delay_ms,
        r.max_delay_ms,
        r.backoff_multiplier,
        r.jitter,
    ) == (
        True,
        2,
        1000,
        30000,
        2.0,
        True,
    )
    assert RealtimeConfig().reconnection.max_attempts == 5


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (STTConfig, {"langauge": "en"}, r"unknown STTConfig key 'langauge' \(did you mean 'language'\?\)"),
        (TTSConfig, {"voice": "x"}, r"unknown TTSConfig key 'voice' \(did you mean 'voice_id'\?\)"),
        (STTConfig, {"sample_rate": "16000"}, r"STTConfig sample_rate: must be an integer, got str '16000'"),
        (STTConfig, {"sample_rate": 0}, r"STTConfig sample_rate: must be > 0"),
        (STTConfig, {"punctuation": 1}, r"must be a boolean"),
        (
            TTSConfig,
            {"pronunciations": [{"word": "x"}]},
            r"missing required Pronunciation key 'pronunciation'",
        ),
        (TTSConfig, {"speaking_rate": math.nan}, r"speaking_rate: must be > 0"),
        (RealtimeConfig, {"turn_detection": {"type": "magic"}}, r"turn_detection.type: must be one of"),
        (RealtimeConfig, {"reconnection": {"retries": 3}}, r"unknown ReconnectionConfig key 'retries'"),
        (EmotionConfig, {"intensity": 1.5}, r"intensity: must be in \[0, 1\]"),
        (EmotionConfig, {"description": "x" * 101}, r"at most 100 characters"),
    ],
)
def test_bad_configs_are_rejected_clearly(cls: type, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ConfigError, TypeError), match=message):
        cls(**kwargs)


def test_emotion_intensity_words() -> None:
    assert [EmotionConfig(intensity=w).intensity for w in ("low", "medium", "high")] == [0.3, 0.6, 1.0]
    c = TTSConfig(emotion_config={"emotion": "happy", "intensity": "high"}, voice_id=None)
    assert c.emotion_config == EmotionConfig(emotion="happy", intensity=1.0)
    assert c.voice_id is None


def test_fields_set_and_replace() -> None:
    c = STTConfig(model="nova-3", language="de")
    assert fields_set(c) == {"model", "language"}
    d = replace(c, sample_rate=8000)
    assert fields_set(d) == {"model", "language", "sample_rate"}
    assert d.sample_rate == 8000
    assert to_dict(RealtimeConfig())["reconnection"]["max_attempts"] == 5
    with pytest.raises(AttributeError):
        c.model = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("given", "want"), [(1.5, 1.0), (-0.2, 0.0), (0.42, 0.42), (math.nan, 0.0), (1, 1.0)]
)
def test_stt_result_confidence_is_clamped(given: float, want: float) -> None:
    assert STTResult("x", confidence=given).confidence == want


def test_stt_result_words_and_message() -> None:
    r = STTResult(
        "hi there", True, True, 0.9, words=[WordTiming("hi", 0.0, 0.2, 0.95), WordTiming("there", 0.2, 0.5)]
    )
    assert isinstance(r.words, tuple)
    assert r.words[1].end == 0.5
    msg = r.to_message()
    assert msg["type"] == "stt_result"
    assert msg["confidence"] == 0.9
    assert len(msg["words"]) == 2
    assert "words" not in STTResult("x").to_message()  # upstream shape when no timings


def test_base_classes_are_abstract() -> None:
    for cls, cfg in ((BaseSTT, STTConfig()), (BaseTTS, TTSConfig()), (BaseRealtime, RealtimeConfig())):
        with pytest.raises(TypeError, match="abstract"):
            cls(cfg)  # type: ignore[abstract]
    methods = {
        "connect",
        "disconnect",
        "send_audio",
        "send_text",
        "create_response",
        "cancel_response",
        "commit_audio_buffer",
        "clear_audio_buffer",
        "update_session",
        "submit_function_result",
    }
    assert BaseRealtime.__abstractmethods__ == methods
    assert BaseTTS.__abstractmethods__ == {"speak", "clear", "flush"}
    assert BaseSTT.__abstractmethods__ == {"connect", "send_audio", "disconnect"}
    for name in (
        "on_transcript",
        "on_audio",
        "on_error",
        "on_function_call",
        "on_speech_event",
        "on_response_done",
        "on_reconnection",
        "provider_info",
        "is_ready",
        "get_connection_state",
    ):
        assert callable(getattr(BaseRealtime, name))


async def test_a_failing_result_callback_does_not_starve_the_others() -> None:
    from waav.plugin._provider_base import _call_all

    seen: list[int] = []

    def bad(v: int) -> None:
        raise RuntimeError("callback bug")

    async def good(v: int) -> None:
        seen.append(v)

    await _call_all([bad, good, lambda v: seen.append(v * 10)], 3)
    assert seen == [3, 30]
