"""Provider-name lookup: waav's build-time perfect hash beside ``dict.get(name.lower())``.

Both sides answer the same question — the canonical id of a provider name of one kind,
ASCII case-insensitively — over the catalog's 54 names in four workloads: canonical ids,
aliases, mixed case, and misses. Each round looks up every name of the workload once (one
loop in Python for both sides), so the per-call overhead is part of what is measured.
The peer is the idiom perf-baselines.md measured: ``T.get(name.lower())`` on a dict of
lower-case names per kind.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from waav.plugin import _phf_py, catalog
from waav.plugin import resolve as waav_resolve

KINDS = ("stt", "tts", "realtime")
IDS: dict[str, list[str]] = {k: [] for k in KINDS}
ALIASES: dict[str, list[str]] = {k: [] for k in KINDS}
for _e in catalog():
    IDS[_e.kind.value].append(_e.id)
    ALIASES[_e.kind.value].extend(_e.aliases)

# the peer's tables: lower-case name -> canonical id, one dict per kind
STT = {n: c for (k, n, c) in _phf_py.entries() if k == "stt"}
TTS = {n: c for (k, n, c) in _phf_py.entries() if k == "tts"}
RT = {n: c for (k, n, c) in _phf_py.entries() if k == "realtime"}


def _mixed(name: str) -> str:
    return name.upper() if len(name) <= 4 else name.title()


WORKLOADS: dict[str, dict[str, list[str]]] = {
    "names": IDS,
    "aliases": ALIASES,
    "mixed-case": {k: [_mixed(n) for n in IDS[k] + ALIASES[k]] for k in KINDS},
    "misses": {k: [f"NoSuch{_mixed(n)}" for n in IDS[k] + ALIASES[k]] for k in KINDS},
}


def _waav(w: dict[str, list[str]]) -> Callable[[], None]:
    stt, tts, rt = w["stt"], w["tts"], w["realtime"]
    r = waav_resolve

    def run() -> None:
        for n in stt:
            r("stt", n)
        for n in tts:
            r("tts", n)
        for n in rt:
            r("realtime", n)

    return run


def _dict(w: dict[str, list[str]]) -> Callable[[], None]:
    stt, tts, rt = w["stt"], w["tts"], w["realtime"]

    def run() -> None:
        for n in stt:
            STT.get(n.lower())
        for n in tts:
            TTS.get(n.lower())
        for n in rt:
            RT.get(n.lower())

    return run


def _check(workload: str) -> None:
    """Both sides give the same answers (and hits/misses are what the workload says)."""
    for k, names in WORKLOADS[workload].items():
        table = {"stt": STT, "tts": TTS, "realtime": RT}[k]
        for n in names:
            want = table.get(n.lower())
            assert waav_resolve(k, n) == want
            assert (want is None) == (workload == "misses")


@pytest.mark.parametrize("impl", ["waav", "dict.get(lower)"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_lookup(benchmark, workload: str, impl: str) -> None:
    _check(workload)
    w = WORKLOADS[workload]
    n = sum(len(v) for v in w.values())
    benchmark.group = f"provider lookup: {workload} ({n} names/round)"
    benchmark.extra_info.update(op="provider_lookup", size=workload, impl=impl, lookups=n)
    benchmark(_waav(w) if impl == "waav" else _dict(w))
