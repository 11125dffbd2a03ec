from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

FRAME_MS: tuple[int, ...]
WEBRTC_RATES: tuple[int, ...]
CLASSIFIERS: tuple[str, ...]

def set_factories(
    resampler: Any = None, resample: Any = None, silero: Callable[[int, int], Any] | None = None
) -> None: ...
def sum_of_squares(pcm16: Any) -> int: ...
def classifier_rate(classifier: str, sample_rate: int) -> int: ...
def frame_decisions(
    pcm16: Any, sample_rate: int, frame_ms: int = 20, mode: int = 2
) -> npt.NDArray[np.bool_]: ...

class VadEvent:
    @property
    def kind(self) -> str: ...
    @property
    def time(self) -> float: ...
    @property
    def audio(self) -> bytes | None: ...
    @property
    def start(self) -> float | None: ...
    @property
    def end(self) -> float | None: ...
    def __init__(
        self,
        kind: str,
        time: float,
        audio: bytes | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None: ...
    def _key(self) -> tuple[str, float, bytes | None, float | None, float | None]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

class VadSegmenter:
    sample_rate: int
    frame_ms: int
    classifier: str
    mode: int
    pre_roll_ms: float
    hangover_ms: float
    min_speech_ms: float
    max_utterance_s: float
    classifier_rate: int
    def __init__(
        self,
        sample_rate: int,
        frame_ms: int = 20,
        classifier: str = "webrtc",
        mode: int = 2,
        pre_roll_ms: float = 300,
        hangover_ms: float = 300,
        min_speech_ms: float = 100,
        max_utterance_s: float | None = 30.0,
    ) -> None: ...
    def reset(self) -> None: ...
    def process(self, chunk: Any) -> list[VadEvent]: ...
    def flush(self) -> list[VadEvent]: ...
    @property
    def quiet_ms(self) -> float: ...
    @property
    def speech_end(self) -> float | None: ...
