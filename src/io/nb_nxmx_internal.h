/* nb_nxmx_internal.h -- what the parts of the NXmx writer share: the handle, the collective
 * discipline and the handle's set-up (nb_nxmx.c), the small writers and the layout
 * (nb_nxmx_layout.c, nb_nxmx_simulation.c).  Not an API: only src/io/nb_nxmx*.c include it;
 * nb_nxmx.h is the public header.  No <mpi.h>.  Each function is commented where defined.
 */
#ifndef NB_NXMX_INTERNAL_H
#define NB_NXMX_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "nb_nxmx.h"
#include "../util/nb_status.h"

/* The writer's handle (opaque in nb_nxmx.h): one per rank, the same calls on every rank. */
struct nb_nxmx {
    char *file_path;           /* the file created (the caller's temporary name) */
    hid_t file, fapl, dxpl;
    hid_t d_data, d_float, d_int, status; /* d_float / d_int: -1 when not written */
    char *name;                /* the --hdf5 name, for messages */
    int rank, noise;
    int write_float, write_int;
    int fpixels, spixels;
    int nframes, n_bands;      /* the [nframes][B] of the per-frame tables           */
    int carry_tables;          /* the carry tables exist (not spec mode)             */
    int layout_written;        /* band layout recorded (first nb_nxmx_frames_done)   */
    int32_t *lay_row0, *lay_nrows; /* that layout [n_bands] (kept to check later rounds) */
    int64_t *p1, *p_star;      /* carry facts per frame, -1 until the frame is done  */
    double *phi_star;          /* rad per frame, NaN until the frame is done         */
    int keep_file;             /* a failed close must not truncate the file (a file
                                * nb_nxmx_reopen has not accepted yet is not ours)   */
    struct nb_nxmx_sync sync;
    const char *phase;         /* fault-injection point of the current entry point */
    int bad;                   /* a local failure since the last agreement          */
    nb_status bad_st;          /* its status: NB_E_OUTPUT, NB_E_INPUT (reopen checks) */
    int failed;                /* agreed: some rank failed; no more collective calls */
    nb_status failed_st;       /* the agreed status of that failure                  */
    struct nb_err why;         /* first local failure, then the agreed message       */
};

/* nb_nxmx.c: a file HDF5 failed to close (then nb_hdf5_fini never shuts HDF5 down). */
extern int nxmx_hdf5_stuck;

/* The system's reason when HDF5 gives one ("No space left on device"), else the innermost
 * HDF5 message. */
struct nxmx_cause {
    char text[160];
    int from_system;
};

/* nb_nxmx.c: the collective discipline (every collective HDF5 call goes through these) */
void nxmx_h5_cause(struct nxmx_cause *c);
void nxmx_note_fail(struct nb_nxmx *h, const char *what);
NB_PRINTF(3, 4) void nxmx_note_msg(struct nb_nxmx *h, nb_status st, const char *fmt, ...);
int nxmx_coll_ok(struct nb_nxmx *h);
void nxmx_coll_failed(struct nb_nxmx *h, const char *what);
herr_t nxmx_c_write(struct nb_nxmx *h, hid_t d, hid_t type, hid_t ms, hid_t fs,
                    const void *buf);
hid_t nxmx_c_dcreate(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, hid_t space,
                     hid_t dcpl);
herr_t nxmx_c_read(struct nb_nxmx *h, hid_t d, hid_t type, void *buf);
int nxmx_c_flush(struct nb_nxmx *h);
nb_status nxmx_c_result(struct nb_nxmx *h, struct nb_err *err);

/* nb_nxmx.c: a new handle (nb_nxmx_create, nb_nxmx_reopen) */
struct nb_nxmx *nxmx_handle_new(const char *file, const char *name,
                                const struct nb_nxmx_meta *m, const struct nb_nxmx_sync *sync,
                                struct nb_err *err);

/* nb_nxmx_layout.c: small writers */
hid_t nxmx_str_type(size_t len);
int nxmx_attr_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *buf);
int nxmx_attr_str(hid_t loc, const char *name, const char *s);
int nxmx_attr_dv(hid_t loc, const char *name, const double *v, hsize_t n);
hid_t nxmx_group(struct nb_nxmx *h, hid_t loc, const char *name, const char *nx_class);
hid_t nxmx_small_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int rank,
                      const hsize_t *dims, const void *buf);

/* nb_nxmx_layout.c: the file nb_nxmx_create lays out */
void nxmx_lab_to_mcstas(const struct nb_scene *sc, double R[3][3]);
void nxmx_layout_entry(struct nb_nxmx *h, const struct nb_nxmx_meta *m, double R[3][3]);

/* nb_nxmx_simulation.c: /entry/simulation (nxmx_layout_entry calls it) */
int nxmx_write_simulation(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                          double R[3][3]);

#endif
