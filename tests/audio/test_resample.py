"""The streaming resampler: sample accounting, chunking invariance, quality, bad input.

Every test runs against the pure twin and each native ISA build (the ``rsm`` fixture).
Native results must equal the twin's exactly, float32 included: both run the same
IEEE operations in the same order (see ``waav.audio._resample_py``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waav
import waav.audio
from waav._compat import NO_EXTENSIONS, isa_levels, load_native
from waav.audio import _resample_py
from waav.testing.signals import speech_like

RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]
PAIRS = [(a, b) for a in RATES for b in RATES if a != b]
STREAM_PAIRS = [(48000, 16000), (8000, 16000), (24000, 16000), (16000, 24000), (44100, 16000), (16000, 48000)]
ODD_PAIRS = [(16000, 44101), (44101, 16000), (384000, 8000)]  # interpolated table / very long filter

IMPLS: list[tuple[str, ModuleType]] = [("py", _resample_py)]
if not NO_EXTENSIONS:
    for _level in isa_levels():
        _mod = load_native("_resample", _level)
        if _mod is not None:
            IMPLS.append((f"native-{_level}" if _level else "native", _mod))

# The twin and the best native build (quality is checked on these; every build is
# bit-identical to the twin, which the other tests check).
BEST = IMPLS[:2]


def frames_out(n: int, fi: int, fo: int) -> int:
    return -(-n * fo // fi)


def delay_frames(rs: Any) -> int:
    return round(rs.delay * rs.out_rate)


def noise(n: int, seed: int = 0, dtype: str = "int16") -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(n) * 0.25
    if dtype == "float32":
        return x.astype(np.float32)
    return np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)


def feed(rs: Any, x: np.ndarray, sizes: list[int], as_bytes: bool = True) -> np.ndarray:
    """Stream ``x`` (frames of rs.channels) in chunks of ``sizes`` frames, the rest, then flush."""
    ch = rs.channels
    out, pos = [], 0
    for size in [*sizes, len(x) // ch]:
        part = x[pos * ch : (pos + size) * ch]
        pos += len(part) // ch
        out.append(rs.process(part.tobytes() if as_bytes else part))
    out.append(rs.flush())
    if as_bytes:
        return np.frombuffer(b"".join(out), x.dtype)
    return np.concatenate(out)


@cache
def twin_oneshot(fi: int, fo: int, n: int, quality: str = "hq") -> bytes:
    result: bytes = _resample_py.resample(noise(n, fi).tobytes(), fi, fo, quality=quality)
    return result


# --- sample accounting ---------------------------------------------------------------------


@pytest.mark.parametrize(("fi", "fo"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_all_rate_pairs(rsm: ModuleType, fi: int, fo: int) -> None:
    """Every pair of the common rates: exact length, identical to the twin, sane signal."""
    n = fi // 20  # 50 ms
    x = noise(n, fi)
    y = rsm.resample(x.tobytes(), fi, fo)
    assert len(y) == 2 * frames_out(n, fi, fo)
    assert y == twin_oneshot(fi, fo, n)
    rs = rsm.Resampler(fi, fo)
    assert rs.in_rate == fi
    assert rs.out_rate == fo
    # a stream holds back its delay, then returns the rest: the one-shot's samples
    head = rs.process(x.tobytes())
    assert len(head) == 2 * max(0, frames_out(n, fi, fo) - delay_frames(rs))
    assert head + rs.flush() == y


@pytest.mark.parametrize(("fi", "fo"), ODD_PAIRS)
def test_unusual_rates_match_twin(rsm: ModuleType, fi: int, fo: int) -> None:
    for dtype in ("int16", "float32"):
        x = noise(fi // 25, 7, dtype)
        a = feed(rsm.Resampler(fi, fo, dtype=dtype), x, [1, 333, 0, 2000], as_bytes=False)
        b = feed(_resample_py.Resampler(fi, fo, dtype=dtype), x, [], as_bytes=False)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "n", [0, 1, 2, 3, 159, 160, 161, 441, 479, 480, 481, 959, 960, 961, 4095, 4096, 5000]
)
@pytest.mark.parametrize(("fi", "fo"), [(48000, 16000), (8000, 16000), (44100, 16000), (16000, 44101)])
def test_exact_output_length(rsm: ModuleType, n: int, fi: int, fo: int) -> None:
    x = noise(n, n)
    assert len(rsm.resample(x, fi, fo)) == frames_out(n, fi, fo)
    assert len(rsm.resample(x.astype(np.float32), fi, fo)) == frames_out(n, fi, fo)
    stereo = np.repeat(x, 2).reshape(-1, 2)
    assert rsm.resample(stereo, fi, fo, channels=2).shape == (frames_out(n, fi, fo), 2)


@pytest.mark.parametrize("n", [0, 1, 959, 960, 961])
@pytest.mark.parametrize(("fi", "fo"), STREAM_PAIRS)
def test_stream_edge_chunks(rsm: ModuleType, n: int, fi: int, fo: int) -> None:
    """Chunks of 0, 1, frame - 1, frame, frame + 1 frames: per-call and total accounting."""
    x = noise(fi // 5, 3)
    rs = rsm.Resampler(fi, fo)
    d = delay_frames(rs)
    got, fed, total = [], 0, 0
    for _ in range(12):
        chunk = x[fed : fed + n]
        fed += len(chunk)
        y = rs.process(chunk.tobytes())
        total += len(y) // 2
        assert total == max(0, frames_out(fed, fi, fo) - d)  # exact accounting, call by call
        got.append(y)
    got.append(rs.process(x[fed:].tobytes(), last=True))
    whole = rsm.Resampler(fi, fo).process(x.tobytes(), last=True)
    assert b"".join(got) == whole


def test_twenty_ms_chunks_never_come_back_empty(rsm: ModuleType) -> None:
    for fi, fo in STREAM_PAIRS:
        for quality in ("voip", "hq", "vhq"):
            rs = rsm.Resampler(fi, fo, quality=quality)
            sizes = [len(rs.process(noise(fi // 50, k).tobytes())) // 2 for k in range(10)]
            assert sizes[0] == fo // 50 - delay_frames(rs) > 0, (fi, fo, sizes)  # held back once
            assert set(sizes[1:]) == {fo // 50}, (fi, fo, sizes)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 3000), max_size=12),
    pair=st.sampled_from([*STREAM_PAIRS, (11025, 8000), (16000, 44101)]),
    channels=st.sampled_from([1, 2]),
    dtype=st.sampled_from(["int16", "float32"]),
)
def test_random_chunking_equals_whole(
    rsm: ModuleType, sizes: list[int], pair: tuple[int, int], channels: int, dtype: str
) -> None:
    fi, fo = pair
    x = noise(fi // 10 * channels, fi, dtype)
    whole = feed(rsm.Resampler(fi, fo, channels, dtype), x, [])
    split = feed(rsm.Resampler(fi, fo, channels, dtype), x, sizes)
    np.testing.assert_array_equal(split, whole)
    if rsm is not _resample_py:
        np.testing.assert_array_equal(whole, feed(_resample_py.Resampler(fi, fo, channels, dtype), x, []))


# --- types, channels, int16 ----------------------------------------------------------------


def test_output_types_follow_input(rsm: ModuleType) -> None:
    x = noise(960)
    rs = rsm.Resampler(48000, 16000)
    assert isinstance(rs.process(x.tobytes()), bytes)
    assert isinstance(rs.process(bytearray(x.tobytes())), bytes)
    assert isinstance(rs.process(memoryview(x.tobytes())), bytes)
    y = rs.process(x)
    assert isinstance(y, np.ndarray)
    assert y.dtype == np.int16
    assert y.shape == (320,)
    tail = rs.flush()  # the tail has the type of the last chunk
    assert isinstance(tail, np.ndarray)
    assert tail.dtype == np.int16
    f = rsm.Resampler(48000, 16000, 2, "float32")
    y2 = f.process(noise(1920, 1, "float32").reshape(-1, 2))
    assert y2.dtype == np.float32
    assert y2.shape == (320 - delay_frames(f), 2)
    assert f.flush().shape == (delay_frames(f), 2)
    assert isinstance(rsm.Resampler(48000, 16000, dtype="float32").process(b"\x00" * 16), bytes)


def test_dtype_accepts_numpy_dtypes(rsm: ModuleType) -> None:
    assert rsm.Resampler(48000, 16000, dtype=np.float32).dtype == "float32"
    assert rsm.Resampler(48000, 16000, dtype=np.dtype("int16")).dtype == "int16"
    assert rsm.Resampler(48000, 16000, quality="HQ").quality == "hq"


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_multichannel_is_per_channel(rsm: ModuleType, dtype: str) -> None:
    left, right = noise(4410, 1, dtype), noise(4410, 2, dtype)
    inter = np.stack([left, right], axis=1)
    y = rsm.resample(inter, 44100, 16000, channels=2)
    assert y.shape == (1600, 2)
    np.testing.assert_array_equal(y[:, 0], rsm.resample(left, 44100, 16000))
    np.testing.assert_array_equal(y[:, 1], rsm.resample(right, 44100, 16000))
    flat = rsm.resample(inter.reshape(-1), 44100, 16000, channels=2)
    np.testing.assert_array_equal(flat, y.reshape(-1))


def test_int16_is_rounded_and_saturated(rsm: ModuleType) -> None:
    """int16 output = float path x 32768, rounded half to even, saturated (never wraps)."""
    square = np.where((np.arange(4800) // 24) % 2 == 0, 32767, -32768).astype(np.int16)
    y16 = rsm.resample(square, 48000, 16000)
    yf = rsm.resample(square.astype(np.float32) / np.float32(32768), 48000, 16000)
    v = np.clip(yf * np.float32(32768), -32768, 32767)
    np.testing.assert_array_equal(y16, np.rint(v).astype(np.int16))
    assert yf.max() > 1.0
    assert yf.min() < -1.0
    assert y16.max() == 32767
    assert y16.min() == -32768


def test_equal_rates_pass_through(rsm: ModuleType) -> None:
    b = noise(320).tobytes()
    a = noise(320, 1, "float32")
    rs = rsm.Resampler(16000, 16000)
    assert rs.delay == 0.0
    assert rs.process(b) is b
    assert rs.process(bytearray(b)) == b
    assert rsm.Resampler(16000, 16000, dtype="float32").process(a) is a
    assert rsm.resample(b, 8000, 8000) is b
    assert rs.flush() == b""
    with pytest.raises(waav.AudioFormatError, match="stream has ended"):
        rs.process(b)
    with pytest.raises(waav.AudioFormatError, match="not a whole number"):
        rsm.Resampler(16000, 16000, channels=2).process(b[:6])


# --- delay, reset, flush ------------------------------------------------------------------


@pytest.mark.parametrize(("fi", "fo", "limit_ms"), [(48000, 16000, 5.0), (8000, 16000, 8.0)])
def test_hq_delay_targets(rsm: ModuleType, fi: int, fo: int, limit_ms: float) -> None:
    delays = {q: rsm.Resampler(fi, fo, quality=q).delay for q in ("voip", "hq", "vhq")}
    assert delays["hq"] * 1000 <= limit_ms
    assert delays["voip"] < delays["hq"] < delays["vhq"]


@pytest.mark.parametrize(("fi", "fo"), [(48000, 16000), (8000, 16000), (44100, 16000), (16000, 44101)])
def test_output_is_aligned_and_held_back_by_the_delay(rsm: ModuleType, fi: int, fo: int) -> None:
    """Output j is the input at time j / fo (aligned), returned ``delay`` seconds late."""
    t_in = np.arange(fi // 4) / fi
    x = (0.5 * np.sin(2 * np.pi * 1000 * t_in)).astype(np.float32)
    rs = rsm.Resampler(fi, fo, dtype="float32")
    d = delay_frames(rs)
    assert d == round(rs.delay * fo)
    assert abs(d / fo - rs.delay) < 1e-12
    first = rs.process(x)
    assert len(first) == frames_out(len(x), fi, fo) - d  # the last d frames are held back
    stream = np.concatenate([first, rs.flush()])
    oneshot = rsm.resample(x, fi, fo)
    np.testing.assert_array_equal(stream, oneshot)
    ref = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(oneshot)) / fo)
    mid = slice(len(ref) // 4, 3 * len(ref) // 4)
    err = oneshot[mid] - ref[mid]
    snr = 10 * np.log10(np.mean(ref[mid] ** 2) / np.mean(err**2))
    assert snr > 90, snr  # one output sample off would be ~ 0-20 dB


def test_reset_and_flush(rsm: ModuleType) -> None:
    x = noise(4800).tobytes()
    rs = rsm.Resampler(48000, 16000)
    first = rs.process(x) + rs.flush()
    with pytest.raises(waav.AudioFormatError, match="reset"):
        rs.process(x)
    with pytest.raises(waav.AudioFormatError, match="stream has ended"):
        rs.flush()
    rs.reset()
    assert rs.process(x) + rs.flush() == first
    # reset mid-stream (barge-in) drops the history: like a new stream
    rs.reset()
    rs.process(noise(999, 5).tobytes())
    rs.reset()
    assert rs.process(x, last=True) == first
    # a stream that saw nothing has nothing to return
    assert rsm.Resampler(48000, 16000).flush() == b""


def test_repr(rsm: ModuleType) -> None:
    r = repr(rsm.Resampler(8000, 16000, 2, "float32", "vhq"))
    assert r == "Resampler(in_rate=8000, out_rate=16000, channels=2, dtype='float32', quality='vhq')"


# --- quality (float32 I/O, analytic tones) -------------------------------------------------

SPEC = {"voip": (0.80, 80.0, None), "hq": (0.90, 100.0, 90.0), "vhq": (0.90, 130.0, 110.0)}


def _fit(y: np.ndarray, rate: int, freq: float) -> tuple[float, np.ndarray]:
    a = len(y) // 4
    seg = np.asarray(y[a : len(y) - a], np.float64)
    t = (a + np.arange(len(seg))) / rate
    basis = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    return math.hypot(coef[0], coef[1]), seg - basis @ coef


def _tone(rate: int, freq: float, seconds: float = 0.25) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


@pytest.mark.parametrize("quality", ["voip", "hq", "vhq"])
@pytest.mark.parametrize(("fi", "fo"), [(48000, 16000), (8000, 16000), (16000, 48000), (16000, 44101)])
@pytest.mark.parametrize("impl", [m for _, m in BEST], ids=[i for i, _ in BEST])
def test_quality_presets(impl: ModuleType, fi: int, fo: int, quality: str) -> None:
    edge, stop_db, sinad_db = SPEC[quality]
    lo = min(fi, fo) / 2
    for frac in (0.05, 0.3, 0.6, edge - 0.02, edge):  # passband: flat within ±0.01 dB
        amp, _ = _fit(impl.resample(_tone(fi, frac * lo), fi, fo, quality=quality), fo, frac * lo)
        assert abs(20 * math.log10(amp / 0.5)) <= 0.01, (frac, amp)
    if fo < fi:  # stopband: tones above the output Nyquist must vanish (aliasing)
        # ... including just above fi / 2 - fo / 2, the edge of a 2:1 half-band stage
        for f in (fo / 2, 0.52 * fo, 0.6 * fo, 0.9 * fo, fi / 2 - fo / 2 + 20, 0.49 * fi):
            y = np.asarray(impl.resample(_tone(fi, f), fi, fo, quality=quality), np.float64)
            a = len(y) // 4
            level = 10 * math.log10(np.mean(y[a:-a] ** 2) / 0.125 + 1e-30)
            assert level <= -stop_db, (f, level)
    else:  # images above the input Nyquist, measured as the residual around the tone
        for frac in (0.3, 0.9, 0.99):
            _, res = _fit(impl.resample(_tone(fi, frac * lo), fi, fo, quality=quality), fo, frac * lo)
            level = 10 * math.log10(np.mean(res**2) / 0.125)
            assert level <= -stop_db, (frac, level)
    if sinad_db is not None:
        amp, res = _fit(impl.resample(_tone(fi, 1000.0, 0.5), fi, fo, quality=quality), fo, 1000.0)
        assert 10 * math.log10((amp**2 / 2) / np.mean(res**2)) >= sinad_db


@pytest.mark.parametrize("impl", [m for _, m in BEST], ids=[i for i, _ in BEST])
def test_int16_sinad_is_limited_by_16_bits(impl: ModuleType) -> None:
    x = np.rint(_tone(48000, 1000.0, 0.5).astype(np.float64) * 32767).astype(np.int16)
    y = impl.resample(x, 48000, 16000).astype(np.float64) / 32768
    amp, res = _fit(y, 16000, 1000.0)
    assert 10 * math.log10((amp**2 / 2) / np.mean(res**2)) > 85  # -6 dBFS tone: ~92 dB in 16 bits


# --- threads -----------------------------------------------------------------------------


def test_thread_pool_determinism(rsm: ModuleType) -> None:
    big = speech_like(2.0, 48000, seed=4)
    serial = [rsm.resample(big, 48000, r) for r in (16000, 8000, 44100)]

    def work(k: int) -> bytes:
        if k % 2:  # streams in parallel, one per thread
            rs = rsm.Resampler(48000, (16000, 8000, 44100)[k % 3])
            y: bytes = rs.process(big[: len(big) // 2]) + rs.process(big[len(big) // 2 :]) + rs.flush()
            return y
        result: bytes = rsm.resample(big, 48000, (16000, 8000, 44100)[k % 3])
        return result

    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(work, range(12)))
    assert parallel == [serial[k % 3] for k in range(12)]


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_rate": 0}, "in_rate"),
        ({"in_rate": -8000}, "in_rate"),
        ({"in_rate": 16000.0}, "in_rate"),
        ({"in_rate": "16000"}, "in_rate"),
        ({"in_rate": True}, "in_rate"),
        ({"out_rate": 0}, "out_rate"),
        ({"out_rate": 8000.5}, "out_rate"),
        ({"out_rate": 384_001}, "out_rate"),
        ({"in_rate": 384_000, "out_rate": 8}, "too large a ratio"),
        ({"channels": 0}, "channels"),
        ({"channels": 1.0}, "channels"),
        ({"channels": 65}, "channels"),
        ({"dtype": "int32"}, "dtype"),
        ({"dtype": np.float64}, "dtype"),
        ({"dtype": None}, "dtype"),
        ({"quality": "best"}, "quality"),
        ({"quality": 3}, "quality"),
    ],
)
def test_bad_parameters(rsm: ModuleType, kwargs: dict[str, Any], message: str) -> None:
    args = {"in_rate": 48000, "out_rate": 16000, **kwargs}
    with pytest.raises(waav.AudioFormatError, match=message):
        rsm.Resampler(**args)
    if "dtype" not in kwargs:  # the one-shot infers the dtype from the data
        with pytest.raises(waav.AudioFormatError, match=message):
            rsm.resample(b"", **args)


BAD_CHUNKS: list[tuple[dict[str, Any], Any, str]] = [
    ({}, b"\x00\x00\x00", "not a whole number of 1-channel int16 frames"),
    ({"channels": 2}, b"\x00" * 6, "not a whole number of 2-channel int16 frames"),
    ({"dtype": "float32"}, b"\x00" * 6, "not a whole number of 1-channel float32 frames"),
    ({}, np.zeros(4, np.float32), "has dtype float32, but the stream's dtype is int16"),
    ({"dtype": "float32"}, np.zeros(4, np.int16), "has dtype int16, but the stream's dtype is float32"),
    ({"dtype": "float32"}, np.zeros(4, np.float64), "has dtype float64"),
    ({}, np.zeros(4, np.uint8), "has dtype uint8"),
    ({}, np.zeros(4, ">i2"), "has dtype >i2"),
    ({"channels": 2}, np.zeros(3, np.int16), "3 samples, not a whole number of 2-channel frames"),
    ({"channels": 2}, np.zeros((4, 3), np.int16), r"must be \(frames, 2\)"),
    ({}, np.zeros((2, 2, 2), np.int16), "1-D"),
    ({}, np.zeros(8, np.int16)[::2], "C-contiguous"),
    ({}, [0, 1, 2], "bytes-like"),
    ({"dtype": "float32"}, memoryview(np.zeros(2, np.int16)), "float32 samples or raw bytes"),
]


@pytest.mark.parametrize(("kwargs", "chunk", "message"), BAD_CHUNKS)
def test_bad_chunks_leave_the_stream_untouched(
    rsm: ModuleType, kwargs: dict[str, Any], chunk: Any, message: str
) -> None:
    dtype = kwargs.get("dtype", "int16")
    ch = kwargs.get("channels", 1)
    x = noise(4800 * ch, 9, dtype)
    rs, ref = rsm.Resampler(48000, 16000, **kwargs), rsm.Resampler(48000, 16000, **kwargs)
    assert rs.process(x[: 960 * ch]).tobytes() == ref.process(x[: 960 * ch]).tobytes()
    with pytest.raises(waav.AudioFormatError, match=message):
        rs.process(chunk)
    with pytest.raises(waav.AudioFormatError, match=message):
        rs.process(chunk, last=True)  # not ended by a rejected chunk
    np.testing.assert_array_equal(rs.process(x[960 * ch :]), ref.process(x[960 * ch :]))
    np.testing.assert_array_equal(rs.flush(), ref.flush())


def test_bad_oneshot_data(rsm: ModuleType) -> None:
    with pytest.raises(waav.AudioFormatError, match="int16 or float32"):
        rsm.resample(np.zeros(4, np.float64), 48000, 16000)
    with pytest.raises(waav.AudioFormatError, match="not a whole number"):
        rsm.resample(b"\x00" * 3, 48000, 16000)
    with pytest.raises(waav.AudioFormatError, match="bytes-like"):
        rsm.resample("abc", 48000, 16000)


def test_public_selector() -> None:
    import importlib

    selector = importlib.import_module("waav.audio.resample")
    assert waav.audio.Resampler is selector.Resampler
    assert waav.audio.resample is selector.resample
    assert selector.QUALITIES == ("voip", "hq", "vhq")
    assert waav.audio.implementation()["_resample"] in (selector.IMPLEMENTATION, "python")
