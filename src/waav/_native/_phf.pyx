"""Provider-name lookup through the build-time perfect hash (``providers/gen_phf.py``).

``resolve(kind, name)`` maps any catalog name of a plugin kind (canonical id or alias,
any ASCII case) to its canonical id, or returns ``None``. The work happens in C on the
str's own ASCII buffer: lower-case and hash in one pass over at most ``KEYCAP`` bytes,
read one displacement and one slot, compare the stored key. No lower-cased copy of the
name is allocated, which is what ``dict.get(name.lower())`` pays for.

The pure twin is :mod:`waav.plugin._phf_py` (a dict built from the same catalog).
"""

from cpython.unicode cimport PyUnicode_Check, PyUnicode_GET_LENGTH, PyUnicode_DATA
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp

import sys

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)

cdef extern from "_phf_table.h":
    ctypedef struct waav_phf_entry:
        uint8_t kind
        uint8_t len
        uint16_t canon
        char key[1]   # really char[WAAV_PHF_KEYCAP]; only its address is used here
    enum:
        WAAV_PHF_SIZE
        WAAV_PHF_NBUCKETS
        WAAV_PHF_KEYCAP
        WAAV_PHF_MAXLEN
        WAAV_PHF_NKEYS
        WAAV_PHF_NCANON
        WAAV_PHF_NKINDS
    unsigned long long WAAV_PHF_SEED
    const char* WAAV_PHF_CATALOG_SHA256
    const char* const waav_phf_kinds[]
    const uint32_t waav_phf_disp[]
    const uint8_t waav_phf_canon_kind[]
    const char* const waav_phf_canon[]
    const waav_phf_entry waav_phf_slots[]

# Room for the lower-cased name in whole 8-byte words (the generator caps names below this).
DEF BUFWORDS = 8

if WAAV_PHF_KEYCAP > 8 * BUFWORDS:  # pragma: no cover - a catalog with a 64+ character name
    raise ImportError("waav._native._phf: catalog names longer than 63 characters are not supported")

#: Plugin kinds in id order (the same tuple as the generator's KINDS).
KINDS = tuple(sys.intern(waav_phf_kinds[i].decode("ascii")) for i in range(WAAV_PHF_NKINDS))
#: SHA-256 of the providers/catalog.json this table was generated from.
CATALOG_SHA256 = WAAV_PHF_CATALOG_SHA256.decode("ascii")
#: Longest catalog name; longer inputs miss without hashing.
MAX_KEY_LEN = WAAV_PHF_MAXLEN
#: Slots in the table (a power of two) and keys placed in it.
TABLE_SIZE = WAAV_PHF_SIZE
NKEYS = WAAV_PHF_NKEYS

# Canonical ids as interned str objects: a hit returns one of these, no allocation.
cdef tuple _CANON = tuple(sys.intern(waav_phf_canon[i].decode("ascii")) for i in range(WAAV_PHF_NCANON))
cdef dict _KIND_IDS = {k: i for i, k in enumerate(KINDS)}
# Identity fast path: "stt" written in Python source is the same interned object as ours.
cdef object _K0 = KINDS[0]
cdef object _K1 = KINDS[1]
cdef object _K2 = KINDS[2]


cdef inline uint64_t _load_le(const uint8_t* p) noexcept nogil:
    # Byte-wise little-endian load (gcc turns it into one mov on x86); the generator
    # hashes with int.from_bytes(..., "little"), so big-endian hosts agree too.
    return (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16) | (<uint64_t>p[3] << 24)
            | (<uint64_t>p[4] << 32) | (<uint64_t>p[5] << 40) | (<uint64_t>p[6] << 48)
            | (<uint64_t>p[7] << 56))


cdef inline Py_ssize_t _find(int kind, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """Slot index of (kind, ASCII-lower(s[:n])), or -1. ``s`` is ASCII, 0 < n <= MAXLEN."""
    cdef uint64_t words[BUFWORDS]
    cdef uint8_t* buf = <uint8_t*>words
    cdef Py_ssize_t i, nw = (n + 7) >> 3
    cdef uint8_t c
    cdef uint64_t h, f1, f2
    cdef uint32_t d, idx
    words[nw - 1] = 0
    for i in range(n):
        c = s[i]
        buf[i] = c + 32 if <uint8_t>(c - 65) < 26 else c   # ASCII 'A'..'Z' only
    h = WAAV_PHF_SEED ^ (<uint64_t>n * 0x9E3779B97F4A7C15ULL) ^ (<uint64_t>kind << 56)
    for i in range(nw):
        h = (h ^ _load_le(buf + 8 * i)) * 0xFF51AFD7ED558CCDULL
        h ^= h >> 32
    h ^= h >> 29
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 32
    d = waav_phf_disp[(h >> 32) & (WAAV_PHF_NBUCKETS - 1)]
    f1 = h & 0xFFFFFFFFULL
    f2 = (h >> 40) | 1
    idx = <uint32_t>(<uint32_t>f1 + (d >> 16) * <uint32_t>f2 + (d & 0xFFFF)) & (WAAV_PHF_SIZE - 1)
    if (waav_phf_slots[idx].kind == kind and waav_phf_slots[idx].len == n
            and memcmp(waav_phf_slots[idx].key, buf, n) == 0):
        return idx
    return -1


cdef int _kind_id(object kind) except -1:
    if kind is _K0:
        return 0
    if kind is _K1:
        return 1
    if kind is _K2:
        return 2
    k = _KIND_IDS.get(kind)
    if k is None:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(KINDS)}")
    return <int>k


def resolve(kind, name):
    """Canonical id of ``name`` among the catalog's ``kind`` names (ids and aliases), or None.

    ASCII case-insensitive (``"Azure"`` → ``"microsoft-azure"``); surrounding whitespace
    is not trimmed and non-ASCII names never match. ``kind`` is one of :data:`KINDS`.
    """
    cdef int k = _kind_id(kind)
    cdef Py_ssize_t n, idx
    if not PyUnicode_Check(name):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    n = PyUnicode_GET_LENGTH(name)
    if n == 0 or n > WAAV_PHF_MAXLEN or not PyUnicode_IS_ASCII(name):
        return None
    idx = _find(k, <const uint8_t*>PyUnicode_DATA(name), n)
    if idx < 0:
        return None
    return _CANON[waav_phf_slots[idx].canon]


def entries():
    """Every key of the table as ``(kind, name, canonical id)``, in slot order (for tests)."""
    out = []
    for i in range(WAAV_PHF_SIZE):
        if waav_phf_slots[i].kind != 0xFF:
            out.append((KINDS[waav_phf_slots[i].kind],
                        (<bytes>waav_phf_slots[i].key[:waav_phf_slots[i].len]).decode("ascii"),
                        _CANON[waav_phf_slots[i].canon]))
    return out


def canonical_ids(kind):
    """The canonical ids of one kind, in catalog order."""
    cdef int k = _kind_id(kind)
    return [_CANON[i] for i in range(WAAV_PHF_NCANON) if waav_phf_canon_kind[i] == k]
