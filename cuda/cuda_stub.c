/* cuda_stub.c -- twin of nb_cuda.cu for builds without CUDA: the runtime finds no device. */
#include <stdio.h>

#include "nb_gpu.h"

static int stub_count(char *why, size_t why_n)
{
    snprintf(why, why_n, "this build has no CUDA (NB_WITH_CUDA=OFF or no nvcc)");
    return 0;
}

static int stub_props(int dev, char *name, size_t name_n, int *sm_count, size_t *mem_free,
                      size_t *mem_total, char *msg, size_t msg_n)
{
    (void)dev, (void)name, (void)name_n, (void)sm_count, (void)mem_free, (void)mem_total;
    return stub_count(msg, msg_n), -1;
}

static int stub_open(int dev, const void *blob, size_t bytes, struct nb_gpu_dev **g,
                     void **dev_blob, char *msg, size_t msg_n)
{
    (void)dev, (void)blob, (void)bytes, (void)dev_blob;
    *g = NULL;
    return stub_count(msg, msg_n), -1;
}

static int stub_upload(struct nb_gpu_dev *g, const void *blob, size_t bytes, void **dev_blob,
                       char *msg, size_t msg_n)
{
    (void)g, (void)blob, (void)bytes, (void)dev_blob;
    return stub_count(msg, msg_n), -1;
}

static int stub_render(struct nb_gpu_dev *g, const struct nb_kparams *Kd,
                       const struct nb_gpu_band *b, float *value, float *value_nn, int64_t *trig,
                       nb_gpu_progress_fn progress, void *ctx, char *msg, size_t msg_n)
{
    (void)g, (void)Kd, (void)b, (void)value, (void)value_nn, (void)trig, (void)progress, (void)ctx;
    return stub_count(msg, msg_n), -1;
}

static void stub_close(struct nb_gpu_dev *g)
{
    (void)g;
}

const struct nb_gpu_rt nb_gpu_rt_cuda = {"CUDA not built", stub_count, stub_props, stub_open,
                                         stub_upload, stub_render, stub_close};
