"""Gateway metrics in the Prometheus text exposition format (``GET /metrics``).

Small and dependency-free: counters, gauges and histograms with labels, updated from the
event loop only (no locks needed), rendered on request.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

__all__ = ["Metrics", "Series"]

#: Seconds; time-to-first-result / time-to-first-audio of speech providers spans 10 ms–10 s.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: Iterable[tuple[str, str]] = ()) -> str:
    items = [*labels, *extra]
    if not items:
        return ""
    esc = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for _, v in items)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(items, esc, strict=True)) + "}"


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Series:
    """A counter series bound to its labels (see :meth:`Metrics.bind`)."""

    __slots__ = ("key", "values")

    def __init__(self, values: dict[Labels, float], key: Labels) -> None:
        self.values = values
        self.key = key
        values.setdefault(key, 0.0)

    def inc(self, value: float = 1.0) -> None:
        self.values[self.key] += value


class _Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self, n: int) -> None:
        self.counts = [0] * n
        self.sum = 0.0
        self.count = 0


class Metrics:
    """The gateway's counters, gauges and histograms."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = {}
        self._hists: dict[str, dict[Labels, _Histogram]] = {}
        for name, kind, text in (
            ("waav_sessions_active", "gauge", "Open WebSocket sessions by endpoint"),
            ("waav_sessions_total", "counter", "WebSocket sessions accepted by endpoint"),
            ("waav_frames_in_total", "counter", "Frames received from clients by endpoint and kind"),
            ("waav_frames_out_total", "counter", "Frames sent to clients by endpoint and kind"),
            ("waav_audio_frames_dropped_total", "counter", "Client audio frames dropped (STT backlog)"),
            ("waav_errors_total", "counter", "Error messages sent to clients by endpoint and category"),
            ("waav_http_requests_total", "counter", "REST requests by path and status"),
            (
                "waav_stt_time_to_first_result_seconds",
                "histogram",
                "From the first audio of an utterance to the provider's first result",
            ),
            (
                "waav_tts_time_to_first_audio_seconds",
                "histogram",
                "From a speak request to the provider's first audio",
            ),
        ):
            self._help[name] = (kind, text)
            if kind == "histogram":
                self._hists[name] = {}
            else:
                self._values[name] = {}

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        series = self._values[name]
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + value

    def bind(self, name: str, **labels: str) -> Series:
        """One series with its labels resolved once, for per-frame counters."""
        return Series(self._values[name], tuple(sorted(labels.items())))

    def set(self, name: str, value: float, **labels: str) -> None:
        self._values[name][tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels: str) -> float:
        return self._values[name].get(tuple(sorted(labels.items())), 0.0)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        series = self._hists[name]
        key = tuple(sorted(labels.items()))
        h = series.get(key)
        if h is None:
            h = series[key] = _Histogram(len(self.buckets))
        i = bisect.bisect_left(self.buckets, seconds)
        if i < len(h.counts):
            h.counts[i] += 1
        h.sum += seconds
        h.count += 1

    def histogram_count(self, name: str, **labels: str) -> int:
        h = self._hists[name].get(tuple(sorted(labels.items())))
        return h.count if h else 0

    def render(self) -> str:
        """The exposition text (``text/plain; version=0.0.4``)."""
        out: list[str] = []
        for name, (kind, text) in self._help.items():
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")
            if kind != "histogram":
                for labels, v in sorted(self._values[name].items()):
                    out.append(f"{name}{_labels(labels)} {_num(v)}")
                continue
            for labels, h in sorted(self._hists[name].items()):
                running = 0
                for bound, n in zip(self.buckets, h.counts, strict=True):
                    running += n
                    out.append(f"{name}_bucket{_labels(labels, [('le', _num(bound))])} {running}")
                out.append(f"{name}_bucket{_labels(labels, [('le', '+Inf')])} {h.count}")
                out.append(f"{name}_sum{_labels(labels)} {_num(h.sum)}")
                out.append(f"{name}_count{_labels(labels)} {h.count}")
        return "\n".join(out) + "\n"
