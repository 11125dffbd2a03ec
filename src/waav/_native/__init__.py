"""Native (Cython) kernels of waav.

Nothing here imports from the rest of waav; the public API lives in :mod:`waav.audio`,
which picks these modules or their pure twins (see :mod:`waav._compat`).

How a kernel is built
---------------------
Each kernel is a ``cdef ... noexcept nogil`` loop over typed C pointers. The ``def``
wrapper validates the input and allocates the output with the GIL held, makes one call
(inside ``with nogil`` when the input is large enough to pay for the release), and raises
from the status after the GIL is back.

Inputs are read through the buffer protocol directly (``_buf.pxd``) rather than by
coercing each argument to a typed memoryview slice: on this machine acquiring a memoryview
slice from ``bytes`` costs about 250 ns, more than the whole 20 ms kernel it would feed.
The kernels themselves are the same typed loops either way.
"""
