/* nb_h5_plists.h -- property lists of the HDF5 writer for this build's process group.
 *
 * mpi/h5_mpio.c (MPI builds): MPI-IO file access over MPI_COMM_WORLD with collective metadata,
 * collective raw-data transfers (required by filters).  src/io/h5_serial.c (no-MPI twin): the
 * default driver.  The layout code (nb_nxmx.c) never sees MPI.
 */
#ifndef NB_H5_PLISTS_H
#define NB_H5_PLISTS_H

#include <hdf5.h>

/* Create the file-access and data-transfer property lists; 0 on success. */
int nb_h5_plists(hid_t *fapl, hid_t *dxpl);
/* "parallel (MPI-IO)" or "serial". */
const char *nb_h5_driver(void);

#endif
