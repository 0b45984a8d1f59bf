/* nb_backend.h -- what a renderer provides; the program calls only this.
 *
 * A back-end renders a band of rows of a resolved scene into caller-owned buffers, given the
 * band's incoming carry token.  Implementations: the CPU back-end (nb_render_cpu.c: one OpenMP
 * region per band, rows handed out dynamically, SIMD lanes per row from nb_cpu_isa.h) and the CUDA back-end (cuda/, a stub returning NB_E_NOT_BUILT when compiled out).
 */
#ifndef NB_BACKEND_H
#define NB_BACKEND_H

#include "../util/nb_status.h"
#include "nb_band.h"
#include "nb_carry.h"
#include "nb_scene.h"

#define NB_CAP_DOUBLE 1u
#define NB_CAP_FLOAT 2u

/* What a band render produces.  Buffers are allocated by the caller with n_rows*n_cols
 * entries (value, value_nn) and n_rows entries (row_omega). */
struct nb_band_out {
    float *value;        /* the image (accumulator A when interpolation is on)           */
    float *value_nn;     /* NULL unless sc->k.interpolate: accumulator B per pixel       */
    double *row_omega;   /* per row: running sum of the solid angle over its subpaths    */
    int64_t first_exec;  /* raster index of the band's first execution, -1 none          */
    int64_t last_exec;   /* and of its last                                              */
    int64_t trig_index;  /* first pixel of the band whose A met the latch, -1 none       */
    double trig_hkl[3];  /* that term's fractional indices                               */
    int trig_hkl0[3];    /* and rounded indices                                          */
};

/* Progress of a band render: pixels_done(ctx, n) is called on the calling thread only (the
 * master thread of the back-end's threads), with the number of rendered pixels (ROI and mask)
 * in the rows finished since its last call; the counts add up to the band's.  NULL: none. */
struct nb_progress {
    void (*pixels_done)(void *ctx, long n);
    void *ctx;
};

struct nb_backend_ops {
    const char *name; /* "cpu", "cuda" */
    unsigned caps;    /* NB_CAP_* */
    nb_status (*create)(const struct nb_scene *sc, void **state, struct nb_err *err);
    nb_status (*render_band)(void *state, const struct nb_band *band, const struct nb_carry *in,
                             struct nb_band_out *out, const struct nb_progress *progress,
                             struct nb_err *err);
    void (*destroy)(void *state); /* NULL-safe */
};

extern const struct nb_backend_ops nb_backend_cpu;

/* The CPU back-end's instruction set for this process ("avx512", "avx2", "generic"; $NB_SIMD
 * may choose), for the NOTE line and the HDF5 provenance. */
const char *nb_cpu_kernel_name(void);

/* After the global latch index p* is known (-1: never), replace A by B for every pixel of the
 * band after p* (carryover.md §4.2 step 3).  No-op without interpolation. */
void nb_latch_select(const struct nb_scene *sc, const struct nb_band *b, int64_t p_star,
                     struct nb_band_out *out);

#endif
