"""Offline STT ``pocketsphinx``: CMU PocketSphinx 5 with its bundled US-English model.

Install: ``pip install "waav[local]"`` (pocketsphinx 5.1.1; 5.0.4 on CPython 3.10 and 3.12,
which 5.1.1 has no wheels for. BSD-style licence; the en-US
acoustic model, language model and dictionary ship inside the wheel and are checked
against the SHA-256 digests below when first used). Small (39 MB) and fast, but on real
human speech far less accurate than ``whisper`` (about 33 % WER against 0 % in waav's
measurements): a lite choice.

PocketSphinx decodes incrementally. A session cuts the stream with the native
:class:`waav.audio.VadSegmenter`; from the onset of speech (300 ms of pre-roll included)
the audio goes to the decoder as it arrives, on the engine pool, and each change of the
running hypothesis is sent as an interim result (``is_final`` false). When the VAD closes
the utterance the decoder finishes it and the final result (``is_final`` and
``is_speech_final``) follows. Each session has its own decoder (about 0.3 s to create).

Options: ``hmm``, ``lm``, ``dict`` (paths to your own model files; then the bundled files
are not used or hash-checked), ``interim_results`` (true), and the VAD options of
``whisper`` (``vad``, ``vad_mode``, ``pre_roll_ms``, ``hangover_ms``, ``min_speech_ms``,
``max_utterance_s``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers.base import STTConfig, STTResult
from waav.providers.local._engine import ModelIntegrityError, require, run_blocking, verify_files
from waav.providers.local._stt import RATE, LocalSTT, segmenter_for

__all__ = [
    "MODEL_SHA256",
    "MODEL_SHA256_BY_VERSION",
    "PLUGIN",
    "PocketsphinxSTT",
    "bundled_model_dir",
    "new_decoder",
    "transcribe",
]

PROVIDER = "pocketsphinx"
EXTRA = "local"
#: SHA-256 of pocketsphinx 5.1.1's ``pocketsphinx/model/en-us`` files.
MODEL_SHA256 = {
    "cmudict-en-us.dict": "20b5c293e1f311fb375fe067e500ec5636f4fc7af5594967263696def9b23bfe",
    "en-us/feat.params": "c982c5f75e2a30c34d2c9ef1f6b129a5a00e67e3e927565076b58664cc2404c9",
    "en-us/mdef": "2360f9a86889c1cfee8bd618a0269387911e5fb2920a594f506b18b8c79683b0",
    "en-us/means": "832019e32cac12eb318964f96f469034acb12d0348eeddc3831831a100cb4dd4",
    "en-us/noisedict": "7295b07df2c204c4f87c6782b6be1a3859d7006d4e3864181c955d6dab105a33",
    "en-us/sendump": "8c9564c0d5bef69ca9d9bf1014abe162f071644cf02cf1fa8a483c3dc165a7a8",
    "en-us/transition_matrices": "c1f7f28ea43177be734be1f88bd7f1b9a853d0e660f8599c67c6eaeca8bb539a",
    "en-us/variances": "b00d696f85e96834fc10f8e5f06428d8c4db6bffdbe5845b6f69bf6efbc48fa5",
    "en-us.lm.bin": "db21d0642286677699e6dbc859d2e5395570222361999387ce60f6e1d01995d6",
}
#: pocketsphinx 5.1.1 has wheels for CPython 3.11 and 3.13 only, so the ``local`` extra pins
#: 5.0.4 on 3.10 and 3.12; its model differs from 5.1.1's in the dictionary alone.
MODEL_SHA256_BY_VERSION = {
    "5.1.1": MODEL_SHA256,
    "5.0.4": {
        **MODEL_SHA256,
        "cmudict-en-us.dict": "cb01cf8b6a47f5a97ed46b01e96ea8a924d07d1abfd770f787836013df8537da",
    },
}
_FILE_OPTIONS = ("hmm", "lm", "dict")


def expected_hashes() -> dict[str, str]:
    """The digests for the installed pocketsphinx version (an unknown version is refused)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("pocketsphinx")
    except PackageNotFoundError:
        installed = "unknown"
    table = MODEL_SHA256_BY_VERSION.get(installed)
    if table is None:
        raise ModelIntegrityError(
            f"{PROVIDER}: pocketsphinx {installed} is installed, but waav knows the model hashes of "
            f"{', '.join(sorted(MODEL_SHA256_BY_VERSION))} only; install the pinned one with: "
            f'pip install "waav[{EXTRA}]"',
            provider=PROVIDER,
        )
    return table


def bundled_model_dir() -> Path:
    """``pocketsphinx/model/en-us`` of the installed package (not ``POCKETSPHINX_PATH``)."""
    ps = require("pocketsphinx", EXTRA, PROVIDER)
    return Path(str(ps.__file__)).parent / "model" / "en-us"


def new_decoder(options: dict[str, Any] | None = None) -> Any:
    """A new 16 kHz decoder (blocking, ~0.3 s): the bundled model, hash-checked, unless the
    options name model files of their own."""
    ps = require("pocketsphinx", EXTRA, PROVIDER)
    opts = options or {}
    files = {k: str(opts[k]) for k in _FILE_OPTIONS if opts.get(k)}
    for key, value in files.items():
        if not Path(value).exists():
            raise ConfigError(f"{PROVIDER}: option {key}={value!r}: no such file or directory")
    if len(files) < len(_FILE_OPTIONS):
        root = bundled_model_dir()
        verify_files(PROVIDER, root, expected_hashes(), "pocketsphinx")
        defaults = {
            "hmm": root / "en-us",
            "lm": root / "en-us.lm.bin",
            "dict": root / "cmudict-en-us.dict",
        }
        files = {k: files.get(k, str(v)) for k, v in defaults.items()}
    return ps.Decoder(samprate=RATE, loglevel="FATAL", **files)


def transcribe(decoder: Any, pcm16k: bytes) -> str:
    """Decode one whole utterance of 16 kHz mono int16 PCM (blocking)."""
    decoder.start_utt()
    decoder.process_raw(pcm16k, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return str(hyp.hypstr).strip() if hyp is not None else ""


class PocketsphinxSTT(LocalSTT):
    """Streaming PocketSphinx: interim hypotheses while speech goes on, then a final."""

    provider_id = PROVIDER

    def __init__(self, config: STTConfig) -> None:
        super().__init__(config)
        self._segmenter = segmenter_for(config.options, PROVIDER)
        self._interim = bool(config.options.get("interim_results", True))
        self._decoder: Any = None
        # our own copy of the recent 16 kHz audio, from absolute sample _hist_base, so an
        # utterance can be fed to the decoder from its pre-roll onwards as soon as it starts
        self._hist = bytearray()
        self._hist_base = 0
        self._speaking = False
        self._fed = 0  # absolute sample up to which the open utterance went to the decoder
        self._prev_end = 0
        self._keep = round((self._segmenter.pre_roll_ms + self._segmenter.min_speech_ms + 100) * RATE / 1000)

    def load(self) -> None:
        self._decoder = new_decoder(self.config.options)
        self._segmenter.reset()
        self._hist, self._hist_base, self._speaking, self._fed, self._prev_end = bytearray(), 0, False, 0, 0

    def on_audio(self, pcm16k: bytes) -> None:
        self._hist += pcm16k
        for event in self._segmenter.process(pcm16k):
            self._event(event)
        self._after_chunk()

    def on_finish(self) -> None:
        for event in self._segmenter.flush():
            self._event(event)
        self._segmenter.reset()

    # --- internals ----------------------------------------------------------------------
    @property
    def _n_in(self) -> int:
        return self._hist_base + len(self._hist) // 2

    def _slice(self, a: int, e: int) -> bytes:
        a, e = max(a, self._hist_base), min(e, self._n_in)
        return bytes(self._hist[2 * (a - self._hist_base) : 2 * (e - self._hist_base)]) if e > a else b""

    def _event(self, event: Any) -> None:
        if event.kind == "start":
            pre = round(self._segmenter.pre_roll_ms * RATE / 1000)
            onset = round(event.time * RATE)
            self._speaking, self._fed = True, max(onset - pre, self._prev_end, self._hist_base)
            self.submit(self._start)
        elif event.kind == "end" and self._speaking:
            end = round((event.end or event.time) * RATE)
            self._feed_upto(end)
            self._speaking, self._prev_end = False, end
            self.submit(self._end)

    def _feed_upto(self, end: int) -> None:
        pcm = self._slice(self._fed, end)
        if pcm:
            self._fed = max(self._fed, end)
            self.submit(lambda: self._process(pcm))

    def _after_chunk(self) -> None:
        if self._speaking:
            self._feed_upto(self._n_in)
        # keep only what a future onset's pre-roll can reach back to
        keep = self._fed if self._speaking else self._n_in - self._keep
        drop = keep - self._hist_base
        if drop > 0:
            del self._hist[: 2 * drop]
            self._hist_base = keep

    async def _start(self) -> None:
        await run_blocking(self._decoder.start_utt)
        self._last_hyp = ""

    async def _process(self, pcm: bytes) -> None:
        text = await run_blocking(self._process_blocking, pcm)
        if self._interim and text and text != self._last_hyp:
            self._last_hyp = text
            await self._emit_result(STTResult(text, is_final=False, is_speech_final=False, language="en"))

    def _process_blocking(self, pcm: bytes) -> str:
        self._decoder.process_raw(pcm, full_utt=False)
        hyp = self._decoder.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""

    async def _end(self) -> None:
        text = await run_blocking(self._end_blocking)
        if text:
            await self._emit_result(STTResult(text, is_final=True, is_speech_final=True, language="en"))

    def _end_blocking(self) -> str:
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""

    _last_hyp = ""

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info["model"] = "en-us"
        info["sample_rate"] = RATE
        return info


#: Registered through the ``waav.plugins`` entry point ``stt-pocketsphinx``.
PLUGIN = PluginConstructor.stt(PROVIDER, None, PocketsphinxSTT)
