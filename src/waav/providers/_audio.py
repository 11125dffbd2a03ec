"""Streaming conversion of vendor audio to the format a client asked for.

Vendors answer in their own encodings and rates (ElevenLabs 22.05 kHz PCM, Polly 16 kHz,
Google WAV, G.711 for telephony…). :class:`AudioConverter` turns a stream of vendor chunks
into the requested ``audio_format``/``sample_rate`` with the native kernels (G.711, float
conversion) and the streaming :class:`waav.audio.Resampler`, keeping partial samples and a
split WAV header across chunk boundaries. Compressed formats (mp3, ogg, opus, flac, aac)
pass through untouched when the client asked for that same format; converting them to or
from PCM would need a codec library, so that is refused with a clear error instead.
"""

from __future__ import annotations

import struct
from typing import Any

from waav import audio
from waav._exceptions import AudioFormatError

__all__ = ["COMPRESSED", "PCM_ENCODINGS", "AudioConverter", "canonical_encoding", "content_type"]

#: Names clients and vendors use for each PCM-family encoding.
_ALIASES = {
    "linear16": "linear16",
    "pcm": "linear16",
    "pcm16": "linear16",
    "pcm_s16le": "linear16",
    "s16le": "linear16",
    "l16": "linear16",
    "raw": "linear16",
    "float32": "float32",
    "pcm_f32le": "float32",
    "f32le": "float32",
    "mulaw": "mulaw",
    "ulaw": "mulaw",
    "pcm_mulaw": "mulaw",
    "pcmu": "mulaw",
    "g711_ulaw": "mulaw",
    "alaw": "alaw",
    "pcm_alaw": "alaw",
    "pcma": "alaw",
    "g711_alaw": "alaw",
    "wav": "wav",
    "wave": "wav",
}
PCM_ENCODINGS = frozenset({"linear16", "float32", "mulaw", "alaw", "wav"})
COMPRESSED = frozenset({"mp3", "mpeg", "ogg", "ogg_vorbis", "opus", "flac", "aac", "webm"})

_CONTENT_TYPES = {
    "linear16": "audio/pcm",
    "float32": "audio/pcm",
    "mulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "ogg": "audio/ogg",
    "ogg_vorbis": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "webm": "audio/webm",
}


def canonical_encoding(name: str) -> str:
    """Normalise an encoding name (``pcm`` → ``linear16``, ``ulaw`` → ``mulaw``, …)."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key in COMPRESSED:
        return key
    raise AudioFormatError(f"unknown audio format {name!r}; use one of {sorted(PCM_ENCODINGS | COMPRESSED)}")


def content_type(encoding: str) -> str:
    """HTTP ``Content-Type`` for an encoding (upstream's mapping for /speak)."""
    try:
        return _CONTENT_TYPES[canonical_encoding(encoding)]
    except AudioFormatError:
        return "application/octet-stream"


class AudioConverter:
    """Convert a vendor's audio stream to the client's encoding and sample rate, chunk by chunk.

    Parameters
    ----------
    src_encoding, src_rate :
        What the vendor sends (for ``wav`` the header's own format and rate win).
    dst_encoding, dst_rate :
        What the client asked for.
    """

    def __init__(self, src_encoding: str, src_rate: int, dst_encoding: str, dst_rate: int) -> None:
        self.src = canonical_encoding(src_encoding)
        self.dst = canonical_encoding(dst_encoding)
        self.src_rate = int(src_rate)
        self.dst_rate = int(dst_rate)
        if self.src_rate <= 0 or self.dst_rate <= 0:
            raise AudioFormatError(f"sample rates must be positive, got {src_rate} and {dst_rate}")
        if (self.src in COMPRESSED or self.dst in COMPRESSED) and self.src != self.dst:
            raise AudioFormatError(
                f"cannot convert {self.src} audio to {self.dst}: compressed audio is passed through "
                f"only when the client asks for the same format; ask the vendor for PCM instead"
            )
        self._carry = b""  # incomplete sample(s) or an incomplete WAV header
        self._wav_pending = self.src == "wav"
        self._wav_encoding = "linear16"
        self._resampler: Any = None
        self._header_sent = False

    @property
    def passthrough(self) -> bool:
        """True when chunks are forwarded untouched (same encoding and rate, or compressed)."""
        if self.src in COMPRESSED:
            return True
        return self.src == self.dst and self.src != "wav" and self.src_rate == self.dst_rate

    def feed(self, chunk: bytes) -> bytes:
        """Convert one vendor chunk; returns what is ready (may be empty)."""
        if self.passthrough:
            return bytes(chunk)
        data = self._carry + bytes(chunk)
        self._carry = b""
        if self._wav_pending:
            data = self._parse_wav_header(data)
            if self._wav_pending:
                return b""
        return self._from_pcm16(self._to_pcm16(data), last=False)

    def flush(self) -> bytes:
        """End of one vendor response: drain the resampler; drop a dangling partial sample."""
        if self.passthrough:
            return b""
        self._carry = b""
        out = self._from_pcm16(b"", last=True)
        self._resampler = None  # the next request starts a fresh stream
        self._wav_pending = self.src == "wav"
        return out

    def reset(self) -> None:
        """Barge-in: forget partial samples and resampler history at once."""
        self._carry = b""
        self._resampler = None
        self._wav_pending = self.src == "wav"

    # --- internals ----------------------------------------------------------------------
    def _parse_wav_header(self, data: bytes) -> bytes:
        if len(data) < 12:
            self._carry = data
            return b""
        if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            # Vendors that say "wav" but send raw PCM: treat as PCM16 at the declared rate.
            self._wav_pending = False
            return data
        pos = 12
        while True:
            if len(data) < pos + 8:
                self._carry = data
                return b""
            cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
            if cid == b"data":
                self._wav_pending = False
                return data[pos + 8 :]
            if len(data) < pos + 8 + size:
                self._carry = data
                return b""
            if cid == b"fmt " and size >= 16:
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
                if channels != 1:
                    raise AudioFormatError(f"vendor WAV has {channels} channels; mono expected")
                self.src_rate = rate
                self._wav_encoding = {
                    (1, 16): "linear16",
                    (3, 32): "float32",
                    (7, 8): "mulaw",
                    (6, 8): "alaw",
                }.get((tag, bits), "")
                if not self._wav_encoding:
                    raise AudioFormatError(f"vendor WAV format {tag:#x} with {bits} bits is not supported")
            pos += 8 + size + (size & 1)

    def _to_pcm16(self, data: bytes) -> bytes:
        enc = self._wav_encoding if self.src == "wav" else self.src
        width = {"linear16": 2, "float32": 4, "mulaw": 1, "alaw": 1}[enc]
        cut = len(data) - len(data) % width
        self._carry, data = data[cut:], data[:cut]
        if enc == "linear16":
            return data
        if enc == "float32":
            return audio.float32_to_int16(data)
        if enc == "mulaw":
            return audio.ulaw_decode(data)
        return audio.alaw_decode(data)

    def _from_pcm16(self, pcm: bytes, *, last: bool) -> bytes:
        if self.src_rate != self.dst_rate:
            if self._resampler is None:
                self._resampler = audio.Resampler(self.src_rate, self.dst_rate, dtype="int16")
            pcm = self._resampler.process(pcm, last=last)
        if self.dst == "linear16":
            return pcm
        if self.dst == "float32":
            return audio.int16_to_float32(pcm).tobytes()
        if self.dst == "mulaw":
            return audio.ulaw_encode(pcm)
        if self.dst == "alaw":
            return audio.alaw_encode(pcm)
        # wav: a streaming header (unknown length) once, then PCM16
        if not self._header_sent and (pcm or last):
            self._header_sent = True
            return _streaming_wav_header(self.dst_rate) + pcm
        return pcm


def _streaming_wav_header(rate: int) -> bytes:
    """A PCM16 mono WAV header whose sizes say "unknown" (0xFFFFFFFF), for streamed audio."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    unknown = b"\xff\xff\xff\xff"
    return b"RIFF" + unknown + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + unknown
