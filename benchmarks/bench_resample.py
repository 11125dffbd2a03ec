"""The resampler beside soxr, scipy and audioop, in one run.

* streaming: 1 s of speech-like audio in 20 ms chunks through a warm stream (per-chunk cost
  = time / 50), ``"hq"`` beside ``soxr.ResampleStream`` HQ (float32 and int16) and
  ``audioop.ratecv`` with its state carried (int16, no anti-alias filter), for the six
  pairs of the issue;
* one-shot: 10 s at 48 kHz to 16 kHz, beside ``soxr.resample`` HQ, ``scipy.signal.
  resample_poly`` and ``audioop.ratecv``;
* two threads, each resampling its own 10 s buffer (speedup = 2·T1/T2).

Quality differs between peers (see ``resample_quality.py``): soxr HQ has more stopband
and 21-66 ms of delay, scipy's default filter stops only ~30 dB, audioop none.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import waav.audio as A
from waav.testing.signals import speech_like

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop  # stdlib up to 3.12; the audioop-lts package on 3.13+
    except ImportError:  # pragma: no cover
        audioop = None

soxr = pytest.importorskip("soxr")
scipy_signal = pytest.importorskip("scipy.signal")

PAIRS = [(48000, 16000), (8000, 16000), (24000, 16000), (16000, 24000), (44100, 16000), (16000, 48000)]


def _k(rate: int) -> str:
    return f"{rate / 1000:g}k"


def _signal(rate: int, seconds: float) -> tuple[bytes, np.ndarray]:
    b = speech_like(seconds, rate, seed=1)
    return b, np.frombuffer(b, np.int16).astype(np.float32) / np.float32(32768)


def stream_cases(fi: int, fo: int) -> dict[str, dict[str, Callable[[], object]]]:
    """{op: {impl: one round = 1 s of 20 ms chunks through a warm stream}}."""
    b, f = _signal(fi, 1.0)
    n = fi // 50
    fchunks = [f[i : i + n] for i in range(0, len(f), n)]
    bchunks = [b[2 * i : 2 * (i + n)] for i in range(0, len(f), n)]

    w32 = A.Resampler(fi, fo, dtype="float32", quality="hq")
    w16 = A.Resampler(fi, fo, dtype="int16", quality="hq")
    s32 = soxr.ResampleStream(fi, fo, 1, dtype="float32", quality="HQ")
    s16 = soxr.ResampleStream(fi, fo, 1, dtype="int16", quality="HQ")

    def waav32() -> None:
        for c in fchunks:
            w32.process(c)

    def waav16() -> None:
        for c in bchunks:
            w16.process(c)

    def soxr32() -> None:
        for c in fchunks:
            s32.resample_chunk(c)

    def soxr16() -> None:  # bytes in, bytes out, as a voice pipeline has them
        for c in bchunks:
            s16.resample_chunk(np.frombuffer(c, np.int16)).tobytes()

    cases: dict[str, dict[str, Callable[[], object]]] = {
        "stream20ms_hq": {"waav": waav32, "soxr": soxr32},
        "stream20ms_hq_int16": {"waav": waav16, "soxr": soxr16},
    }
    if audioop is not None:
        state: list[object] = [None]

        def ratecv() -> None:
            for c in bchunks:
                _, state[0] = audioop.ratecv(c, 2, 1, fi, fo, state[0])

        cases["stream20ms_hq_int16"]["audioop"] = ratecv
    return cases


STREAMS = {(fi, fo): stream_cases(fi, fo) for fi, fo in PAIRS}
STREAM_PARAMS = [
    pytest.param(fi, fo, op, impl, id=f"{op}-{_k(fi)}-{_k(fo)}-{impl}")
    for (fi, fo), ops in STREAMS.items()
    for op, impls in ops.items()
    for impl in impls
]


@pytest.mark.parametrize(("fi", "fo", "op", "impl"), STREAM_PARAMS)
def test_stream(benchmark, fi: int, fo: int, op: str, impl: str) -> None:
    size = f"{_k(fi)}->{_k(fo)}"
    benchmark.group = f"{op} {size} (50 chunks)"
    benchmark.extra_info.update(op=op, size=size, impl=impl, chunks=50)
    benchmark(STREAMS[(fi, fo)][op][impl])


# --- one-shot 10 s --------------------------------------------------------------------------

B10, F10 = _signal(48000, 10.0)
G = math.gcd(48000, 16000)
ONESHOT: dict[str, Callable[[], object]] = {
    "waav": lambda: A.resample(F10, 48000, 16000, quality="hq"),
    "waav-int16": lambda: A.resample(B10, 48000, 16000, quality="hq"),
    "soxr": lambda: soxr.resample(F10, 48000, 16000, "HQ"),
    "scipy": lambda: scipy_signal.resample_poly(F10, 16000 // G, 48000 // G),
}
if audioop is not None:
    ONESHOT["audioop"] = lambda: audioop.ratecv(B10, 2, 1, 48000, 16000, None)


@pytest.mark.parametrize("impl", list(ONESHOT))
def test_oneshot_10s(benchmark, impl: str) -> None:
    benchmark.group = "oneshot_hq 10s 48k->16k"
    benchmark.extra_info.update(op="oneshot_hq", size="10s 48k->16k", impl=impl)
    benchmark(ONESHOT[impl])


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_oneshot_10s(benchmark, thread_scaling, threads: int) -> None:
    def work() -> None:
        for _ in range(4):
            A.resample(F10, 48000, 16000, quality="hq")

    benchmark.group = "threads resample 10s 48k->16k"
    benchmark.extra_info.update(op="resample", size="10s@48k->16k", impl="waav", threads=threads)
    benchmark(thread_scaling.run, work, threads)


def test_outputs_agree() -> None:
    """The peers compute the same thing (sanity, not a benchmark): lengths and levels."""
    y = A.resample(F10, 48000, 16000)
    s = soxr.resample(F10, 48000, 16000, "HQ")
    assert len(y) == len(s) == 160_000
    mid = slice(1000, -1000)
    err = np.sqrt(np.mean((y[mid] - s[mid]) ** 2)) / np.sqrt(np.mean(s[mid] ** 2))
    assert err < 1e-3, err  # aligned (both delay-compensated) and equal to ~ -60 dB
