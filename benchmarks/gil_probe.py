"""Stall probe: does a native call hold the GIL? (a script, not a test: it is timing-based)

    python benchmarks/gil_probe.py [--quick]

A Python loop in the main thread records the longest gap between its iterations while a
worker thread runs one kernel on a large buffer. A kernel that releases the GIL leaves the
loop running (gaps of scheduling noise); one that holds it stalls the loop for the whole
call. audioop (which holds the GIL) is the control. Timing on a loaded machine is noisy, so
this is reported, not asserted; the test suite checks thread-pool determinism instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable

import waav.audio as A

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop
    except ImportError:  # pragma: no cover
        audioop = None


def max_stall(fn: Callable[[bytes], object], data: bytes, reps: int) -> float:
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        done = threading.Event()

        def work() -> None:
            for _ in range(reps):
                fn(data)
            done.set()

        worker = threading.Thread(target=work)
        last, gap = time.perf_counter(), 0.0
        worker.start()
        while not done.is_set():
            now = time.perf_counter()
            gap, last = max(gap, now - last), now
        worker.join()
        return gap
    finally:
        sys.setswitchinterval(old)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small buffers, one probe (CI smoke run)")
    args = ap.parse_args()
    n = 200_000 if args.quick else 16_000_000
    probes = 1 if args.quick else 5
    data = bytes(2 * n)
    kernels: dict[str, Callable[[bytes], object]] = {
        "waav ulaw_encode": A.ulaw_encode,
        "waav apply_gain": lambda b: A.apply_gain(b, 0.5),
        "waav int16_to_float32": A.int16_to_float32,
        "waav noise_gate": lambda b: A.noise_gate(b, 0.01),
        "waav resample 48k->16k": lambda b: A.resample(b, 48000, 16000),
    }
    if audioop is not None:
        kernels["audioop lin2ulaw (holds the GIL)"] = lambda b: audioop.lin2ulaw(b, 2)
        kernels["audioop ratecv 48k->16k (holds the GIL)"] = lambda b: audioop.ratecv(
            b, 2, 1, 48000, 16000, None
        )
    print(f"{n} samples per call; stall = longest pause of a Python loop in another thread")
    print("| kernel | call | stall (median of probes) |\n|---|---:|---:|")
    for name, fn in kernels.items():
        t0 = time.perf_counter()
        fn(data)
        call = time.perf_counter() - t0
        stall = statistics.median(max_stall(fn, data, reps=3) for _ in range(probes))
        print(f"| {name} | {call * 1e3:.2f} ms | {stall * 1e3:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
