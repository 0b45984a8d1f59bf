/* h5_serial.c -- no-MPI twin of mpi/h5_mpio.c: the default HDF5 driver, one process. */
#include "nb_h5_plists.h"

int nb_h5_plists(hid_t *fapl, hid_t *dxpl)
{
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    *dxpl = H5Pcreate(H5P_DATASET_XFER);
    return (*fapl < 0 || *dxpl < 0) ? -1 : 0;
}

const char *nb_h5_driver(void)
{
    return "serial";
}
