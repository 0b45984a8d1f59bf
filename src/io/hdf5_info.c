/* hdf5_info.c -- HDF5 library identification (links HDF5; no MPI-IO here). */
#include <hdf5.h>
#include <stdio.h>

#include "nb_hdf5.h"

const char *nb_hdf5_describe(void)
{
    static char buf[96];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
#ifdef H5_HAVE_PARALLEL
    snprintf(buf, sizeof buf, "HDF5 %u.%u.%u (parallel)", maj, min, rel);
#else
    snprintf(buf, sizeof buf, "HDF5 %u.%u.%u (serial)", maj, min, rel);
#endif
    return buf;
}
