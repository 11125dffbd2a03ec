"""``waav speak`` and ``waav transcribe``: the offline engines round-trip through files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from waav import audio, cli
from waav.audio.wav import read_wav, write_wav

SENTENCE = "A gentle breeze moved across the quiet lake."


def waav(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("waav") or ""
    cmd = [exe, *args] if exe else [sys.executable, "-m", "waav", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).split()


def test_speak_then_transcribe_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "said.wav"
    spoken = waav("speak", SENTENCE, "-o", str(out), "--rate", "22050", "--json")
    assert spoken.returncode == 0, spoken.stderr
    summary = json.loads(spoken.stdout)
    assert summary["provider"] == "hibari"
    assert summary["sample_rate"] == 22050
    wav = read_wav(out)
    assert (wav.sample_rate, wav.channels) == (22050, 1)
    assert abs(wav.duration - summary["seconds"]) < 1e-3
    assert 1.5 < wav.duration < 6

    # a 44.1 kHz stereo file with silence around the speech, as a user might record it
    mono = audio.resample(wav.pcm16, 22050, 44100)
    pad = b"\0\0" * 44100
    stereo = audio.mono_to_stereo(pad + mono + pad)
    rec = tmp_path / "recorded.wav"
    write_wav(rec, stereo, 44100, channels=2)
    heard = waav("transcribe", str(rec), "--json")
    assert heard.returncode == 0, heard.stderr
    result = json.loads(heard.stdout)
    assert words(result["text"]) == words(SENTENCE)
    assert result["provider"] == "whisper"
    assert result["channels"] == 2
    assert result["sample_rate"] == 44100
    assert len(result["segments"]) == 1
    seg = result["segments"][0]
    assert 0.5 < seg["start"] < 1.1
    assert seg["end"] > seg["start"] + 1.5
    assert abs(result["duration_s"] - (len(stereo) / 4 / 44100)) < 0.01

    plain = waav("transcribe", str(out), "--provider", "pocketsphinx")
    assert plain.returncode == 0, plain.stderr
    assert len(set(words(plain.stdout)) & set(words(SENTENCE))) >= 5
    assert "real time" in plain.stderr  # the summary goes to stderr, the text to stdout


def test_long_file_is_segmented_with_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "The quick brown fox jumps over the lazy dog. " + SENTENCE + " Please call me back when you get home."
    )
    gap = b"\0\0" * 16000  # 1 s of silence between the sentences: the VAD cuts three utterances
    parts = [audio.resample(p, 24000, 16000) for p in _sentences_24k(text)]
    said = tmp_path / "long.wav"
    write_wav(said, gap.join(parts), 16000)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.main(["transcribe", str(said), "--json"]) == 0
    out, err = capsys.readouterr()
    heard = json.loads(out)
    assert len(heard["segments"]) == 3
    assert words(heard["text"]) == words(text)
    assert err.count("\r") >= 2  # the bar was drawn (after each piece), on stderr only
    assert "100.0%" in err


def _sentences_24k(text: str) -> list[bytes]:
    from waav.providers.local import hibari

    eng = hibari.engine()
    return [audio.float32_to_int16(eng.synthesize(s)) for s in eng.sentences(text)]


def test_readable_errors(tmp_path: Path) -> None:
    missing = waav("transcribe", str(tmp_path / "nope.wav"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("waav: error:")
    assert "nope.wav" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "bad.wav").write_bytes(b"not a wav file")
    bad = waav("transcribe", str(tmp_path / "bad.wav"))
    assert bad.returncode == 2
    assert "not a RIFF/WAVE file" in bad.stderr
    unknown = waav("speak", "hi", "-o", str(tmp_path / "x.wav"), "--provider", "nosuch")
    assert unknown.returncode == 2
    assert "hibari" in unknown.stderr
    empty = waav("speak", "  ", "-o", str(tmp_path / "x.wav"))
    assert empty.returncode == 2
    assert "empty" in empty.stderr
    voice = waav("speak", "hi", "-o", str(tmp_path / "x.wav"), "--voice", "emma")
    assert voice.returncode == 2
    assert "not available offline" in voice.stderr
    zero = waav("speak", "hi", "-o", str(tmp_path / "x.wav"), "--rate", "0")
    assert zero.returncode == 2
    assert "sample rate" in zero.stderr
    assert not (tmp_path / "x.wav").exists()
