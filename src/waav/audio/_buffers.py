"""Input validation for the pure twins: the same checks, in the same order, as ``_native/_buf``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from waav._exceptions import AudioFormatError

__all__ = ["as_float", "as_int16", "as_raw", "as_real"]

_RAW = {"B", "b", "c"}
_LITTLE = {"@", "=", "<"}


def _format(view: memoryview) -> str:
    fmt = view.format
    if fmt[:1] in _LITTLE:
        fmt = fmt[1:]
    return fmt


def _describe(obj: Any, view: memoryview) -> str:
    dtype = getattr(obj, "dtype", None)
    if dtype is not None:
        return f"dtype {dtype}"
    return f"buffer format {view.format!r}"


def _view(obj: Any, what: str) -> memoryview:
    if isinstance(obj, bytes):
        return memoryview(obj)
    try:
        view = memoryview(obj)
    except TypeError:
        raise AudioFormatError(
            f"{what} must be a bytes-like object or a numpy array, got {type(obj).__name__}"
        ) from None
    if not view.c_contiguous:
        raise AudioFormatError(
            f"{what} is not a C-contiguous buffer; pass numpy.ascontiguousarray(x) or bytes(x)"
        )
    return view


def as_int16(obj: Any, what: str) -> npt.NDArray[np.int16]:
    """View int16 PCM (raw bytes of even length, or an int16 array) as a 1-D int16 array."""
    view = _view(obj, what)
    fmt = _format(view)
    if fmt not in _RAW and fmt != "h":
        raise AudioFormatError(f"{what} must be int16 samples or raw bytes, got {_describe(obj, view)}")
    if view.nbytes % 2:
        raise AudioFormatError(
            f"{what} has an odd byte count ({view.nbytes}); int16 samples are 2 bytes each"
        )
    return np.frombuffer(view.cast("B"), dtype="<i2")


def as_raw(obj: Any, what: str) -> npt.NDArray[np.uint8]:
    """View a byte stream (1-byte items only) as a uint8 array."""
    view = _view(obj, what)
    if _format(view) not in _RAW:
        raise AudioFormatError(f"{what} must be raw bytes (1-byte codes), got {_describe(obj, view)}")
    return np.frombuffer(view.cast("B"), dtype=np.uint8)


def as_float(obj: Any, what: str) -> npt.NDArray[np.float32] | npt.NDArray[np.float64]:
    """View float samples: float32/float64 arrays, or raw bytes read as float32."""
    view = _view(obj, what)
    fmt = _format(view)
    raw = view.cast("B")
    if fmt in _RAW:
        if view.nbytes % 4:
            raise AudioFormatError(
                f"{what} has {view.nbytes} bytes, not a multiple of 4; raw bytes are read as float32 samples"
            )
        return np.frombuffer(raw, dtype="<f4")
    if fmt == "f":
        return np.frombuffer(raw, dtype="<f4")
    if fmt == "d":
        return np.frombuffer(raw, dtype="<f8")
    raise AudioFormatError(f"{what} must be float32 or float64 samples, got {_describe(obj, view)}")


def as_real(value: Any, name: str) -> float:
    """``float(value)`` for real numbers (float, int, numpy scalars); strings are refused."""
    if isinstance(value, (str, bytes, bytearray)):
        raise AudioFormatError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        return float(value)
    except TypeError:
        raise AudioFormatError(f"{name} must be a real number, got {type(value).__name__}") from None
