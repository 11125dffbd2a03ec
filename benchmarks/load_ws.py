"""Load benchmark of the gateway's /ws audio path (a script, not a test: it is timing-based).

    python benchmarks/load_ws.py [--sessions 500] [--seconds 20] [--quick] [--profile OUT.prof]

A gateway server runs in a child process with a fake STT provider (``bench-echo``) that
records when each audio chunk reaches it and sends one final result per utterance (an energy
detector over what it receives). This process opens N concurrent ``/ws`` sessions that each
stream speech-like 48 kHz PCM16 in real-time 20 ms frames; the gateway runs the ``vad``
processor and resamples to 16 kHz before the provider. Per-frame gateway latency is the
time from the client's ``send`` of a frame to the provider receiving it (both processes read
the same CLOCK_MONOTONIC). Frames lost = sent − received by the provider. Server CPU and
RSS come from /proc (Linux). ``--profile`` runs the server under cProfile and writes the stats.

Client and server share the machine: the load generator's own CPU use is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

FRAME_S = 0.02
IN_RATE = 48000
FRAME = IN_RATE // 50 * 2  # bytes of one 20 ms frame at 48 kHz
HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- server side ---------------------------------------------------------------------------
def run_server(port: int, profile: str | None, loop: str, ws: str) -> None:
    from waav.audio import rms_dbfs
    from waav.config import ServerConfig
    from waav.gateway import GatewayServer
    from waav.plugin import PluginRegistry
    from waav.plugin._provider_base import BaseSTT, ConnectionState, STTResult
    from waav.plugin._provider_config import STTConfig

    arrivals: dict[str, list[float]] = {}
    results: dict[str, int] = {}

    class EchoUtteranceSTT(BaseSTT):
        """Records chunk arrival times; one final result at the end of each utterance."""

        def __init__(self, config: STTConfig) -> None:
            super().__init__(config)
            self.tag = config.model
            self.times = arrivals.setdefault(self.tag, [])
            results.setdefault(self.tag, 0)
            self.speaking = False
            self.quiet = 0

        async def connect(self) -> None:
            self.state = ConnectionState.CONNECTED

        async def send_audio(self, audio: bytes) -> None:
            self.times.append(time.monotonic())
            if audio and rms_dbfs(audio) > -40.0:  # the native kernel: ~0.1 µs per 20 ms
                self.speaking, self.quiet = True, 0
            elif self.speaking:
                self.quiet += 1
                if self.quiet >= 15:  # 300 ms of quiet ends the utterance
                    self.speaking = False
                    results[self.tag] += 1
                    await self._emit_result(
                        STTResult(f"utterance {results[self.tag]}", is_final=True, is_speech_final=True)
                    )

        async def disconnect(self) -> None:
            self.state = ConnectionState.DISCONNECTED

    async def stats(payload: Any, ctx: Any) -> Any:
        tag = payload["tag"]
        return {"arrivals": arrivals.pop(tag, []), "results": results.pop(tag, 0)}

    reg = PluginRegistry()
    reg.register_stt("bench-echo", EchoUtteranceSTT)
    reg.register_ws_handler("bench_stats", stats)
    cfg = ServerConfig(
        server={"host": "127.0.0.1", "port": port},
        # one client address opens every session: no rate limit, no per-IP connection cap
        security={"rate_limit_requests_per_second": 100_000.0, "max_connections_per_ip": 100_000},
        gateway={"idle_timeout_seconds": 600.0},
    )
    gw = GatewayServer(cfg, registry=reg, log_level="error", loop=loop, ws=ws)
    if os.environ.get("WAAV_BENCH_GC_STATS"):
        import atexit
        import gc
        import signal

        pauses: list[float] = []
        t0 = [0.0]

        def cb(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                t0[0] = time.perf_counter()
            else:
                pauses.append((time.perf_counter() - t0[0]) * 1000)

        gc.callbacks.append(cb)
        atexit.register(
            lambda: print(
                f"gc: {len(pauses)} collections, max {max(pauses, default=0):.1f} ms, "
                f"total {sum(pauses):.0f} ms",
                file=sys.stderr,
            )
        )
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        try:
            gw.serve()
        finally:
            prof.disable()
            prof.dump_stats(profile)
    else:
        gw.serve()


# --- client side ---------------------------------------------------------------------------
def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def proc_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Session:
    """One client session: its socket, send times and what came back."""

    def __init__(self, ws: Any, tag: str) -> None:
        self.ws = ws
        self.tag = tag
        self.sent: list[float] = []
        self.finals = 0
        self.errors: list[str] = []
        self.stats: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            m = json.loads(raw)
            if m["type"] == "stt_result" and m["is_final"]:
                self.finals += 1
            elif m["type"] == "plugin_response":
                self.stats.set_result(m["payload"])
                return
            elif m["type"] == "error":
                self.errors.append(m["message"])


async def open_session(url: str, tag: str, processors: list[str]) -> Session:
    import websockets

    ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=60)
    await ws.send(
        json.dumps(
            {
                "type": "config",
                "stt_config": {"provider": "bench-echo", "sample_rate": IN_RATE, "model": tag},
                "processors": processors,
            }
        )
    )
    msg = json.loads(await ws.recv())
    assert msg["type"] == "ready", msg
    return Session(ws, tag)


async def run_clients(
    url: str, n: int, seconds: float, processors: list[str] | None = None
) -> list[dict[str, Any]]:
    """Open ``n`` sessions, then stream: one driver sends every session's frame when it is due.

    Sessions are spread over 20 phases 1 ms apart (so the server sees a steady stream, not
    bursts every 20 ms); one driver loop instead of a sleeping task per session keeps the load
    generator's own cost low.
    """
    from waav.testing.signals import speech_like

    pcm = speech_like(seconds, IN_RATE, seed=1)
    frames = [pcm[i : i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]
    sessions: list[Session] = []
    procs = ["vad"] if processors is None else processors
    for start in range(0, n, 25):  # connect in waves, not one SYN flood
        wave = range(start, min(n, start + 25))
        sessions += await asyncio.gather(*(open_session(url, f"s{i}", procs) for i in wave))
    phases = 20
    groups = [sessions[p::phases] for p in range(phases)]
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.5
    late = 0.0
    for i, frame in enumerate(frames):
        for p, group in enumerate(groups):
            due = t0 + i * FRAME_S + p * FRAME_S / phases
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            for sess in group:
                sess.sent.append(time.monotonic())
                await sess.ws.send(frame)
    await asyncio.sleep(1.0)  # let the last frames through
    outs = []
    for sess in sessions:
        msg = {"type": "custom", "message_type": "bench_stats", "payload": {"tag": sess.tag}}
        await sess.ws.send(json.dumps(msg))
    for sess in sessions:
        stats = await asyncio.wait_for(sess.stats, 60)
        await sess.reader
        await sess.ws.close()
        arrivals = stats["arrivals"]
        outs.append(
            {
                "sent": len(sess.sent),
                "received": len(arrivals),
                "latencies": [a - s for s, a in zip(sess.sent, arrivals, strict=False)],
                "finals": sess.finals,
                "errors": sess.errors,
                "client_late": late,
            }
        )
    return outs


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20.0, help="audio streamed per session")
    ap.add_argument("--quick", action="store_true", help="10 sessions x 3 s (CI smoke run)")
    ap.add_argument("--profile", metavar="OUT", help="profile the server with cProfile into OUT")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--no-vad", action="store_true", help="no processors (to see what the VAD costs)")
    ap.add_argument(
        "--loop", default="auto", choices=("auto", "asyncio", "uvloop"), help="server event loop (uvicorn)"
    )
    ap.add_argument(
        "--ws",
        default="auto",
        choices=("auto", "websockets", "websockets-sansio"),
        help="uvicorn WS protocol",
    )
    ap.add_argument("--role", default="driver", choices=("driver", "server"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "server":
        run_server(args.port, args.profile, args.loop, args.ws)
        return 0
    if args.quick:
        args.sessions, args.seconds = 10, 3.0

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        __file__,
        "--role",
        "server",
        "--port",
        str(port),
        "--loop",
        args.loop,
        "--ws",
        args.ws,
    ]
    if args.profile:
        cmd += ["--profile", args.profile]
    server = subprocess.Popen(cmd)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.1)
        load0 = os.getloadavg()[0]
        cpu0, wall0, me0 = proc_cpu_seconds(server.pid), time.monotonic(), time.process_time()
        procs = [] if args.no_vad else ["vad"]
        outs = asyncio.run(run_clients(f"ws://127.0.0.1:{port}/ws", args.sessions, args.seconds, procs))
        cpu1, wall1, me1 = proc_cpu_seconds(server.pid), time.monotonic(), time.process_time()
        rss = proc_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    lat = [x for o in outs for x in o.get("latencies", [])]
    sent = sum(o.get("sent", 0) for o in outs)
    received = sum(o.get("received", 0) for o in outs)
    utterances = int(args.seconds // 2)
    report = {
        "sessions": args.sessions,
        "seconds_per_session": args.seconds,
        "frames_sent": sent,
        "frames_lost": sent - received,
        "latency_ms_p50": round(pct(lat, 50) * 1000, 3),
        "latency_ms_p99": round(pct(lat, 99) * 1000, 3),
        "latency_ms_max": round(max(lat) * 1000, 3) if lat else None,
        "finals_per_session_min": min(o.get("finals", 0) for o in outs),
        "utterances_per_session": utterances,
        "errors": sum(len(o.get("errors", [])) for o in outs),
        "client_max_late_ms": round(max(o.get("client_late", 0.0) for o in outs) * 1000, 1),
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1),
        "server_cpu_us_per_frame": round(1e6 * (cpu1 - cpu0) / max(1, sent), 1),
        "client_cpu_percent": round(100 * (me1 - me0) / (wall1 - wall0), 1),
        "server_rss_mib": round(rss, 1),
        "processors": "none" if args.no_vad else "vad",
        "server_loop": args.loop,
        "server_ws": args.ws,
        "loadavg_1min_before": round(load0, 2),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k:26s} {v}")
    if args.quick:  # CI smoke run: the path must work; timing is not judged on a shared runner
        ok = received > 0 and report["errors"] == 0
        print(f"quick mode: {'ok' if ok else 'FAILED'} (p50 {statistics.median(lat or [0]) * 1000:.2f} ms)")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
