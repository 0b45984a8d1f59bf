/* nb_lanes.h -- the CPU hot loop of one instruction set: rows of pixels, NB_LW at a time.
 *
 * Included by nb_lanes_avx512.c, nb_lanes_avx2.c and nb_lanes_generic.c, each compiled with
 * its own target flags and NB_ISA set to its name; each defines nb_row_<isa>() (nb_cpu_isa.h).
 * The physics is nb_physics.h's; this file only arranges it in lanes (nb_lanes_block.h) and
 * falls back to nb_pixel() for what lanes do not cover.  Every lane computes the scalar
 * sequence of nb_pixel(), so the image does not depend on which file was picked.
 * libc/libm only; host only.
 */
#include <stddef.h>
#include <stdint.h>

#include "nb_cpu_isa.h"

#define NB_CAT2(a, b) a##_##b
#define NB_CAT(a, b) NB_CAT2(a, b)

/* double precision, --math=fast */
#define NB_LW NB_LANES_D
#define NB_LBLOCK NB_CAT(block_d, NB_ISA)
#define NB_LTERM NB_CAT(term_d, NB_ISA)
#define NB_LLATT(h, k, l, Na, Nb, Nc) nb_latt_det((h), (k), (l), (Na), (Nb), (Nc), 1, 1, 1)
#include "nb_lanes_block.h"
#undef NB_LW
#undef NB_LBLOCK
#undef NB_LTERM
#undef NB_LLATT

/* --precision=single (16 float sines fill a 512-bit register) */
#define NB_LW NB_LANES_S
#define NB_LBLOCK NB_CAT(block_s, NB_ISA)
#define NB_LTERM NB_CAT(term_s, NB_ISA)
#define NB_LLATT(h, k, l, Na, Nb, Nc) nb_latt_single((h), (k), (l), (Na), (Nb), (Nc), 1, 1, 1)
#include "nb_lanes_block.h"
#undef NB_LW
#undef NB_LBLOCK
#undef NB_LTERM
#undef NB_LLATT

void NB_CAT(nb_row, NB_ISA)(const struct nb_kparams *K, int s, int64_t p_e1, int use_lanes,
                            float *value, float *value_nn, int64_t *trig_index)
{
    const int ncol = K->fpixels;
    const int kind = use_lanes ? nb_lanes_eligible(K) : NB_LANES_NONE;
    const int lanes = kind == NB_LANES_SINGLE ? NB_LANES_S : NB_LANES_D;
    *trig_index = -1;
    for (int f0 = 0; f0 < ncol;) {
        const int64_t idx0 = (int64_t)s * ncol + f0;
        if (kind != NB_LANES_NONE) {
            const int nl = ncol - f0 < lanes ? ncol - f0 : lanes;
            if (!(p_e1 >= idx0 && p_e1 < idx0 + nl)) {
                if (kind == NB_LANES_SINGLE)
                    NB_CAT(block_s, NB_ISA)(K, s, f0, nl, value + f0);
                else
                    NB_CAT(block_d, NB_ISA)(K, s, f0, nl, value + f0);
                f0 += nl;
                continue;
            }
        }
        /* one pixel as nb_pixel() renders it (all modes; E1's block) */
        const int f = f0++;
        value[f] = 0.0f;
        if (value_nn)
            value_nn[f] = 0.0f;
        if (!nb_pixel_rendered(K, s, f))
            continue;
        struct nb_pixel_result res;
        nb_pixel(K, s, f, idx0 == p_e1, &res, NULL);
        value[f] = res.value;
        if (value_nn)
            value_nn[f] = res.value_nn;
        if (res.trig && *trig_index < 0)
            *trig_index = idx0;
    }
}
