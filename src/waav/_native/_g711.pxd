# G.711 µ-law / A-law scalar codecs (ITU-T G.711), shared by the PCM kernels.
# Encoders take the sample already shifted to the codec's input width, exactly as
# CPython's audioop does for width 2: µ-law sees s >> 2 (14 bits), A-law s >> 3 (13 bits).
from libc.stdint cimport int16_t, uint8_t


cdef inline uint8_t ulaw_from14(int v) noexcept nogil:
    cdef int mask, seg
    if v < 0:
        v = -v
        mask = 0x7F
    else:
        mask = 0xFF
    if v > 8159:          # clip the magnitude to the largest encodable value
        v = 8159
    v += 33               # bias (0x84 >> 2)
    seg = 0
    while seg < 8 and v >= (0x40 << seg):  # segment end points 0x3F, 0x7F, ... 0x1FFF
        seg += 1
    if seg >= 8:
        return <uint8_t>(0x7F ^ mask)
    return <uint8_t>(((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask)


cdef inline uint8_t alaw_from13(int v) noexcept nogil:
    cdef int mask, seg, aval
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    seg = 0
    while seg < 8 and v >= (0x20 << seg):  # segment end points 0x1F, 0x3F, ... 0xFFF
        seg += 1
    if seg >= 8:
        return <uint8_t>(0x7F ^ mask)
    aval = seg << 4
    if seg < 2:
        aval |= (v >> 1) & 0xF
    else:
        aval |= (v >> seg) & 0xF
    return <uint8_t>(aval ^ mask)


cdef inline int16_t ulaw_to16(uint8_t code) noexcept nogil:
    cdef int u = (~code) & 0xFF
    cdef int t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return <int16_t>((0x84 - t) if (u & 0x80) else (t - 0x84))


cdef inline int16_t alaw_to16(uint8_t code) noexcept nogil:
    cdef int a = code ^ 0x55
    cdef int t = (a & 0x0F) << 4
    cdef int seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return <int16_t>(t if (a & 0x80) else -t)
