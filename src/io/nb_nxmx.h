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
    const char *cpu_kernel;               /* the CPU back-end's instruction set (NULL: "") */
    const char *device;                   /* back-end: "cpu" or "cuda" (NULL: "cpu")       */
    const char *gpu;                      /* rank 0's GPU with CUDA (NULL: "")              */
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

/* What nb_nxmx_peek() reads of an existing file (strings NUL-terminated, cut to fit). */
struct nb_nxmx_peek {
    long default_seed;                    /* /entry/simulation@default_seed             */
    char config_hash[80];                 /* /entry/simulation@config_hash              */
    int nframes;                          /* /entry/simulation@nframes                  */
    int bands_per_frame;                  /* /entry/simulation@bands_per_frame          */
    int complete;                         /* /entry/simulation/status@complete          */
    char version[256];                    /* /entry/simulation@program_version          */
};

/* Create `file` (truncating it) collectively and write everything that does not depend on the
 * render: the [nframes][slow][fast] image datasets (one chunk per frame), the per-frame scan
 * axis, cell and UB, provenance, the structure factors once, the pixel mask, the status record
 * (every frame not done).  `name` is the --hdf5 name for messages.  *out is set even on
 * failure: every rank must then call nb_nxmx_close(*out, 0, ...). */
nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err);
/* NOT collective: one process alone (rank 0, before the others know anything; no MPI).
 * Opens `file` read-only with HDF5's default driver, reads the items of struct nb_nxmx_peek
 * and closes the file and every object in it.  NB_E_INPUT with one line in err when the file
 * is not an HDF5 file or cannot be opened ("<file>: not an HDF5 file (...)"), corrupt or
 * truncated (the same, or a missing item), or lacks an item ("<file>: not a nanobragg series
 * file: missing /entry/simulation@config_hash"); never modifies the file. */
nb_status nb_nxmx_peek(const char *file, struct nb_nxmx_peek *out, struct nb_err *err);
/* Collective, like nb_nxmx_create: reopen a file that a stopped or killed job left (read-write,
 * with this build's property lists) to write the frames it lacks.  Checks, on a read-only
 * open (so that a refused file keeps every byte), that @config_hash equals m->config_hash, @program_version m->version, @nframes
 * m->nframes, @bands_per_frame m->bands_per_frame, /entry/data/data is [nframes][spixels]
 * [fpixels] of the type m->noise implies, float_image / int_image exist exactly when
 * m->write_float / m->write_int, and the carry and status records have their sizes; a
 * mismatch is NB_E_INPUT with one line in err (the file is then left as it was: the close
 * after it does not truncate it).  Then it opens what the write path needs, reloads the
 * per-frame carry facts and the band layout that nb_nxmx_frames_done keeps in memory, copies
 * status/frames_done into done[nframes] (the same on every rank; 1 = frame complete, keep
 * it), appends m->start_time to the string attribute status@resumed (space-separated, one
 * time per resume; @started is kept) and flushes.  The caller then writes the frames with
 * done[i] == 0 (write_frame + frames_done) exactly as in a fresh run; the other entries,
 * argv included (a resumed command line carries --resume), are not compared: the
 * configuration hash stands for them.  Failure injection: NB_FAULT point h5-create, as for
 * nb_nxmx_create.  *out is set even on failure: every rank must then call
 * nb_nxmx_close(*out, 0, ...) (or 2, to keep the file whatever happened). */
nb_status nb_nxmx_reopen(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out, uint8_t *done,
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
 * keeps every frame recorded done.  The same n and recs on every rank; every record has the
 * band layout recorded first (also by the job that a reopened file comes from), else
 * NB_E_INTERNAL. */
nb_status nb_nxmx_frames_done(struct nb_nxmx *h, int n, const struct nb_nxmx_done *recs,
                              struct nb_err *err);
/* ok == 1: set @complete = 1 and close.  ok == 0 (an agreed failure): close without further
 * collective writes (rank 0 first truncates a file this handle created, which the caller
 * then discards; a file nb_nxmx_reopen refused is left untouched).  ok == 2 (stopped,
 * resumable: SIGTERM): collective flush, then close every object and the file, leaving
 * @complete = 0 and every frame recorded done, for nb_nxmx_reopen; never truncates (after an
 * earlier failure it closes as ok == 0 does, but keeps the file).  Every rank, always; frees
 * h; NULL-safe.  Returns this rank's status: the caller then agrees on it -- with a deadline
 * where it failed, since the other ranks may be stuck inside the close. */
nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err);

/* Before any other HDF5 call / at the very end of the program: HDF5 is shut down explicitly,
 * and not at all after a file it could not close (its exit handler would crash on it). */
void nb_hdf5_init(void);
void nb_hdf5_fini(void);

/* "HDF5 1.10.8 (parallel)", or "not built". */
const char *nb_hdf5_describe(void);

#endif
