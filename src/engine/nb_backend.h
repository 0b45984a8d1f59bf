/* nb_backend.h -- what a renderer provides; the program calls only this.
 *
 * A back-end renders a band of rows of a resolved scene into caller-owned buffers.  The
 * contract is narrow so that a GPU can meet it without serial bookkeeping: the band, the
 * raster index of the run's first execution E1 when it lies in this band (the caller's
 * pre-pass and carry hand-off decide it, spec/carryover.md §4.1), and the scene in; the
 * image(s) and the band's first latch index out.  The console's solid-angle sum
 * (nb_band_omega) and the latching term's indices (nb_latch_term) are recomputed by the host.
 *
 * Implementations: the CPU back-end (nb_render_cpu.c: one OpenMP region per band, rows handed
 * out dynamically, SIMD lanes per row from nb_cpu_isa.h) and the CUDA back-end (cuda/: one
 * thread per pixel with a grid-stride loop over row chunks, or its CPU grid emulator;
 * docs/gpu.md).  The program picks one in one place (src/run/nb_device.c).
 */
#ifndef NB_BACKEND_H
#define NB_BACKEND_H

#include <stdint.h>

#include "../util/nb_status.h"
#include "nb_band.h"
#include "nb_scene.h"

/* Capabilities (struct nb_backend_ops.caps). */
#define NB_CAP_DOUBLE 1u     /* --precision=double                                        */
#define NB_CAP_SINGLE 2u     /* --precision=single                                        */
#define NB_CAP_GLIBC 4u      /* --math=exact is glibc's libm, bit-identical to the reference */
#define NB_CAP_PROGRESS 8u   /* reports progress while a band renders (else at its end)    */

/* What a band render produces.  Buffers are allocated by the caller with
 * band->n_rows * band->n_cols entries each. */
struct nb_band_out {
    float *value;       /* the image (accumulator A when interpolation is on)            */
    float *value_nn;    /* NULL unless sc->k.interpolate: accumulator B per pixel        */
    int64_t trig_index; /* out: first pixel of the band whose A met the latch, -1 none   */
};

/* Progress of a band render: pixels_done(ctx, n) is called on the calling thread only, with
 * the number of rendered pixels (ROI and mask) in the rows finished since its last call; the
 * counts add up to the band's.  NULL: none. */
struct nb_progress {
    void (*pixels_done)(void *ctx, long n);
    void *ctx;
};

struct nb_backend_ops {
    const char *name; /* "cpu", "cuda" */
    unsigned caps;    /* NB_CAP_* */
    /* Everything a band render reads is taken (uploaded) here, once per scene. */
    nb_status (*create)(const struct nb_scene *sc, void **state, struct nb_err *err);
    /* p_e1: raster index of the run's first execution if this band holds it, else -1. */
    nb_status (*render_band)(void *state, const struct nb_band *band, int64_t p_e1,
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

/* Host bookkeeping that back-ends do not carry:
 * nb_band_omega: per row of the band, the sum over its rendered pixels (in raster order) of
 * each pixel's solid angles over its subpaths, as the reference accumulates it for the
 * console line (OpenMP over rows; row_omega has band->n_rows entries).
 * nb_latch_term: re-render pixel p_star (p1: the run's first execution) on the CPU and return
 * the first out-of-range interpolation term's fractional and rounded indices. */
void nb_band_omega(const struct nb_scene *sc, const struct nb_band *b, double *row_omega);
void nb_latch_term(const struct nb_scene *sc, int64_t p_star, int64_t p1, double hkl[3],
                   int hkl0[3]);

#endif
