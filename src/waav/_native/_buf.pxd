# Shared buffer acquisition for every native module (cimported, called through a C pointer).
from cpython.buffer cimport Py_buffer

cdef enum BufKind:
    KIND_RAW = 1      # bytes-like of 1-byte items (bytes, bytearray, uint8/int8 arrays)
    KIND_I16 = 2      # int16, native/little endian
    KIND_F32 = 3      # float32
    KIND_F64 = 4      # float64
    KIND_OTHER = 5

cdef struct InBuf:
    const char* ptr
    Py_ssize_t nbytes
    BufKind kind
    bint owned            # view must be released
    Py_buffer view

# Python-level error type handed in by waav.audio (defaults to ValueError).
cdef object format_error(str message)

cdef int acquire(object obj, InBuf* buf, str what) except -1
cdef void release(InBuf* buf) noexcept
cdef int acquire_int16(object obj, InBuf* buf, Py_ssize_t* n, str what) except -1
cdef int acquire_raw(object obj, InBuf* buf, str what) except -1
cdef int acquire_float(object obj, InBuf* buf, Py_ssize_t* n, str what) except -1
cdef double as_double(object value, str name) except? -1.5

# Work (in samples) above which a kernel releases the GIL. Below it, the release and
# re-acquire cost more than the loop, and two threads would run slower than one.
cdef enum:
    NOGIL_MIN_SAMPLES = 4096
