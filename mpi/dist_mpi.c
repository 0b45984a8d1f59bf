/* dist_mpi.c -- the process group over MPI.  The only file besides the parallel-HDF5 sink
 * that includes <mpi.h>.  Collectives never leave a peer waiting: nb_dist_agree() is an
 * all-reduce of the worst status, called before every collective phase. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "nb_dist.h"

struct nb_dist {
    int rank, size, we_initialised;
};

nb_status nb_dist_init(int *argc, char ***argv, struct nb_dist **d)
{
    int inited = 0;
    *d = calloc(1, sizeof **d);
    if (!*d)
        return NB_E_NOMEM;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS)
            return NB_E_COMM;
        (*d)->we_initialised = 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &(*d)->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &(*d)->size);
    return NB_OK;
}

int nb_dist_rank(const struct nb_dist *d)
{
    return d->rank;
}

int nb_dist_size(const struct nb_dist *d)
{
    return d->size;
}

nb_status nb_dist_agree(struct nb_dist *d, nb_status local)
{
    int mine = (int)local, worst = 0;
    (void)d;
    if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return NB_E_COMM;
    if (worst == NB_OK)
        return NB_OK;
    return local != NB_OK ? local : NB_E_COMM;
}

const char *nb_dist_library(void)
{
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    MPI_Get_library_version(buf, &len);
    for (int i = 0; i < len; i++)
        if (buf[i] == '\n') {
            buf[i] = '\0';
            break;
        }
    return buf;
}

void nb_dist_fini(struct nb_dist *d)
{
    if (!d)
        return;
    if (d->we_initialised)
        MPI_Finalize();
    free(d);
}
