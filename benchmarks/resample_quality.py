"""Resampler quality, waav presets beside soxr: passband ripple, stopband, SINAD, delay.

    python benchmarks/resample_quality.py [--quick] [--markdown]

All measurements use float32 I/O and one-shot resampling of pure tones (amplitude 0.5),
analysed on the middle half of the output with a least-squares sine fit:

passband   worst gain deviation (dB) over tones from 0.02 to 0.90 (voip: 0.80) of the lower
           Nyquist frequency.
stopband   down-sampling: worst output power, relative to the input tone's, over tones from
           the output Nyquist frequency up to the input Nyquist (they must vanish: any output
           is aliasing). Up-sampling: worst residual after removing the fitted tone (the
           images above the input Nyquist, plus noise), over tones from 0.02 to 0.99 of the
           input Nyquist.
SINAD      1 kHz tone: fitted-sine power over residual power (noise, distortion, aliasing).
delay      waav: the stream's algorithmic delay (``Resampler.delay``). soxr: the output a
           ``soxr.ResampleStream`` still owes after 1 s of input in 20 ms chunks.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import numpy as np

import waav.audio as A

PAIRS = [(48000, 16000), (8000, 16000), (44100, 16000), (24000, 16000), (16000, 24000), (16000, 48000)]
AMP = 0.5

Resample = Callable[[np.ndarray, int, int], np.ndarray]


def tone(rate: int, freq: float, seconds: float) -> np.ndarray:
    return (AMP * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


def fit(y: np.ndarray, rate: int, freq: float) -> tuple[float, np.ndarray]:
    """Amplitude of the best-fit sine at ``freq`` and the residual, over the middle half."""
    a = len(y) // 4
    seg = np.asarray(y[a : len(y) - a], np.float64)
    t = (a + np.arange(len(seg))) / rate
    basis = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    return math.hypot(coef[0], coef[1]), seg - basis @ coef


def measure(fn: Resample, fi: int, fo: int, pass_edge: float, points: int = 24) -> dict[str, float]:
    lo = min(fi, fo) / 2
    sec = 0.5
    gains = []
    for frac in np.linspace(0.02, pass_edge, points):
        amp, _ = fit(fn(tone(fi, frac * lo, sec), fi, fo), fo, frac * lo)
        gains.append(20 * math.log10(amp / AMP))
    worst = -math.inf
    if fo < fi:
        for f in np.linspace(fo / 2, fi / 2, points + 1)[:-1]:
            y = np.asarray(fn(tone(fi, f, sec), fi, fo), np.float64)
            a = len(y) // 4
            p = float(np.mean(y[a : len(y) - a] ** 2)) / (AMP**2 / 2)
            worst = max(worst, 10 * math.log10(max(p, 1e-30)))
    else:
        for frac in np.linspace(0.02, 0.99, points):
            _, res = fit(fn(tone(fi, frac * lo, sec), fi, fo), fo, frac * lo)
            worst = max(worst, 10 * math.log10(max(float(np.mean(res**2)), 1e-30) / (AMP**2 / 2)))
    amp, res = fit(fn(tone(fi, 1000.0, 1.0), fi, fo), fo, 1000.0)
    sinad = 10 * math.log10((amp**2 / 2) / float(np.mean(res**2)))
    return {
        "ripple_db": max(abs(g) for g in gains),
        "ripple_min_db": min(gains),
        "ripple_max_db": max(gains),
        "stopband_db": worst,
        "sinad_db": sinad,
    }


def waav_fn(quality: str) -> Resample:
    return lambda x, fi, fo: A.resample(x, fi, fo, quality=quality)


def soxr_delay_ms(fi: int, fo: int, quality: str) -> float:
    import soxr

    rs = soxr.ResampleStream(fi, fo, 1, dtype="float32", quality=quality)
    chunk = np.zeros(fi // 50, np.float32)
    produced = sum(len(rs.resample_chunk(chunk)) for _ in range(50))  # 1 s in 20 ms chunks
    return (fo - produced) / fo * 1000


def rows(quick: bool) -> list[dict[str, object]]:
    points = 8 if quick else 24
    out: list[dict[str, object]] = []
    for fi, fo in PAIRS:
        for quality, edge in (("voip", 0.80), ("hq", 0.90), ("vhq", 0.90)):
            m = measure(waav_fn(quality), fi, fo, edge, points)
            delay = A.Resampler(fi, fo, dtype="float32", quality=quality).delay * 1000
            out.append({"pair": f"{fi}->{fo}", "impl": f"waav {quality}", "delay_ms": delay, **m})
        try:
            import soxr
        except ImportError:  # pragma: no cover - soxr is in the test extra
            continue
        for quality in ("HQ", "VHQ"):

            def fn(x: np.ndarray, a: int, b: int, q: str = quality) -> np.ndarray:
                return np.asarray(soxr.resample(x, a, b, q))

            m = measure(fn, fi, fo, 0.90, points)
            out.append(
                {
                    "pair": f"{fi}->{fo}",
                    "impl": f"soxr {quality}",
                    "delay_ms": soxr_delay_ms(fi, fo, quality),
                    **m,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer test tones (a smoke run)")
    args = ap.parse_args(argv)
    print("| pair | resampler | passband ripple (dB) | stopband (dB) | SINAD 1 kHz (dB) | delay (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows(args.quick):
        print(
            f"| {r['pair']} | {r['impl']} | {r['ripple_min_db']:+.4f} / {r['ripple_max_db']:+.4f} "
            f"| {r['stopband_db']:.1f} | {r['sinad_db']:.1f} | {r['delay_ms']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
