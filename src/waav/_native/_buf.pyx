"""Buffer acquisition and input validation shared by the native kernels."""

from cpython.buffer cimport (
    PyObject_GetBuffer, PyBuffer_Release, PyBUF_C_CONTIGUOUS, PyBUF_FORMAT,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AsDouble

cdef object _FormatError = ValueError


def set_error_type(cls):
    """Make every native validation error an instance of ``cls`` (a ValueError subclass)."""
    global _FormatError
    if not (isinstance(cls, type) and issubclass(cls, ValueError)):
        raise TypeError("error type must be a ValueError subclass")
    _FormatError = cls


def get_error_type():
    """Return the exception type native validation errors are raised as."""
    return _FormatError


cdef object format_error(str message):
    return _FormatError(message)


cdef inline BufKind _kind_of(const char* fmt) noexcept:
    # Formats per PEP 3118 / struct. '@', '=' and '<' mean little endian on the hosts
    # waav supports; '>' and '!' (big endian) are rejected as OTHER.
    if fmt == NULL:
        return KIND_RAW
    if fmt[0] == b'@' or fmt[0] == b'=' or fmt[0] == b'<':
        fmt += 1
    if fmt[0] == 0 or fmt[1] != 0:
        return KIND_OTHER
    if fmt[0] == b'B' or fmt[0] == b'b' or fmt[0] == b'c':
        return KIND_RAW
    if fmt[0] == b'h':
        return KIND_I16
    if fmt[0] == b'f':
        return KIND_F32
    if fmt[0] == b'd':
        return KIND_F64
    return KIND_OTHER


cdef str _describe(object obj, InBuf* buf):
    dtype = getattr(obj, "dtype", None)
    if dtype is not None:
        return f"dtype {dtype}"
    fmt = buf.view.format.decode("ascii", "replace") if buf.view.format != NULL else "B"
    return f"buffer format {fmt!r}"


cdef int acquire(object obj, InBuf* buf, str what) except -1:
    """Acquire a C-contiguous read view of ``obj`` (bytes are read in place)."""
    buf.owned = False
    if type(obj) is bytes:
        # Fast path: immutable bytes need no buffer export.
        buf.ptr = PyBytes_AS_STRING(obj)
        buf.nbytes = PyBytes_GET_SIZE(obj)
        buf.kind = KIND_RAW
        return 0
    try:
        PyObject_GetBuffer(obj, &buf.view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    except (BufferError, ValueError):
        # numpy raises ValueError ("ndarray is not C-contiguous"), others BufferError
        raise format_error(
            f"{what} is not a C-contiguous buffer; pass numpy.ascontiguousarray(x) or bytes(x)"
        ) from None
    except TypeError:
        raise format_error(
            f"{what} must be a bytes-like object or a numpy array, got {type(obj).__name__}"
        ) from None
    buf.owned = True
    buf.ptr = <const char*>buf.view.buf
    buf.nbytes = buf.view.len
    buf.kind = _kind_of(buf.view.format)
    return 0


cdef void release(InBuf* buf) noexcept:
    if buf.owned:
        PyBuffer_Release(&buf.view)
        buf.owned = False


cdef int acquire_int16(object obj, InBuf* buf, Py_ssize_t* n, str what) except -1:
    """Acquire int16 PCM: raw bytes (even length) or an int16 array."""
    acquire(obj, buf, what)
    if buf.kind != KIND_RAW and buf.kind != KIND_I16:
        msg = f"{what} must be int16 samples or raw bytes, got {_describe(obj, buf)}"
        release(buf)
        raise format_error(msg)
    if buf.nbytes & 1:
        msg = f"{what} has an odd byte count ({buf.nbytes}); int16 samples are 2 bytes each"
        release(buf)
        raise format_error(msg)
    n[0] = buf.nbytes >> 1
    return 0


cdef int acquire_raw(object obj, InBuf* buf, str what) except -1:
    """Acquire a byte stream (e.g. G.711 codes): 1-byte items only."""
    acquire(obj, buf, what)
    if buf.kind != KIND_RAW:
        msg = f"{what} must be raw bytes (1-byte codes), got {_describe(obj, buf)}"
        release(buf)
        raise format_error(msg)
    return 0


cdef int acquire_float(object obj, InBuf* buf, Py_ssize_t* n, str what) except -1:
    """Acquire float samples: float32/float64 arrays, or raw bytes read as float32."""
    acquire(obj, buf, what)
    if buf.kind == KIND_RAW:
        if buf.nbytes & 3:
            msg = (f"{what} has {buf.nbytes} bytes, not a multiple of 4; "
                   "raw bytes are read as float32 samples")
            release(buf)
            raise format_error(msg)
        buf.kind = KIND_F32
        n[0] = buf.nbytes >> 2
    elif buf.kind == KIND_F32:
        n[0] = buf.nbytes >> 2
    elif buf.kind == KIND_F64:
        n[0] = buf.nbytes >> 3
    else:
        msg = f"{what} must be float32 or float64 samples, got {_describe(obj, buf)}"
        release(buf)
        raise format_error(msg)
    return 0


cdef double as_double(object value, str name) except? -1.5:
    """float(value) for real numbers (float, int, numpy scalars); strings are refused."""
    try:
        return PyFloat_AsDouble(value)
    except TypeError:
        raise format_error(f"{name} must be a real number, got {type(value).__name__}") from None
