/* nb_nxmx.c -- the NXmx HDF5 file of spec/formats.md §11 (see nb_nxmx.h): a stack of nframes
 * images written frame by frame.  Here: the collective discipline and the entry points but
 * resume's (nb_nxmx_resume.c); what create writes is in nb_nxmx_layout.c (the NXmx part) and
 * nb_nxmx_simulation.c (/entry/simulation); nb_nxmx_internal.h holds what they share.
 * nb_nxmx_create writes everything known before the render (per-frame scan axis, cell, UB and
 * provenance; pixel mask; empty carry tables and status); nb_nxmx_write_frame writes one
 * round's image parts (ranks may write different frames); nb_nxmx_frames_done records the
 * finished frames (carry facts and tables, status) and flushes.  nb_nxmx_close(.., 2, ..)
 * suspends a series (flushed, @complete = 0); nb_nxmx_reopen checks such a file against the
 * job and reopens it where nb_nxmx_create would have left it, and nb_nxmx_peek reads the
 * job's identity from it in one process.  No <mpi.h> here (plists come from nb_h5_plists()).
 */

#define _POSIX_C_SOURCE 200809L
#include "nb_nxmx.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "nb_h5_plists.h"
#include "nb_nxmx_internal.h"
#include "../util/nb_fault.h"

/* Process-wide: a file that HDF5 failed to close.  HDF5's own shutdown would then crash
 * (HDF5 1.10 dereferences the half-closed file), so the program skips it (nb_hdf5_fini). */
int nxmx_hdf5_stuck;

/* ------------------------------------------------------------------ collective discipline
 *
 * Parallel HDF5 deadlocks when one rank skips a collective call that the others make.  So
 * every collective call (file create/flush/close, dataset creation with allocation, every
 * H5Dwrite) is preceded by an agreement on "has anything failed anywhere since the last
 * agreement?": if so, every rank skips every remaining collective call (the flag is sticky
 * and identical on all ranks), and the entry point returns the failing rank's message.
 */

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct nxmx_cause *c = data;
    const char *m = e->desc ? strstr(e->desc, "error message = '") : NULL;
    (void)n;
    if (m && !c->from_system) {
        m += strlen("error message = '");
        const char *end = strchr(m, '\'');
        snprintf(c->text, sizeof c->text, "%.*s", end ? (int)(end - m) : 120, m);
        c->from_system = 1;
    } else if (!c->from_system && e->desc) {
        snprintf(c->text, sizeof c->text, "%s", e->desc); /* walking down: innermost last */
    }
    return 0;
}

/* Under MPI-IO the system's reason is often lost ("MPI_ERR_OTHER"): say so when the file
 * system holding the file has (almost) no space left, the usual cause. */
static const char *space_hint(const struct nb_nxmx *h)
{
    struct statvfs v;
    char dir[4096];
    const char *slash = h->file_path ? strrchr(h->file_path, '/') : NULL;
    if (!h->file_path)
        return "";
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - h->file_path) + 1 : 1,
             slash ? h->file_path : ".");
    if (statvfs(dir, &v) != 0)
        return "";
    return (double)v.f_bavail * (double)v.f_frsize < 65536.0
               ? "; the file system holding it is full"
               : "";
}

void nxmx_h5_cause(struct nxmx_cause *c)
{
    memset(c, 0, sizeof *c);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, c);
}

void nxmx_note_fail(struct nb_nxmx *h, const char *what)
{
    if (!h->bad && !h->failed) {
        struct nxmx_cause c;
        nxmx_h5_cause(&c);
        nb_err_set(&h->why, "--hdf5 %s: %s failed%s%s%s%s", h->name, what,
                   c.text[0] ? " (" : "", c.text, c.text[0] ? ")" : "",
                   c.from_system ? "" : space_hint(h));
        h->bad_st = NB_E_OUTPUT;
    }
    h->bad = 1;
}

/* A local failure with its own message and status (NB_E_INPUT: the file is not the one this
 * job can resume). */
NB_PRINTF(3, 4) void nxmx_note_msg(struct nb_nxmx *h, nb_status st, const char *fmt, ...)
{
    if (!h->bad && !h->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->why.msg, sizeof h->why.msg, fmt, ap);
        va_end(ap);
        h->bad_st = st;
    }
    h->bad = 1;
}

/* 1 when the next collective call may be made (every rank then makes it). */
int nxmx_coll_ok(struct nb_nxmx *h)
{
    if (h->failed)
        return 0;
    if (!h->bad && h->phase && nb_fault(h->phase))
        nxmx_note_fail(h, "an injected failure (NB_FAULT) before a collective call");
    nb_status st = h->bad ? h->bad_st : NB_OK;
    h->sync.agree(h->sync.ctx, &st, &h->why, -1.0);
    if (st != NB_OK) {
        h->failed = 1;
        h->failed_st = st;
    }
    return !h->failed;
}

/* A collective call failed on this rank.  The other ranks may have left it normally (they
 * then meet this agreement at their next collective call) or may wait inside it for this
 * rank for ever (HDF5 abandons some collectives half way on an I/O error); in that case
 * nothing can end the call but ending the job, which stuck() does. */
void nxmx_coll_failed(struct nb_nxmx *h, const char *what)
{
    nxmx_note_fail(h, what);
    nb_status st = h->bad_st;
    if (h->sync.agree(h->sync.ctx, &st, &h->why, h->sync.stuck_after_s) != 0)
        h->sync.stuck(h->sync.ctx, &h->why);
    h->failed = 1;
    h->failed_st = st != NB_OK ? st : NB_E_OUTPUT;
}

herr_t nxmx_c_write(struct nb_nxmx *h, hid_t d, hid_t type, hid_t ms, hid_t fs,
                    const void *buf)
{
    if (d < 0)
        nxmx_note_fail(h, "opening a dataset");
    if (!nxmx_coll_ok(h))
        return -1;
    herr_t rc = H5Dwrite(d, type, ms, fs, h->dxpl, buf);
    if (rc < 0)
        nxmx_coll_failed(h, "writing a dataset");
    return rc;
}

hid_t nxmx_c_dcreate(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, hid_t space,
                     hid_t dcpl)
{
    if (loc < 0)
        nxmx_note_fail(h, "opening a group");
    if (!nxmx_coll_ok(h))
        return -1;
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
        nxmx_coll_failed(h, "creating a dataset");
    return d;
}

/* All of dataset d on every rank (a collective read of a small dataset). */
herr_t nxmx_c_read(struct nb_nxmx *h, hid_t d, hid_t type, void *buf)
{
    if (d < 0)
        nxmx_note_fail(h, "opening a dataset");
    if (!nxmx_coll_ok(h))
        return -1;
    herr_t rc = H5Dread(d, type, H5S_ALL, H5S_ALL, h->dxpl, buf);
    if (rc < 0)
        nxmx_coll_failed(h, "reading a dataset");
    return rc;
}

int nxmx_c_flush(struct nb_nxmx *h)
{
    if (!nxmx_coll_ok(h))
        return -1;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        nxmx_coll_failed(h, "flushing the file");
        return -1;
    }
    return 0;
}

/* End of an entry point: the agreed status, with the first failing rank's message. */
nb_status nxmx_c_result(struct nb_nxmx *h, struct nb_err *err)
{
    nxmx_coll_ok(h);
    if (!h->failed)
        return NB_OK;
    if (err)
        *err = h->why;
    return h->failed_st;
}

const char *nb_hdf5_describe(void)
{
    static char buf[128];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, sizeof buf, "HDF5 %u.%u.%u, %s", maj, min, rel, nb_h5_driver());
    return buf;
}

/* ------------------------------------------------------------------ entry points */

/* The handle's own state: everything but HDF5 objects.  0, or -1 (out of memory or a
 * meaningless frame or band count, identical on every rank). */
static int handle_init(struct nb_nxmx *h, const struct nb_nxmx_meta *m)
{
    h->file = h->fapl = h->dxpl = h->d_data = h->d_float = h->d_int = h->status = -1;
    h->rank = m->rank;
    h->noise = m->noise;
    h->write_float = m->write_float;
    h->write_int = m->write_int;
    h->fpixels = m->sc->fpixels;
    h->spixels = m->sc->spixels;
    h->nframes = m->nframes;
    h->n_bands = m->bands_per_frame;
    h->carry_tables = m->sc->phi_carryover != NB_CARRY_SPEC;
    if (h->nframes < 1 || !m->frames || h->n_bands < 1)
        return -1;
    h->p1 = malloc(sizeof(int64_t) * (size_t)h->nframes);
    h->p_star = malloc(sizeof(int64_t) * (size_t)h->nframes);
    h->phi_star = malloc(sizeof(double) * (size_t)h->nframes);
    h->lay_row0 = malloc(sizeof(int32_t) * (size_t)h->n_bands);
    h->lay_nrows = malloc(sizeof(int32_t) * (size_t)h->n_bands);
    if (!h->p1 || !h->p_star || !h->phi_star || !h->lay_row0 || !h->lay_nrows)
        return -1;
    for (int i = 0; i < h->nframes; i++) {
        h->p1[i] = h->p_star[i] = -1;
        h->phi_star[i] = NAN;
    }
    return 0;
}

static void handle_free(struct nb_nxmx *h)
{
    free(h->p1);
    free(h->p_star);
    free(h->phi_star);
    free(h->lay_row0);
    free(h->lay_nrows);
    free(h->name);
    free(h->file_path);
    free(h);
}

/* A new handle with its own state and property lists (failures noted), or NULL when even the
 * handle cannot be allocated (then every rank has agreed on NB_E_NOMEM, message in err). */
struct nb_nxmx *nxmx_handle_new(const char *file, const char *name,
                                const struct nb_nxmx_meta *m, const struct nb_nxmx_sync *sync,
                                struct nb_err *err)
{
    struct nb_nxmx *h = calloc(1, sizeof *h);
    if (!h || !(h->name = strdup(name)) || !(h->file_path = strdup(file))) {
        if (h)
            free(h->name);
        free(h);
        nb_err_set(err, "--hdf5 %s: out of memory", name);
        nb_status st = NB_E_NOMEM;
        sync->agree(sync->ctx, &st, err, -1.0);
        return NULL;
    }
    h->sync = *sync;
    h->phase = "h5-create"; /* nb_nxmx_reopen too: the same point of failure tests */
    h->bad_st = h->failed_st = NB_E_OUTPUT;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors become one line from us, not a stack */
    if (handle_init(h, m) != 0)
        nxmx_note_fail(h, h->nframes < 1 || !m->frames || h->n_bands < 1
                         ? "checking the frame and band counts"
                         : "allocating the per-frame carry facts");
    if (nb_h5_plists(&h->fapl, &h->dxpl) != 0)
        nxmx_note_fail(h, "setting up the property lists");
    return h;
}

nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err)
{
    double R[3][3];
    *out = NULL;
    struct nb_nxmx *h = nxmx_handle_new(file, name, m, sync, err);
    if (!h)
        return NB_E_NOMEM;
    if (nxmx_coll_ok(h)) {
        h->file = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, h->fapl);
        if (h->file < 0)
            nxmx_coll_failed(h, "creating the file");
    }
    if (nxmx_coll_ok(h)) {
        nxmx_lab_to_mcstas(m->sc, R);
        nxmx_layout_entry(h, m, R);
        nxmx_c_flush(h);
    }
    nb_status st = nxmx_c_result(h, err);
    *out = h; /* even after a failure: nb_nxmx_close() releases it on every rank */
    return st;
}

/* ------------------------------------------------------------------ frames */

/* Rows [row0, row0+n) of image `frame` (n == fpixels * rows floats / counts), or the whole
 * plane (row0 = 0, n = spixels); selects nothing when there is nothing to write here. */
static void write_image_part(struct nb_nxmx *h, hid_t d, hid_t memtype, int frame, int row0,
                             int n, const void *buf)
{
    static const char dummy[8];
    int sel = frame >= 0 && n > 0 && buf;
    if (sel && (frame >= h->nframes || row0 < 0 || row0 > h->spixels - n)) {
        nxmx_note_fail(h, "writing an image part outside the image stack");
        sel = 0;
    }
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t mdims[2] = {(hsize_t)(sel ? n : 1), (hsize_t)h->fpixels};
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    if (sel) {
        hsize_t start[3] = {(hsize_t)frame, (hsize_t)row0, 0};
        hsize_t count[3] = {1, (hsize_t)n, (hsize_t)h->fpixels};
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
            nxmx_note_fail(h, "selecting image rows");
    } else {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    nxmx_c_write(h, d, memtype, ms, fs, sel ? buf : dummy);
    H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
}

nb_status nb_nxmx_write_frame(struct nb_nxmx *h, int frame, int row0, int n_rows,
                              const float *band, const int32_t *counts, const uint16_t *ints,
                              struct nb_err *err)
{
    h->phase = "h5-write";
    if (nb_fault("h5-stop")) /* failure tests: stop here, to be killed mid-write */
        raise(SIGSTOP);
    if (h->write_float)
        write_image_part(h, h->d_float, H5T_NATIVE_FLOAT, frame, row0, n_rows, band);
    if (h->noise)
        write_image_part(h, h->d_data, H5T_NATIVE_INT32, frame, 0, counts ? h->spixels : 0,
                         counts);
    else
        write_image_part(h, h->d_data, H5T_NATIVE_FLOAT, frame, row0, n_rows, band);
    if (h->write_int)
        write_image_part(h, h->d_int, H5T_NATIVE_UINT16, frame, 0, ints ? h->spixels : 0, ints);
    return nxmx_c_result(h, err);
}

/* New values for an existing attribute (same type and size). */
static int attr_rewrite(hid_t loc, const char *name, hid_t type, const void *buf)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, buf) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Rank 0 writes rows frames[0..n) (ascending, distinct) of the first dimension of dataset
 * `name` in `loc` from buf (the rows one after another), or all of it when frames is NULL;
 * the others select nothing. */
static int write_frame_rows(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type,
                            const int *frames, int n, const void *buf)
{
    hid_t d = loc >= 0 ? H5Dopen2(loc, name, H5P_DEFAULT) : -1;
    hid_t fs = d >= 0 ? H5Dget_space(d) : H5Screate(H5S_SCALAR);
    hsize_t dims[4] = {1, 1, 1, 1}, start[4] = {0}, count[4], per_row = 1;
    int rank = H5Sget_simple_extent_ndims(fs);
    if (rank < 1 || rank > 4 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0) {
        nxmx_note_fail(h, "opening a per-frame table");
        rank = 0;
    }
    for (int i = 1; i < rank; i++)
        per_row *= dims[i];
    hsize_t mdim = (frames ? (hsize_t)n : dims[0]) * per_row;
    hid_t ms = H5Screate_simple(1, &mdim, NULL);
    H5Sselect_none(fs);
    if (h->rank != 0 || rank == 0) {
        H5Sselect_none(ms);
    } else if (!frames) {
        H5Sselect_all(fs);
    } else {
        memcpy(count, dims, sizeof count);
        count[0] = 1;
        for (int k = 0; k < n; k++) {
            start[0] = (hsize_t)frames[k];
            if (H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL) < 0)
                nxmx_note_fail(h, "selecting rows of a per-frame table");
        }
    }
    herr_t rc = nxmx_c_write(h, d, type, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    return rc < 0 ? -1 : 0;
}

/* The frames of recs in ascending order, each once (recs are identical on every rank). */
static int *sorted_frames(struct nb_nxmx *h, int n, const struct nb_nxmx_done *recs,
                          const struct nb_nxmx_done ***by_frame, int *n_out)
{
    int *fr = malloc(sizeof(int) * (size_t)n);
    const struct nb_nxmx_done **rp = malloc(sizeof *rp * (size_t)n);
    *n_out = 0;
    *by_frame = NULL;
    if (!fr || !rp) {
        free(fr);
        free(rp);
        nxmx_note_fail(h, "allocating the finished-frame list");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        int f = recs[k].frame, j = *n_out;
        if (f < 0 || f >= h->nframes || !recs[k].bands) {
            nxmx_note_fail(h, "recording a frame outside the image stack");
            continue;
        }
        while (j > 0 && fr[j - 1] > f)
            j--;
        if (j > 0 && fr[j - 1] == f)
            continue; /* listed twice: the first record counts */
        memmove(fr + j + 1, fr + j, sizeof(int) * (size_t)(*n_out - j));
        memmove(rp + j + 1, rp + j, sizeof *rp * (size_t)(*n_out - j));
        fr[j] = f;
        rp[j] = &recs[k];
        (*n_out)++;
    }
    *by_frame = rp;
    return fr;
}

/* The band layout (the same for every frame): @band_row0 / @band_nrows on /entry/simulation
 * and the carry tables row0 / nrows. */
static int write_band_layout(struct nb_nxmx *h, hid_t sim, hid_t carry,
                             const struct nb_nxmx_band *bands)
{
    const int B = h->n_bands;
    int bad = 0;
    int32_t *r0 = malloc(sizeof(int32_t) * (size_t)B), *nr = malloc(sizeof(int32_t) * (size_t)B);
    if (!r0 || !nr) {
        nxmx_note_fail(h, "allocating the band layout");
        bad = 1;
    } else {
        for (int b = 0; b < B; b++) {
            r0[b] = h->lay_row0[b] = bands[b].row0;
            nr[b] = h->lay_nrows[b] = bands[b].n_rows;
        }
        hsize_t nb = (hsize_t)B;
        bad |= nxmx_attr_write(sim, "band_row0", H5T_NATIVE_INT32, 1, &nb, r0);
        bad |= nxmx_attr_write(sim, "band_nrows", H5T_NATIVE_INT32, 1, &nb, nr);
        if (h->carry_tables) {
            bad |= write_frame_rows(h, carry, "row0", H5T_NATIVE_INT32, NULL, 0, r0);
            bad |= write_frame_rows(h, carry, "nrows", H5T_NATIVE_INT32, NULL, 0, nr);
        }
    }
    free(r0);
    free(nr);
    return bad ? -1 : 0;
}

/* Rows of the carry tables for the n frames fr[] (records rp[]). */
static int write_carry_rows(struct nb_nxmx *h, hid_t carry, const int *fr,
                            const struct nb_nxmx_done *const *rp, int n)
{
    const size_t m = (size_t)n * (size_t)h->n_bands; /* table rows x bands */
    uint8_t *ins = malloc(m), *outs = malloc(m);
    double *inv = malloc(sizeof(double) * 9 * m), *outv = malloc(sizeof(double) * 9 * m);
    int64_t *inl = malloc(sizeof(int64_t) * m), *outl = malloc(sizeof(int64_t) * m);
    int bad = 0;
    if (!ins || !outs || !inv || !outv || !inl || !outl) {
        nxmx_note_fail(h, "allocating the carry tables");
        bad = 1;
        goto done;
    }
    for (int k = 0; k < n; k++)
        for (int b = 0; b < h->n_bands; b++) {
            const struct nb_nxmx_band *x = &rp[k]->bands[b];
            size_t i = (size_t)k * h->n_bands + b;
            ins[i] = (uint8_t)x->in_state;
            outs[i] = (uint8_t)x->out_state;
            memcpy(inv + 9 * i, x->in_vec, 9 * sizeof(double));
            memcpy(outv + 9 * i, x->out_vec, 9 * sizeof(double));
            inl[i] = x->in_last;
            outl[i] = x->out_last;
        }
    bad |= write_frame_rows(h, carry, "in_state", H5T_NATIVE_UINT8, fr, n, ins);
    bad |= write_frame_rows(h, carry, "out_state", H5T_NATIVE_UINT8, fr, n, outs);
    bad |= write_frame_rows(h, carry, "in_vectors", H5T_NATIVE_DOUBLE, fr, n, inv);
    bad |= write_frame_rows(h, carry, "out_vectors", H5T_NATIVE_DOUBLE, fr, n, outv);
    bad |= write_frame_rows(h, carry, "in_last_index", H5T_NATIVE_INT64, fr, n, inl);
    bad |= write_frame_rows(h, carry, "out_last_index", H5T_NATIVE_INT64, fr, n, outl);
done:
    free(ins);
    free(outs);
    free(inv);
    free(outv);
    free(inl);
    free(outl);
    return bad ? -1 : 0;
}

/* frames_done and bands_done = 1 for the n frames fr[]. */
static int write_status_rows(struct nb_nxmx *h, const int *fr, int n)
{
    uint8_t *ones = malloc((size_t)n * (size_t)h->n_bands);
    if (!ones) {
        nxmx_note_fail(h, "allocating the status record");
        return -1;
    }
    memset(ones, 1, (size_t)n * (size_t)h->n_bands);
    int bad = write_frame_rows(h, h->status, "frames_done", H5T_NATIVE_UINT8, fr, n, ones);
    bad |= write_frame_rows(h, h->status, "bands_done", H5T_NATIVE_UINT8, fr, n, ones);
    free(ones);
    return bad ? -1 : 0;
}

/* 0 when the n records' band layouts all equal the one recorded (if any); else a failure
 * noted (records are identical on every rank: so is the outcome). */
static int check_layout(struct nb_nxmx *h, const struct nb_nxmx_done *const *rp, int n)
{
    const struct nb_nxmx_band *first = rp[0]->bands;
    const int32_t *r0 = h->layout_written ? h->lay_row0 : NULL;
    for (int k = 0; k < n; k++)
        for (int b = 0; b < h->n_bands; b++) {
            const struct nb_nxmx_band *x = &rp[k]->bands[b];
            int want0 = r0 ? r0[b] : first[b].row0;
            int wantn = r0 ? h->lay_nrows[b] : first[b].n_rows;
            if (x->row0 != want0 || x->n_rows != wantn) {
                nxmx_note_msg(h, NB_E_INTERNAL,
                              "--hdf5 %s: frame %d: band %d covers rows %d+%d, the file's band "
                              "layout %d+%d",
                              h->name, rp[k]->frame, b, x->row0, x->n_rows, want0, wantn);
                return -1;
            }
        }
    return 0;
}

nb_status nb_nxmx_frames_done(struct nb_nxmx *h, int n, const struct nb_nxmx_done *recs,
                              struct nb_err *err)
{
    const struct nb_nxmx_done **rp = NULL;
    int nf = 0, bad = 0;
    h->phase = "h5-run";
    if (h->failed)
        return nxmx_c_result(h, err);
    int *fr = n > 0 ? sorted_frames(h, n, recs, &rp, &nf) : NULL;
    hid_t sim = H5Gopen2(h->file, "/entry/simulation", H5P_DEFAULT);
    hid_t carry = sim >= 0 ? H5Gopen2(sim, "carry", H5P_DEFAULT) : -1;
    if (carry < 0)
        nxmx_note_fail(h, "opening the carry cache");
    /* one band layout per file (the tables' columns are its bands): a resumed job keeps the
     * layout recorded before */
    if (nf > 0 && !h->bad)
        check_layout(h, rp, nf);
    if (nf > 0 && !h->bad) {
        for (int k = 0; k < nf; k++) {
            h->p1[fr[k]] = rp[k]->p1;
            h->p_star[fr[k]] = rp[k]->p_star;
            h->phi_star[fr[k]] = rp[k]->phi_star;
        }
        bad |= attr_rewrite(carry, "p1", H5T_NATIVE_INT64, h->p1);
        bad |= attr_rewrite(carry, "phi_star", H5T_NATIVE_DOUBLE, h->phi_star);
        bad |= attr_rewrite(carry, "interp_latch_index", H5T_NATIVE_INT64, h->p_star);
        if (!h->layout_written) {
            bad |= write_band_layout(h, sim, carry, rp[0]->bands);
            h->layout_written = 1;
        }
        if (h->carry_tables)
            bad |= write_carry_rows(h, carry, fr, rp, nf);
        bad |= write_status_rows(h, fr, nf);
    }
    if (bad)
        nxmx_note_fail(h, "recording the finished frames");
    free(fr);
    free(rp);
    if (carry >= 0)
        H5Gclose(carry);
    if (sim >= 0)
        H5Gclose(sim);
    nxmx_c_flush(h); /* every frame recorded done is on disk */
    return nxmx_c_result(h, err);
}

/* ------------------------------------------------------------------ close */

/* The end time and @complete = 1: the last changes before closing. */
static void mark_complete(struct nb_nxmx *h, const char *end_time)
{
    signed char one = 1;
    if (nxmx_attr_str(h->status, "finished", end_time) != 0)
        nxmx_note_fail(h, "recording the end time");
    hid_t e = H5Dopen2(h->file, "/entry/end_time_estimated", H5P_DEFAULT);
    hid_t t = e >= 0 ? H5Dget_type(e) : H5Tcopy(H5T_C_S1);
    char buf[64] = {0};
    snprintf(buf, sizeof buf, "%s", end_time); /* as long as the start time: ISO 8601 UTC */
    hid_t ms = H5Screate(H5S_SCALAR), fs = H5Scopy(ms);
    if (h->rank != 0) {
        H5Sselect_none(ms);
        H5Sselect_none(fs);
    }
    if (e < 0)
        nxmx_note_fail(h, "opening end_time_estimated");
    nxmx_c_write(h, e, t, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(t);
    if (e >= 0)
        H5Dclose(e);
    hid_t a = H5Aopen(h->status, "complete", H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT8, &one) < 0)
        nxmx_note_fail(h, "setting @complete");
    if (a >= 0)
        H5Aclose(a);
}

/* Every object this handle opened, then the file: all ranks, always (H5Fclose is collective;
 * after a failure every rank knows it and closes too).  Objects left open would keep the file
 * open past the close and make HDF5's own shutdown touch it. */
static int close_all(struct nb_nxmx *h)
{
    hid_t ids[] = {h->d_data, h->d_float, h->d_int};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] >= 0)
            H5Dclose(ids[i]);
    if (h->status >= 0)
        H5Gclose(h->status);
    int bad = 0;
    if (h->file >= 0) {
        ssize_t left = H5Fget_obj_count(h->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                     H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
        if (left > 0) {
            hid_t *open_ids = malloc(sizeof(hid_t) * (size_t)left);
            ssize_t n = open_ids ? H5Fget_obj_ids(h->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                               H5F_OBJ_DATATYPE | H5F_OBJ_ATTR |
                                                               H5F_OBJ_LOCAL,
                                                  (size_t)left, open_ids)
                                  : 0;
            for (ssize_t i = 0; i < n; i++) {
                switch (H5Iget_type(open_ids[i])) {
                case H5I_DATASET: H5Dclose(open_ids[i]); break;
                case H5I_GROUP: H5Gclose(open_ids[i]); break;
                case H5I_DATATYPE: H5Tclose(open_ids[i]); break;
                case H5I_ATTR: H5Aclose(open_ids[i]); break;
                default: break;
                }
            }
            free(open_ids);
        }
        bad = H5Fclose(h->file) < 0;
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) > 0)
            nxmx_hdf5_stuck = 1; /* HDF5 could not let go of the file: never shut HDF5 down */
    }
    if (h->fapl >= 0)
        H5Pclose(h->fapl);
    if (h->dxpl >= 0)
        H5Pclose(h->dxpl);
    return bad;
}

nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err)
{
    if (!h)
        return NB_OK;
    h->phase = "h5-close";
    if (ok == 1 && !h->failed && h->status >= 0) {
        mark_complete(h, end_time);
        nxmx_c_flush(h); /* everything on disk before the close, which then has little to write */
    } else if (ok == 2 && !h->failed) {
        nxmx_c_flush(h); /* suspended: @complete stays 0, frames_done tells what to resume */
    }
    if (!ok && !h->failed) {
        h->failed = 1; /* the caller's agreed failure: no more collective calls but the close */
        h->failed_st = NB_E_OUTPUT;
    }
    if (ok) /* so that no rank closes while another still writes */
        nxmx_coll_ok(h);
    if (h->failed && ok != 2 && !h->keep_file && h->rank == 0 && h->file_path) {
        /* the file will be discarded: give its space back first, so that the close can
         * write what HDF5 still holds even when the disk or quota is full */
        (void)truncate(h->file_path, 0);
    }
    /* every rank closes; the caller then agrees on the result */
    nb_status st = close_all(h) != 0 ? NB_E_OUTPUT : NB_OK;
    if (st != NB_OK && !h->failed)
        nb_err_set(&h->why, "--hdf5 %s: closing the file failed", h->name);
    if (h->failed)
        st = h->failed_st;
    if (st != NB_OK && err)
        *err = h->why;
    handle_free(h);
    return st;
}

void nb_hdf5_init(void)
{
    H5dont_atexit(); /* HDF5 is shut down by nb_hdf5_fini(), or not at all */
}

void nb_hdf5_fini(void)
{
    if (!nxmx_hdf5_stuck)
        H5close();
}
