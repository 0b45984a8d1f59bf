// nb_cuda.cu -- the CUDA runtime of the GPU back-end (nb_gpu.h): device memory, the kernel,
// two streams.  Runtime API only (the binary starts without a driver; never -lcuda).
//
// A band is rendered chunk by chunk (nb_kernel.h): chunk c is launched on stream c % 2 and
// copied back on the same stream into a pinned staging buffer, so the copy of one chunk
// overlaps the kernel of the next; the host waits for the chunks in order, moves each into
// the caller's buffer and reports its pixels to the progress meter.  The latch index is an
// atomic minimum in device memory.  Memory is checked (cudaMemGetInfo) before every
// allocation: too little is an error message, not a crash.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "nb_gpu.h"

// One thread per pixel with a grid-stride loop; the body is nb_kernel_thread(), shared with
// the CPU grid emulator.  The parameters stay in the constant parameter space
// (__grid_constant__: no per-thread copy when the body takes their address).
__global__ void __launch_bounds__(NB_KERNEL_THREADS)
    nb_band_kernel(const __grid_constant__ struct nb_kparams K,
                   const __grid_constant__ struct nb_launch L, float *value, float *value_nn,
                   unsigned long long *trig)
{
    const long tid = (long)blockIdx.x * blockDim.x + threadIdx.x;
    const long nthreads = (long)gridDim.x * blockDim.x;
    const int64_t t = nb_kernel_thread(&K, &L, tid, nthreads, value, value_nn);
    if (t != INT64_MAX)
        atomicMin(trig, (unsigned long long)t);
}

struct nb_gpu_dev {
    int dev, sm_count;
    size_t blob_cap; // bytes allocated at d_blob
    int blocks_per_sm; // resident blocks of nb_band_kernel per SM (occupancy), at most 8
    void *d_blob;
    float *d_value, *d_value_nn; // device: one band (kept across bands and frames)
    float *h_value, *h_value_nn; // pinned staging: one band
    long cap;
    unsigned long long *d_trig;
    cudaStream_t st[2];
    cudaEvent_t ev[NB_CHUNKS_PER_BAND + 1];
};

#define MIB(x) ((double)(x) / (1024.0 * 1024.0))

static int fail(char *msg, size_t n, const char *what, cudaError_t e)
{
    snprintf(msg, n, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return -1;
}

static int rt_count(char *why, size_t why_n)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) { // no device, or no (sufficient) driver: not usable
        int rt = 0;
        cudaRuntimeGetVersion(&rt);
        if (e == cudaErrorInsufficientDriver)
            snprintf(why, why_n,
                     "no NVIDIA driver, or one older than this build's CUDA runtime %d.%d (%s)",
                     rt / 1000, (rt % 1000) / 10, cudaGetErrorName(e));
        else if (e == cudaErrorNoDevice)
            snprintf(why, why_n, "no CUDA device is visible (%s)", cudaGetErrorName(e));
        else
            snprintf(why, why_n, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        cudaGetLastError(); // clear it
        return 0;
    }
    if (n == 0)
        snprintf(why, why_n, "no CUDA device is visible");
    return n;
}

static int rt_props(int dev, char *name, size_t name_n, int *sm_count, size_t *mem_free,
                    size_t *mem_total, char *msg, size_t msg_n)
{
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess)
        return fail(msg, msg_n, "cudaGetDeviceProperties", e);
    if ((e = cudaSetDevice(dev)) != cudaSuccess)
        return fail(msg, msg_n, "cudaSetDevice", e);
    if ((e = cudaMemGetInfo(mem_free, mem_total)) != cudaSuccess)
        return fail(msg, msg_n, "cudaMemGetInfo", e);
    snprintf(name, name_n, "%s (sm_%d%d)", p.name, p.major, p.minor);
    *sm_count = p.multiProcessorCount;
    return 0;
}

static void rt_close(struct nb_gpu_dev *g)
{
    if (!g)
        return;
    cudaSetDevice(g->dev);
    for (int i = 0; i < 2; i++)
        if (g->st[i])
            cudaStreamDestroy(g->st[i]);
    for (int i = 0; i <= NB_CHUNKS_PER_BAND; i++)
        if (g->ev[i])
            cudaEventDestroy(g->ev[i]);
    cudaFree(g->d_blob);
    cudaFree(g->d_value);
    cudaFree(g->d_value_nn);
    cudaFree(g->d_trig);
    cudaFreeHost(g->h_value);
    cudaFreeHost(g->h_value_nn);
    delete g;
}

// Is there room for `bytes` more on the device (with 64 MiB left for the runtime)?
static int room_for(size_t bytes, const char *what, char *msg, size_t msg_n)
{
    size_t fr = 0, tot = 0;
    cudaError_t e = cudaMemGetInfo(&fr, &tot);
    if (e != cudaSuccess)
        return fail(msg, msg_n, "cudaMemGetInfo", e);
    const size_t margin = (size_t)64 << 20;
    if (bytes + margin > fr) {
        snprintf(msg, msg_n,
                 "not enough GPU memory for %s: %.1f MiB needed, %.1f MiB free of %.1f MiB "
                 "(fewer rows per rank: more MPI ranks, or --bands-per-frame)",
                 what, MIB(bytes + margin), MIB(fr), MIB(tot));
        return -1;
    }
    return 0;
}

static int rt_open(int dev, const void *blob, size_t bytes, struct nb_gpu_dev **out,
                   void **dev_blob, char *msg, size_t msg_n)
{
    cudaError_t e;
    cudaDeviceProp p;
    *out = NULL;
    if ((e = cudaSetDevice(dev)) != cudaSuccess)
        return fail(msg, msg_n, "cudaSetDevice", e);
    if ((e = cudaGetDeviceProperties(&p, dev)) != cudaSuccess)
        return fail(msg, msg_n, "cudaGetDeviceProperties", e);
    if (room_for(bytes, "the scene (sources, rotated cells, structure factors, mask)", msg,
                 msg_n) != 0)
        return -1;
    struct nb_gpu_dev *g = new nb_gpu_dev();
    g->dev = dev;
    g->sm_count = p.multiProcessorCount;
    // the grid: as many blocks per SM as are resident at once (registers decide), so that the
    // grid-stride loop runs in full waves; NB_KERNEL_BLOCKS_PER_SM at most
    int resident = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, nb_band_kernel, NB_KERNEL_THREADS,
                                                      0) != cudaSuccess ||
        resident < 1) {
        cudaGetLastError();
        resident = 1;
    }
    g->blocks_per_sm = resident < NB_KERNEL_BLOCKS_PER_SM ? resident : NB_KERNEL_BLOCKS_PER_SM;
    if ((e = cudaMalloc(&g->d_blob, bytes)) != cudaSuccess ||
        (e = cudaMalloc(&g->d_trig, sizeof(unsigned long long))) != cudaSuccess ||
        (e = cudaMemcpy(g->d_blob, blob, bytes, cudaMemcpyHostToDevice)) != cudaSuccess) {
        rt_close(g);
        return fail(msg, msg_n, "uploading the scene", e);
    }
    g->blob_cap = bytes;
    for (int i = 0; i < 2; i++)
        if ((e = cudaStreamCreateWithFlags(&g->st[i], cudaStreamNonBlocking)) != cudaSuccess) {
            rt_close(g);
            return fail(msg, msg_n, "cudaStreamCreate", e);
        }
    // blocking-sync events: the host thread sleeps while it waits, rather than spinning on a
    // core that other ranks of the node may want
    for (int i = 0; i <= NB_CHUNKS_PER_BAND; i++)
        if ((e = cudaEventCreateWithFlags(&g->ev[i], cudaEventDisableTiming |
                                                         cudaEventBlockingSync)) != cudaSuccess) {
            rt_close(g);
            return fail(msg, msg_n, "cudaEventCreate", e);
        }
    *dev_blob = g->d_blob;
    *out = g;
    return 0;
}

static int rt_upload(struct nb_gpu_dev *g, const void *blob, size_t bytes, void **dev_blob,
                     char *msg, size_t msg_n)
{
    cudaError_t e;
    if ((e = cudaSetDevice(g->dev)) != cudaSuccess)
        return fail(msg, msg_n, "cudaSetDevice", e);
    if (bytes > g->blob_cap) {
        cudaFree(g->d_blob);
        g->d_blob = NULL;
        g->blob_cap = 0;
        if (room_for(bytes, "the scene (sources, rotated cells, structure factors, mask)", msg,
                     msg_n) != 0)
            return -1;
        if ((e = cudaMalloc(&g->d_blob, bytes)) != cudaSuccess)
            return fail(msg, msg_n, "allocating the scene", e);
        g->blob_cap = bytes;
    }
    if ((e = cudaMemcpy(g->d_blob, blob, bytes, cudaMemcpyHostToDevice)) != cudaSuccess)
        return fail(msg, msg_n, "uploading the scene", e);
    *dev_blob = g->d_blob;
    return 0;
}

// Device and pinned buffers for n_pix pixels (kept across bands and frames; grown as needed).
static int reserve(struct nb_gpu_dev *g, long n_pix, int dual, char *msg, size_t msg_n)
{
    if (n_pix <= g->cap && (!dual || g->d_value_nn))
        return 0;
    cudaFree(g->d_value);
    cudaFree(g->d_value_nn);
    cudaFreeHost(g->h_value);
    cudaFreeHost(g->h_value_nn);
    g->d_value = g->d_value_nn = g->h_value = g->h_value_nn = NULL;
    g->cap = 0;
    const size_t bytes = sizeof(float) * (size_t)n_pix;
    if (room_for(bytes * (dual ? 2 : 1), "a band's image", msg, msg_n) != 0)
        return -1;
    cudaError_t e;
    if ((e = cudaMalloc(&g->d_value, bytes)) != cudaSuccess ||
        (e = cudaMallocHost(&g->h_value, bytes)) != cudaSuccess)
        return fail(msg, msg_n, "allocating a band's image", e);
    if (dual && ((e = cudaMalloc(&g->d_value_nn, bytes)) != cudaSuccess ||
                 (e = cudaMallocHost(&g->h_value_nn, bytes)) != cudaSuccess))
        return fail(msg, msg_n, "allocating a band's second accumulator", e);
    g->cap = n_pix;
    return 0;
}

// After an error: wait for whatever is still queued on the two streams (errors ignored: the
// first one is being reported), so that nothing writes into buffers the caller frees.
static int drain(struct nb_gpu_dev *g, int rc)
{
    cudaStreamSynchronize(g->st[0]);
    cudaStreamSynchronize(g->st[1]);
    cudaGetLastError();
    return rc;
}

static int rt_render(struct nb_gpu_dev *g, const struct nb_kparams *Kd,
                     const struct nb_gpu_band *b, float *value, float *value_nn, int64_t *trig,
                     nb_gpu_progress_fn progress, void *ctx, char *msg, size_t msg_n)
{
    cudaError_t e;
    if (b->n_chunks > NB_CHUNKS_PER_BAND) {
        snprintf(msg, msg_n, "internal: %d chunks in a band (at most %d)", b->n_chunks,
                 NB_CHUNKS_PER_BAND);
        return -1;
    }
    if ((e = cudaSetDevice(g->dev)) != cudaSuccess)
        return fail(msg, msg_n, "cudaSetDevice", e);
    if (reserve(g, b->n_pix, b->dual, msg, msg_n) != 0)
        return -1;
    float *d_nn = b->dual ? g->d_value_nn : NULL;
    // the latch minimum starts at "none" before either stream's first kernel
    if ((e = cudaMemsetAsync(g->d_trig, 0xff, sizeof(unsigned long long), g->st[0])) !=
            cudaSuccess ||
        (e = cudaEventRecord(g->ev[NB_CHUNKS_PER_BAND], g->st[0])) != cudaSuccess ||
        (e = cudaStreamWaitEvent(g->st[1], g->ev[NB_CHUNKS_PER_BAND], 0)) != cudaSuccess)
        return drain(g, fail(msg, msg_n, "starting a band", e));
    for (int c = 0; c < b->n_chunks; c++) {
        const struct nb_launch *L = &b->chunks[c];
        const long n_pix = (long)L->n_rows * L->ncol;
        const size_t bytes = sizeof(float) * (size_t)n_pix;
        cudaStream_t s = g->st[c % 2];
        nb_band_kernel<<<nb_kernel_blocks(n_pix, g->sm_count, g->blocks_per_sm),
                         NB_KERNEL_THREADS, 0, s>>>(*Kd, *L, g->d_value, d_nn, g->d_trig);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return drain(g, fail(msg, msg_n, "launching the kernel", e));
        if ((e = cudaMemcpyAsync(g->h_value + L->out_offset, g->d_value + L->out_offset, bytes,
                                 cudaMemcpyDeviceToHost, s)) != cudaSuccess ||
            (b->dual && (e = cudaMemcpyAsync(g->h_value_nn + L->out_offset, d_nn + L->out_offset,
                                             bytes, cudaMemcpyDeviceToHost, s)) != cudaSuccess))
            return drain(g, fail(msg, msg_n, "copying a chunk of rows back", e));
        if ((e = cudaEventRecord(g->ev[c], s)) != cudaSuccess)
            return drain(g, fail(msg, msg_n, "cudaEventRecord", e));
    }
    for (int c = 0; c < b->n_chunks; c++) {
        const struct nb_launch *L = &b->chunks[c];
        const size_t bytes = sizeof(float) * (size_t)L->n_rows * L->ncol;
        if ((e = cudaEventSynchronize(g->ev[c])) != cudaSuccess)
            return drain(g, fail(msg, msg_n, "rendering a chunk of rows", e));
        memcpy(value + L->out_offset, g->h_value + L->out_offset, bytes);
        if (b->dual)
            memcpy(value_nn + L->out_offset, g->h_value_nn + L->out_offset, bytes);
        if (progress)
            progress(ctx, b->rendered[c]);
    }
    // every chunk's kernel has finished (its event follows it on its stream)
    unsigned long long t = ~0ull;
    if ((e = cudaMemcpy(&t, g->d_trig, sizeof t, cudaMemcpyDeviceToHost)) != cudaSuccess)
        return drain(g, fail(msg, msg_n, "reading the latch index", e));
    *trig = t >= (unsigned long long)INT64_MAX ? INT64_MAX : (int64_t)t;
    return 0;
}

extern "C" const struct nb_gpu_rt nb_gpu_rt_cuda = {"CUDA runtime", rt_count, rt_props,
                                                    rt_open, rt_upload, rt_render, rt_close};
