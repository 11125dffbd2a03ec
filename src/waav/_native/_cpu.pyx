"""CPU feature detection, compiled for the baseline ISA so it imports everywhere.

:mod:`waav._compat` asks :func:`isa_levels` which builds of a native module this CPU can
run (the hot modules are compiled once per x86-64 micro-architecture level).
"""

cdef extern from *:
    """
    #if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    static int waav_has_v3(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
            && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("avx");
    }
    static int waav_has_v4(void) {
        __builtin_cpu_init();
        return waav_has_v3() && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }
    #else
    static int waav_has_v3(void) { return 0; }
    static int waav_has_v4(void) { return 0; }
    #endif
    """
    int waav_has_v3() noexcept nogil
    int waav_has_v4() noexcept nogil


def isa_levels():
    """Return the ISA build tags this CPU runs, best first, always ending with ``""`` (baseline)."""
    levels = []
    if waav_has_v4():
        levels.append("v4")
    if waav_has_v3():
        levels.append("v3")
    levels.append("")
    return tuple(levels)
