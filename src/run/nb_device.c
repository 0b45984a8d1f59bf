/* nb_device.c -- the choice of back-end (see nb_device.h). */
#include <stdio.h>
#include <string.h>

#include "../../cuda/nb_cuda.h"
#include "nb_device.h"

/* Every back-end, in order of preference for --device=auto. */
static const struct nb_backend_ops *const backends[] = {&nb_backend_cuda, &nb_backend_cpu};

static const struct nb_backend_ops *by_name(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i]->name, name))
            return backends[i];
    return &nb_backend_cpu;
}

/* Can back-end `be` run this configuration as the user expects? */
static int suits(const struct nb_backend_ops *be, const struct nb_config *cfg)
{
    unsigned need = cfg->precision_single ? NB_CAP_SINGLE : NB_CAP_DOUBLE;
    if (cfg->math_exact)
        need |= NB_CAP_GLIBC;
    return (be->caps & need) == need;
}

nb_status nb_device_choose(struct nb_dist *d, int want, const struct nb_config *cfg,
                           struct nb_device_choice *out, struct nb_err *err)
{
    memset(out, 0, sizeof *out);
    out->be = &nb_backend_cpu;
    out->gpu = -1;
    if (want == NB_DEVICE_CPU)
        return NB_OK;
    /* every rank looks; the run uses CUDA only if every rank can (one back-end per run) */
    const int n = nb_cuda_device_count();
    const char *why = n > 0 ? NULL : nb_cuda_unavailable();
    const int rank = nb_dist_rank(d), size = nb_dist_size(d);
    const int64_t worst = nb_dist_min_index(d, n > 0 ? -1 : rank); /* first rank without */
    const int everywhere = worst < 0;
    const struct nb_backend_ops *cuda = by_name("cuda");
    if (want == NB_DEVICE_CUDA && !everywhere) {
        /* the lowest rank without a device says why (nb_dist_agree names it when not 0) */
        nb_status st = NB_OK;
        if (n == 0) {
            nb_err_set(err, "--device=cuda: no usable CUDA device: %s", why ? why : "unknown");
            st = NB_E_DEVICE;
        }
        return nb_dist_agree(d, st, err);
    }
    if (want == NB_DEVICE_AUTO && !everywhere) {
        if (rank == 0)
            snprintf(out->note, sizeof out->note,
                     "NOTE: --device=auto: %s%s%s; rendering on the CPU\n",
                     n > 0 ? "not every rank sees a CUDA device" : "no usable CUDA device (",
                     n > 0 ? "" : (why && *why ? why : "none visible"), n > 0 ? "" : ")");
        return nb_dist_agree(d, NB_OK, err);
    }
    if (want == NB_DEVICE_AUTO && !suits(cuda, cfg)) {
        if (rank == 0)
            snprintf(out->note, sizeof out->note,
                     "NOTE: --device=auto: --math=exact is glibc's arithmetic, bit-identical to "
                     "nanoBragg on the CPU only; rendering on the CPU (--device=cuda runs it with "
                     "CUDA's libm, within 1e-9)\n");
        return nb_dist_agree(d, NB_OK, err);
    }
    /* CUDA on every rank: device = node-local rank mod the devices this rank sees */
    const int local = nb_dist_local_rank(d);
    out->be = cuda;
    out->gpu = local % n;
    nb_gpu_set_device(out->gpu);
    /* every rank's device, for rank 0's NOTE (up to 64 ranks; beyond, the rule says it) */
    int all[64], mine = out->gpu;
    nb_status st = NB_OK;
    all[0] = mine;
    if (size > 1 && size <= 64)
        st = nb_dist_allgather(d, &mine, sizeof mine, all);
    if (rank == 0) {
        size_t o = 0;
        o += (size_t)snprintf(out->note + o, sizeof out->note - o,
                              "NOTE: CUDA back-end%s: %s; ",
                              nb_gpu_emulate_sms() ? " (CPU grid emulator, NB_CUDA_EMULATE)" : "",
                              nb_cuda_device_name(out->gpu));
        if (size == 1) {
            o += (size_t)snprintf(out->note + o, sizeof out->note - o, "device %d\n", out->gpu);
        } else {
            o += (size_t)snprintf(out->note + o, sizeof out->note - o,
                                  "rank -> device (node-local rank mod %d visible):", n);
            for (int r = 0; r < (size <= 64 ? size : 1) && o < sizeof out->note - 200; r++)
                o += (size_t)snprintf(out->note + o, sizeof out->note - o, " %d->%d", r, all[r]);
            o += (size_t)snprintf(out->note + o, sizeof out->note - o, "%s\n",
                                  size > 64 ? " ..." : "");
        }
        if (!suits(cuda, cfg) && cfg->math_exact)
            snprintf(out->note + o, sizeof out->note - o,
                     "NOTE: --math=exact on CUDA uses CUDA's libm (sin, cos, exp, atan2), not "
                     "glibc's: within 1e-9 of nanoBragg, not bit-identical\n");
    }
    /* rank 0's device name for the HDF5 file, the same on every rank (a collective write) */
    if (rank == 0)
        snprintf(out->gpu_name, sizeof out->gpu_name, "%s", nb_cuda_device_name(out->gpu));
    if (st == NB_OK)
        st = nb_dist_bcast(d, out->gpu_name, sizeof out->gpu_name, 0);
    if (st != NB_OK)
        nb_err_set(err, "exchange of device numbers failed");
    return nb_dist_agree(d, st, err);
}
