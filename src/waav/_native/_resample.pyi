from typing import Any

MAX_RATE: int
MAX_CHANNELS: int
MAX_TAPS: int
EXACT_TABLE_MAX: int
SEQ_MAX_L: int
SEQ_MAX_M: int
CASCADE_RATIO: float
HALFBAND_DB: dict[str, float]
QUALITIES: dict[str, tuple[float, float, float, int]]

class Resampler:
    in_rate: int
    out_rate: int
    channels: int
    dtype: str
    quality: str
    def __init__(
        self,
        in_rate: int,
        out_rate: int,
        channels: int = 1,
        dtype: str = "int16",
        quality: str = "hq",
    ) -> None: ...
    @property
    def delay(self) -> float: ...
    def reset(self) -> None: ...
    def process(self, chunk: Any, last: bool = False) -> Any: ...
    def flush(self) -> Any: ...

def resample(data: Any, in_rate: int, out_rate: int, channels: int = 1, quality: str = "hq") -> Any: ...
