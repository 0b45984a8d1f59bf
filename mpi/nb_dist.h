/* nb_dist.h -- the process group the program runs in: MPI ranks, or one process.
 *
 * Implemented by dist_mpi.c (the only code that includes <mpi.h>) and by dist_serial.c, its
 * no-MPI twin with the same API (rank 0 of 1, collectives are no-ops); CMake links one.
 * Entry points: nb_dist_init(), nb_dist_rank(), nb_dist_size(), nb_dist_agree(),
 * nb_dist_library(), nb_dist_fini().
 */
#ifndef NB_DIST_H
#define NB_DIST_H

#include "../src/util/nb_status.h"

struct nb_dist; /* opaque */

nb_status nb_dist_init(int *argc, char ***argv, struct nb_dist **d);
int nb_dist_rank(const struct nb_dist *d);
int nb_dist_size(const struct nb_dist *d);
/* Any failure wins: every rank returns the same status (NB_E_COMM if a peer failed). */
nb_status nb_dist_agree(struct nb_dist *d, nb_status local);
/* One line naming the message-passing library ("serial" without MPI). */
const char *nb_dist_library(void);
void nb_dist_fini(struct nb_dist *d); /* NULL-safe */

#endif
