/* nb_nxmx.h -- the HDF5 (NeXus NXmx) output file of spec/formats.md §11.
 *
 * One file written by every rank of the process group: metadata and attributes by all ranks
 * with identical values, raw image rows by the rank that owns them (hyperslab at the band's
 * first row), rank-0-only images (noise, int) by rank 0 inside the same collective call.  The
 * caller names the (temporary) file to create and commits it with the other outputs.
 *
 * Every entry point is collective and returns the same status on every rank: before each
 * collective HDF5 call the ranks agree, through the caller's `agree` function, that nothing
 * has failed anywhere; after a failure no rank makes another collective call but the close,
 * which every rank makes.  So a write error on one rank (disk full, quota) ends the run on all
 * of them instead of leaving the others waiting.
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

/* What is known of frame i before anything is rendered (identical on every rank). */
struct nb_nxmx_frame {
    double phi_deg, phi_end_deg;          /* goniometer angle at the start and end        */
    double cell[6];                       /* the true cell at the frame's start (A, deg)  */
    double a_star[3], b_star[3], c_star[3]; /* lab frame, 1/A, misset included, phi = 0   */
    long seed, mosaic_seed, misset_seed;  /* the values as -seed etc. would give them     */
    const char *flags;                    /* the flags that differ from the command line  */
};

/* Everything the file records besides the images; identical on every rank. */
struct nb_nxmx_meta {
    int argc;
    char **argv;
    const char *program, *version;
    const char *start_time;               /* ISO 8601 UTC, rank 0's clock               */
    const struct nb_config *cfg;          /* frame 0's                                  */
    const struct nb_scene *sc;            /* frame 0's: detector, beam, parameters      */
    const struct nb_hkl_grid *hkl;        /* NULL when no grid is in use                */
    const char *hkl_source;               /* "hkl" or "Fdump.bin"                       */
    int noise;                            /* /entry/data/data holds the noise counts    */
    double adc;                           /* the SMV ADC offset (-adc), not in data     */
    int rank, size;                       /* this process, the whole process group      */
    int nframes;                          /* >= 1                                       */
    const struct nb_nxmx_frame *frames;   /* nframes entries                            */
    int series;                           /* --frames / --frames-from given             */
    int bands_per_frame;                  /* B: the L tables are [nframes][B]           */
    int write_float;                      /* /entry/data/float_image                    */
    int write_int;                        /* /entry/data/int_image                      */
    int gzip_level;                       /* -1: no filter; 0-9: shuffle + deflate      */
    const char *config_hash;              /* hex string naming the job (NULL: ""), kept
                                           * as /entry/simulation@config_hash; a resume
                                           * requires the same                          */
    long default_seed;                    /* the job's default -seed (time-based unless
                                           * given), /entry/simulation@default_seed (int64),
                                           * so that a resumed job reuses it            */
};

/* A finished frame, as the render left it (identical on every rank). */
struct nb_nxmx_done {
    int frame;
    int64_t p1, p_star;                   /* carry first execution, latch pixel (-1)    */
    double phi_star;                      /* rad, NaN if none                           */
    const struct nb_nxmx_band *bands;     /* bands_per_frame entries                    */
};

struct nb_nxmx; /* opaque */

/* How the ranks agree (nb_dist_agree in the program).  agree(): every rank leaves with the
 * same *st; err receives the message of the lowest failing rank; seconds < 0 waits for ever,
 * otherwise it returns -1 when some rank has not arrived by then (it is stuck inside a
 * collective call that failed here).  stuck(): report err and end the whole job; it does not
 * return.  stuck_after_s: how long a rank whose collective call failed waits for the others. */
struct nb_nxmx_sync {
    int (*agree)(void *ctx, nb_status *st, struct nb_err *err, double seconds);
    void (*stuck)(void *ctx, const struct nb_err *err);
    void *ctx;
    double stuck_after_s;
};

/* Create `file` (truncating it) collectively and write everything that does not depend on the
 * render: the [nframes][slow][fast] image datasets (one chunk per frame), the per-frame scan
 * axis, cell and UB, provenance, the structure factors once, the pixel mask, the status record
 * (every frame not done).  `name` is the --hdf5 name for messages.  *out is set even on
 * failure: every rank must then call nb_nxmx_close(*out, 0, ...). */
nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err);
/* Collective over the whole group: every rank writes its part of the frame its rank group
 * rendered in this round (`frame` may differ between ranks; -1: nothing this round): float
 * rows [row0, row0+n_rows) (float image, and data when there is no noise), and where counts /
 * ints are non-NULL (the group's first rank) the whole noise photon-count image (int32,
 * without the ADC offset) and int image of that frame. */
nb_status nb_nxmx_write_frame(struct nb_nxmx *h, int frame, int row0, int n_rows,
                              const float *band, const int32_t *counts, const uint16_t *ints,
                              struct nb_err *err);
/* Collective, after the writes of a round: record the n frames finished (carry facts and
 * tables, band layout, frames_done / bands_done), then flush the file, so that a killed job
 * keeps every frame recorded done.  The same n and recs on every rank. */
nb_status nb_nxmx_frames_done(struct nb_nxmx *h, int n, const struct nb_nxmx_done *recs,
                              struct nb_err *err);
/* ok: set @complete = 1 and close.  !ok (an agreed failure): close without further
 * collective writes.  Every rank, always; frees h; NULL-safe.  Returns this rank's status:
 * the caller then agrees on it -- with a deadline where it failed, since the other ranks may
 * be stuck inside the close. */
nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err);

/* Before any other HDF5 call / at the very end of the program: HDF5 is shut down explicitly,
 * and not at all after a file it could not close (its exit handler would crash on it). */
void nb_hdf5_init(void);
void nb_hdf5_fini(void);

/* "HDF5 1.10.8 (parallel)", or "not built". */
const char *nb_hdf5_describe(void);

#endif
