/* nb_kernel.h -- the GPU back-end's per-thread body and launch geometry, for nvcc and C.
 *
 * One thread per pixel: a band is rendered in chunks of whole rows (nb_chunk_rows); each chunk
 * is one launch of nb_kernel_blocks() blocks of NB_KERNEL_THREADS threads, and thread `tid`
 * of `nthreads` renders the chunk's pixels tid, tid + nthreads, ... (a grid-stride loop), each
 * through nb_pixel() -- the one definition of the physics, the CPU's scalar path.  The thread
 * returns the smallest raster index of its pixels whose accumulator A met the interpolation
 * latch (INT64_MAX: none), which the launch reduces with an atomic minimum.
 *
 * Compiled by nvcc into the CUDA kernel (cuda/nb_cuda.cu) and by the C compiler into the grid
 * emulator (cuda/nb_gpu_emu.c), which runs the very same blocks x threads serially on the CPU:
 * the tests compare its images with the CPU back-end's byte for byte (docs/gpu.md).
 * Includes only nb_physics.h.
 */
#ifndef NB_KERNEL_H
#define NB_KERNEL_H

#include <stdint.h>

#include "nb_physics.h"

#define NB_KERNEL_THREADS 128    /* threads per block                                       */
#define NB_KERNEL_BLOCKS_PER_SM 8 /* resident blocks per SM the grid is sized for           */
#define NB_CHUNKS_PER_BAND 16    /* at most: progress granularity and copy/compute overlap  */
#define NB_CHUNK_MIN_PIXELS (1L << 18) /* at least, so that a launch fills a large GPU      */

/* One launch: rows row0 .. row0 + n_rows - 1 of a detector ncol pixels wide, written from
 * `out_offset` (pixels) on in the band's output buffers.  p_e1: raster index of the run's
 * first execution when this launch holds it, else -1 (nb_pixel's first_is_e1). */
struct nb_launch {
    int row0, n_rows, ncol;
    int64_t p_e1;
    int64_t out_offset;
};

/* Rows per chunk: about n_rows / NB_CHUNKS_PER_BAND, at least min_pixels pixels
 * (NB_CHUNK_MIN_PIXELS on a GPU), at least one row. */
NB_HD static inline int nb_chunk_rows(int n_rows, int ncol, long min_pixels)
{
    int rows = (n_rows + NB_CHUNKS_PER_BAND - 1) / NB_CHUNKS_PER_BAND;
    int min_rows = ncol > 0 ? (int)((min_pixels + ncol - 1) / ncol) : 1;
    if (rows < min_rows)
        rows = min_rows;
    return rows < 1 ? 1 : rows;
}

/* Blocks of a launch over n_pix pixels on a GPU with sm_count multiprocessors: one thread per
 * pixel up to blocks_per_sm (NB_KERNEL_BLOCKS_PER_SM on a GPU) blocks per SM, beyond that the
 * grid-stride loop. */
NB_HD static inline int nb_kernel_blocks(long n_pix, int sm_count, int blocks_per_sm)
{
    long need = (n_pix + NB_KERNEL_THREADS - 1) / NB_KERNEL_THREADS;
    long cap = (long)(sm_count > 0 ? sm_count : 1) * (blocks_per_sm > 0 ? blocks_per_sm : 1);
    long b = need < cap ? need : cap;
    return b < 1 ? 1 : (int)b;
}

/* The body of thread tid of nthreads: renders its pixels of the launch into value (and
 * value_nn with interpolation) at out_offset + i; unrendered pixels (ROI, mask) are 0. */
NB_HD static inline int64_t nb_kernel_thread(const struct nb_kparams *K, const struct nb_launch *L,
                                             long tid, long nthreads, float *value,
                                             float *value_nn)
{
    int64_t trig = INT64_MAX;
    const long n_pix = (long)L->n_rows * L->ncol;
    for (long i = tid; i < n_pix; i += nthreads) {
        const int s = L->row0 + (int)(i / L->ncol), f = (int)(i % L->ncol);
        const int64_t idx = (int64_t)s * L->ncol + f;
        float v = 0.0f, v_nn = 0.0f;
        if (nb_pixel_rendered(K, s, f)) {
            struct nb_pixel_result res;
            nb_pixel(K, s, f, idx == L->p_e1, &res, 0);
            v = res.value;
            v_nn = res.value_nn;
            if (res.trig && idx < trig)
                trig = idx;
        }
        value[L->out_offset + i] = v;
        if (value_nn)
            value_nn[L->out_offset + i] = v_nn;
    }
    return trig;
}

#endif
