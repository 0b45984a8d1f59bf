/* nb_device.h -- which back-end renders this run, picked in one place (--device).
 *
 * The table of back-ends with their capabilities (nb_backend.h NB_CAP_*): the CPU, and CUDA
 * (a GPU, or its CPU grid emulator under $NB_CUDA_EMULATE).  --device=cpu and cuda ask for
 * one; auto takes CUDA when every rank sees a device and the run's arithmetic does not ask
 * for glibc's libm (--math=exact), else the CPU with a NOTE.  Under MPI each rank renders on
 * device (node-local rank mod visible devices); CUDA_VISIBLE_DEVICES is honoured by the CUDA
 * runtime itself.  Collective: every rank calls it.
 */
#ifndef NB_DEVICE_H
#define NB_DEVICE_H

#include "../../mpi/nb_dist.h"
#include "../cli/nb_cli.h"
#include "../engine/nb_backend.h"

struct nb_device_choice {
    const struct nb_backend_ops *be; /* the back-end of every rank                    */
    int gpu;                         /* this rank's CUDA device index; -1 on the CPU  */
    char note[1024];                 /* rank 0: the NOTE line(s) to print, or ""       */
    char gpu_name[256];              /* rank 0's device, on every rank ("" on the CPU) */
};

/* want: enum nb_device.  Errors (every rank returns the same): --device=cuda without a
 * usable device on some rank (NB_E_DEVICE: the lowest such rank's reason, "rank N: " before
 * it when N is not 0). */
nb_status nb_device_choose(struct nb_dist *d, int want, const struct nb_config *cfg,
                           struct nb_device_choice *out, struct nb_err *err);

#endif
