/* nb_cpu_isa.h -- the CPU back-end's row renderers, one per instruction set, and the choice
 * among them (nb_cpu_isa.c).
 *
 * nb_row_<isa>() renders one detector row exactly as nb_pixel() would, pixel by pixel: blocks of
 * consecutive pixels go through SIMD lanes (nb_lanes.h) when the mode allows, the rest through
 * nb_pixel() itself.  The files differ only in compiler target flags; their images are
 * identical (tests/unit/test_lanes.c).  The pick: the widest set this CPU runs, or $NB_SIMD
 * (avx512, avx2, generic; "off" renders every pixel through nb_pixel()).
 */
#ifndef NB_CPU_ISA_H
#define NB_CPU_ISA_H

#include <stdint.h>

#include "nb_physics.h"


/* Render row s into value[0..fpixels) (and value_nn with interpolation); p_e1: raster index
 * of the run's first execution when this band starts UNROTATED, else -1.  use_lanes = 0 sends
 * every pixel through nb_pixel().  *trig_index: the row's first pixel whose accumulator A met
 * the interpolation latch (raster index), -1 none. */
typedef void (*nb_row_fn)(const struct nb_kparams *K, int s, int64_t p_e1, int use_lanes,
                          float *value, float *value_nn, int64_t *trig_index);

struct nb_cpu_isa {
    const char *name; /* "avx512", "avx2", "generic" */
    nb_row_fn row;
    int use_lanes;    /* 0 with NB_SIMD=off */
};

/* Pixels per block of lanes, double (--math=fast) and single precision: one 512-bit register
 * of doubles, one of floats (GCC 12 leaves a 16-wide double loop scalar). */
#define NB_LANES_D 8
#define NB_LANES_S 16

/* The lane kernel for this mode: NB_LANES_DOUBLE, NB_LANES_SINGLE, or 0 when the mode needs
 * nb_pixel(): --math=exact (libm sines are scalar), interpolation (the latch is a per-term
 * state across pixels' terms), --factors=per-term. */
enum { NB_LANES_NONE = 0, NB_LANES_DOUBLE, NB_LANES_SINGLE };
static inline int nb_lanes_eligible(const struct nb_kparams *K)
{
    if (K->interpolate || K->factors_per_term)
        return NB_LANES_NONE;
    if (K->single)
        return NB_LANES_SINGLE;
    return K->math_fast ? NB_LANES_DOUBLE : NB_LANES_NONE;
}

/* The renderer for this CPU (honours $NB_SIMD; an unknown or unsupported name falls back to
 * the best supported one and says so in *note, a static string, else NULL). */
const struct nb_cpu_isa *nb_cpu_isa_select(const char **note);

void nb_row_generic(const struct nb_kparams *K, int s, int64_t p_e1, int use_lanes,
                    float *value, float *value_nn, int64_t *trig_index);
#if defined(__x86_64__)
void nb_row_avx2(const struct nb_kparams *K, int s, int64_t p_e1, int use_lanes, float *value,
                 float *value_nn, int64_t *trig_index);
void nb_row_avx512(const struct nb_kparams *K, int s, int64_t p_e1, int use_lanes,
                   float *value, float *value_nn, int64_t *trig_index);
#endif

#endif
