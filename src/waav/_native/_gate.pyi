from typing import Any

def noise_gate(pcm16: Any, threshold: float) -> bytes: ...

class NoiseGate:
    sample_rate: int
    threshold_db: float
    attack_ms: float
    hold_ms: float
    release_ms: float
    def __init__(
        self,
        sample_rate: int,
        threshold_db: float = -40.0,
        attack_ms: float = 1.0,
        hold_ms: float = 50.0,
        release_ms: float = 50.0,
    ) -> None: ...
    def reset(self) -> None: ...
    @property
    def gain(self) -> float: ...
    def process(self, chunk: Any) -> bytes: ...
