/* nb_gpu_backend.c -- the back-end of --device=cuda (see nb_gpu.h): scene upload, chunk plan,
 * and the runtime that runs it (CUDA, or the CPU grid emulator).  Plain C: compiled in every
 * build, so the packing, the device-side kernel parameters and the chunk plan are exercised
 * by the emulator's tests on machines without a GPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/util/nb_fault.h"
#include "nb_cuda.h"
#include "nb_gpu.h"

static int selected_device;

void nb_gpu_set_device(int dev)
{
    selected_device = dev;
}

int nb_gpu_device(void)
{
    return selected_device;
}

/* $NB_CUDA_EMULATE's three fields (0 where absent or invalid). */
static void emulate_spec(long v[3])
{
    const char *e = getenv("NB_CUDA_EMULATE");
    v[0] = v[1] = v[2] = 0;
    for (int i = 0; i < 3 && e && *e; i++) {
        char *end;
        long n = strtol(e, &end, 10);
        if (end == e || n <= 0 || n >= 100000000L)
            break;
        v[i] = n;
        e = *end == ':' ? end + 1 : NULL;
    }
}

int nb_gpu_emulate_sms(void)
{
    long v[3];
    emulate_spec(v);
    return v[0] < 100000 ? (int)v[0] : 0;
}

void nb_gpu_launch_shape(int *blocks_per_sm, long *chunk_min_pixels)
{
    long v[3];
    emulate_spec(v);
    const int emu = v[0] > 0;
    *blocks_per_sm = emu && v[1] > 0 && v[1] < 1000 ? (int)v[1] : NB_KERNEL_BLOCKS_PER_SM;
    *chunk_min_pixels = emu && v[2] > 0 ? v[2] : NB_CHUNK_MIN_PIXELS;
}

const struct nb_gpu_rt *nb_gpu_runtime(void)
{
    return nb_gpu_emulate_sms() > 0 ? &nb_gpu_rt_emu : &nb_gpu_rt_cuda;
}

int nb_cuda_device_count(void)
{
    char why[256];
    return nb_gpu_runtime()->count(why, sizeof why);
}

const char *nb_cuda_unavailable(void)
{
    static char why[256];
    why[0] = '\0';
    if (nb_gpu_runtime()->count(why, sizeof why) > 0)
        return NULL;
    return why;
}

const char *nb_cuda_device_name(int dev)
{
    static char name[512];
    char msg[256];
    int sms;
    size_t fr, tot;
    if (nb_gpu_runtime()->props(dev, name, sizeof name, &sms, &fr, &tot, msg, sizeof msg) != 0)
        snprintf(name, sizeof name, "device %d (%s)", dev, msg);
    return name;
}

const char *nb_cuda_describe(void)
{
    static char buf[512];
    const struct nb_gpu_rt *rt = nb_gpu_runtime();
    char why[256] = "", name[256] = "", msg[256] = "";
    int n = rt->count(why, sizeof why), sms = 0;
    size_t fr = 0, tot = 0;
    if (n <= 0) {
        snprintf(buf, sizeof buf, "%s; no usable device: %s", rt->name, why);
        return buf;
    }
    rt->props(0, name, sizeof name, &sms, &fr, &tot, msg, sizeof msg);
    snprintf(buf, sizeof buf, "%s; %d device(s), device 0: %s (%d SMs, %.1f GiB)", rt->name, n,
             name, sms, (double)tot / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

/* ---------------------------------------------------------------- the scene blob */

/* The arrays nb_pixel() reads, in one allocation: offsets in bytes, 256-aligned. */
struct blob_layout {
    size_t src, phi, lat_first, lat_rest, fhkl, mask, bytes;
};

static size_t align256(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

static void layout_of(const struct nb_kparams *K, struct blob_layout *L, size_t n[6])
{
    const size_t lat = sizeof(double) * 9 * (size_t)K->phisteps * (size_t)K->n_domains;
    n[0] = K->src ? sizeof(double) * 5 * (size_t)K->n_sources : 0;
    n[1] = K->phi ? sizeof(double) * (size_t)K->phisteps : 0;
    n[2] = K->lat_first ? lat : 0;
    n[3] = K->lat_rest ? lat : 0;
    n[4] = K->hkls && K->Fhkl ? sizeof(double) * (size_t)(K->h_range + 1) *
                                    (size_t)(K->k_range + 1) * (size_t)(K->l_range + 1)
                              : 0;
    n[5] = K->mask ? sizeof(unsigned short) * (size_t)K->fpixels * (size_t)K->spixels : 0;
    size_t off = 0;
    size_t *o[6] = {&L->src, &L->phi, &L->lat_first, &L->lat_rest, &L->fhkl, &L->mask};
    for (int i = 0; i < 6; i++) {
        *o[i] = off;
        off += align256(n[i]);
    }
    L->bytes = off ? off : 256;
}

/* The device state kept across renders: a series renders frame after frame on the same
 * device, and only each frame's scene is uploaded again (streams, events and the band buffers
 * stay).  One back-end instance at a time uses it; another one alive at the same time gets a
 * device state of its own, closed with it. */
static struct {
    const struct nb_gpu_rt *rt;
    int dev;
    struct nb_gpu_dev *g;
    int busy;
} kept;

void nb_gpu_release(void)
{
    if (kept.g && !kept.busy)
        kept.rt->close(kept.g);
    if (!kept.busy)
        kept.g = NULL;
}

struct gpu_state {
    const struct nb_scene *sc;
    const struct nb_gpu_rt *rt;
    struct nb_gpu_dev *dev;
    int kept; /* dev is the kept state */
    struct nb_kparams Kd; /* the scene's parameters, pointers into the device blob */
    int sm_count;
};

static nb_status gpu_create(const struct nb_scene *sc, void **state, struct nb_err *err)
{
    const struct nb_kparams *K = &sc->k;
    struct gpu_state *g = calloc(1, sizeof *g);
    struct blob_layout L;
    size_t n[6];
    char msg[256] = "", name[256] = "";
    size_t fr = 0, tot = 0;
    if (!g) {
        nb_err_set(err, "out of memory creating the CUDA back-end");
        return NB_E_NOMEM;
    }
    g->sc = sc;
    g->rt = nb_gpu_runtime();
    const int dev = nb_gpu_device();
    if (g->rt->props(dev, name, sizeof name, &g->sm_count, &fr, &tot, msg, sizeof msg) != 0) {
        nb_err_set(err, "--device=cuda: %s", msg);
        free(g);
        return NB_E_DEVICE;
    }
    layout_of(K, &L, n);
    unsigned char *blob = calloc(1, L.bytes);
    if (!blob) {
        nb_err_set(err, "out of memory packing the scene (%zu bytes) for the GPU", L.bytes);
        free(g);
        return NB_E_NOMEM;
    }
    const void *arr[6] = {K->src, K->phi, K->lat_first, K->lat_rest, K->Fhkl, K->mask};
    const size_t off[6] = {L.src, L.phi, L.lat_first, L.lat_rest, L.fhkl, L.mask};
    for (int i = 0; i < 6; i++)
        if (n[i])
            memcpy(blob + off[i], arr[i], n[i]);
    void *base = NULL;
    int rc;
    if (kept.g && !kept.busy && kept.rt == g->rt && kept.dev == dev) {
        rc = g->rt->upload(kept.g, blob, L.bytes, &base, msg, sizeof msg);
        g->dev = kept.g;
        g->kept = 1;
    } else {
        rc = g->rt->open(dev, blob, L.bytes, &g->dev, &base, msg, sizeof msg);
        if (rc == 0 && !kept.g) {
            kept.rt = g->rt, kept.dev = dev, kept.g = g->dev;
            g->kept = 1;
        }
    }
    free(blob);
    if (rc == 0 && nb_fault("gpu-create")) /* failure tests: a device error here */
        snprintf(msg, sizeof msg, "uploading the scene: injected device error (NB_FAULT)"), rc = -1;
    if (rc != 0 && g->kept) {
        /* a device that failed is not kept: the next render opens it afresh */
        g->rt->close(kept.g);
        kept.g = NULL;
    } else if (rc != 0) {
        g->rt->close(g->dev);
    }
    if (rc != 0) {
        nb_err_set(err, "--device=cuda: %s", msg);
        free(g);
        return NB_E_DEVICE;
    }
    if (g->kept)
        kept.busy = 1;
    /* the kernel's copy of the parameters: every array at its place in the device blob */
    unsigned char *b = base;
    g->Kd = *K;
    g->Kd.src = n[0] ? (const double *)(b + L.src) : NULL;
    g->Kd.phi = n[1] ? (const double *)(b + L.phi) : NULL;
    g->Kd.lat_first = n[2] ? (const double *)(b + L.lat_first) : NULL;
    g->Kd.lat_rest = n[3] ? (const double *)(b + L.lat_rest) : NULL;
    g->Kd.Fhkl = n[4] ? (const double *)(b + L.fhkl) : NULL;
    g->Kd.mask = n[5] ? (const unsigned short *)(b + L.mask) : NULL;
    *state = g;
    return NB_OK;
}

static void gpu_destroy(void *state)
{
    struct gpu_state *g = state;
    if (!g)
        return;
    if (g->kept)
        kept.busy = 0; /* the device stays open for the next render */
    else
        g->rt->close(g->dev);
    free(g);
}

static nb_status gpu_render_band(void *state, const struct nb_band *band, int64_t p_e1,
                                 struct nb_band_out *out, const struct nb_progress *progress,
                                 struct nb_err *err)
{
    struct gpu_state *g = state;
    const struct nb_kparams *K = &g->sc->k;
    const int ncol = K->fpixels;
    out->trig_index = -1;
    if (band->n_rows <= 0)
        return NB_OK;
    int bps;
    long min_px;
    nb_gpu_launch_shape(&bps, &min_px);
    const int rows = nb_chunk_rows(band->n_rows, ncol, min_px);
    const int nch = (band->n_rows + rows - 1) / rows;
    struct nb_launch *ch = calloc((size_t)nch, sizeof *ch);
    long *rendered = calloc((size_t)nch, sizeof *rendered);
    if (!ch || !rendered) {
        free(ch);
        free(rendered);
        nb_err_set(err, "out of memory for the chunk plan of a band of %d rows", band->n_rows);
        return NB_E_NOMEM;
    }
    for (int c = 0; c < nch; c++) {
        const int r0 = c * rows;
        const int nr = band->n_rows - r0 < rows ? band->n_rows - r0 : rows;
        const int64_t first = (int64_t)(band->row0 + r0) * ncol;
        const int64_t end = first + (int64_t)nr * ncol;
        ch[c].row0 = band->row0 + r0;
        ch[c].n_rows = nr;
        ch[c].ncol = ncol;
        ch[c].p_e1 = p_e1 >= first && p_e1 < end ? p_e1 : -1;
        ch[c].out_offset = (int64_t)r0 * ncol;
        for (int s = ch[c].row0; s < ch[c].row0 + nr; s++)
            rendered[c] += nb_rendered_in_row(K, s);
    }
    struct nb_gpu_band gb = {ch, rendered, nch, (long)band->n_rows * ncol, out->value_nn != NULL};
    int64_t trig = INT64_MAX;
    char msg[256] = "";
    int rc = g->rt->render(g->dev, &g->Kd, &gb, out->value, out->value_nn, &trig,
                           progress ? progress->pixels_done : NULL, progress ? progress->ctx : NULL,
                           msg, sizeof msg);
    if (rc == 0 && nb_fault("gpu-render")) { /* failure tests: a device error here */
        snprintf(msg, sizeof msg, "rendering a chunk of rows: injected device error (NB_FAULT)");
        rc = -1;
    }
    free(ch);
    free(rendered);
    if (rc != 0) {
        nb_err_set(err, "--device=cuda: %s", msg);
        return NB_E_DEVICE;
    }
    out->trig_index = trig == INT64_MAX ? -1 : trig;
    return NB_OK;
}

/* --math=exact on a GPU is CUDA's libm, not glibc's: no NB_CAP_GLIBC (docs/gpu.md). */
const struct nb_backend_ops nb_backend_cuda = {"cuda", NB_CAP_DOUBLE | NB_CAP_SINGLE |
                                                           NB_CAP_PROGRESS,
                                               gpu_create, gpu_render_band, gpu_destroy};
