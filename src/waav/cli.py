"""The ``waav`` command line.

``waav info``      show the version and which native builds are loaded
``waav convert``   convert a WAV file (channels, encoding, gain, noise gate) with the kernels;
                   ``waav convert --demo OUT.wav`` converts a generated test signal
``waav providers`` list built-in and discovered plugins (aliases, features, state)
``waav transcribe`` transcribe a WAV file offline (``whisper`` or ``pocketsphinx``; extra ``local``)
``waav speak``      synthesise text to a WAV file offline (``hibari``, or ``espeak`` with its extra)
``waav serve``     run the gateway (``/ws``, ``/realtime``, REST) until SIGINT/SIGTERM
``waav demo``      speak a sentence through a gateway's ``/ws`` and hear it back, with latencies
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from waav import WaavError, __version__, audio
from waav._compat import NO_EXTENSIONS, isa_levels
from waav.audio.wav import WRITE_ENCODINGS, WavAudio, read_wav, write_wav
from waav.testing.signals import speech_like

__all__ = ["main"]

#: The demo's sentence (kept here so ``--help`` needs no import of the gateway).
DEFAULT_DEMO_TEXT = "The quick brown fox jumps over the lazy dog."


def _info(args: argparse.Namespace) -> int:
    modules = audio.implementation()
    info: dict[str, Any] = {
        "waav": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "native": not NO_EXTENSIONS and all(v != "python" for v in modules.values()),
        "cpu_isa_levels": [lv or "baseline" for lv in isa_levels()],
        "modules": modules,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"waav {info['waav']} (Python {info['python']}, numpy {info['numpy']}, {info['machine']})")
    state = "native kernels loaded" if info["native"] else "pure-Python kernels (no native build)"
    print(f"{state}; CPU ISA levels: {', '.join(info['cpu_isa_levels'])}")
    for name, impl in sorted(modules.items()):
        print(f"  {name:10s} {impl}")
    return 0


def _demo_input() -> WavAudio:
    """Three seconds of a speech-like stereo signal at 48 kHz, as if read from a file."""
    mono = speech_like(3.0, 48000, seed=7)
    return WavAudio(audio.mono_to_stereo(mono), 48000, 2, "pcm16")


def _convert(args: argparse.Namespace) -> int:
    if args.demo:
        if len(args.paths) != 1:
            raise WaavError("with --demo give only the OUTPUT path")
        args.input, args.output = "<demo: speech-like 3 s, 48 kHz stereo>", Path(args.paths[0])
    elif len(args.paths) != 2:
        raise WaavError("give INPUT and OUTPUT paths (or --demo OUTPUT)")
    else:
        args.input, args.output = (Path(p) for p in args.paths)
    t0 = time.perf_counter()
    wav = _demo_input() if args.demo else read_wav(args.input)
    pcm, channels = wav.pcm16, wav.channels
    if args.channels is not None and args.channels != channels:
        if channels == 2 and args.channels == 1:
            pcm = audio.stereo_to_mono(pcm)
        elif channels == 1 and args.channels == 2:
            pcm = audio.mono_to_stereo(pcm)
        else:
            raise WaavError(f"cannot convert {channels} channels to {args.channels}")
        channels = args.channels
    if args.gate_db is not None:
        if channels != 1:
            raise WaavError("--gate-db needs mono audio; add --channels 1")
        pcm = audio.NoiseGate(wav.sample_rate, threshold_db=args.gate_db).process(pcm)
    if args.gain_db:
        pcm = audio.apply_gain(pcm, 10.0 ** (args.gain_db / 20.0))
    write_wav(args.output, pcm, wav.sample_rate, channels, args.encoding)
    elapsed = time.perf_counter() - t0
    frames = len(pcm) // (2 * channels)
    summary = {
        "input": str(args.input),
        "output": str(args.output),
        "sample_rate": wav.sample_rate,
        "channels": channels,
        "source_encoding": wav.source_encoding,
        "encoding": args.encoding,
        "seconds": frames / wav.sample_rate,
        "rms_dbfs": audio.rms_dbfs(pcm),
        "peak_dbfs": audio.peak_dbfs(pcm),
        "elapsed_s": elapsed,
    }
    if args.json:
        print(
            json.dumps(
                {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in summary.items()}
            )
        )
    else:
        print(
            f"{args.input} ({wav.source_encoding}, {wav.channels} ch, {wav.sample_rate} Hz) -> "
            f"{args.output} ({args.encoding}, {channels} ch): {summary['seconds']:.2f} s of audio, "
            f"RMS {summary['rms_dbfs']:.1f} dBFS, peak {summary['peak_dbfs']:.1f} dBFS, "
            f"{elapsed * 1000:.1f} ms"
        )
    return 0


def _providers(args: argparse.Namespace) -> int:
    from waav.plugin import global_registry

    registry = global_registry()
    infos = registry.plugins(args.kind)
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    if not infos:
        print("no plugins" + (f" of kind {args.kind}" if args.kind else ""))
        return 0
    rows = []
    for i in infos:
        meta = i.metadata or {}
        state = i.state + (
            "" if i.available or i.state == "failed" else " (no adapter yet)" if i.note else ""
        )
        rows.append(
            (
                i.kind,
                i.id,
                ", ".join(i.aliases) or "-",
                ", ".join(meta.get("features", [])) or "-",
                state,
                i.source,
            )
        )
    headers = ("KIND", "ID", "ALIASES", "FEATURES", "STATE", "SOURCE")
    widths = [max(len(str(r[c])) for r in [headers, *rows]) for c in range(len(headers))]
    for r in [headers, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=False)).rstrip())
    failed = [i for i in infos if i.state == "failed"]
    for i in failed:
        print(f"failed: {i.key}: {i.stats.get('last_error')}", file=sys.stderr)
    return 0


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._drawn = False

    def __call__(self, done: float, total: float) -> None:
        if not self.enabled or total <= 0:
            return
        frac = min(1.0, done / total)
        bar = "#" * round(30 * frac)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% {done:6.1f}/{total:.1f} s")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _options(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs → provider options (values parsed as JSON when they parse)."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise WaavError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _transcribe(args: argparse.Namespace) -> int:
    from waav.providers.local import batch

    provider = batch.stt_provider(args.provider)
    options = _options(args.option)
    if args.model_path:
        options["model_path"] = args.model_path
    if args.cpu_threads is not None:
        options["cpu_threads"] = args.cpu_threads
    wav = read_wav(args.file)
    progress = _Progress(f"{provider}")
    try:
        result = batch.transcribe(
            wav.pcm16, wav.sample_rate, wav.channels, provider=provider, options=options, progress=progress
        )
    finally:
        progress.close()
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(args.file),
                    "sample_rate": wav.sample_rate,
                    "channels": wav.channels,
                    **result.to_dict(),
                }
            )
        )
    else:
        print(result.text)
        print(
            f"{args.file}: {result.duration_s:.1f} s of audio, {len(result.segments)} segment(s), "
            f"{result.elapsed_s:.2f} s with {provider} ({result.rtf:.1f}x real time)",
            file=sys.stderr,
        )
    return 0


def _speak(args: argparse.Namespace) -> int:
    from waav.providers.local import batch

    provider = batch.tts_provider(args.provider)
    text = args.text
    if text == "-":
        text = sys.stdin.read()
    result = batch.synthesize(
        text,
        provider=provider,
        sample_rate=args.rate,
        options=_options(args.option),
        speaking_rate=args.speed,
        voice=args.voice,
    )
    write_wav(args.output, result.pcm16, result.sample_rate)
    summary = {
        "provider": provider,
        "output": str(args.output),
        "sample_rate": result.sample_rate,
        "seconds": round(result.duration_s, 3),
        "sentences": result.sentences,
        "elapsed_s": round(result.elapsed_s, 4),
        "first_audio_s": round(result.first_audio_s, 4),
        "x_realtime": round(result.rtf, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{args.output}: {result.duration_s:.2f} s at {result.sample_rate} Hz from {provider} "
            f"({result.sentences} sentence(s), {result.elapsed_s * 1000:.0f} ms, "
            f"{result.rtf:.0f}x real time, first audio after {result.first_audio_s * 1000:.0f} ms)"
        )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging

    from waav.config import load_config
    from waav.gateway import GatewayServer
    from waav.plugin._typed import replace

    level = args.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(args.config)
    server: dict[str, Any] = {}
    if args.host is not None:
        server["host"] = args.host
    if args.port is not None:
        server["port"] = args.port
    if server:
        config = replace(config, server=replace(config.server, **server))
    gw = GatewayServer(config, log_level=args.log_level)
    gw.serve()  # logs the URL once bound; SIGINT/SIGTERM drain the sessions, then return
    return 0


class _Stages:
    """Demo progress on stderr when it is a terminal: one line per stage, a bar while streaming."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._stage = ""

    def __call__(self, stage: str, done: float, total: float) -> None:
        if not self.enabled:
            return
        line = f"{stage}..."
        if total > 0:
            frac = min(1.0, done / total)
            line = f"{stage} [{'#' * round(30 * frac):<30}] {done:4.1f}/{total:.1f} s"
        end = "" if total > 0 and done < total else "\n"
        if total > 0 or stage != self._stage:
            sys.stderr.write(f"\r\033[K{line}{end}")
            sys.stderr.flush()
        self._stage = stage


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from waav import _demo as demo

    stages = _Stages()
    if args.url:
        run = demo.run_demo(args.url, args.text, stt=args.stt, tts=args.tts, progress=stages)
    else:
        run = demo.run_demo_in_process(args.text, stt=args.stt, tts=args.tts, progress=stages)
    result = asyncio.run(run)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        where = args.url or "an in-process gateway on 127.0.0.1"
        print(f"said ({result.tts_provider}): {result.text}")
        print(f"heard ({result.stt_provider}): {result.transcript}")
        print(
            f"  {'matches the text' if result.match else 'DIFFERS from the text'} "
            f"(case and punctuation ignored); {result.audio_s:.2f} s of audio through {where}"
        )
        print(f"  time to first audio:               {result.time_to_first_audio_s * 1000:7.0f} ms")
        print(f"  end of speech -> final transcript:  {result.final_latency_s * 1000:7.0f} ms")
        print(f"  TTS real-time factor (POST /speak): {result.tts_rtf:7.1f}x")
        print(f"  STT real-time factor (unpaced /ws): {result.stt_rtf:7.1f}x")
    return 0 if result.match else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="waav", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"waav {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="show the version and the native builds in use")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_info)

    p = sub.add_parser("convert", help="convert a WAV file with the native kernels")
    p.add_argument("paths", nargs="+", metavar="INPUT OUTPUT", help="input and output WAV files")
    p.add_argument(
        "--demo", action="store_true", help="convert a generated speech-like signal instead of INPUT"
    )
    p.add_argument("--channels", type=int, choices=(1, 2), help="output channels")
    p.add_argument(
        "--encoding", default="pcm16", choices=sorted(WRITE_ENCODINGS), help="output encoding (default pcm16)"
    )
    p.add_argument("--gain-db", type=float, default=0.0, help="gain in dB (saturating)")
    p.add_argument("--gate-db", type=float, help="streaming noise gate threshold in dBFS")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_convert)

    p = sub.add_parser("providers", help="list built-in and discovered plugins")
    p.add_argument(
        "--kind",
        choices=("stt", "tts", "realtime", "processor", "middleware", "ws_handler", "auth"),
        help="only plugins of this kind",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_providers)

    p = sub.add_parser("transcribe", help="transcribe a WAV file with an offline engine (no network)")
    p.add_argument(
        "file", type=Path, metavar="FILE.wav", help="WAV file (any rate, channels, PCM/float/G.711)"
    )
    p.add_argument("--provider", default="whisper", help="whisper (default) or pocketsphinx")
    p.add_argument(
        "--model-path", help="whisper: a CTranslate2 model directory instead of the bundled tiny.en"
    )
    p.add_argument("--cpu-threads", type=int, help="whisper: CPU threads (default 2)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="provider option (repeatable)")
    p.add_argument("--json", action="store_true", help="print a JSON result (text, segments, timing)")
    p.set_defaults(func=_transcribe)

    p = sub.add_parser("speak", help="synthesise text to a WAV file with an offline engine (no network)")
    p.add_argument("text", help='the text to say ("-" reads stdin)')
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav", help="WAV file to write")
    p.add_argument(
        "--provider", default="hibari", help="hibari (default) or espeak (extra waav[espeak], GPL)"
    )
    p.add_argument("--rate", type=int, help="output sample rate in Hz (default: the engine's own)")
    p.add_argument("--speed", type=float, default=1.0, help="speaking rate (1.0 = normal)")
    p.add_argument("--voice", help="voice (hibari: heart; espeak: e.g. en-us)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="provider option (repeatable)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_speak)

    p = sub.add_parser("serve", help="run the gateway server (default 0.0.0.0:3001)")
    p.add_argument("--config", "-c", metavar="FILE", help="YAML config (merged over the environment)")
    p.add_argument("--host", help="listen address (default: config/HOST, else 0.0.0.0)")
    p.add_argument("--port", type=int, help="listen port, 0 for a free one (default: config/PORT, else 3001)")
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="log level (default info)",
    )
    p.set_defaults(func=_serve)

    p = sub.add_parser(
        "demo", help="speak a sentence through the gateway's /ws and transcribe it back, with latencies"
    )
    p.add_argument("--url", metavar="WS_URL", help="a running gateway's /ws (default: start one in-process)")
    p.add_argument("--text", default=DEFAULT_DEMO_TEXT, help="the sentence to speak")
    p.add_argument("--stt", default="whisper", help="STT provider (default whisper, offline)")
    p.add_argument("--tts", default="hibari", help="TTS provider (default hibari, offline)")
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (WaavError, OSError) as exc:
        print(f"waav: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
