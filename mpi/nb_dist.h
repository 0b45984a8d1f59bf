/* nb_dist.h -- the process group the program runs in: MPI ranks, or one process.
 *
 * Implemented by dist_mpi.c (the only code that includes <mpi.h>) and by dist_serial.c, its
 * no-MPI twin with the same API (rank 0 of 1, collectives are copies or no-ops); CMake links
 * one.  Every collective is entered by every rank, bands without rows included; before each
 * collective phase the ranks agree on their status (nb_dist_agree), so one failing rank makes
 * all of them stop with the same error instead of leaving peers waiting.
 */
#ifndef NB_DIST_H
#define NB_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "../src/engine/nb_carry.h"
#include "../src/util/nb_status.h"

struct nb_dist; /* opaque */

nb_status nb_dist_init(int *argc, char ***argv, struct nb_dist **d);
int nb_dist_rank(const struct nb_dist *d);
int nb_dist_size(const struct nb_dist *d);
/* Collective: this rank's index among the ranks on its node (MPI_COMM_TYPE_SHARED), for the
 * choice of a GPU; 0 without MPI. */
int nb_dist_local_rank(struct nb_dist *d);
/* One line naming the message-passing library ("serial" without MPI). */
const char *nb_dist_library(void);
void nb_dist_fini(struct nb_dist *d); /* NULL-safe; also for groups of nb_dist_split */

/* Collective: the ranks with the same color form one group, ordered by key; *sub is that
 * group (its own rank numbers, collectives and progress messages; nb_dist_abort still ends
 * the whole job).  Free with nb_dist_fini. */
nb_status nb_dist_split(struct nb_dist *d, int color, int key, struct nb_dist **sub);

/* Any failure wins: every rank returns the same status; err receives the message of the
 * lowest failing rank (prefixed with its rank when that is not 0). */
nb_status nb_dist_agree(struct nb_dist *d, nb_status local, struct nb_err *err);

/* The same, giving up after `seconds`: *timed_out = 1 (err says so) when some rank has not
 * arrived by then -- it is stuck inside a collective call that failed on this rank (parallel
 * HDF5 does not always leave its collectives together when one rank's write fails).  The
 * caller must then end the job with nb_dist_abort(). */
nb_status nb_dist_agree_within(struct nb_dist *d, nb_status local, struct nb_err *err,
                               double seconds, int *timed_out);
/* End every process of the group now with exit status `code` (MPI_Abort); never returns. */
void nb_dist_abort(struct nb_dist *d, int code);

/* Broadcast len bytes from root (buffers of the same size everywhere). */
nb_status nb_dist_bcast(struct nb_dist *d, void *buf, size_t len, int root);
/* Broadcast a root-owned buffer of any size; non-roots receive a malloc'ed copy. */
nb_status nb_dist_bcast_alloc(struct nb_dist *d, unsigned char **buf, size_t *len, int root);

/* Minimum over ranks of a raster index where -1 means "none" (+infinity); -1 if all none. */
int64_t nb_dist_min_index(struct nb_dist *d, int64_t v);

/* Exclusive prefix scan of carry tokens in rank (= band) order, operator "the later
 * non-empty token wins" (spec/carryover.md §4.1).  mine: this band's outgoing token, or NULL
 * when the band has no execution.  *have: whether any earlier band had one (else `in` is
 * untouched and the caller uses the initial token). */
nb_status nb_dist_scan_carry(struct nb_dist *d, const struct nb_carry *mine, struct nb_carry *in,
                             int *have);

/* Gather every rank's block of `count` elements of `elem` bytes into `all` on root, in rank
 * order at the given element offsets (root only needs `all`). */
nb_status nb_dist_gather(struct nb_dist *d, const void *mine, size_t count, size_t offset,
                         size_t elem, void *all, int root);
/* All ranks get every rank's `len` bytes, in rank order. */
nb_status nb_dist_allgather(struct nb_dist *d, const void *mine, size_t len, void *all);

/* Progress of the render, for one meter on rank 0: other ranks report increments of rendered
 * pixels and finally "done"; rank 0 polls (block = wait for at least one message). */
void nb_dist_progress_send(struct nb_dist *d, long increment);
void nb_dist_progress_done(struct nb_dist *d);
/* Root: adds received increments to *pixels and finished ranks to *done; returns 0. */
int nb_dist_progress_poll(struct nb_dist *d, long *pixels, int *done, int block);

#endif
