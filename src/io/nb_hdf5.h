/* nb_hdf5.h -- what the program knows about HDF5 without including it.
 * hdf5_info.c links the HDF5 library; hdf5_stub.c is the twin when NB_WITH_HDF5=OFF. */
#ifndef NB_HDF5_H
#define NB_HDF5_H

/* "HDF5 1.10.8 (parallel)" or "not built". */
const char *nb_hdf5_describe(void);

#endif
