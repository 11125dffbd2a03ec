"""``/ws``: one voice session per connection (upstream §1.4–§1.8, with its defects fixed).

Fixed relative to the upstream: STT-only and TTS-only sessions are accepted, ``ping`` gets
``pong``, ``ready`` always carries ``stream_id``, client audio is resampled to what the STT
provider takes, TTS audio is paced at real time, and every provider call is time-bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from starlette.websockets import WebSocket

from waav._exceptions import WaavError
from waav.gateway._auth_flow import first_message_auth
from waav.gateway._conn import Connection, Disconnected
from waav.gateway._providers import connect_or_discard, create_provider, default_provider_for, describe_error
from waav.gateway._state import GatewayState
from waav.gateway.security import scope_auth_pending, scope_identity
from waav.gateway.ws import protocol as p
from waav.gateway.ws.stt import PCM_INPUTS, STTInput
from waav.gateway.ws.tts import TTSOutput
from waav.plugin._provider_config import STTConfig, TTSConfig
from waav.plugin.capabilities import AudioFormat, AudioProcessor, AuthIdentity, WSContext
from waav.plugin.isolation import IsolatedProcessor
from waav.plugin.pipeline import AudioPipeline

__all__ = ["VoiceSession", "ws_endpoint"]

log = logging.getLogger("waav.gateway")
ENDPOINT = "ws"


def _error(message: str, category: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


class VoiceSession:
    """State of one ``/ws`` connection."""

    def __init__(self, state: GatewayState, ws: WebSocket) -> None:
        self.state = state
        self.gw = state.config.gateway
        self.conn = Connection(
            ws,
            ENDPOINT,
            state.metrics,
            max_text=self.gw.max_text_frame_bytes,
            max_binary=self.gw.max_binary_frame_bytes,
            idle_timeout=self.gw.idle_timeout_seconds,
            error=_error,
        )
        self.stream_id = ""
        self.configured = False
        self.audio_enabled = False
        self.stt: STTInput | None = None
        self.tts: TTSOutput | None = None
        self.ws = ws
        self.identity: AuthIdentity | None = scope_identity(ws.scope)
        self.auth_pending = scope_auth_pending(ws.scope)
        self._watchdog: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def run(self) -> None:
        await self.conn.accept()
        try:
            with self.state.live(self, ENDPOINT):
                self._watchdog = asyncio.create_task(self._watch(), name="ws-watchdog")
                if self.auth_pending:
                    auth = self.state.authenticator
                    self.identity = await first_message_auth(self.conn, self.ws.scope, auth)
                    self.auth_pending = False
                await self.conn.dispatch(
                    self.on_audio,
                    self.on_text,
                    label=lambda: f"/ws {self.stream_id or '-'}",
                    category="internal",
                )
        except Disconnected:
            pass
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            await self._teardown()
            await self.conn.close()
            await self.conn.finish()

    async def drain(self, deadline: float) -> None:
        """Graceful shutdown: let queued speech play out (until ``deadline``), then close."""
        if self.tts is not None:
            await self.tts.drain(deadline)
        await self.conn.close(1001, "server shutting down")

    async def _teardown(self) -> None:
        stt, tts, self.stt, self.tts = self.stt, self.tts, None, None
        closing = [x.close() for x in (stt, tts) if x is not None]
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.gw.provider_timeout_seconds / 4))
            stt = self.stt
            if stt is not None and stt.check_stuck():
                await self.conn.error(f"STT streaming error: {stt.failed}", "stt")

    # --- frames ---------------------------------------------------------------------------
    async def on_audio(self, data: bytes) -> None:
        if not self.configured:
            await self.conn.error(
                "Voice manager not configured: send a config message before audio", "protocol"
            )
            return
        if not self.audio_enabled:
            await self.conn.error(
                "Audio processing is disabled for this session (config audio=false)", "protocol"
            )
            return
        stt = self.stt
        if stt is None:
            await self.conn.error("STT is not configured for this session: audio ignored", "protocol")
            return
        if stt.failed:
            return  # reported once by the watchdog
        stt.feed(data)

    async def on_text(self, text: str) -> None:
        try:
            msg = p.parse_message(text)
        except p.ProtocolError as exc:
            await self.conn.error(str(exc), "protocol")
            return
        if isinstance(msg, p.Config):
            await self.configure(msg)
        elif isinstance(msg, p.Speak):
            await self.speak(msg)
        elif isinstance(msg, p.Clear):
            if self.tts is not None:
                await self.tts.clear()
        elif isinstance(msg, p.Ping):
            ts = msg.timestamp if msg.timestamp is not None else int(time.time() * 1000)
            await self.conn.send({"type": "pong", "timestamp": ts})
        elif isinstance(msg, p.Custom):
            await self.custom(msg)
        elif isinstance(msg, p.SendMessage):
            await self.conn.error(
                "send_message needs a LiveKit room, and this gateway has no room backend configured",
                "unsupported",
            )
        elif isinstance(msg, p.SipTransfer):
            await self.conn.send(
                {
                    "type": "sip_transfer_error",
                    "message": "SIP transfer needs a LiveKit SIP room; none configured",
                }
            )
        elif isinstance(msg, p.Auth):
            await self.conn.error(
                "Authentication is not pending on this connection (already authenticated or not required)",
                "auth",
            )

    # --- handlers -------------------------------------------------------------------------
    async def speak(self, msg: p.Speak) -> None:
        if self.tts is None:
            await self.conn.error(
                "TTS is not configured for this session: send a config with tts_config first", "protocol"
            )
            return
        # a piece of an utterance may be blank (an LLM's whitespace token); a whole text not
        if not msg.text.strip() and not msg.more and not self.tts.utterance_open:
            await self.conn.error("Text cannot be empty", "protocol")
            return
        self.tts.speak(msg.text, flush=msg.flush, allow_interruption=msg.allow_interruption, more=msg.more)

    async def custom(self, msg: p.Custom) -> None:
        ident = self.identity
        ctx = WSContext(
            stream_id=self.stream_id,
            authenticated=not self.auth_pending,  # upstream: anything past the auth flow
            tenant_id=(ident.tenant_id or ident.id or None) if ident is not None else None,
        )
        try:
            out = await self.state.registry.dispatch_ws(msg.message_type, msg.payload, ctx)
        except Exception as exc:  # dispatch isolates handlers; this is a last line of defence
            out = [{"type": "error", "message": f"Plugin handler error: {describe_error(exc)}"}]
        for item in out:
            if isinstance(item, dict) and item.get("type") == "error":
                self.state.metrics.inc("waav_errors_total", endpoint=ENDPOINT, category="plugin")
            await self.conn.send(item)

    async def configure(self, cfg: p.Config) -> None:
        """Set the session up (replacing an earlier setup); ``ready`` or ``error``, never a close."""
        if cfg.audio and cfg.stt is None and cfg.tts is None:
            await self.conn.error(
                "STT or TTS configuration is required when audio=true (send stt_config, tts_config or both)",
                "config",
            )
            return
        # Build the new providers first: if that fails the session keeps its current setup.
        stt: STTInput | None = None
        tts: TTSOutput | None = None
        if cfg.audio:
            results = await asyncio.gather(
                self._make_stt(cfg) if cfg.stt is not None else _none(),
                self._make_tts(cfg.tts) if cfg.tts is not None else _none(),
                return_exceptions=True,
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            made = [r for r in results if isinstance(r, (STTInput, TTSOutput))]
            if errors:
                await asyncio.gather(*(x.close() for x in made), return_exceptions=True)
                for err in errors:
                    if isinstance(err, asyncio.CancelledError):
                        raise err
                    await self.conn.error(describe_error(err), "config")
                return
            stt = results[0] if isinstance(results[0], STTInput) else None
            tts = results[1] if isinstance(results[1], TTSOutput) else None
        await self._teardown()
        self.stt, self.tts = stt, tts
        self.audio_enabled = cfg.audio
        self.stream_id = cfg.stream_id or str(uuid.uuid4())
        self.configured = True
        if cfg.livekit is not None:
            await self.conn.error(
                "LiveKit is not configured on this gateway; continuing without a room", "config"
            )
        if cfg.dag_config is not None:
            await self.conn.error("DAG routing is not enabled in this gateway", "config")
        await self.conn.send(
            {
                "type": "ready",
                "stream_id": self.stream_id,
                "livekit_url": self.state.config.livekit.public_url,
            }
        )

    async def _make_stt(self, cfg: p.Config) -> STTInput:
        spec = cfg.stt
        assert spec is not None
        name = spec.provider or default_provider_for(self.state.config, self.state.registry, "stt")
        decodable = spec.encoding in PCM_INPUTS
        rate = self.gw.stt_sample_rate if (decodable and self.gw.stt_sample_rate) else spec.sample_rate
        pipeline = self._pipeline(cfg, spec.sample_rate) if decodable else None
        values: dict[str, Any] = {}
        if spec.model:  # "" (or absent): the provider's own default model, not another vendor's
            values["model"] = spec.model
        config = STTConfig(
            provider=name,
            api_key=spec.api_key,
            language=spec.language,
            sample_rate=rate,
            channels=1 if decodable else spec.channels,
            punctuation=spec.punctuation,
            encoding="linear16" if decodable else spec.encoding,
            **values,
        )
        provider = create_provider(self.state.registry, "stt", name, config)
        timeout = self.gw.provider_timeout_seconds
        await connect_or_discard(provider, timeout, name)
        return STTInput(
            self.conn,
            provider,
            encoding=spec.encoding,
            client_rate=spec.sample_rate,
            channels=spec.channels,
            provider_rate=rate,
            pipeline=pipeline,
            timeout=timeout,
            metrics=self.state.metrics,
            speech_final_wait=self.gw.speech_final_wait_seconds,
        )

    def _pipeline(self, cfg: p.Config, rate: int) -> AudioPipeline | None:
        if cfg.processors is not None:
            stages = [(s.name, s.options) for s in cfg.processors]
        else:
            stages = [(n, self.gw.processor_options.get(n, {})) for n in self.gw.processors]
        if not stages:
            return None
        reg = self.state.registry
        builtin = {i.id for i in reg.plugins("processor") if i.source == "builtin"}
        procs: list[AudioProcessor] = []
        for name, options in stages:
            proc = reg.create_audio_processor(name, options)
            # waav's own native processors are synchronous kernels that cannot hang; the
            # per-call timeout of the isolation wrapper would cost more than the kernel.
            # Third-party processors keep their isolation (timeouts, failure counting).
            if isinstance(proc, IsolatedProcessor) and reg.resolve("processor", name) in builtin:
                proc = proc.inner
            procs.append(proc)
        return AudioPipeline(procs, AudioFormat(sample_rate=rate))

    async def _make_tts(self, spec: p.TTSSpec) -> TTSOutput:
        name = spec.provider or default_provider_for(self.state.config, self.state.registry, "tts")
        values: dict[str, Any] = {
            "provider": name,
            "api_key": spec.api_key,
            "model": spec.model,
            "speaking_rate": spec.speaking_rate,
            "audio_format": spec.audio_format,
            "sample_rate": spec.sample_rate,
            "connection_timeout": spec.connection_timeout,
            "request_timeout": spec.request_timeout,
            "pronunciations": [{"word": w, "pronunciation": r} for w, r in spec.pronunciations],
        }
        values["voice_id"] = spec.voice_id  # absent or null: the provider's default voice
        if spec.emotion:
            values["emotion_config"] = spec.emotion
        config = TTSConfig(**values)
        provider = create_provider(self.state.registry, "tts", name, config)
        timeout = self.gw.provider_timeout_seconds
        await connect_or_discard(provider, timeout, name)
        return TTSOutput(
            self.conn,
            provider,
            audio_format=spec.audio_format,
            sample_rate=spec.sample_rate,
            frame_ms=self.gw.tts_frame_ms,
            timeout=timeout,
            metrics=self.state.metrics,
            continue_timeout=self.gw.tts_continue_timeout_seconds,
        )


async def _none() -> None:
    return None


async def ws_endpoint(state: GatewayState, websocket: WebSocket) -> None:
    """The Starlette route of ``/ws``."""
    await state.startup()
    if state.draining:
        await websocket.close(1013, "server shutting down")
        return
    session = VoiceSession(state, websocket)
    try:
        await session.run()
    except WaavError as exc:  # pragma: no cover - every handler reports its own errors
        log.error("/ws session failed: %s", exc)
