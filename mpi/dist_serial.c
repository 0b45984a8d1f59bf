/* dist_serial.c -- the no-MPI twin of dist_mpi.c: one process, rank 0 of 1. */
#include <stdlib.h>

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

nb_status nb_dist_agree(struct nb_dist *d, nb_status local)
{
    (void)d;
    return local;
}

const char *nb_dist_library(void)
{
    return "serial (built without MPI)";
}

void nb_dist_fini(struct nb_dist *d)
{
    free(d);
}
