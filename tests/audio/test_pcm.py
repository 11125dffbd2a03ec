"""PCM kernels: exactness against the definitions and audioop, twin equality, bad input."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waav
from waav.audio import _pcm_py

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
EDGE_LENGTHS = [0, 1, 319, 320, 321, 4095, 4096, 4097]  # around a 20 ms frame and the GIL cutoff


def i16(b: bytes) -> np.ndarray:
    return np.frombuffer(b, "<i2")


# --- G.711: bit-exact with audioop for every input -----------------------------------


def test_ulaw_encode_all_inputs_match_audioop(pcm: ModuleType, audioop: ModuleType) -> None:
    data = ALL_INT16.tobytes()
    assert pcm.ulaw_encode(data) == audioop.lin2ulaw(data, 2)


def test_alaw_encode_all_inputs_match_audioop(pcm: ModuleType, audioop: ModuleType) -> None:
    data = ALL_INT16.tobytes()
    assert pcm.alaw_encode(data) == audioop.lin2alaw(data, 2)


def test_g711_decode_all_codes_match_audioop(pcm: ModuleType, audioop: ModuleType) -> None:
    codes = bytes(range(256))
    assert pcm.ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert pcm.alaw_decode(codes) == audioop.alaw2lin(codes, 2)


def test_g711_round_trip_is_idempotent(pcm: ModuleType) -> None:
    codes = bytes(range(256))
    for enc, dec in ((pcm.ulaw_encode, pcm.ulaw_decode), (pcm.alaw_encode, pcm.alaw_decode)):
        once = dec(codes)
        assert dec(enc(once)) == once  # decoded values are fixed points of the codec


# --- int16 <-> float32 -------------------------------------------------------------


def test_int16_to_float32_is_exact(pcm: ModuleType) -> None:
    out = pcm.int16_to_float32(ALL_INT16.tobytes())
    assert out.dtype == np.float32
    assert out.shape == (65536,)
    assert np.array_equal(out.astype(np.float64) * 32768, ALL_INT16.astype(np.float64))


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "ndarray", "memoryview_h"])
def test_int16_to_float32_accepts_buffers(pcm: ModuleType, kind: str) -> None:
    x = np.array([0, 1, -1, 32767, -32768], np.int16)
    data = {
        "bytes": x.tobytes(),
        "bytearray": bytearray(x.tobytes()),
        "memoryview": memoryview(x.tobytes()),
        "ndarray": x,
        "memoryview_h": memoryview(x),
    }[kind]
    assert np.array_equal(pcm.int16_to_float32(data), x / np.float32(32768))


def test_int16_to_float32_2d_array(pcm: ModuleType) -> None:
    x = np.arange(12, dtype=np.int16).reshape(6, 2)  # interleaved stereo, C order
    assert np.array_equal(pcm.int16_to_float32(x), x.ravel() / np.float32(32768))


def test_float32_to_int16_rounding_and_saturation(pcm: ModuleType) -> None:
    lsb = 1 / 32768
    x = np.array(
        [
            0.5 * lsb,
            1.5 * lsb,
            2.5 * lsb,
            -0.5 * lsb,
            -1.5 * lsb,
            0.49 * lsb,
            1.0,
            -1.0,
            1.5,
            -1.5,
            np.inf,
            -np.inf,
            np.nan,
            32766.5 * lsb,
            -0.0,
        ],
        np.float32,
    )
    expected = [0, 2, 2, 0, -2, 0, 32767, -32768, 32767, -32768, 32767, -32768, 0, 32766, 0]
    assert i16(pcm.float32_to_int16(x)).tolist() == expected
    assert i16(pcm.float32_to_int16(x.astype(np.float64))).tolist() == expected


def test_float32_to_int16_inverts_int16_to_float32(pcm: ModuleType) -> None:
    data = ALL_INT16.tobytes()
    assert pcm.float32_to_int16(pcm.int16_to_float32(data)) == data


def test_float32_to_int16_reads_raw_bytes_as_float32(pcm: ModuleType) -> None:
    x = np.array([0.25, -0.5], np.float32)
    assert pcm.float32_to_int16(x.tobytes()) == pcm.float32_to_int16(x)


def test_float64_uses_double_precision(pcm: ModuleType) -> None:
    # 0.5 LSB + a hair rounds up in float64; in float32 the hair would be lost.
    x = np.array([(0.5 + 1e-9) / 32768], np.float64)
    assert i16(pcm.float32_to_int16(x)).tolist() == [1]


# --- channels, gain, levels -----------------------------------------------------------


def test_stereo_to_mono_floors_the_mean(pcm: ModuleType) -> None:
    x = np.array([1, 2, -1, -2, 32767, 32767, -32768, -32768, -1, 0, 3, 4], np.int16)
    assert i16(pcm.stereo_to_mono(x.tobytes())).tolist() == [1, -2, 32767, -32768, -1, 3]


def test_mono_to_stereo_duplicates(pcm: ModuleType) -> None:
    x = np.array([1, -2, 32767], np.int16)
    assert i16(pcm.mono_to_stereo(x.tobytes())).tolist() == [1, 1, -2, -2, 32767, 32767]
    assert pcm.stereo_to_mono(pcm.mono_to_stereo(ALL_INT16.tobytes())) == ALL_INT16.tobytes()


def test_apply_gain_rounds_and_saturates(pcm: ModuleType) -> None:
    x = np.array([1, 3, 5, -1, -3, 20000, -20000, 0], np.int16).tobytes()
    assert i16(pcm.apply_gain(x, 0.5)).tolist() == [0, 2, 2, 0, -2, 10000, -10000, 0]
    assert i16(pcm.apply_gain(x, 2.0)).tolist() == [2, 6, 10, -2, -6, 32767, -32768, 0]
    assert i16(pcm.apply_gain(x, -1.0)).tolist() == [-1, -3, -5, 1, 3, -20000, 20000, 0]
    assert pcm.apply_gain(ALL_INT16.tobytes(), 1.0) == ALL_INT16.tobytes()
    assert i16(pcm.apply_gain(x, np.float32(0.5))).tolist()[:2] == [0, 2]


def test_levels(pcm: ModuleType) -> None:
    assert pcm.rms_dbfs(b"") == -math.inf
    assert pcm.peak_dbfs(b"") == -math.inf
    assert pcm.rms_dbfs(bytes(640)) == -math.inf
    assert pcm.peak_dbfs(bytes(640)) == -math.inf
    full = np.array([-32768, -32768], np.int16).tobytes()
    assert pcm.rms_dbfs(full) == 0.0
    assert pcm.peak_dbfs(full) == 0.0
    half = np.array([16384, -16384] * 100, np.int16).tobytes()
    assert pcm.peak_dbfs(half) == pytest.approx(20 * math.log10(0.5), abs=1e-12)
    assert pcm.rms_dbfs(half) == pytest.approx(20 * math.log10(0.5), abs=1e-12)
    tone = (np.sin(np.arange(48000) * 2 * np.pi * 1000 / 48000) * 16384).astype(np.int16)
    assert pcm.rms_dbfs(tone.tobytes()) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=1e-3)


# --- edge lengths, empty input, native == twin -------------------------------------

UNARY = ["int16_to_float32", "ulaw_encode", "alaw_encode", "mono_to_stereo", "rms_dbfs", "peak_dbfs"]


@pytest.mark.parametrize("n", EDGE_LENGTHS)
def test_edge_lengths_match_twin(pcm: ModuleType, n: int, rng: np.random.Generator) -> None:
    x = rng.integers(-32768, 32768, n, dtype=np.int16).tobytes()
    for name in UNARY:
        got, want = getattr(pcm, name)(x), getattr(_pcm_py, name)(x)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, name
            assert np.array_equal(got, want), name
        else:
            assert got == want, name
    assert pcm.apply_gain(x, 0.3) == _pcm_py.apply_gain(x, 0.3)
    codes = x[:n]
    assert pcm.ulaw_decode(codes) == _pcm_py.ulaw_decode(codes)
    assert pcm.alaw_decode(codes) == _pcm_py.alaw_decode(codes)
    f = rng.standard_normal(n).astype(np.float32)
    assert pcm.float32_to_int16(f) == _pcm_py.float32_to_int16(f)
    stereo = x[: len(x) // 4 * 4]
    assert pcm.stereo_to_mono(stereo) == _pcm_py.stereo_to_mono(stereo)


def test_empty_input_gives_empty_output(pcm: ModuleType) -> None:
    assert pcm.int16_to_float32(b"").shape == (0,)
    for name in (
        "ulaw_encode",
        "alaw_encode",
        "ulaw_decode",
        "alaw_decode",
        "stereo_to_mono",
        "mono_to_stereo",
    ):
        assert getattr(pcm, name)(b"") == b""
    assert pcm.float32_to_int16(np.zeros(0, np.float32)) == b""
    assert pcm.apply_gain(b"", 2.0) == b""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=10_000).map(lambda b: b[: len(b) // 4 * 4]),
    gain=st.floats(-8, 8, allow_nan=False),
)
def test_hypothesis_matches_oracles(pcm: ModuleType, audioop: ModuleType, data: bytes, gain: float) -> None:
    # G.711 against audioop; everything else against the twin (the spec).
    assert pcm.ulaw_encode(data) == audioop.lin2ulaw(data, 2)
    assert pcm.alaw_encode(data) == audioop.lin2alaw(data, 2)
    assert pcm.ulaw_decode(data) == audioop.ulaw2lin(data, 2)
    assert pcm.alaw_decode(data) == audioop.alaw2lin(data, 2)
    assert pcm.stereo_to_mono(data) == _pcm_py.stereo_to_mono(data)
    assert pcm.apply_gain(data, gain) == _pcm_py.apply_gain(data, gain)
    assert pcm.rms_dbfs(data) == _pcm_py.rms_dbfs(data)
    assert pcm.peak_dbfs(data) == _pcm_py.peak_dbfs(data)
    assert np.array_equal(pcm.int16_to_float32(data), _pcm_py.int16_to_float32(data))
    assert pcm.float32_to_int16(data) == _pcm_py.float32_to_int16(data)  # any float32 bits


# --- bad input: a clear AudioFormatError, nothing half-done -----------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.int16_to_float32(b"\x00\x01\x02"), "odd byte count"),
        (lambda m: m.ulaw_encode(bytearray(5)), "odd byte count"),
        (lambda m: m.int16_to_float32(np.zeros(3, np.int32)), "dtype int32"),
        (lambda m: m.int16_to_float32(np.zeros(3, np.float32)), "dtype float32"),
        (lambda m: m.int16_to_float32(np.zeros(3, ">i2")), "must be int16"),
        (lambda m: m.int16_to_float32("abcd"), "bytes-like"),
        (lambda m: m.int16_to_float32(12), "got int"),
        (lambda m: m.int16_to_float32(np.zeros((4, 4), np.int16)[:, 1]), "C-contiguous"),
        (lambda m: m.float32_to_int16(np.zeros(3, np.int16)), "dtype int16"),
        (lambda m: m.float32_to_int16(b"\x00" * 6), "multiple of 4"),
        (lambda m: m.ulaw_decode(np.zeros(3, np.int16)), "raw bytes"),
        (lambda m: m.stereo_to_mono(b"\x00" * 6), "whole number of frames"),
        (lambda m: m.apply_gain(b"\x00\x00", float("nan")), "finite"),
        (lambda m: m.apply_gain(b"\x00\x00", float("inf")), "finite"),
        (lambda m: m.apply_gain(b"\x00\x00", "2"), "real number"),
        (lambda m: m.rms_dbfs(b"\x00"), "odd byte count"),
    ],
)
def test_bad_input_raises_audio_format_error(pcm: ModuleType, call, message: str) -> None:
    with pytest.raises(waav.AudioFormatError, match=message) as info:
        call(pcm)
    assert isinstance(info.value, ValueError)


def test_bad_input_releases_the_buffer(pcm: ModuleType) -> None:
    buf = bytearray(5)
    with pytest.raises(waav.AudioFormatError):
        pcm.ulaw_encode(buf)
    buf.extend(b"\x00")  # a leaked buffer export would make resizing fail
    assert len(pcm.ulaw_encode(buf)) == 3


# --- threads: the GIL is released for big inputs; results are identical ---------------


def test_kernels_from_a_thread_pool(pcm: ModuleType, rng: np.random.Generator) -> None:
    bufs = [rng.integers(-32768, 32768, 48_000 * k // 4, dtype=np.int16).tobytes() for k in range(1, 9)]
    floats = [pcm.int16_to_float32(b) for b in bufs]

    def work(i: int) -> tuple:
        b = bufs[i % len(bufs)]
        return (
            pcm.ulaw_encode(b),
            pcm.apply_gain(b, 0.7),
            pcm.int16_to_float32(b).tobytes(),
            pcm.float32_to_int16(floats[i % len(bufs)]),
            pcm.rms_dbfs(b),
        )

    serial = [work(i) for i in range(32)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(work, range(32)))
    assert parallel == serial
