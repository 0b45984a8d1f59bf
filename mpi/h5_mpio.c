/* h5_mpio.c -- MPI-IO property lists for the parallel HDF5 writer (see nb_h5_plists.h).
 * With dist_mpi.c, the only code that includes <mpi.h> and calls H5Pset_fapl_mpio.
 * A run not started by an MPI launcher never initialises MPI (dist_mpi.c): it then writes
 * with the default driver, as one process. */
#include <hdf5.h>
#include <mpi.h>

#include "../src/io/nb_h5_plists.h"

static int mpi_running(void)
{
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    return inited && !finalized;
}

int nb_h5_plists(hid_t *fapl, hid_t *dxpl)
{
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    *dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (*fapl < 0 || *dxpl < 0)
        return -1;
    if (!mpi_running())
        return 0;
    if (H5Pset_fapl_mpio(*fapl, MPI_COMM_WORLD, MPI_INFO_NULL) < 0)
        return -1;
    /* every rank creates groups, datasets and attributes with identical values */
    if (H5Pset_all_coll_metadata_ops(*fapl, 1) < 0 || H5Pset_coll_metadata_write(*fapl, 1) < 0)
        return -1;
    /* filters (shuffle, deflate) need collective raw-data writes */
    if (H5Pset_dxpl_mpio(*dxpl, H5FD_MPIO_COLLECTIVE) < 0)
        return -1;
    return 0;
}

const char *nb_h5_driver(void)
{
    return mpi_running() ? "parallel (MPI-IO, collective)" : "serial (no MPI launcher)";
}
