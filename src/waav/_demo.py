"""``waav demo``: a /ws client that speaks a sentence and hears it back, and times both halves.

One session with both halves (16 kHz linear16 each way): ``speak`` the sentence and collect
its audio until ``tts_playback_complete`` (time to first audio = ``speak`` → first binary
frame); stream that audio back as microphone audio in real-time 20 ms frames, then silence so
the VAD closes the utterance, until the speech-final ``stt_result`` (latency = last frame of
speech sent → final result). The real-time factors need unpaced work, since the gateway paces
TTS and a microphone is paced too: TTS = audio seconds / wall time of a ``POST /speak`` of the
same text; STT = audio seconds / wall time when the same audio is sent again as fast as the
socket takes it (100 ms frames), up to its final result.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets

from waav import audio
from waav._exceptions import WaavError
from waav.providers.local.defaults import LOCAL_DEFAULTS, local_engine_installed

__all__ = ["DEFAULT_TEXT", "DemoResult", "end_of_speech", "normalise", "run_demo", "run_demo_in_process"]

DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog."
RATE = 16000
FRAME = RATE // 50 * 2  # 20 ms of 16 kHz int16
#: Silence streamed after the speech so the VAD (300 ms hangover) ends the utterance.
TAIL_S = 1.0
#: Frames quieter than this are not speech (for the end-of-speech instant).
SPEECH_DBFS = -50.0
#: Seconds to wait for ``ready`` (the first session loads the models) and for results.
READY_TIMEOUT = 120.0
RESULT_TIMEOUT = 30.0

#: (stage, done, total) -> None; ``total`` 0 means "no measure of progress".
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class DemoResult:
    """What one demo run measured (seconds unless named otherwise)."""

    url: str
    text: str
    transcript: str
    match: bool
    stt_provider: str
    tts_provider: str
    audio_s: float
    time_to_first_audio_s: float
    final_latency_s: float
    tts_rtf: float
    stt_rtf: float
    interim_results: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: how transcript and text are compared."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _quiet(stage: str, done: float, total: float) -> None:
    return None


class _Session:
    """The JSON/binary /ws conversation of the demo."""

    def __init__(self, ws: Any, progress: Progress) -> None:
        self.ws = ws
        self.progress = progress

    async def send(self, message: dict[str, Any] | bytes) -> None:
        await self.ws.send(message if isinstance(message, bytes) else json.dumps(message))

    async def recv(self, deadline: float) -> dict[str, Any] | bytes:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise asyncio.TimeoutError
        m = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(m, bytes):
            return m
        msg = json.loads(m)
        if not isinstance(msg, dict):
            raise WaavError(f"the gateway sent a message that is not a JSON object: {m[:200]!r}")
        return msg

    async def configure(self, stt: str, tts: str) -> None:
        stt_config = {"provider": stt, "language": "en-US", "sample_rate": RATE, "channels": 1,
                      "punctuation": True, "encoding": "linear16", "model": ""}  # fmt: skip
        tts_config = {"provider": tts, "model": "", "sample_rate": RATE, "audio_format": "linear16"}
        await self.send({"type": "config", "stt_config": stt_config, "tts_config": tts_config})
        self.progress(f"opening a session ({stt} + {tts}; the first one loads the models)", 0, 0)
        deadline = time.monotonic() + READY_TIMEOUT
        errors: list[str] = []
        while True:
            try:
                m = await self.recv(deadline)
            except asyncio.TimeoutError:
                if errors:  # one error per refused half; no more are coming
                    raise WaavError("the gateway refused the session: " + "; ".join(errors)) from None
                raise WaavError(f"no 'ready' from the gateway within {READY_TIMEOUT:g} s") from None
            if isinstance(m, dict) and m.get("type") == "ready":
                return
            if isinstance(m, dict) and m.get("type") == "error":
                errors.append(str(m.get("message")))
                deadline = min(deadline, time.monotonic() + 0.5)

    async def speak(self, text: str) -> tuple[bytes, float]:
        """The sentence's audio and the seconds from ``speak`` to its first binary frame."""
        self.progress("synthesising", 0, 0)
        t0 = time.monotonic()
        await self.send({"type": "speak", "text": text, "flush": True})
        deadline = t0 + RESULT_TIMEOUT
        frames: list[bytes] = []
        first = 0.0
        while True:
            try:
                m = await self.recv(deadline)
            except asyncio.TimeoutError:
                raise WaavError(f"no tts_playback_complete within {RESULT_TIMEOUT:g} s") from None
            if isinstance(m, bytes):
                if not frames:
                    first = time.monotonic() - t0
                frames.append(m)
            elif m.get("type") == "tts_playback_complete":
                break
            elif m.get("type") == "error":
                raise WaavError(f"the gateway could not synthesise the sentence: {m.get('message')}")
        pcm = b"".join(frames)
        if not pcm:
            raise WaavError("the TTS provider returned no audio")
        return pcm, first

    async def listen(self, pcm: bytes, frame: int, paced: bool) -> tuple[str, float, float, int]:
        """Stream ``pcm`` then silence; (transcript, t_first_sent, t_final, interim count).

        Silence continues (paced like the speech) until the speech-final result arrives.
        """
        results: list[dict[str, Any]] = []
        done = asyncio.Event()
        t_final = 0.0

        async def receive() -> None:
            nonlocal t_final
            while True:
                m = await self.recv(time.monotonic() + 3600)
                if isinstance(m, bytes):
                    continue  # no TTS is playing; nothing to collect
                if m.get("type") == "error":
                    raise WaavError(f"the gateway reported an STT error: {m.get('message')}")
                if m.get("type") != "stt_result":
                    continue
                results.append(m)
                if m.get("is_final") and str(m.get("transcript", "")).strip():
                    t_final = time.monotonic()
                if m.get("is_speech_final") and t_final:
                    done.set()
                    return

        receiver = asyncio.create_task(receive())
        try:
            step = frame / 2 / RATE
            silence = b"\0\0" * (frame // 2)
            chunks = [pcm[i : i + frame] for i in range(0, len(pcm), frame)]
            chunks += [silence] * round(TAIL_S / step)
            t0 = time.monotonic()
            total = len(pcm) / 2 / RATE
            deadline = t0 + len(chunks) * step + RESULT_TIMEOUT
            n = 0
            while not done.is_set():
                if receiver.done():
                    receiver.result()  # raises the STT error
                if time.monotonic() > deadline:
                    raise WaavError(f"no final transcript within {RESULT_TIMEOUT:g} s of the end of speech")
                await self.send(chunks[n] if n < len(chunks) else silence)
                n += 1
                if paced:
                    self.progress("streaming the audio back in real time", min(n * step, total), total)
                    await asyncio.sleep(max(0.0, t0 + n * step - time.monotonic()))
                elif n >= len(chunks):
                    # unpaced: everything is sent; wait for the result like a paced sender would
                    await asyncio.wait({receiver}, timeout=step)
            await receiver
        finally:
            receiver.cancel()
        interim = sum(1 for r in results if not r.get("is_final"))
        transcript = " ".join(
            str(r["transcript"]).strip() for r in results if r.get("is_final") and r.get("transcript")
        )
        return transcript, t0, t_final, interim


def end_of_speech(pcm: bytes) -> int:
    """Index (20 ms frames) just past the last frame that is speech, not near-silence."""
    n = len(pcm) // FRAME
    for i in range(n - 1, -1, -1):
        if audio.rms_dbfs(pcm[i * FRAME : (i + 1) * FRAME]) > SPEECH_DBFS:
            return i + 1
    return n


def _http_url(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "/speak", "", ""))


async def _tts_rtf(url: str, text: str, tts: str, audio_s: float) -> float:
    body = {"text": text, "tts_config": {"provider": tts, "model": "", "sample_rate": RATE}}
    async with httpx.AsyncClient(timeout=RESULT_TIMEOUT) as client:
        t0 = time.monotonic()
        r = await client.post(_http_url(url), json=body)
        elapsed = time.monotonic() - t0
    if r.status_code != 200:
        raise WaavError(f"POST /speak failed ({r.status_code}): {r.text[:300]}")
    said = len(r.content) / 2 / RATE
    return (said or audio_s) / elapsed


async def run_demo(
    url: str,
    text: str = DEFAULT_TEXT,
    *,
    stt: str = "whisper",
    tts: str = "hibari",
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demo against the gateway's ``/ws`` at ``url`` (see the module docstring)."""
    if not text.strip():
        raise WaavError("the text to speak is empty")
    show = progress or _quiet
    show(f"connecting to {url}", 0, 0)
    try:
        ws_cm = websockets.connect(url, open_timeout=10, max_size=None, ping_interval=None)
        ws = await ws_cm.__aenter__()
    except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as exc:
        raise WaavError(
            f"cannot reach the gateway at {url}: {exc or type(exc).__name__} "
            "(is `waav serve` running there? or run `waav demo` without --url)"
        ) from None
    try:
        s = _Session(ws, show)
        await s.configure(stt, tts)
        pcm, ttfa = await s.speak(text)
        audio_s = len(pcm) / 2 / RATE
        # Real time, like a microphone: the end-of-speech → final latency.
        speech_frames = end_of_speech(pcm)
        heard, t0, t_final, interim = await s.listen(pcm, FRAME, paced=True)
        t_speech_end = t0 + speech_frames * FRAME / 2 / RATE
        latency = t_final - t_speech_end
        # Unpaced: how fast the STT half gets through the same audio.
        show("measuring the real-time factors", 0, 0)
        _, t1, t_final2, _ = await s.listen(pcm, RATE // 10 * 2, paced=False)
        stt_rtf = (audio_s + TAIL_S) / max(1e-6, t_final2 - t1)
    except websockets.exceptions.ConnectionClosed as exc:
        raise WaavError(f"the gateway closed the session: {exc}") from None
    finally:
        await ws_cm.__aexit__(None, None, None)
    tts_rtf = await _tts_rtf(url, text, tts, audio_s)
    return DemoResult(
        url=url,
        text=text,
        transcript=heard,
        match=normalise(heard) == normalise(text),
        stt_provider=stt,
        tts_provider=tts,
        audio_s=round(audio_s, 3),
        time_to_first_audio_s=round(ttfa, 4),
        final_latency_s=round(latency, 4),
        tts_rtf=round(tts_rtf, 1),
        stt_rtf=round(stt_rtf, 1),
        interim_results=interim,
    )


async def run_demo_in_process(
    text: str = DEFAULT_TEXT,
    *,
    stt: str = "whisper",
    tts: str = "hibari",
    progress: Progress | None = None,
) -> DemoResult:
    """Start the gateway on 127.0.0.1 (free port, default config), run the demo, stop it."""
    from waav.config import ServerConfig, ServerSection
    from waav.gateway import GatewayServer

    for kind, name in (("stt", stt), ("tts", tts)):
        if name == LOCAL_DEFAULTS[kind][0] and not local_engine_installed(kind):
            raise WaavError(
                f'the offline engine {name!r} is not installed: pip install "waav[local]" '
                "(or use --url with a gateway that has cloud providers)"
            )
    (progress or _quiet)("starting the gateway", 0, 0)
    async with GatewayServer(ServerConfig(server=ServerSection(host="127.0.0.1", port=0))) as gw:
        return await run_demo(gw.ws_url, text, stt=stt, tts=tts, progress=progress)
