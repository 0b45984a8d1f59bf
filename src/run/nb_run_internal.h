/* nb_run_internal.h -- what the program's two halves share: the plain run (nb_run.c) and the
 * series (nb_run_series.c, docs/batch.md).  Not an API: only src/run/ includes it.
 */
#ifndef NB_RUN_INTERNAL_H
#define NB_RUN_INTERNAL_H

#include <signal.h>
#include <stdint.h>

#include "../cli/nb_cli.h"
#include "../engine/nb_scene.h"
#include "../io/nb_io.h"
#include "../io/nb_nxmx.h"
#include "../../mpi/nb_dist.h"
#include "nb_device.h"
#include "nb_outputs.h"
#include "nb_render_dist.h"

struct textbuf {
    char *s;
    size_t n;
};

struct inputs {
    struct nb_hkl_grid hkl;
    int have_hkl;   /* a grid is loaded (-hkl or Fdump.bin) */
    int from_dump;  /* ... and it came from Fdump.bin       */
    int dump_exists;
    struct nb_source_list sources;
    struct textbuf hkl_msgs;
    char *frames_text; /* the --frames-from file, NUL-terminated */
};

struct run {
    struct nb_dist *d;
    int rank, size;
    long default_seed;
    char config_hash[24];     /* a series: what --resume checks                         */
    char *resume_partial;     /* rank 0, --resume: the stopped job's file (owned)       */
    struct nb_nxmx_peek peek; /* ... and what it records (every rank)                   */
    int resuming;             /* every rank: there is a file to continue                */
    struct nb_cli cli;
    int have_cli;
    struct inputs in;
    struct nb_outputs outs;
    struct nb_scene sc;
    int have_scene;
    struct nb_device_choice dev; /* the back-end (--device), every rank                  */
    struct nb_render_result R;
    struct nb_nxmx *h5;
    int h5_open; /* nb_nxmx_create was called on every rank: every rank must close */
    struct nb_nxmx_frame frame0; /* a plain run's one frame */
    uint16_t *int_img; /* rank 0, for HDF5 */
    int32_t *counts_img; /* rank 0, for HDF5: noise photon counts without the ADC offset */
    struct nb_err err;
};

/* Set by the signal handler (nb_run.c): a series stops after the frames in flight. */
extern volatile sig_atomic_t run_series_graceful, run_stop_signal;

/* ISO 8601 UTC time stamp, and the same from rank 0 on every rank. */
void run_iso_time(char *buf, size_t n);
void run_end_time_now(struct run *r, char *buf, size_t n);
/* What the HDF5 file records of a frame before its render. */
void run_frame_info(const struct nb_scene *sc, const struct nb_config *c, const char *flags,
                    struct nb_nxmx_frame *f);
/* The HDF5 metadata of the command line's run (one frame). */
void run_fill_meta(struct run *r, int argc, char **argv, const char *start_time,
                   struct nb_nxmx_meta *m);
int run_want_fdump(const struct run *r);
/* Create (done NULL) or reopen the HDF5 file; close it (ok: 0 failed, 1 complete, 2 stopped). */
nb_status run_hdf5_open(struct run *r, const struct nb_nxmx_meta *meta, uint8_t *done);
nb_status run_hdf5_close(struct run *r, int ok, const char *end_time);
/* The band records of a render as the HDF5 file keeps them (malloc'ed). */
struct nb_nxmx_band *run_band_table(const struct nb_render_result *R);

/* The series after the command line's set-up (nb_run_series.c). */
nb_status run_series(struct run *r, int argc, char **argv);

#endif
