/* nb_gpu_emu.c -- the CPU grid emulator: the CUDA runtime of nb_gpu.h played on the host.
 *
 * Selected by $NB_CUDA_EMULATE=<SMs> (one emulated device with that many multiprocessors).
 * "Device" memory is host memory: the scene blob is copied into its own allocation and the
 * band's output buffers are separate from the caller's, copied back chunk by chunk as the
 * CUDA runtime does.  A launch runs nb_kernel_blocks() blocks of NB_KERNEL_THREADS threads
 * one after another, each thread through nb_kernel_thread() with the index the GPU would give
 * it (blockIdx.x * blockDim.x + threadIdx.x, stride gridDim.x * blockDim.x), and the latch
 * index is reduced as the atomic minimum does.  A small SM count makes every thread loop
 * several times.  Every array the kernel parameters point to must lie in the uploaded blob
 * (a pointer left at the host's copy would work here and fault on a GPU).  What this leaves
 * unproven is the CUDA launch and copies themselves.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_gpu.h"

struct nb_gpu_dev {
    void *blob;
    size_t bytes;
    float *d_value, *d_value_nn;
    long cap;
};

static int emu_count(char *why, size_t why_n)
{
    if (nb_gpu_emulate_sms() > 0)
        return 1;
    snprintf(why, why_n, "NB_CUDA_EMULATE is not set");
    return 0;
}

static int emu_props(int dev, char *name, size_t name_n, int *sm_count, size_t *mem_free,
                     size_t *mem_total, char *msg, size_t msg_n)
{
    if (dev != 0 || nb_gpu_emulate_sms() <= 0) {
        snprintf(msg, msg_n, "no emulated device %d", dev);
        return -1;
    }
    *sm_count = nb_gpu_emulate_sms();
    snprintf(name, name_n, "CPU grid emulator (%d SMs)", *sm_count);
    *mem_free = *mem_total = (size_t)1 << 34;
    return 0;
}

static int emu_open(int dev, const void *blob, size_t bytes, struct nb_gpu_dev **g,
                    void **dev_blob, char *msg, size_t msg_n)
{
    (void)dev;
    *g = calloc(1, sizeof **g);
    if (!*g || !((*g)->blob = malloc(bytes))) {
        free(*g);
        *g = NULL;
        snprintf(msg, msg_n, "emulator: out of memory for the scene (%zu bytes)", bytes);
        return -1;
    }
    memcpy((*g)->blob, blob, bytes); /* the upload */
    (*g)->bytes = bytes;
    *dev_blob = (*g)->blob;
    return 0;
}

/* Does p (NULL allowed) point into the device blob? */
static int in_blob(const struct nb_gpu_dev *g, const void *p)
{
    const uintptr_t a = (uintptr_t)p, lo = (uintptr_t)g->blob;
    return !p || (a >= lo && a < lo + g->bytes);
}

static int emu_upload(struct nb_gpu_dev *g, const void *blob, size_t bytes, void **dev_blob,
                      char *msg, size_t msg_n)
{
    /* a new allocation every time: a kernel parameter left pointing at the previous scene's
     * blob then points outside the current one, and the check in emu_render() catches it */
    void *nb = malloc(bytes);
    if (!nb) {
        snprintf(msg, msg_n, "emulator: out of memory for the scene (%zu bytes)", bytes);
        return -1;
    }
    memcpy(nb, blob, bytes);
    free(g->blob);
    g->blob = nb;
    g->bytes = bytes;
    *dev_blob = nb;
    return 0;
}

static int emu_render(struct nb_gpu_dev *g, const struct nb_kparams *Kd,
                      const struct nb_gpu_band *b, float *value, float *value_nn, int64_t *trig,
                      nb_gpu_progress_fn progress, void *ctx, char *msg, size_t msg_n)
{
    const void *arr[6] = {Kd->src, Kd->phi, Kd->lat_first, Kd->lat_rest, Kd->Fhkl, Kd->mask};
    static const char *const names[6] = {"src", "phi", "lat_first", "lat_rest", "Fhkl", "mask"};
    for (int i = 0; i < 6; i++)
        if (!in_blob(g, arr[i])) {
            snprintf(msg, msg_n, "emulator: kernel parameter %s points outside the device blob",
                     names[i]);
            return -1;
        }
    if (b->n_pix > g->cap) {
        free(g->d_value);
        free(g->d_value_nn);
        g->d_value = malloc(sizeof(float) * (size_t)b->n_pix);
        g->d_value_nn = malloc(sizeof(float) * (size_t)b->n_pix);
        g->cap = g->d_value && g->d_value_nn ? b->n_pix : 0;
        if (!g->cap) {
            snprintf(msg, msg_n, "emulator: out of memory for a band of %ld pixels", b->n_pix);
            return -1;
        }
    }
    /* poison the "device" buffers: a pixel no thread writes shows up in the comparison */
    memset(g->d_value, 0xff, sizeof(float) * (size_t)b->n_pix);
    memset(g->d_value_nn, 0xff, sizeof(float) * (size_t)b->n_pix);
    const int sms = nb_gpu_emulate_sms();
    int bps;
    long min_px;
    nb_gpu_launch_shape(&bps, &min_px);
    int64_t t_min = INT64_MAX; /* the device's atomic minimum */
    for (int c = 0; c < b->n_chunks; c++) {
        const struct nb_launch *L = &b->chunks[c];
        const long n_pix = (long)L->n_rows * L->ncol;
        const int blocks = nb_kernel_blocks(n_pix, sms, bps);
        const long nthreads = (long)blocks * NB_KERNEL_THREADS;
        for (int bx = 0; bx < blocks; bx++)
            for (int tx = 0; tx < NB_KERNEL_THREADS; tx++) {
                const long tid = (long)bx * NB_KERNEL_THREADS + tx;
                int64_t t = nb_kernel_thread(Kd, L, tid, nthreads, g->d_value,
                                             b->dual ? g->d_value_nn : NULL);
                if (t < t_min)
                    t_min = t;
            }
        /* the chunk's copy back */
        memcpy(value + L->out_offset, g->d_value + L->out_offset, sizeof(float) * (size_t)n_pix);
        if (b->dual)
            memcpy(value_nn + L->out_offset, g->d_value_nn + L->out_offset,
                   sizeof(float) * (size_t)n_pix);
        if (progress)
            progress(ctx, b->rendered[c]);
    }
    *trig = t_min;
    return 0;
}

static void emu_close(struct nb_gpu_dev *g)
{
    if (!g)
        return;
    free(g->blob);
    free(g->d_value);
    free(g->d_value_nn);
    free(g);
}

const struct nb_gpu_rt nb_gpu_rt_emu = {"CPU grid emulator of the CUDA back-end", emu_count,
                                        emu_props, emu_open, emu_upload, emu_render, emu_close};
