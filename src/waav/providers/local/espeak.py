"""Offline TTS ``espeak``: the espeak-ng 1.52 library and data shipped by espeakng-loader.

**Licence: opt-in only.** espeak-ng is GPL-3.0-or-later. waav (MIT) does not depend on it:
it is installed only by the separate extra ``pip install "waav[espeak]"`` (espeakng-loader
0.2.4), and reached at run time through :mod:`ctypes` (``dlopen``). Under the FSF's reading a
program built around calling a GPL library is a combined work, so if you distribute
something that uses this provider, the GPL's terms apply to that distribution. The
default local voice, ``hibari``, contains no espeak code. espeakng-loader declares no
licence of its own and does not ship espeak-ng's COPYING file.

The voice is robotic (formant synthesis) but tiny and about 1000x real time; speech
recognisers find it hard. Output: 22 050 Hz int16, streamed per sentence and resampled
natively to the requested rate. ``voice_id`` is an espeak voice name (``en-us`` default);
``speaking_rate`` scales espeak's 175 words per minute. The library keeps global state,
so calls from all sessions are serialised by one lock. The library and its data are
checked against the SHA-256 digests below when first loaded.
"""

from __future__ import annotations

import ctypes
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from waav._exceptions import ConfigError, ProviderError
from waav.plugin import PluginConstructor
from waav.providers.base import TTSConfig
from waav.providers.local._engine import EngineCache, require, verify_files
from waav.providers.local._tts import LocalTTS
from waav.providers.tts._util import configured_voice

__all__ = ["FILES_SHA256", "PLUGIN", "EspeakEngine", "EspeakTTS", "engine"]

PROVIDER = "espeak"
EXTRA = "espeak"
DEFAULT_VOICE = "en-us"
WPM = 175
#: SHA-256 of espeakng-loader 0.2.4's library, and the digest of its data directory
#: (:func:`~waav.providers.local._engine.tree_sha256`).
FILES_SHA256 = {
    "libespeak-ng.so": "b15ce0803b26254e8a0d088c6b9281a2637b2b02613147cc320cfdefaf2c3ccf",
    "espeak-ng-data/": "72d0f78f4165cb03c72c2f63e829ee7d44304a7763876dd8ae9293bb11342dfc",
}
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE = 1
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakEngine:
    """The espeak-ng library, initialised once per process (it is a global singleton)."""

    def __init__(self) -> None:
        loader = require("espeakng_loader", EXTRA, PROVIDER)
        lib_path = Path(loader.get_library_path())
        data_path = Path(loader.get_data_path())
        root = lib_path.parent
        if lib_path.name == "libespeak-ng.so" and data_path.parent == root:
            verify_files(PROVIDER, root, FILES_SHA256, "espeakng-loader==0.2.4")
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray[Any, Any]] = []
        lib = ctypes.CDLL(str(lib_path))
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), 0)
        if rate <= 0:
            raise ProviderError(f"{PROVIDER}: espeak_Initialize failed ({rate})", provider=PROVIDER)
        self.sample_rate = int(rate)
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _on_audio(self, wav: Any, n: int, events: Any) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synthesize(self, text: str, *, voice: str = DEFAULT_VOICE, wpm: int = WPM) -> np.ndarray[Any, Any]:
        """Text → int16 samples at :attr:`sample_rate` (blocking; serialised)."""
        data = text.encode("utf-8")
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"{PROVIDER}: unknown espeak voice {voice!r}")
            self.lib.espeak_SetParameter(_ESPEAK_RATE, wpm, 0)
            self._chunks = []
            status = self.lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            chunks, self._chunks = self._chunks, []
        if status != 0:
            raise ProviderError(f"{PROVIDER}: espeak_Synth failed ({status})", provider=PROVIDER)
        return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


_ENGINES: EngineCache[EspeakEngine] = EngineCache(EspeakEngine)


def engine() -> EspeakEngine:
    """The process's espeak engine (blocking: the first call loads the library)."""
    return _ENGINES.get()


class EspeakTTS(LocalTTS):
    """Offline TTS with espeak-ng (GPL, opt-in extra ``waav[espeak]``)."""

    provider_id = PROVIDER

    def __init__(self, config: TTSConfig) -> None:
        super().__init__(config)
        self._voice = configured_voice(config) or DEFAULT_VOICE
        if not re.fullmatch(r"[A-Za-z0-9_+\-]{1,40}", self._voice):
            raise ConfigError(f"{PROVIDER}: invalid espeak voice name {self._voice!r}")
        self._wpm = round(min(450.0, max(80.0, WPM * float(config.speaking_rate))))
        self.engine: EspeakEngine | None = None

    def load(self) -> None:
        self.engine = engine()

    @property
    def native_rate(self) -> int:
        return self.engine.sample_rate if self.engine is not None else 22050

    def sentences(self, text: str) -> list[str]:
        return [s for s in _SENTENCE.split(text) if s.strip()]

    def synthesize(self, sentence: str) -> np.ndarray[Any, Any]:
        assert self.engine is not None
        return self.engine.synthesize(sentence, voice=self._voice, wpm=self._wpm)

    def provider_info(self) -> dict[str, Any]:
        info = super().provider_info()
        info.update(model="espeak-ng", voice=self._voice, licence="GPL-3.0-or-later (opt-in extra)")
        return info


#: Registered through the ``waav.plugins`` entry point ``tts-espeak``.
PLUGIN = PluginConstructor.tts(PROVIDER, None, EspeakTTS)
