"""Voice activity detection: per-frame decisions and a streaming utterance segmenter.

* :func:`frame_decisions` — webrtcvad decisions for a whole buffer, frame by frame
  identical to a Python loop over ``webrtcvad.Vad(mode).is_speech``.
* :class:`VadSegmenter` — turns network chunks of any size into exact frames, classifies
  them (``"webrtc"``, ``"energy"`` or ``"silero"``) and emits :class:`VadEvent` s:
  ``"start"`` when speech begins and ``"end"`` with the utterance audio (pre-roll
  included). Input at rates the classifier does not take is resampled natively for
  classification; the emitted audio stays at the input rate.

Native (``waav._native._vad``) unless ``WAAV_NO_EXTENSIONS=1``; the pure twin
:mod:`waav.audio._vad_py` is the specification of the framing and timing rules.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import numpy.typing as npt

from waav._compat import load_native
from waav.audio import _silero, _vad_py
from waav.audio.resample import Resampler, resample

__all__ = ["CLASSIFIERS", "IMPLEMENTATION", "VadEvent", "VadSegmenter", "frame_decisions"]

_impl: ModuleType = load_native("_vad") or _vad_py

#: The module the names below come from (a native build or the pure twin).
IMPLEMENTATION: str = _impl.__name__

#: Classifier names accepted by :class:`VadSegmenter`.
CLASSIFIERS: tuple[str, ...] = _vad_py.CLASSIFIERS


def _install_factories(module: ModuleType) -> None:
    """Hand a VAD module the resampler and the Silero factory (native code imports no waav)."""
    module.set_factories(resampler=Resampler, resample=resample, silero=_silero.make_classifier)


for _module in {_impl, _vad_py}:
    _install_factories(_module)

# the twin's classes document the interface (the native ones behave the same)
VadEvent: type[_vad_py.VadEvent] = _impl.VadEvent
VadSegmenter: type[_vad_py.VadSegmenter] = _impl.VadSegmenter
frame_decisions: Callable[..., npt.NDArray[np.bool_]] = _impl.frame_decisions
