"""Shared setup for the benchmark suites (pytest-benchmark).

Run all:      pytest benchmarks --benchmark-json=bench.json && python benchmarks/report.py bench.json
Quick (CI):   pytest benchmarks --benchmark-disable      (each case runs once, nothing timed)

Each group holds one operation at one size, with waav beside its peers, so the ratios come
from one run on one machine.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import waav.audio
from waav._compat import isa_levels


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    machine_info["waav_kernels"] = waav.audio.implementation()
    machine_info["waav_isa_levels"] = [lv or "baseline" for lv in isa_levels()]
    machine_info["python_build"] = platform.python_build()


class ThreadScaling:
    """Run ``work`` on one thread, or on two threads at once (each doing the same work).

    Two-thread speedup = 2 * T(1 thread) / T(2 threads): 2.0 means perfect scaling, 1.0
    means the threads serialise (e.g. on the GIL).
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=2)

    def run(self, work: Callable[[], object], threads: int) -> None:
        if threads == 1:
            work()
            return
        futures = [self.pool.submit(work) for _ in range(threads)]
        for f in futures:
            f.result()


@pytest.fixture(scope="session")
def thread_scaling() -> ThreadScaling:
    scaling = ThreadScaling()
    yield scaling
    scaling.pool.shutdown()
