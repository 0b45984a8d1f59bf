/* nb_gpu.h -- the GPU back-end's host driver and the two runtimes under it (C types only).
 *
 * nb_gpu_backend.c implements struct nb_backend_ops for --device=cuda: it packs the scene's
 * arrays into one blob, uploads it once, points a copy of the kernel parameters at the
 * device copy, plans the chunks of each band (nb_kernel.h) and hands them to a runtime:
 *   nb_cuda.cu    the CUDA runtime API (cudaMalloc, two streams, pinned staging buffers);
 *                 cuda_stub.c is its twin in builds without CUDA (every call: not built);
 *   nb_gpu_emu.c  the CPU grid emulator ($NB_CUDA_EMULATE=<SMs>): "device" memory is host
 *                 memory and a launch runs every block and thread serially (docs/gpu.md).
 * Never the driver API, never -lcuda.
 */
#ifndef NB_GPU_H
#define NB_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "../src/engine/nb_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nb_gpu_dev; /* a runtime's per-process state on one device */

/* Progress callback of a render: rendered pixels of the chunks finished since the last call. */
typedef void (*nb_gpu_progress_fn)(void *ctx, long n);

/* One band: chunks[n_chunks] launches in order, covering the band's rows; the output buffers
 * hold n_pix pixels (value, and value_nn when `dual`); rendered[c] is the number of rendered
 * pixels of chunk c, for the progress callback. */
struct nb_gpu_band {
    const struct nb_launch *chunks;
    const long *rendered;
    int n_chunks;
    long n_pix;
    int dual;
};

/* A runtime.  Every call returns 0 or -1 with a one-line message in msg (msg_n bytes). */
struct nb_gpu_rt {
    const char *name;
    /* Devices this runtime can use (0: none; why says why). */
    int (*count)(char *why, size_t why_n);
    /* Name and multiprocessor count of device dev, free and total memory in bytes. */
    int (*props)(int dev, char *name, size_t name_n, int *sm_count, size_t *mem_free,
                 size_t *mem_total, char *msg, size_t msg_n);
    /* Open device dev and copy the blob (bytes) there; *dev_blob: its device address. */
    int (*open)(int dev, const void *blob, size_t bytes, struct nb_gpu_dev **g, void **dev_blob,
                char *msg, size_t msg_n);
    /* Replace an open device's blob by another scene's (the device, its streams and buffers
     * stay: a series uploads only each frame's scene); *dev_blob: its (new) address. */
    int (*upload)(struct nb_gpu_dev *g, const void *blob, size_t bytes, void **dev_blob,
                  char *msg, size_t msg_n);
    /* Render a band with the kernel parameters Kd (pointers into the device blob); results in
     * value / value_nn (host, n_pix each) and *trig (INT64_MAX: no latch). */
    int (*render)(struct nb_gpu_dev *g, const struct nb_kparams *Kd, const struct nb_gpu_band *b,
                  float *value, float *value_nn, int64_t *trig, nb_gpu_progress_fn progress,
                  void *ctx, char *msg, size_t msg_n);
    void (*close)(struct nb_gpu_dev *g); /* NULL-safe */
};

extern const struct nb_gpu_rt nb_gpu_rt_cuda; /* nb_cuda.cu, or cuda_stub.c */
extern const struct nb_gpu_rt nb_gpu_rt_emu;  /* nb_gpu_emu.c                */

/* $NB_CUDA_EMULATE = "SMs[:blocks per SM[:chunk min pixels]]": the emulator stands in for
 * CUDA with that many multiprocessors (> 0; 0: not emulating).  The two optional fields
 * shrink the grid and the chunks so that tiny test images still loop in the grid-stride loop
 * and span several chunks. */
int nb_gpu_emulate_sms(void);
/* The launch shape: blocks per SM and the chunks' minimum pixels (the GPU's constants, or the
 * emulator's overrides). */
void nb_gpu_launch_shape(int *blocks_per_sm, long *chunk_min_pixels);
/* The runtime --device=cuda uses in this process (the emulator when $NB_CUDA_EMULATE is set). */
const struct nb_gpu_rt *nb_gpu_runtime(void);
/* The device index this process renders on (nb_device.c sets it; default 0). */
void nb_gpu_set_device(int dev);
int nb_gpu_device(void);
/* Close the device state kept across renders (the end of the process; NULL-safe). */
void nb_gpu_release(void);

#ifdef __cplusplus
}
#endif

#endif
