/* nb_band.h -- contiguous bands of detector rows, the unit of work of every back-end.
 *
 * Pure functions, no MPI and no I/O: tested exhaustively in one process.  A band may hold
 * zero rows (more parts than rows).  Entry points: nb_band_split(), nb_band_split_weighted().
 */
#ifndef NB_BAND_H
#define NB_BAND_H

#include <stdint.h>

struct nb_band {
    int row0;   /* first row (slow index), full-detector coordinates */
    int n_rows; /* 0 when there are more parts than rows              */
    int n_cols; /* always the full fast-axis width                    */
    int index;  /* which part, 0..n_parts-1                           */
};

/* Nearly equal split; the first n_rows % n_parts bands get one extra row. */
struct nb_band nb_band_split(int n_rows, int n_cols, int n_parts, int index);

/* Split so that every band renders about the same number of pixels: row_weight[r] is the
 * number of pixels that row r renders (ROI and mask aware).  Contiguous, in order, covering
 * every row exactly once; rows without weight may form empty bands. */
struct nb_band nb_band_split_weighted(const int64_t *row_weight, int n_rows, int n_cols,
                                      int n_parts, int index);

#endif
