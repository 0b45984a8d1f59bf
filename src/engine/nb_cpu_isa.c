/* nb_cpu_isa.c -- pick the row renderer for this CPU (see nb_cpu_isa.h).  libc only. */
#include <stdlib.h>
#include <string.h>

#include "nb_cpu_isa.h"

static const struct nb_cpu_isa isa_generic = {"generic", nb_row_generic, 1};
#if defined(__x86_64__)
static const struct nb_cpu_isa isa_avx2 = {"avx2", nb_row_avx2, 1};
static const struct nb_cpu_isa isa_avx512 = {"avx512", nb_row_avx512, 1};

static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
}

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static const struct nb_cpu_isa *best(void)
{
#if defined(__x86_64__)
    if (has_avx512())
        return &isa_avx512;
    if (has_avx2())
        return &isa_avx2;
#endif
    return &isa_generic;
}

const struct nb_cpu_isa *nb_cpu_isa_select(const char **note)
{
    static struct nb_cpu_isa off;
    const char *want = getenv("NB_SIMD");
    *note = NULL;
    if (!want || !*want)
        return best();
    if (!strcmp(want, "generic"))
        return &isa_generic;
    if (!strcmp(want, "off")) {
        off = isa_generic;
        off.name = "generic, no lanes";
        off.use_lanes = 0;
        return &off;
    }
#if defined(__x86_64__)
    if (!strcmp(want, "avx512") && has_avx512())
        return &isa_avx512;
    if (!strcmp(want, "avx2") && has_avx2())
        return &isa_avx2;
#endif
    *note = "NB_SIMD names an instruction set this CPU or build lacks; using the best one";
    return best();
}
