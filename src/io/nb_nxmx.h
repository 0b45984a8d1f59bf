/* nb_nxmx.h -- the HDF5 (NeXus NXmx) output file of spec/formats.md §11.
 *
 * One file written by every rank of the process group: metadata and attributes by all ranks
 * with identical values, raw image rows by the rank that owns them (hyperslab at the band's
 * first row), rank-0-only images (noise, int) by rank 0 inside the same collective call.  The
 * file is created as <path>.partial and renamed to <path> only when complete.
 *
 * The layout code here includes <hdf5.h> but never <mpi.h>: the file-access and transfer
 * property lists come from nb_h5_plists(), implemented with MPI-IO in mpi/h5_mpio.c and with
 * the default driver in src/io/h5_serial.c (its no-MPI twin).  Without HDF5 the stub
 * (nxmx_stub.c) returns NB_E_NOT_BUILT.
 */
#ifndef NB_NXMX_H
#define NB_NXMX_H

#include <stdint.h>

#include "../engine/nb_config.h"
#include "../engine/nb_scene.h"
#include "../util/nb_status.h"

/* One band of the layout and its carry tokens (the carry cache, spec §11.3). */
struct nb_nxmx_band {
    int row0, n_rows;
    int in_state, out_state;
    double in_vec[9], out_vec[9];
    int64_t in_last, out_last;
};

/* Everything the file records besides the images; identical on every rank. */
struct nb_nxmx_meta {
    int argc;
    char **argv;
    const char *program, *version;
    const char *start_time;               /* ISO 8601 UTC, rank 0's clock               */
    const struct nb_config *cfg;
    const struct nb_scene *sc;
    const struct nb_hkl_grid *hkl;        /* NULL when no grid is in use                */
    const char *hkl_source;               /* "hkl" or "Fdump.bin"                       */
    int noise;                            /* /entry/data/data is the noise image        */
    int rank, size;                       /* this process, the group                    */
    int n_bands;
    const struct nb_nxmx_band *bands;     /* n_bands (= size) entries                   */
    int64_t p1, p_star;                   /* carry first execution, latch pixel         */
};

struct nb_nxmx; /* opaque */

/* Create <path>.partial collectively and write everything that does not depend on the
 * render (bands and carry not needed yet). */
nb_status nb_nxmx_create(const char *path, const struct nb_nxmx_meta *m, struct nb_nxmx **out,
                         struct nb_err *err);
/* After the render: band layout (@band_row0, @band_nrows) and the carry cache. */
nb_status nb_nxmx_write_run(struct nb_nxmx *h, const struct nb_nxmx_meta *m, struct nb_err *err);
/* Write frame 0: float rows [row0, row0+n_rows) of this rank (any rank), and on rank 0 the
 * whole noise image (when m->noise) and int image (NULL elsewhere).  Collective. */
nb_status nb_nxmx_write_images(struct nb_nxmx *h, int row0, int n_rows, const float *band,
                               const uint16_t *noise, const uint16_t *ints, struct nb_err *err);
/* Set @complete = 1, close; rank 0 renames <path>.partial to <path>.  On failure (ok == 0)
 * the partial file is removed.  Collective; frees h. */
nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err);

/* "HDF5 1.10.8 (parallel)", or "not built". */
const char *nb_hdf5_describe(void);

#endif
