"""WAV reading and writing."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

import waav
from waav.audio.wav import read_wav, wav_bytes, write_wav


def test_round_trip_pcm16_stereo(tmp_path: Path) -> None:
    pcm = np.arange(-1000, 1000, dtype=np.int16).tobytes()
    write_wav(tmp_path / "a.wav", pcm, 22050, channels=2)
    wav = read_wav(tmp_path / "a.wav")
    assert (wav.pcm16, wav.sample_rate, wav.channels, wav.source_encoding) == (pcm, 22050, 2, "pcm16")
    assert wav.frames == 1000
    assert wav.duration == pytest.approx(1000 / 22050)
    with wave.open(str(tmp_path / "a.wav")) as w:  # the stdlib agrees with our header
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()) == (2, 22050, 2, 1000)
    assert wav_bytes(pcm, 22050, channels=2) == (tmp_path / "a.wav").read_bytes()  # the in-memory twin


@pytest.mark.parametrize("encoding", ["float32", "ulaw", "alaw"])
def test_round_trip_other_encodings(tmp_path: Path, encoding: str) -> None:
    pcm = (np.sin(np.arange(800) / 10) * 20000).astype(np.int16).tobytes()
    write_wav(tmp_path / "a.wav", pcm, 8000, encoding=encoding)
    wav = read_wav(tmp_path / "a.wav")
    assert wav.source_encoding == encoding
    assert wav.sample_rate == 8000
    got = np.frombuffer(wav.pcm16, np.int16).astype(int)
    want = np.frombuffer(pcm, np.int16).astype(int)
    tol = 0 if encoding == "float32" else 1100  # G.711 step at the top segment is 1024
    assert np.abs(got - want).max() <= tol


def _raw_wav(path: Path, tag: int, bits: int, payload: bytes, rate: int = 16000) -> None:
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    data = b"data" + struct.pack("<I", len(payload)) + payload
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_reads_8_24_32_bit_and_float64(tmp_path: Path) -> None:
    _raw_wav(tmp_path / "u8.wav", 1, 8, bytes([0, 128, 255]))
    assert np.frombuffer(read_wav(tmp_path / "u8.wav").pcm16, np.int16).tolist() == [-32768, 0, 32512]
    p24 = b"".join(v.to_bytes(3, "little", signed=True) for v in (0, 256, -256, 8388607, 128))
    _raw_wav(tmp_path / "p24.wav", 1, 24, p24)
    assert np.frombuffer(read_wav(tmp_path / "p24.wav").pcm16, np.int16).tolist() == [0, 1, -1, 32767, 0]
    p32 = np.array([0, 65536, -65536, 2**31 - 1], "<i4").tobytes()
    _raw_wav(tmp_path / "p32.wav", 1, 32, p32)
    assert np.frombuffer(read_wav(tmp_path / "p32.wav").pcm16, np.int16).tolist() == [0, 1, -1, 32767]
    _raw_wav(tmp_path / "f64.wav", 3, 64, np.array([0.5, -1.0], "<f8").tobytes())
    assert np.frombuffer(read_wav(tmp_path / "f64.wav").pcm16, np.int16).tolist() == [16384, -32768]


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"not a wav")
    with pytest.raises(waav.AudioFormatError, match="not a RIFF/WAVE"):
        read_wav(tmp_path / "x.wav")
    _raw_wav(tmp_path / "adpcm.wav", 2, 4, b"\x00" * 10)
    with pytest.raises(waav.AudioFormatError, match="unsupported WAV encoding"):
        read_wav(tmp_path / "adpcm.wav")
    with pytest.raises(waav.AudioFormatError, match="unknown WAV encoding"):
        write_wav(tmp_path / "y.wav", b"\x00\x00", 8000, encoding="mp3")
    with pytest.raises(waav.AudioFormatError, match="whole number"):
        write_wav(tmp_path / "y.wav", b"\x00\x00", 8000, channels=2)
