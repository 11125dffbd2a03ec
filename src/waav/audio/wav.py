"""Read and write WAV files (RIFF/WAVE), converting to and from int16 PCM.

Reads PCM 8/16/24/32-bit, IEEE float 32/64, G.711 µ-law and A-law, plain or
``WAVE_FORMAT_EXTENSIBLE``. Writes int16 PCM, float32, µ-law or A-law. Only the
standard library and the waav kernels are used.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from waav._exceptions import AudioFormatError
from waav.audio.pcm import (
    alaw_decode,
    alaw_encode,
    float32_to_int16,
    int16_to_float32,
    ulaw_decode,
    ulaw_encode,
)

__all__ = ["WavAudio", "read_wav", "wav_bytes", "write_wav"]

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE

#: Encodings :func:`write_wav` can write, and the WAV format tag + bits of each.
WRITE_ENCODINGS = {"pcm16": (_PCM, 16), "float32": (_FLOAT, 32), "ulaw": (_ULAW, 8), "alaw": (_ALAW, 8)}


@dataclass(frozen=True)
class WavAudio:
    """Decoded WAV contents: interleaved little-endian int16 PCM plus its layout."""

    pcm16: bytes
    sample_rate: int
    channels: int
    #: The file's own encoding: ``pcm8``, ``pcm16``, ``pcm24``, ``pcm32``, ``float32``,
    #: ``float64``, ``ulaw`` or ``alaw``.
    source_encoding: str

    @property
    def frames(self) -> int:
        """Samples per channel."""
        return len(self.pcm16) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def _chunks(f: BinaryIO, name: str) -> dict[bytes, bytes]:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFormatError(f"{name}: not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    while True:
        header = f.read(8)
        if len(header) < 8:
            break
        cid, size = header[:4], struct.unpack("<I", header[4:])[0]
        data = f.read(size)
        if cid == b"data" and len(data) < size:
            size = len(data)  # truncated file (e.g. a live recording): keep what is there
        chunks.setdefault(cid, data[:size])
        if size % 2:
            f.read(1)  # chunks are word aligned
    return chunks


def _to_pcm16(data: bytes, tag: int, bits: int, name: str) -> tuple[bytes, str]:
    if tag == _PCM and bits == 16:
        return data[: len(data) // 2 * 2], "pcm16"
    if tag == _PCM and bits == 8:
        x = np.frombuffer(data, np.uint8).astype(np.int16)
        return ((x - 128) << 8).astype("<i2").tobytes(), "pcm8"
    if tag == _PCM and bits == 24:
        b = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        x = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)  # sign lands in bit 31
        return float32_to_int16(x.astype(np.float64) / 2.0**31), "pcm24"
    if tag == _PCM and bits == 32:
        x = np.frombuffer(data[: len(data) // 4 * 4], "<i4")
        return float32_to_int16(x.astype(np.float64) / 2.0**31), "pcm32"
    if tag == _FLOAT and bits == 32:
        return float32_to_int16(np.frombuffer(data[: len(data) // 4 * 4], "<f4")), "float32"
    if tag == _FLOAT and bits == 64:
        return float32_to_int16(np.frombuffer(data[: len(data) // 8 * 8], "<f8")), "float64"
    if tag == _ULAW and bits == 8:
        return ulaw_decode(data), "ulaw"
    if tag == _ALAW and bits == 8:
        return alaw_decode(data), "alaw"
    raise AudioFormatError(f"{name}: unsupported WAV encoding (format tag {tag:#06x}, {bits} bits)")


def read_wav(path: str | Path) -> WavAudio:
    """Read a WAV file and return its audio as interleaved int16 PCM."""
    name = str(path)
    with open(path, "rb") as f:
        chunks = _chunks(f, name)
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16:
        raise AudioFormatError(f"{name}: missing or short 'fmt ' chunk")
    if b"data" not in chunks:
        raise AudioFormatError(f"{name}: missing 'data' chunk")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE:
        if len(fmt) < 40:
            raise AudioFormatError(f"{name}: short WAVE_FORMAT_EXTENSIBLE header")
        tag = struct.unpack("<H", fmt[24:26])[0]  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"{name}: invalid header ({channels} channels, {rate} Hz)")
    data = chunks[b"data"]
    usable = len(data) - len(data) % block_align if block_align else len(data)
    pcm16, source = _to_pcm16(data[:usable], tag, bits, name)
    return WavAudio(pcm16=pcm16, sample_rate=rate, channels=channels, source_encoding=source)


def write_wav(
    path: str | Path,
    pcm16: bytes,
    sample_rate: int,
    channels: int = 1,
    encoding: str = "pcm16",
) -> None:
    """Write interleaved int16 PCM to a WAV file, encoded as ``pcm16``, ``float32``,
    ``ulaw`` or ``alaw``."""
    data = wav_bytes(pcm16, sample_rate, channels, encoding)
    with open(path, "wb") as f:
        f.write(data)


def wav_bytes(pcm16: bytes, sample_rate: int, channels: int = 1, encoding: str = "pcm16") -> bytes:
    """The WAV file :func:`write_wav` writes, in memory (e.g. an upload to a REST API)."""
    if encoding not in WRITE_ENCODINGS:
        raise AudioFormatError(f"unknown WAV encoding {encoding!r}; choose one of {sorted(WRITE_ENCODINGS)}")
    if sample_rate < 1 or channels < 1:
        raise AudioFormatError(f"invalid layout: {sample_rate} Hz, {channels} channels")
    if len(pcm16) % (2 * channels):
        raise AudioFormatError(
            f"pcm16 has {len(pcm16)} bytes, not a whole number of {channels}-channel frames"
        )
    tag, bits = WRITE_ENCODINGS[encoding]
    if encoding == "float32":
        payload = int16_to_float32(pcm16).tobytes()
    elif encoding == "ulaw":
        payload = ulaw_encode(pcm16)
    elif encoding == "alaw":
        payload = alaw_encode(pcm16)
    else:
        payload = bytes(pcm16)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if tag != _PCM:
        body += b"fact" + struct.pack("<II", 4, len(payload) // block)  # required for non-PCM
    body += b"data" + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body
