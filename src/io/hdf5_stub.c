/* hdf5_stub.c -- twin of hdf5_info.c for builds without HDF5. */
#include "nb_hdf5.h"

const char *nb_hdf5_describe(void)
{
    return "not built (NB_WITH_HDF5=OFF)";
}
