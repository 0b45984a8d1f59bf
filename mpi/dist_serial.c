/* dist_serial.c -- the no-MPI twin of dist_mpi.c: one process, rank 0 of 1. */
#include <stdlib.h>
#include <string.h>

#include "nb_dist.h"

struct nb_dist {
    int dummy;
};

nb_status nb_dist_init(int *argc, char ***argv, struct nb_dist **d)
{
    (void)argc;
    (void)argv;
    *d = calloc(1, sizeof **d);
    return *d ? NB_OK : NB_E_NOMEM;
}

int nb_dist_rank(const struct nb_dist *d)
{
    (void)d;
    return 0;
}

int nb_dist_size(const struct nb_dist *d)
{
    (void)d;
    return 1;
}

int nb_dist_local_rank(struct nb_dist *d)
{
    (void)d;
    return 0;
}

const char *nb_dist_library(void)
{
    return "serial (built without MPI)";
}

void nb_dist_fini(struct nb_dist *d)
{
    free(d);
}

nb_status nb_dist_split(struct nb_dist *d, int color, int key, struct nb_dist **sub)
{
    (void)d;
    (void)color;
    (void)key;
    *sub = calloc(1, sizeof **sub);
    return *sub ? NB_OK : NB_E_NOMEM;
}

nb_status nb_dist_agree(struct nb_dist *d, nb_status local, struct nb_err *err)
{
    (void)d;
    (void)err;
    return local;
}

nb_status nb_dist_agree_within(struct nb_dist *d, nb_status local, struct nb_err *err,
                               double seconds, int *timed_out)
{
    (void)d;
    (void)err;
    (void)seconds;
    *timed_out = 0;
    return local;
}

void nb_dist_abort(struct nb_dist *d, int code)
{
    (void)d;
    exit(code);
}

nb_status nb_dist_bcast(struct nb_dist *d, void *buf, size_t len, int root)
{
    (void)d;
    (void)buf;
    (void)len;
    (void)root;
    return NB_OK;
}

nb_status nb_dist_bcast_alloc(struct nb_dist *d, unsigned char **buf, size_t *len, int root)
{
    (void)d;
    (void)buf;
    (void)len;
    (void)root;
    return NB_OK;
}

int64_t nb_dist_min_index(struct nb_dist *d, int64_t v)
{
    (void)d;
    return v;
}

nb_status nb_dist_scan_carry(struct nb_dist *d, const struct nb_carry *mine, struct nb_carry *in,
                             int *have)
{
    (void)d;
    (void)mine;
    (void)in;
    *have = 0; /* one band: nothing comes before it */
    return NB_OK;
}

nb_status nb_dist_gather(struct nb_dist *d, const void *mine, size_t count, size_t offset,
                         size_t elem, void *all, int root)
{
    (void)d;
    (void)root;
    if (all && mine && all != mine)
        memmove((char *)all + offset * elem, mine, count * elem);
    return NB_OK;
}

nb_status nb_dist_allgather(struct nb_dist *d, const void *mine, size_t len, void *all)
{
    (void)d;
    if (all != mine)
        memmove(all, mine, len);
    return NB_OK;
}

void nb_dist_progress_send(struct nb_dist *d, long increment)
{
    (void)d;
    (void)increment;
}

void nb_dist_progress_done(struct nb_dist *d)
{
    (void)d;
}

int nb_dist_progress_poll(struct nb_dist *d, long *pixels, int *done, int block)
{
    (void)d;
    (void)pixels;
    (void)done;
    (void)block;
    return 0;
}
