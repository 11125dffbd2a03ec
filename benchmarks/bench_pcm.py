"""PCM kernels beside numpy and audioop: 20 ms @ 16 kHz frames and 10 s @ 48 kHz buffers.

Peers are the idioms Python users run today (the same ones as ``shared/bench``): the best
numpy idiom for each operation, and the stdlib ``audioop`` where it has the operation.
"""

from __future__ import annotations

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

SIZES = {"20ms@16k": (16000, 0.02), "10s@48k": (48000, 10.0)}


def _inputs(size: str) -> dict[str, object]:
    rate, seconds = SIZES[size]
    if seconds < 1:  # a frame cut from inside a voiced burst: loud and quiet samples
        b = speech_like(1.0, rate, seed=1)[int(0.3 * rate) * 2 :][: int(seconds * rate) * 2]
    else:
        b = speech_like(seconds, rate, seed=1)
    x16 = np.frombuffer(b, np.int16)
    f = x16.astype(np.float32) / np.float32(32768)
    stereo = np.stack([x16, np.roll(x16, 7)], axis=1).tobytes()
    return {
        "b": b,
        "x16": x16,
        "f": f,
        "bs": stereo,
        "u": A.ulaw_encode(b),
        "a": A.alaw_encode(b),
        "n": len(x16),
    }


def _numpy_tables() -> dict[str, np.ndarray]:
    all16 = np.arange(65536, dtype=np.uint16).view(np.int16).tobytes()
    return {
        "ULAW_ENC": np.frombuffer(A.ulaw_encode(all16), np.uint8),
        "ALAW_ENC": np.frombuffer(A.alaw_encode(all16), np.uint8),
        "ULAW_DEC": np.frombuffer(A.ulaw_decode(bytes(range(256))), np.int16),
        "ALAW_DEC": np.frombuffer(A.alaw_decode(bytes(range(256))), np.int16),
    }


T = _numpy_tables()
INV = np.float32(1 / 32768)
THR = 0.01  # the gate threshold of the baselines: 11 % of the 20 ms frame, 59 % of 10 s is gated


def cases(env: dict) -> dict[str, dict[str, Callable[[], object]]]:
    """operation -> {implementation: zero-argument callable}; waav first."""
    b, x16, f, bs, u, a, n = (env[k] for k in ("b", "x16", "f", "bs", "u", "a", "n"))
    outf, tmpf, out16 = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.int16)

    def np_f2i() -> bytes:
        np.multiply(f, 32768.0, out=tmpf)
        np.clip(tmpf, -32768, 32767, out=tmpf)
        out16[:] = tmpf
        return out16.tobytes()

    def np_gate_copy() -> bytes:
        y = np.frombuffer(b, np.int16).copy()
        y[np.abs(y) < THR * 32768] = 0
        return y.tobytes()

    def np_downmix() -> bytes:
        s = np.frombuffer(bs, np.int16).reshape(-1, 2)
        return ((s[:, 0].astype(np.int32) + s[:, 1]) >> 1).astype(np.int16).tobytes()

    c: dict[str, dict[str, Callable[[], object]]] = {
        "int16_to_float32": {
            "waav": lambda: A.int16_to_float32(b),
            "numpy": lambda: np.frombuffer(b, np.int16).astype(np.float32) * INV,
            "numpy-out": lambda: np.multiply(np.frombuffer(b, np.int16), INV, out=outf),
        },
        "float32_to_int16": {
            "waav": lambda: A.float32_to_int16(f),
            "numpy": lambda: np.clip(f * 32768.0, -32768, 32767).astype(np.int16).tobytes(),
            "numpy-out": np_f2i,
        },
        "ulaw_encode": {
            "waav": lambda: A.ulaw_encode(b),
            "numpy": lambda: T["ULAW_ENC"][np.frombuffer(b, np.uint16)].tobytes(),
        },
        "ulaw_decode": {
            "waav": lambda: A.ulaw_decode(u),
            "numpy": lambda: T["ULAW_DEC"][np.frombuffer(u, np.uint8)].tobytes(),
        },
        "alaw_encode": {
            "waav": lambda: A.alaw_encode(b),
            "numpy": lambda: T["ALAW_ENC"][np.frombuffer(b, np.uint16)].tobytes(),
        },
        "alaw_decode": {
            "waav": lambda: A.alaw_decode(a),
            "numpy": lambda: T["ALAW_DEC"][np.frombuffer(a, np.uint8)].tobytes(),
        },
        "stereo_to_mono": {
            "waav": lambda: A.stereo_to_mono(bs),
            "numpy": np_downmix,
        },
        "mono_to_stereo": {
            "waav": lambda: A.mono_to_stereo(b),
            "numpy": lambda: np.repeat(np.frombuffer(b, np.int16), 2).tobytes(),
        },
        "apply_gain": {
            "waav": lambda: A.apply_gain(b, 1.5),
            "numpy": lambda: (
                np.clip(np.frombuffer(b, np.int16) * np.float32(1.5), -32768, 32767)
                .astype(np.int16)
                .tobytes()
            ),
        },
        "noise_gate": {
            "waav": lambda: A.noise_gate(b, THR),
            "numpy": np_gate_copy,
            "numpy-where": lambda: np.where(np.abs(x16) < THR * 32768, 0, x16).tobytes(),
        },
        "rms_dbfs": {
            "waav": lambda: A.rms_dbfs(b),
            "numpy": lambda: 10 * np.log10(np.mean(np.square(x16, dtype=np.float64)) / 2**30),
        },
    }
    if audioop is not None:
        c["ulaw_encode"]["audioop"] = lambda: audioop.lin2ulaw(b, 2)
        c["ulaw_decode"]["audioop"] = lambda: audioop.ulaw2lin(u, 2)
        c["alaw_encode"]["audioop"] = lambda: audioop.lin2alaw(b, 2)
        c["alaw_decode"]["audioop"] = lambda: audioop.alaw2lin(a, 2)
        c["stereo_to_mono"]["audioop"] = lambda: audioop.tomono(bs, 2, 0.5, 0.5)
        c["mono_to_stereo"]["audioop"] = lambda: audioop.tostereo(b, 2, 1, 1)
        c["apply_gain"]["audioop"] = lambda: audioop.mul(b, 2, 1.5)
        c["rms_dbfs"]["audioop"] = lambda: audioop.rms(b, 2)
    return c


ENVS = {size: _inputs(size) for size in SIZES}
CASES = {size: cases(env) for size, env in ENVS.items()}
PARAMS = [
    pytest.param(size, op, impl, id=f"{op}-{size}-{impl}")
    for size, ops in CASES.items()
    for op, impls in ops.items()
    for impl in impls
]


@pytest.mark.parametrize(("size", "op", "impl"), PARAMS)
def test_pcm(benchmark, size: str, op: str, impl: str) -> None:
    benchmark.group = f"{op} {size}"
    benchmark.extra_info.update(op=op, size=size, impl=impl, samples=ENVS[size]["n"])
    benchmark(CASES[size][op][impl])


def test_native_gate_stream_10s(benchmark) -> None:
    """The streaming NoiseGate over 10 s @ 48 kHz in 20 ms chunks (no peer has one)."""
    b = ENVS["10s@48k"]["b"]
    chunks = [b[i : i + 1920] for i in range(0, len(b), 1920)]
    benchmark.group = "NoiseGate stream 10s@48k, 20 ms chunks"
    benchmark.extra_info.update(op="NoiseGate.process", size="10s@48k", impl="waav")

    def run() -> None:
        g = A.NoiseGate(48000, threshold_db=-40)
        for ch in chunks:
            g.process(ch)

    benchmark(run)


# --- two-thread scaling on 10 s buffers: is the GIL really released? --------------------

THREAD_OPS = [
    "int16_to_float32",
    "float32_to_int16",
    "ulaw_encode",
    "apply_gain",
    "noise_gate",
    "stereo_to_mono",
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("op", THREAD_OPS)
def test_threads(benchmark, thread_scaling, op: str, threads: int) -> None:
    fn = CASES["10s@48k"][op]["waav"]

    def work() -> None:
        for _ in range(8):
            fn()

    benchmark.group = f"threads {op} 10s@48k"
    benchmark.extra_info.update(op=op, size="10s@48k", impl="waav", threads=threads)
    benchmark(thread_scaling.run, work, threads)
