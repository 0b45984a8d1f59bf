/* nb_carry.h -- the state that crosses pixels in nanoBragg's serial loop, made explicit.
 *
 * The phi-carry token (spec/carryover.md §4.1) and the interpolation latch (§4.2).  A band's
 * incoming token, not any global, decides what its first phi == 0 step uses; a band's outgoing
 * token is derived from a cheap pre-pass (no lattice work).  Pure engine code: MPI moves the
 * tokens (mpi/), back-ends consume them.
 */
#ifndef NB_CARRY_H
#define NB_CARRY_H

#include <stdint.h>

#include "../util/nb_status.h"
#include "nb_band.h"
#include "nb_scene.h"

enum nb_carry_state { NB_CARRY_UNROTATED = 0, NB_CARRY_ROTATED = 1 };

struct nb_carry {
    int state;          /* UNROTATED until the run's first phi-loop execution            */
    double vec[9];      /* working vectors a' b' c' (m) after the last execution          */
    int64_t last_index; /* raster index of the last execution before/through here, or -1 */
};

/* The token band 0 receives: {UNROTATED, set-up vectors, -1}. */
void nb_carry_initial(const struct nb_scene *sc, struct nb_carry *c);

/* Pre-pass over a band: raster indices of its first and last pixel with an execution
 * (-1 if none).  Uses only geometry and source directions. */
void nb_band_prepass(const struct nb_scene *sc, const struct nb_band *b, int64_t *first,
                     int64_t *last);

/* The outgoing token of a band given its incoming one and its last execution (-1: none,
 * the token passes through unchanged). */
void nb_carry_through(const struct nb_scene *sc, const struct nb_carry *in, int64_t band_last,
                      struct nb_carry *out);

/* Check a received token against the closed form (carryover.md §1.1): given the global first
 * execution p1 (-1 if none) and the band's first row, the token must be UNROTATED with the
 * set-up vectors iff p1 is not before the band, else ROTATED with R(u, phi*)(set-up),
 * bitwise.  Returns NB_OK or NB_E_INTERNAL with a message. */
nb_status nb_carry_verify(const struct nb_scene *sc, const struct nb_carry *in,
                          const struct nb_band *b, int64_t p1, struct nb_err *err);

/* The earlier of two raster indices where -1 means "none": the reduction that gives the run's
 * first execution p1 and its latch pixel p* from the bands' own (MIN across ranks). */
int64_t nb_index_min(int64_t a, int64_t b);

/* The hand-off across bands in one process: pre-pass every band (in band order), the run's
 * first execution *p1, and each band's incoming token in[b] -- the exclusive scan "the later
 * non-empty token wins" that the ranks compute with MPI (carryover.md §4.1).  last[b] (may be
 * NULL) receives each band's last execution. */
void nb_carry_plan(const struct nb_scene *sc, int nbands, const struct nb_band *bands,
                   int64_t *p1, struct nb_carry *in, int64_t *last);

/* Does c-parity change this run's result?  (some phi_k == 0.0 and some phi_k != 0.0) */
int nb_carry_active(const struct nb_scene *sc);

#endif
