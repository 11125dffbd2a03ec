"""Turn a pytest-benchmark JSON file into ratio tables (markdown) and check the targets.

    pytest benchmarks --benchmark-json=bench.json
    python benchmarks/report.py bench.json [--markdown] [--strict]

A ratio is peer median / waav median from the same run: 2.0 means waav takes half the
time. Thread scaling is 2 * T(1 thread) / T(2 threads). ``--strict`` exits 1 when a
target is missed (not used in CI: shared machines are noisy; the README states the run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

# (operation, size, peer, minimum ratio): the performance targets of the issues, one
# row per target, for any suite (bench_pcm, bench_vad, ...). ``peer`` names an
# implementation in the (operation, size) group, or a prefix: "numpy" means the best of
# the numpy idioms in the group. A target "waav takes <= X× the peer's time" is the
# minimum ratio 1/X.
TARGETS: list[tuple[str, str, str, float]] = [
    ("int16_to_float32", "20ms@16k", "numpy", 4.0),
    ("float32_to_int16", "20ms@16k", "numpy", 7.0),
    ("ulaw_encode", "20ms@16k", "audioop", 1.8),
    ("alaw_encode", "20ms@16k", "audioop", 1.8),
    ("ulaw_decode", "20ms@16k", "audioop", 0.8),
    ("alaw_decode", "20ms@16k", "audioop", 0.8),
    ("apply_gain", "20ms@16k", "audioop", 2.0),
    ("noise_gate", "20ms@16k", "numpy", 6.0),
    ("int16_to_float32", "10s@48k", "numpy", 1.7),
    # provider-name lookup (bench_phf.py): the perfect hash must not be slower than the idiom
    ("provider_lookup", "names", "dict.get(lower)", 1.0),
    ("provider_lookup", "aliases", "dict.get(lower)", 1.0),
    ("provider_lookup", "mixed-case", "dict.get(lower)", 1.0),
    ("provider_lookup", "misses", "dict.get(lower)", 1.0),
    # resampler (issue 3): 20 ms chunks through a warm "hq" stream vs soxr.ResampleStream HQ
    ("stream20ms_hq", "48k->16k", "soxr", 1.5),
    ("stream20ms_hq", "8k->16k", "soxr", 1.5),
    ("stream20ms_hq", "24k->16k", "soxr", 1.5),
    ("stream20ms_hq", "16k->24k", "soxr", 1.5),
    ("stream20ms_hq", "44.1k->16k", "soxr", 1.5),
    ("stream20ms_hq", "16k->48k", "soxr", 1.5),
    ("oneshot_hq", "10s 48k->16k", "soxr", 1.0),  # stretch goal
    # issue 4 (VAD): beside a pure-Python framing + segmentation loop over webrtcvad
    ("vad_segment_webrtc", "10s@16k", "python-loop", 1.0),
    ("vad_segment_webrtc", "10s@48k", "python-loop", 4.0),
    ("vad_segment_energy", "10s@16k", "python-loop", 20.0),
]
THREAD_TARGET = 1.8


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


Groups = dict[tuple[str, str], dict[str, float]]


def load(path: str) -> tuple[Groups, dict[str, dict[int, float]], dict[str, Any]]:
    with open(path) as f:
        data = json.load(f)
    groups: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    threads: dict[str, dict[int, float]] = defaultdict(dict)
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        median = b["stats"]["median"]
        if "threads" in info:
            threads[f"{info['op']} {info['size']}"][info["threads"]] = median
        elif "op" in info and "impl" in info:
            groups[(info["op"], info.get("size", ""))][info["impl"]] = median
    return groups, threads, data.get("machine_info", {})


def best_peer(impls: dict[str, float], peer: str) -> tuple[str, float] | None:
    cands = {k: v for k, v in impls.items() if k == peer or k.startswith(peer + "-")}
    if not cands:
        return None
    name = min(cands, key=lambda k: cands[k])
    return name, cands[name]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    groups, threads, machine = load(args.json)

    cpu = machine.get("cpu", {}).get("brand_raw") or machine.get("processor", "?")
    print(
        f"Machine: {cpu}, Python {machine.get('python_version', '?')}, "
        f"kernels {machine.get('waav_kernels', {})}\n"
    )
    print("| operation | size | waav | peers (median) | ratio vs best peer |")
    print("|---|---|---:|---|---:|")
    for (op, size), impls in sorted(groups.items()):
        if "waav" not in impls:
            continue
        w = impls["waav"]
        peers = {k: v for k, v in impls.items() if k != "waav"}
        if not peers:
            print(f"| {op} | {size} | {_fmt_time(w)} | — | — |")
            continue
        best = min(peers, key=lambda k: peers[k])
        listing = ", ".join(f"{k} {_fmt_time(v)}" for k, v in sorted(peers.items(), key=lambda kv: kv[1]))
        print(f"| {op} | {size} | {_fmt_time(w)} | {listing} | **{peers[best] / w:.2f}×** ({best}) |")

    missed = 0
    print("\n| target | measured | |\n|---|---:|---|")
    for op, size, peer, minimum in TARGETS:
        impls = groups.get((op, size), {})
        bp = best_peer(impls, peer)
        if "waav" not in impls or bp is None:
            print(f"| {op} {size} ≥ {minimum}× {peer} | not measured | — |")
            continue
        ratio = bp[1] / impls["waav"]
        ok = ratio >= minimum
        missed += not ok
        print(f"| {op} {size} ≥ {minimum}× {peer} | {ratio:.2f}× vs {bp[0]} | {'met' if ok else 'MISSED'} |")

    if threads:
        print("\n| two threads, 10 s buffers | 1 thread | 2 threads | speedup (2·T1/T2) |")
        print("|---|---:|---:|---:|")
        for name, t in sorted(threads.items()):
            if 1 in t and 2 in t:
                speedup = 2 * t[1] / t[2]
                missed += speedup < THREAD_TARGET
                print(f"| {name} | {_fmt_time(t[1])} | {_fmt_time(t[2])} | {speedup:.2f} |")
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
