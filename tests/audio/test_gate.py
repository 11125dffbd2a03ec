"""Noise gates: the plugin-guide semantics, streaming invariance, click-freeness, bad input."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waav
from waav.audio import _gate_py
from waav.testing.signals import speech_like

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def i16(b: bytes) -> np.ndarray:
    return np.frombuffer(b, "<i2")


def reference_gate(x: np.ndarray, threshold: float) -> list[int]:
    """The upstream plugin guide's loop, verbatim in spirit: abs(s)/32768 < t -> 0."""
    return [0 if abs(int(s)) / 32768.0 < threshold else int(s) for s in x]


@pytest.mark.parametrize("threshold", [0.0, 0.01, 1 / 32768, 1.5 / 32768, 0.5, 1.0, 1.1, math.inf])
def test_noise_gate_matches_the_guide_for_every_sample(gate: ModuleType, threshold: float) -> None:
    out = i16(gate.noise_gate(ALL_INT16.tobytes(), threshold))
    assert out.tolist() == reference_gate(ALL_INT16, threshold)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threshold=st.floats(0, 1.2, allow_nan=False))
def test_noise_gate_any_threshold(gate: ModuleType, threshold: float) -> None:
    x = ALL_INT16[::7]
    assert i16(gate.noise_gate(x.tobytes(), threshold)).tolist() == reference_gate(x, threshold)


@pytest.mark.parametrize("n", [0, 1, 319, 320, 321, 4096, 4097])
def test_noise_gate_edge_lengths(gate: ModuleType, n: int, rng: np.random.Generator) -> None:
    x = rng.integers(-32768, 32768, n, dtype=np.int16)
    assert gate.noise_gate(x.tobytes(), 0.3) == _gate_py.noise_gate(x.tobytes(), 0.3)
    assert gate.noise_gate(x, 0.3) == gate.noise_gate(x.tobytes(), 0.3)


@pytest.mark.parametrize("threshold", [-0.1, float("nan"), "0.1"])
def test_noise_gate_bad_threshold(gate: ModuleType, threshold: object) -> None:
    with pytest.raises(waav.AudioFormatError, match="threshold"):
        gate.noise_gate(b"\x00\x00", threshold)


def test_noise_gate_bad_buffer(gate: ModuleType) -> None:
    with pytest.raises(waav.AudioFormatError, match="odd byte count"):
        gate.noise_gate(b"\x00", 0.1)


# --- streaming gate -----------------------------------------------------------------

SIGNAL = speech_like(3.0, 16000, seed=3)


def _feed(g: object, data: bytes, sizes: list[int]) -> bytes:
    out, pos = [], 0
    for size in sizes:
        out.append(g.process(data[pos : pos + 2 * size]))  # type: ignore[attr-defined]
        pos += 2 * size
    out.append(g.process(data[pos:]))  # type: ignore[attr-defined]
    return b"".join(out)


def test_streaming_gate_matches_twin(gate: ModuleType) -> None:
    a = gate.NoiseGate(16000, threshold_db=-30, attack_ms=2, hold_ms=30, release_ms=40)
    b = _gate_py.NoiseGate(16000, threshold_db=-30, attack_ms=2, hold_ms=30, release_ms=40)
    assert a.process(SIGNAL) == b.process(SIGNAL)
    assert a.gain == b.gain


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 5000), max_size=30))
def test_streaming_gate_chunking_invariance(gate: ModuleType, sizes: list[int]) -> None:
    whole = gate.NoiseGate(16000, threshold_db=-35).process(SIGNAL)
    assert _feed(gate.NoiseGate(16000, threshold_db=-35), SIGNAL, sizes) == whole


@pytest.mark.parametrize("n", [0, 1, 159, 160, 161])
def test_streaming_gate_edge_chunks(gate: ModuleType, n: int) -> None:
    whole = gate.NoiseGate(8000).process(SIGNAL)
    assert _feed(gate.NoiseGate(8000), SIGNAL, [n] * 200) == whole


def test_streaming_gate_is_click_free(gate: ModuleType) -> None:
    rate = 16000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 200 * t) * ((t > 0.25) & (t < 0.6))  # hard on, hard off
    x = (tone * 32767).astype(np.int16)
    g = gate.NoiseGate(rate, threshold_db=-20, attack_ms=5, hold_ms=20, release_ms=50)
    y = i16(g.process(x.tobytes())).astype(np.int64)
    # the gain (y / x where x is large enough to read it) moves by at most one attack
    # step, 1 / (5 ms * rate), per sample: no jumps, so no clicks
    idx = np.nonzero(np.abs(x) > 2000)[0]
    gain = y[idx] / x[idx]
    step = np.abs(np.diff(gain)) / np.diff(idx)
    assert step.max() <= 1.0 / (0.005 * rate) + 1e-3
    assert gain.min() < 0.1
    assert gain.max() == 1.0
    # opens (reaches unity) during the tone, is shut well after it ends
    assert np.array_equal(y[int(0.3 * rate) : int(0.55 * rate)], x[int(0.3 * rate) : int(0.55 * rate)])
    assert not y[int(0.7 * rate) :].any()
    assert not y[: int(0.25 * rate)].any()
    assert g.gain == 0.0


def test_streaming_gate_hold_and_release_timing(gate: ModuleType) -> None:
    rate = 1000  # 1 sample = 1 ms keeps the arithmetic readable
    x = np.zeros(200, np.int16)
    x[10] = 20000  # one loud sample
    g = gate.NoiseGate(rate, threshold_db=-6, attack_ms=1, hold_ms=5, release_ms=4)
    ones = np.ones(200, np.int16) * 1000
    ones[10] = 20000
    y = i16(g.process(ones.tobytes()))
    assert y[:10].tolist() == [0] * 10
    assert y[10:16].tolist() == [20000, 1000, 1000, 1000, 1000, 1000]  # open + 5 ms hold
    assert y[16:21].tolist() == [750, 500, 250, 0, 0]  # 4 ms linear release


def test_streaming_gate_reset(gate: ModuleType) -> None:
    g = gate.NoiseGate(16000, threshold_db=-30)
    first = g.process(SIGNAL)
    g.reset()
    assert g.gain == 0.0
    assert g.process(SIGNAL) == first


def test_streaming_gate_minus_inf_threshold_passes_after_attack(gate: ModuleType) -> None:
    g = gate.NoiseGate(1000, threshold_db=-math.inf, attack_ms=2)
    x = np.full(6, 1000, np.int16)
    assert i16(g.process(x.tobytes())).tolist() == [500, 1000, 1000, 1000, 1000, 1000]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": -8000}, "sample_rate"),
        ({"sample_rate": 16000.0}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"sample_rate": 16000, "threshold_db": float("nan")}, "threshold_db"),
        ({"sample_rate": 16000, "threshold_db": 3.0}, "threshold_db"),
        ({"sample_rate": 16000, "attack_ms": -1}, "attack_ms"),
        ({"sample_rate": 16000, "hold_ms": float("inf")}, "hold_ms"),
        ({"sample_rate": 16000, "release_ms": float("nan")}, "release_ms"),
        ({"sample_rate": 16000, "release_ms": "5"}, "release_ms"),
        ({"sample_rate": 16000, "release_ms": 1e12}, "release_ms"),
    ],
)
def test_streaming_gate_bad_parameters(gate: ModuleType, kwargs: dict, message: str) -> None:
    with pytest.raises(waav.AudioFormatError, match=message):
        gate.NoiseGate(**kwargs)


def test_streaming_gate_bad_chunk_loses_nothing(gate: ModuleType) -> None:
    g = gate.NoiseGate(16000, threshold_db=-30)
    ref = gate.NoiseGate(16000, threshold_db=-30)
    head = ref.process(SIGNAL[:3200])
    assert g.process(SIGNAL[:3200]) == head
    with pytest.raises(waav.AudioFormatError, match="odd byte count"):
        g.process(SIGNAL[3200:3201])
    assert g.process(SIGNAL[3200:]) == ref.process(SIGNAL[3200:])  # state untouched by the error
