"""Offline TTS ``hibari``: hibari-tts with its bundled voice ``heart`` (US English, 24 kHz).

Install: ``pip install "waav[local]"`` (hibari-tts 0.2.1, Apache-2.0: an 8 MB int8 ONNX
model distilled from Kokoro-82M with its own grapheme-to-phoneme rules, no espeak). The
asset files are checked against the SHA-256 digests below when first loaded. Only the
bundled voice works offline (hibari downloads its other voices), so any other ``voice_id``
is refused.

A session synthesises sentence by sentence on the engine pool and streams each sentence's
audio as soon as it is ready, resampled natively from 24 kHz to the requested
``sample_rate`` and encoded as the requested ``audio_format`` (see
:mod:`waav.providers.local._tts`). ``speaking_rate`` maps to hibari's speed (0.5–2.0).
Options: ``seed`` (hibari adds a little noise; a fixed seed, 0 by default, makes the same
text give the same audio; ``null`` for fresh noise each time) and ``threads`` (onnxruntime
threads, 1).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from waav._exceptions import ConfigError
from waav.plugin import PluginConstructor
from waav.providers.base import TTSConfig
from waav.providers.local._engine import EngineCache, int_option, require, verify_files
from waav.providers.local._tts import LocalTTS
from waav.providers.tts._util import configured_voice

__all__ = ["ASSETS_SHA256", "PLUGIN", "HibariEngine", "HibariTTS", "engine"]

PROVIDER = "hibari"
EXTRA = "local"
VOICE = "heart"
RATE = 24000
#: SHA-256 of hibari-tts 0.2.1's ``hibari/assets`` (the voice, G2P lexicons and OOV nets).
ASSETS_SHA256 = {
    "hibari.onnx": "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8",
    "lexicon_gb_gold.json.gz": "66e675f23eb007d6707d23fe6603ba5e19f3513aefe42e3c8cd6c078a85f2ce0",
    "lexicon_gb_silver.json.gz": "637f887dd557d193af8c106f5c26624850db3e7bf0ec751ba917aac6d75e948d",
    "lexicon_us_gold.json.gz": "63ae94f8ef0e906d5b24fe9b59ffcbd1529aca5686a774610e43973cbaa86ad2",
    "lexicon_us_silver.json.gz": "c4c2546ebf1eb07010331e7ef785a431aa17ba8e7bfb6b4af8d654ee96a71fd3",
    "normalize.json": "d478ff05404bc43ac3e0468e306674e51085f1b1afc94cdef7c7ea4fb0d56bd8",
    "oov.json": "b462e6e5dbdf0e7346c732385d0dd844f612f1770871441c56932bff4ca75d8c",
    "oov.onnx": "d3cfd8122c5f172a98c8de38268bf1213ee09f2c2ae4df6e055fc6532590fe76",
    "oov_gb.json": "e29077fc3548f08f2fab82a87e03309f614658d91d0ba464e653265e9a4d0cad",
    "oov_gb.onnx": "0997e3219543247de5646078d770f8ca77011d8fd0abb29fe48d12c60f53e9e1",
    "tagger.json.gz": "d2da7502284bbbe45d49e0b7ce3ce67bdab82254150f4317f1b8559b4d38d0eb",
    "tokenizer_exceptions.json": "ddf3a3da07bdcf5144270ea4530191d8580fb4fd6f5ae93296e87916e795659a",
    "vocab.json": "70abefbe8a1c8865e43e0a43bbdc25b91a33e4aa053479d443ccf23e20a59e5d",
    "voices.json": "f8b7657ecd0e0e362d3403e99538c0e5bfe20d6a903dfcd04c772b2c73abb204",
}


def assets_dir() -> Path:
    """``hibari/assets`` of the installed package (raises naming the extra if absent)."""
    hb = require("hibari", EXTRA, PROVIDER)
    return Path(str(hb.__file__)).parent / "assets"


class HibariEngine:
    """The loaded voice. :meth:`synthesize` is blocking and thread-safe: the G2P (plain
    Python with caches) runs under a lock, the ONNX model outside it."""

    sample_rate = RATE

    def __init__(self, threads: int) -> None:
        root = assets_dir()
        verify_files(PROVIDER, root, ASSETS_SHA256, "hibari-tts==0.2.1")
        hb = require("hibari", EXTRA, PROVIDER)
        self.tts: Any = hb.Hibari(voice=VOICE, threads=threads)
        self._g2p_lock = threading.Lock()
        self.synthesize("Ready.", seed=0)  # loads the G2P tables now, not in the first request

    def sentences(self, text: str) -> list[str]:
        return [str(s) for s in self.tts.split_sentences(text)]

    def synthesize(self, sentence: str, *, speed: float = 1.0, seed: int | None = 0) -> np.ndarray[Any, Any]:
        """One sentence → float32 samples at 24 kHz."""
        with self._g2p_lock:
            phonemes = self.tts.phonemize(sentence)
        rng = np.random.default_rng(seed)
        parts = [self.tts.from_ids(self.tts.ids(ps), speed, rng) for ps in phonemes]
        if not parts:
            return np.zeros(0, np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)


_ENGINES: EngineCache[HibariEngine] = EngineCache(HibariEngine)


def engine(threads: int = 1) -> HibariEngine:
    """The shared engine (blocking: the first call loads and hash-checks the voice)."""
    return _ENGINES.get(threads)


class HibariTTS(LocalTTS):
    """Streaming offline TTS with hibari's bundled voice."""

    provider_id = PROVIDER

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        voice = configured_voice(config)
        if voice not in (None, VOICE):
            raise ConfigError(
                f"{PROVIDER}: voice {voice!r} is not available offline; the bundled voice is {VOICE!r}"
            )
        opts = config.options
        self._threads = int_option(opts, PROVIDER, "threads", 1, 1, 64)
        seed = opts.get("seed", 0)
        self._seed = None if seed is None else int_option(opts, PROVIDER, "seed", 0, 0, 2**32 - 1)
        self._speed = min(2.0, max(0.5, float(config.speaking_rate)))
        self.engine: HibariEngine | None = None

    def load(self) -> None:
        self.engine = engine(self._threads)

    @property
    def native_rate(self) -> int:
        return RATE

    def sentences(self, text: str) -> list[str]:
        assert self.engine is not None
        return self.engine.sentences(text)

    def synthesize(self, sentence: str) -> np.ndarray[Any, Any]:
        assert self.engine is not None
        return self.engine.synthesize(sentence, speed=self._speed, seed=self._seed)

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info.update(model="hibari-heart", voice=VOICE, native_sample_rate=RATE)
        return info


#: Registered through the ``waav.plugins`` entry point ``tts-hibari``.
PLUGIN = PluginConstructor.tts(PROVIDER, None, HibariTTS)
