/* nb_nxmx.c -- the NXmx HDF5 file of spec/formats.md §11 (see nb_nxmx.h): a stack of nframes
 * images written frame by frame.
 *
 * Conventions: every group has @NX_class; strings are fixed-length NUL-terminated ASCII;
 * NeXus fields carry @units; /entry/simulation is SI in the simulator's lab frame.  Vectors
 * given to NeXus are R*w with R the lab -> McStas matrix of §11.1 (z along the beam, y =
 * unit(p x b)).  Metadata is created by all ranks with identical values; raw data go through
 * collective H5Dwrite calls in which ranks without data select nothing.  Images are
 * [nframes][spixels][fpixels] with one chunk per frame, whatever the rank count.
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
#include "../engine/nb_image.h"
#include "../util/nb_fault.h"

/* Process-wide: a file that HDF5 failed to close.  HDF5's own shutdown would then crash
 * (HDF5 1.10 dereferences the half-closed file), so the program skips it (nb_hdf5_fini). */
static int hdf5_stuck;

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

/* ------------------------------------------------------------------ collective discipline
 *
 * Parallel HDF5 deadlocks when one rank skips a collective call that the others make.  So
 * every collective call (file create/flush/close, dataset creation with allocation, every
 * H5Dwrite) is preceded by an agreement on "has anything failed anywhere since the last
 * agreement?": if so, every rank skips every remaining collective call (the flag is sticky
 * and identical on all ranks), and the entry point returns the failing rank's message.
 */

/* The system's reason when HDF5 gives one ("No space left on device"), else the innermost
 * HDF5 message. */
struct cause {
    char text[160];
    int from_system;
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct cause *c = data;
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

static void h5_cause(struct cause *c)
{
    memset(c, 0, sizeof *c);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, c);
}

static void note_fail(struct nb_nxmx *h, const char *what)
{
    if (!h->bad && !h->failed) {
        struct cause c;
        h5_cause(&c);
        nb_err_set(&h->why, "--hdf5 %s: %s failed%s%s%s%s", h->name, what,
                   c.text[0] ? " (" : "", c.text, c.text[0] ? ")" : "",
                   c.from_system ? "" : space_hint(h));
        h->bad_st = NB_E_OUTPUT;
    }
    h->bad = 1;
}

/* A local failure with its own message and status (NB_E_INPUT: the file is not the one this
 * job can resume). */
NB_PRINTF(3, 4) static void note_msg(struct nb_nxmx *h, nb_status st, const char *fmt, ...)
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
static int coll_ok(struct nb_nxmx *h)
{
    if (h->failed)
        return 0;
    if (!h->bad && h->phase && nb_fault(h->phase))
        note_fail(h, "an injected failure (NB_FAULT) before a collective call");
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
static void coll_failed(struct nb_nxmx *h, const char *what)
{
    note_fail(h, what);
    nb_status st = h->bad_st;
    if (h->sync.agree(h->sync.ctx, &st, &h->why, h->sync.stuck_after_s) != 0)
        h->sync.stuck(h->sync.ctx, &h->why);
    h->failed = 1;
    h->failed_st = st != NB_OK ? st : NB_E_OUTPUT;
}

static herr_t c_write(struct nb_nxmx *h, hid_t d, hid_t type, hid_t ms, hid_t fs,
                      const void *buf)
{
    if (d < 0)
        note_fail(h, "opening a dataset");
    if (!coll_ok(h))
        return -1;
    herr_t rc = H5Dwrite(d, type, ms, fs, h->dxpl, buf);
    if (rc < 0)
        coll_failed(h, "writing a dataset");
    return rc;
}

static hid_t c_dcreate(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, hid_t space,
                       hid_t dcpl)
{
    if (loc < 0)
        note_fail(h, "opening a group");
    if (!coll_ok(h))
        return -1;
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
        coll_failed(h, "creating a dataset");
    return d;
}

/* All of dataset d on every rank (a collective read of a small dataset). */
static herr_t c_read(struct nb_nxmx *h, hid_t d, hid_t type, void *buf)
{
    if (d < 0)
        note_fail(h, "opening a dataset");
    if (!coll_ok(h))
        return -1;
    herr_t rc = H5Dread(d, type, H5S_ALL, H5S_ALL, h->dxpl, buf);
    if (rc < 0)
        coll_failed(h, "reading a dataset");
    return rc;
}

static int c_flush(struct nb_nxmx *h)
{
    if (!coll_ok(h))
        return -1;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        coll_failed(h, "flushing the file");
        return -1;
    }
    return 0;
}

/* End of an entry point: the agreed status, with the first failing rank's message. */
static nb_status c_result(struct nb_nxmx *h, struct nb_err *err)
{
    coll_ok(h);
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

/* ------------------------------------------------------------------ small helpers */

static hid_t str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static int attr_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                      const void *buf)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, buf) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static int attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = str_type(strlen(s));
    int rc = attr_write(loc, name, t, 0, NULL, s);
    H5Tclose(t);
    return rc;
}

static int attr_d(hid_t loc, const char *name, double v)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int attr_dv(hid_t loc, const char *name, const double *v, hsize_t n)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, 1, &n, v);
}

static int attr_i(hid_t loc, const char *name, int v)
{
    return attr_write(loc, name, H5T_NATIVE_INT32, 0, NULL, &v);
}

static int attr_i64v(hid_t loc, const char *name, const int64_t *v, hsize_t n)
{
    return attr_write(loc, name, H5T_NATIVE_INT64, 1, &n, v);
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

/* ------------------------------------------------------------------ readers (peek, reopen)
 * Each returns -1, without an HDF5 error stack printed, when the item is missing or is not
 * what the writer writes; they never change the file. */

/* The attribute `name` of loc if it exists with `n` elements of class `cls`, else -1. */
static hid_t attr_open_checked(hid_t loc, const char *name, H5T_class_t cls, hssize_t n)
{
    if (loc < 0 || H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == cls &&
             H5Sget_simple_extent_npoints(sp) == n;
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (!ok && a >= 0) {
        H5Aclose(a);
        a = -1;
    }
    return a;
}

/* 1 when that attribute exists as attr_open_checked() wants it. */
static int attr_has(hid_t loc, const char *name, H5T_class_t cls, hssize_t n)
{
    hid_t a = attr_open_checked(loc, name, cls, n);
    if (a < 0)
        return 0;
    H5Aclose(a);
    return 1;
}

/* An integer scalar attribute, converted to int64. */
static int attr_read_i64(hid_t loc, const char *name, int64_t *v)
{
    hid_t a = attr_open_checked(loc, name, H5T_INTEGER, 1);
    int rc = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0 ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* n values of a numeric array attribute (class cls) as `type`. */
static int attr_read_arr(hid_t loc, const char *name, H5T_class_t cls, hid_t type, hssize_t n,
                         void *buf)
{
    hid_t a = attr_open_checked(loc, name, cls, n);
    int rc = a >= 0 && H5Aread(a, type, buf) >= 0 ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* A scalar string attribute (fixed or variable length), malloc'd; NULL if missing. */
static char *attr_read_str(hid_t loc, const char *name)
{
    hid_t a = attr_open_checked(loc, name, H5T_STRING, 1);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    char *s = NULL;
    if (t >= 0 && H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        char *v = NULL;
        if (mt >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Aread(a, mt, &v) >= 0 && v)
            s = strdup(v);
        if (v)
            H5free_memory(v);
        if (mt >= 0)
            H5Tclose(mt);
    } else if (t >= 0) {
        size_t n = H5Tget_size(t);
        hid_t mt = H5Tcopy(t); /* fixed-length ASCII: the file's type is also the memory's */
        s = n > 0 && n < (1u << 20) && mt >= 0 ? calloc(n + 1, 1) : NULL;
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        if (mt >= 0)
            H5Tclose(mt);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

/* The group at `path` (absolute, components checked one by one), or -1. */
static hid_t group_open_checked(hid_t file, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = strchr(buf + 1, '/');; p = strchr(p + 1, '/')) {
        if (p)
            *p = '\0';
        if (H5Lexists(file, buf, H5P_DEFAULT) <= 0)
            return -1;
        if (!p)
            break;
        *p = '/';
    }
    return H5Gopen2(file, path, H5P_DEFAULT); /* fails on a dataset */
}

/* The kinds of dataset element the writer uses. */
enum elem { E_I32, E_F32, E_U16, E_U8 };

/* 0 when loc/name is a dataset of `rank` dims `dims` and element kind e; -1 missing (or not
 * a dataset), -2 another shape, -3 another element type. */
static int dset_check(hid_t loc, const char *name, int rank, const hsize_t *dims, enum elem e)
{
    if (loc < 0 || H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT); /* fails on a group */
    if (d < 0)
        return -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1, t = d >= 0 ? H5Dget_type(d) : -1;
    hsize_t got[8];
    int rc = sp >= 0 && t >= 0 ? 0 : -1;
    if (rc == 0 && (H5Sget_simple_extent_ndims(sp) != rank ||
                    H5Sget_simple_extent_dims(sp, got, NULL) != rank))
        rc = -2;
    for (int i = 0; rc == 0 && i < rank; i++)
        if (got[i] != dims[i])
            rc = -2;
    if (rc == 0) {
        H5T_class_t cls = H5Tget_class(t);
        size_t size = H5Tget_size(t);
        H5T_sign_t sign = cls == H5T_INTEGER ? H5Tget_sign(t) : H5T_SGN_ERROR;
        int ok = e == E_F32 ? cls == H5T_FLOAT && size == 4
                 : e == E_I32 ? cls == H5T_INTEGER && size == 4 && sign == H5T_SGN_2
                 : cls == H5T_INTEGER && size == (e == E_U16 ? 2u : 1u) && sign == H5T_SGN_NONE;
        if (!ok)
            rc = -3;
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

/* A group with @NX_class.  A failure is noted at once: the caller then skips the group's
 * contents, collective calls included, which is safe only once the failure is known. */
static hid_t group(struct nb_nxmx *h, hid_t loc, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && attr_str(g, "NX_class", nx_class) != 0) {
        H5Gclose(g);
        g = -1;
    }
    if (g < 0)
        note_fail(h, "creating a group");
    return g;
}

/* A small dataset written by rank 0 inside a collective call. */
static hid_t small_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int rank,
                        const hsize_t *dims, const void *buf)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = c_dcreate(h, loc, name, type, sp, H5P_DEFAULT);
    if (d < 0) {
        H5Sclose(sp);
        return -1;
    }
    hid_t ms = H5Scopy(sp), fs = H5Scopy(sp);
    if (h->rank != 0) {
        H5Sselect_none(ms);
        H5Sselect_none(fs);
    }
    herr_t rc = c_write(h, d, type, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Sclose(sp);
    if (rc < 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* A per-frame table created empty (every element `fill`) and filled row by row later, by
 * write_frame_rows(); closed at once. */
static int table_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int rank,
                      const hsize_t *dims, const void *fill)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (sp < 0 || dcpl < 0 || H5Pset_fill_value(dcpl, type, fill) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0)
        note_fail(h, "setting up a table");
    hid_t d = c_dcreate(h, loc, name, type, sp, dcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
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
        note_fail(h, "opening a per-frame table");
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
                note_fail(h, "selecting rows of a per-frame table");
        }
    }
    herr_t rc = c_write(h, d, type, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    return rc < 0 ? -1 : 0;
}

static int dset_str(struct nb_nxmx *h, hid_t loc, const char *name, const char *s)
{
    hid_t t = str_type(strlen(s));
    hid_t d = small_dset(h, loc, name, t, 0, NULL, s);
    H5Tclose(t);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

static hid_t dset_d(struct nb_nxmx *h, hid_t loc, const char *name, double v, const char *units)
{
    hid_t d = small_dset(h, loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
    if (d >= 0 && units && attr_str(d, "units", units) != 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static void mul3(double R[3][3], const double *w, double *out)
{
    for (int i = 0; i < 3; i++)
        out[i] = R[i][0] * w[0] + R[i][1] * w[1] + R[i][2] * w[2];
}

/* Lab -> McStas (§11.1): z = b, y = unit(p x b) (spindle instead if p is parallel to b),
 * x = y x z. */
static void lab_to_mcstas(const struct nb_scene *sc, double R[3][3])
{
    double y[3], x[3];
    nb_v_cross(sc->polar, sc->beam, y);
    if (nb_v_mag(y) < 1e-12)
        nb_v_cross(sc->spindle, sc->beam, y);
    nb_v_unitize(y, y);
    nb_v_cross(y, sc->beam, x);
    for (int i = 0; i < 3; i++) {
        R[0][i] = x[i];
        R[1][i] = y[i];
        R[2][i] = sc->beam[i];
    }
}

/* ------------------------------------------------------------------ NXmx part */

static int write_instrument(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                            double R[3][3])
{
    const struct nb_scene *sc = m->sc;
    int bad = 0;
    hid_t inst = group(h, entry, "instrument", "NXinstrument");
    if (inst < 0)
        return -1;
    bad |= dset_str(h, inst, "name", m->program);
    hid_t src = group(h, inst, "source", "NXsource");
    bad |= src < 0 || dset_str(h, src, "name", "simulated");
    if (src >= 0)
        H5Gclose(src);
    hid_t beam = group(h, inst, "beam", "NXbeam");
    if (beam >= 0) {
        hid_t d = dset_d(h, beam, "incident_wavelength", sc->lambda0 * 1e10, "angstrom");
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        /* the set-up's flux: -flux, else fluence / exposure * beamsize^2 (nb_setup_geometry) */
        d = dset_d(h, beam, "total_flux", sc->flux, "Hz");
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        /* Stokes [I, Q, U, V] in the McStas frame: the E vector of nanoBragg's Kahn factor K
         * lies along the polar vector's part normal to the beam, which R maps to McStas -x
         * (lab_to_mcstas), so Q = K I along x, U = V = 0 (I = 1). */
        double stokes[4] = {1.0, m->cfg->polarization, 0.0, 0.0};
        hsize_t four = 4;
        d = small_dset(h, beam, "incident_polarisation_stokes", H5T_NATIVE_DOUBLE, 1, &four,
                       stokes);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        H5Gclose(beam);
    } else {
        bad = 1;
    }
    hid_t det = group(h, inst, "detector", "NXdetector");
    if (det < 0) {
        H5Gclose(inst);
        return -1;
    }
    bad |= dset_str(h, det, "sensor_material", "Si");
    double thick_mm = sc->detector_thick > 0 ? sc->detector_thick * 1000.0 : 0.001;
    hid_t d;
    if ((d = dset_d(h, det, "sensor_thickness", thick_mm, "mm")) >= 0)
        H5Dclose(d);
    else
        bad = 1;
    /* data: noise photon counts (int32), valid in [0, floor(65535 - adc)]; a pixel that the
     * SMV noise image clipped at 65535 holds saturation_value + 1.  Without noise: the float
     * image, no limits (2^31 - 1, the dxtbx default).  The ADC offset is not in data; it is
     * recorded as adc_offset (counts), the pedestal the SMV noise/int images carry. */
    int32_t sat = m->noise ? nb_count_saturation(m->adc) : 2147483647, under = 0;
    d = small_dset(h, det, "saturation_value", H5T_NATIVE_INT32, 0, NULL, &sat);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    if (m->noise) {
        d = small_dset(h, det, "underload_value", H5T_NATIVE_INT32, 0, NULL, &under);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
    }
    d = dset_d(h, det, "adc_offset", m->adc, "counts");
    bad |= d < 0;
    if (d >= 0) {
        bad |= attr_str(d, "description", "ADC offset added to the SMV int and noise images; "
                                          "not in /entry/data/data");
        H5Dclose(d);
    }
    struct {
        const char *name;
        double v;
        const char *units;
    } fields[] = {{"distance", sc->distance * 1000.0, "mm"},
                  {"count_time", sc->exposure, "s"},
                  {"frame_time", sc->exposure, "s"},
                  {"beam_center_x", sc->Fbeam / sc->pixel_size, "pixel"},
                  {"beam_center_y", sc->Sbeam / sc->pixel_size, "pixel"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if ((d = dset_d(h, det, fields[i].name, fields[i].v, fields[i].units)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
    }
    const char *offset_path = "/entry/instrument/detector/module/module_offset";
    bad |= dset_str(h, det, "depends_on", offset_path);
    hid_t mod = group(h, det, "module", "NXdetector_module");
    if (mod >= 0) {
        int origin[2] = {0, 0}, size[2] = {sc->spixels, sc->fpixels};
        hsize_t two = 2;
        if ((d = small_dset(h, mod, "data_origin", H5T_NATIVE_INT32, 1, &two, origin)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
        if ((d = small_dset(h, mod, "data_size", H5T_NATIVE_INT32, 1, &two, size)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
        double p[3], f[3], s[3], up[3];
        mul3(R, sc->pix0, p);
        mul3(R, sc->fdet, f);
        mul3(R, sc->sdet, s);
        double plen = nb_v_mag(p);
        nb_v_unitize(p, up);
        if ((d = dset_d(h, mod, "module_offset", plen * 1000.0, "mm")) >= 0) {
            bad |= attr_str(d, "transformation_type", "translation");
            bad |= attr_dv(d, "vector", up, 3);
            bad |= attr_str(d, "depends_on", ".");
            H5Dclose(d);
        } else {
            bad = 1;
        }
        const char *names[2] = {"fast_pixel_direction", "slow_pixel_direction"};
        const double *vecs[2] = {f, s};
        for (int i = 0; i < 2; i++) {
            if ((d = dset_d(h, mod, names[i], sc->pixel_size * 1000.0, "mm")) >= 0) {
                bad |= attr_str(d, "transformation_type", "translation");
                bad |= attr_dv(d, "vector", vecs[i], 3);
                bad |= attr_str(d, "depends_on", offset_path);
                H5Dclose(d);
            } else {
                bad = 1;
            }
        }
        H5Gclose(mod);
    } else {
        bad = 1;
    }
    H5Gclose(det);
    H5Gclose(inst);
    return bad ? -1 : 0;
}

/* A per-frame float64 dataset of the sample, with @units. */
static int sample_dset(struct nb_nxmx *h, hid_t loc, const char *name, int rank,
                       const hsize_t *dims, const double *v, const char *units)
{
    hid_t d = small_dset(h, loc, name, H5T_NATIVE_DOUBLE, rank, dims, v);
    if (d < 0)
        return -1;
    int bad = attr_str(d, "units", units);
    H5Dclose(d);
    return bad;
}

/* The scan axis (phi, phi_end) and the rotation axis. */
static int write_scan_axis(struct nb_nxmx *h, hid_t smp, const struct nb_nxmx_meta *m,
                           double R[3][3], const double *phi, const double *phi_end)
{
    int bad = 0;
    hid_t tr = group(h, smp, "transformations", "NXtransformations");
    if (tr < 0)
        return -1;
    double u[3];
    mul3(R, m->sc->spindle, u);
    hsize_t n = (hsize_t)m->nframes;
    hid_t d = small_dset(h, tr, "phi", H5T_NATIVE_DOUBLE, 1, &n, phi);
    if (d >= 0) {
        bad |= attr_str(d, "units", "deg");
        bad |= attr_str(d, "transformation_type", "rotation");
        bad |= attr_dv(d, "vector", u, 3);
        bad |= attr_str(d, "depends_on", ".");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    bad |= sample_dset(h, tr, "phi_end", 1, &n, phi_end, "deg") != 0;
    H5Gclose(tr);
    return bad ? -1 : 0;
}

/* The truth per frame: the real cell and UB (Busing-Levy: columns a*, b*, c* in 1/A, misset
 * included, goniometer at zero) in the McStas frame; frame i's scan axis. */
static int write_sample(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                        double R[3][3])
{
    const int n = m->nframes;
    int bad = 0;
    hid_t smp = group(h, entry, "sample", "NXsample");
    if (smp < 0)
        return -1;
    bad |= dset_str(h, smp, "name", "simulated crystal");
    double *cell = malloc(sizeof(double) * 6 * (size_t)n),
           *ub = malloc(sizeof(double) * 9 * (size_t)n), *phi = malloc(sizeof(double) * (size_t)n),
           *phi_end = malloc(sizeof(double) * (size_t)n);
    if (!cell || !ub || !phi || !phi_end) {
        note_fail(h, "allocating the per-frame sample data");
        bad = 1;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const struct nb_nxmx_frame *fr = &m->frames[i];
        double as[3], bs[3], cs[3];
        memcpy(cell + 6 * i, fr->cell, 6 * sizeof(double));
        mul3(R, fr->a_star, as);
        mul3(R, fr->b_star, bs);
        mul3(R, fr->c_star, cs);
        for (int r = 0; r < 3; r++) {
            ub[9 * i + 3 * r + 0] = as[r];
            ub[9 * i + 3 * r + 1] = bs[r];
            ub[9 * i + 3 * r + 2] = cs[r];
        }
        phi[i] = fr->phi_deg;
        phi_end[i] = fr->phi_end_deg;
    }
    hsize_t cd[2] = {(hsize_t)n, 6}, ud[3] = {(hsize_t)n, 3, 3};
    bad |= sample_dset(h, smp, "unit_cell", 2, cd, cell, "angstrom, deg") != 0;
    bad |= sample_dset(h, smp, "ub_matrix", 3, ud, ub, "1/angstrom") != 0;
    bad |= dset_str(h, smp, "depends_on", "/entry/sample/transformations/phi");
    bad |= write_scan_axis(h, smp, m, R, phi, phi_end) != 0;
done:
    free(cell);
    free(ub);
    free(phi);
    free(phi_end);
    H5Gclose(smp);
    return bad ? -1 : 0;
}

/* Image dataset [nframes][spixels][fpixels], one chunk (1, spixels, fpixels) per frame
 * whatever the rank count; gzip >= 0: shuffle + deflate at that level (the writes are
 * collective, as filters require). */
static hid_t image_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int gzip)
{
    hsize_t dims[3] = {(hsize_t)h->nframes, (hsize_t)h->spixels, (hsize_t)h->fpixels};
    hsize_t chunk[3] = {1, (hsize_t)h->spixels, (hsize_t)h->fpixels};
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 3, chunk) < 0 ||
        (gzip >= 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)gzip) < 0)))
        note_fail(h, "setting the image chunks and filters");
    hid_t d = c_dcreate(h, loc, name, type, space, dcpl); /* chunks are allocated collectively */
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

/* ------------------------------------------------------------------ /entry/simulation */

static int write_params(hid_t sim, const struct nb_nxmx_meta *m, double R[3][3])
{
    const struct nb_scene *sc = m->sc;
    const struct nb_config *c = m->cfg;
    int bad = 0;
    static const char *const conv[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    static const char *const shapes[] = {"square", "round", "gauss", "tophat"};
    struct {
        const char *name;
        double v;
    } d[] = {
        {"distance", sc->distance},
        {"close_distance", sc->close_distance},
        {"pixel_size", sc->pixel_size},
        {"detsize_f", sc->detsize_f},
        {"detsize_s", sc->detsize_s},
        {"Xbeam", sc->Xbeam},
        {"Ybeam", sc->Ybeam},
        {"Fbeam", sc->Fbeam},
        {"Sbeam", sc->Sbeam},
        {"Xclose", sc->Xclose},
        {"Yclose", sc->Yclose},
        {"Fclose", sc->Fclose},
        {"Sclose", sc->Sclose},
        {"ORGX", sc->ORGX},
        {"ORGY", sc->ORGY},
        {"detector_rotx", sc->rotx},
        {"detector_roty", sc->roty},
        {"detector_rotz", sc->rotz},
        {"twotheta", sc->twotheta},
        {"detector_thick", sc->detector_thick},
        {"detector_thickstep", sc->detector_thickstep},
        {"detector_mu", sc->detector_mu},
        {"lambda0", sc->lambda0},
        {"dispersion", sc->dispersion},
        {"dispstep", sc->dispstep},
        {"hdivrange", sc->hdivrange},
        {"hdivstep", sc->hdivstep},
        {"vdivrange", sc->vdivrange},
        {"vdivstep", sc->vdivstep},
        {"fluence", sc->fluence},
        {"flux", sc->flux},
        {"exposure", sc->exposure},
        {"beamsize", sc->beamsize},
        {"polarization", c->polarization},
        {"Na", sc->Na},
        {"Nb", sc->Nb},
        {"Nc", sc->Nc},
        {"fudge", c->fudge},
        {"mosaic_spread", sc->mosaic_spread},
        {"phi0", sc->phi0},
        {"osc", sc->osc},
        {"phistep", sc->phistep},
        {"dmin", c->dmin},
        {"water_size", sc->water_size},
        {"default_F", c->default_F},
        {"I_bg", sc->I_bg},
        {"r_e_sqr", sc->k.r_e_sqr},
        {"V_cell", sc->V_cell * 1e-30},
        {"phi_star", sc->phi_star},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        bad |= attr_d(sim, d[i].name, d[i].v);
    struct {
        const char *name;
        int v;
    } iv[] = {{"fpixels", sc->fpixels},
              {"spixels", sc->spixels},
              {"detector_thicksteps", sc->n_layers},
              {"dispsteps", sc->dispsteps},
              {"hdivsteps", sc->hdivsteps},
              {"vdivsteps", sc->vdivsteps},
              {"sources", sc->n_sources},
              {"mosaic_domains", sc->mosaic_domains},
              {"phisteps", sc->phisteps},
              {"oversample", sc->oversample},
              {"steps", sc->steps},
              {"interpolate", sc->interpolate},
              {"nopolar", c->nopolar},
              {"curved_det", c->curved_det},
              {"point_pixel", c->point_pixel},
              {"round_div", c->round_div},
              {"oversample_thick", c->oversample_thick},
              {"oversample_polar", c->oversample_polar},
              {"oversample_omega", c->oversample_omega},
              {"roi_xmin", sc->roi_xmin},
              {"roi_xmax", sc->roi_xmax},
              {"roi_ymin", sc->roi_ymin},
              {"roi_ymax", sc->roi_ymax},
              {"seed", (int)sc->seed_initial},
              {"mosaic_seed", (int)c->mosaic_seed},
              {"misset_seed", (int)c->misset_seed},
              {"nframes", m->nframes},
              {"bands_per_frame", m->bands_per_frame}};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        bad |= attr_i(sim, iv[i].name, iv[i].v);
    signed char series = m->series ? 1 : 0;
    bad |= attr_write(sim, "series", H5T_NATIVE_INT8, 0, NULL, &series);
    struct {
        const char *name;
        const double *v;
    } vv[] = {{"pix0_vector", sc->pix0},      {"fdet_vector", sc->fdet},
              {"sdet_vector", sc->sdet},      {"odet_vector", sc->odet},
              {"beam_vector", sc->beam},      {"polar_vector", sc->polar},
              {"spindle_axis", sc->spindle},  {"twotheta_axis", sc->twotheta_axis},
              {"vert_vector", sc->vert},      {"dials_origin", sc->dials_origin},
              {"a0", sc->a0},                 {"b0", sc->b0},
              {"c0", sc->c0},                 {"a_star", sc->a_star},
              {"b_star", sc->b_star},         {"c_star", sc->c_star},
              {"misset", sc->misset_deg}};
    for (size_t i = 0; i < sizeof vv / sizeof vv[0]; i++)
        bad |= attr_dv(sim, vv[i].name, vv[i].v, 3);
    bad |= attr_d(sim, "adc_offset", m->adc); /* formats.md §11.2: not in /entry/data/data */
    bad |= attr_dv(sim, "cell", sc->cell, 6);
    bad |= attr_dv(sim, "reciprocal_cell", sc->rcell, 6);
    hsize_t rd[2] = {3, 3};
    bad |= attr_write(sim, "lab_to_mcstas", H5T_NATIVE_DOUBLE, 2, rd, R);
    bad |= attr_str(sim, "convention", conv[sc->convention]);
    bad |= attr_str(sim, "pivot", sc->pivot == NB_PIVOT_BEAM ? "beam" : "sample");
    bad |= attr_str(sim, "shape", shapes[c->shape]);
    bad |= attr_str(sim, "phi_carryover", c->phi_carryover == NB_CARRY_SPEC ? "spec" : "c-parity");
    bad |= attr_str(sim, "interp_fallback", c->interp_fallback_default_F ? "default_F" : "reference");
    bad |= attr_str(sim, "factors", c->factors_per_term ? "per-term" : "reference");
    bad |= attr_str(sim, "source_lambda", c->source_lambda_cli ? "cli" : "file");
    bad |= attr_str(sim, "source_weights", c->source_weights_apply ? "apply" : "ignore");
    bad |= attr_str(sim, "random_misset", c->random_misset_uniform ? "uniform" : "reference");
    bad |= attr_str(sim, "thickness_step", c->thickness_step_uniform ? "uniform" : "reference");
    bad |= attr_str(sim, "honor_pix0", c->honor_pix0 ? "yes" : "no");
    bad |= attr_str(sim, "device", "cpu");
    bad |= attr_str(sim, "precision", "double");
    return bad ? -1 : 0;
}

/* The carry cache (§11.3), empty: the facts per frame are -1 / NaN / -1 and the tables hold
 * their fill values until nb_nxmx_frames_done records a frame.  No tables in spec mode. */
static int create_carry(struct nb_nxmx *h, hid_t sim)
{
    int bad = 0;
    hid_t g = group(h, sim, "carry", "NXcollection");
    if (g < 0)
        return -1;
    hsize_t nf = (hsize_t)h->nframes, B = (hsize_t)h->n_bands;
    bad |= attr_str(g, "mode", h->carry_tables ? "c-parity" : "spec");
    bad |= attr_i64v(g, "p1", h->p1, nf);
    bad |= attr_dv(g, "phi_star", h->phi_star, nf);
    bad |= attr_i64v(g, "interp_latch_index", h->p_star, nf);
    if (h->carry_tables) {
        static const int32_t zi = 0;
        static const uint8_t zs = 0;
        static const double zd = 0.0;
        static const int64_t none = -1;
        hsize_t d2[2] = {nf, B}, d4[4] = {nf, B, 3, 3};
        bad |= table_dset(h, g, "row0", H5T_NATIVE_INT32, 1, &B, &zi);
        bad |= table_dset(h, g, "nrows", H5T_NATIVE_INT32, 1, &B, &zi);
        bad |= table_dset(h, g, "in_state", H5T_NATIVE_UINT8, 2, d2, &zs);
        bad |= table_dset(h, g, "out_state", H5T_NATIVE_UINT8, 2, d2, &zs);
        bad |= table_dset(h, g, "in_vectors", H5T_NATIVE_DOUBLE, 4, d4, &zd);
        bad |= table_dset(h, g, "out_vectors", H5T_NATIVE_DOUBLE, 4, d4, &zd);
        bad |= table_dset(h, g, "in_last_index", H5T_NATIVE_INT64, 2, d2, &none);
        bad |= table_dset(h, g, "out_last_index", H5T_NATIVE_INT64, 2, d2, &none);
    }
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_sf(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_hkl_grid *gr = m->hkl;
    if (!gr)
        return 0;
    int bad = 0;
    hid_t g = group(h, sim, "structure_factors", "NXcollection");
    if (g < 0)
        return -1;
    hsize_t dims[3] = {(hsize_t)gr->h_range + 1, (hsize_t)gr->k_range + 1,
                       (hsize_t)gr->l_range + 1};
    hid_t d = small_dset(h, g, "F", H5T_NATIVE_DOUBLE, 3, dims, gr->F);
    if (d >= 0) {
        bad |= attr_str(d, "units", "electrons");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    bad |= attr_i(g, "h_min", gr->h_min);
    bad |= attr_i(g, "h_max", gr->h_max);
    bad |= attr_i(g, "k_min", gr->k_min);
    bad |= attr_i(g, "k_max", gr->k_max);
    bad |= attr_i(g, "l_min", gr->l_min);
    bad |= attr_i(g, "l_max", gr->l_max);
    bad |= attr_d(g, "default_F", m->cfg->default_F);
    bad |= attr_str(g, "source", m->hkl_source ? m->hkl_source : "hkl");
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_sources(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_scene *sc = m->sc;
    if (sc->n_sources <= 1)
        return 0;
    int bad = 0, n = sc->n_sources;
    hid_t g = group(h, sim, "sources", "NXcollection");
    if (g < 0)
        return -1;
    double *dir = malloc(sizeof(double) * 3 * (size_t)n), *lam = malloc(sizeof(double) * (size_t)n),
           *w = malloc(sizeof(double) * (size_t)n);
    if (!dir || !lam || !w) {
        note_fail(h, "allocating the source tables");
        bad = 1;
    } else {
        for (int i = 0; i < n; i++) {
            memcpy(dir + 3 * i, sc->src + 5 * i, 3 * sizeof(double));
            lam[i] = sc->src[5 * i + 3];
            w[i] = sc->src[5 * i + 4];
        }
        hsize_t d2[2] = {(hsize_t)n, 3}, d1 = (hsize_t)n;
        hid_t a = small_dset(h, g, "direction", H5T_NATIVE_DOUBLE, 2, d2, dir);
        hid_t b = small_dset(h, g, "wavelength", H5T_NATIVE_DOUBLE, 1, &d1, lam);
        hid_t c = small_dset(h, g, "weight", H5T_NATIVE_DOUBLE, 1, &d1, w);
        if (b >= 0)
            bad |= attr_str(b, "units", "m");
        if (c >= 0)
            bad |= attr_str(c, "applied", m->cfg->source_weights_apply ? "yes" : "no");
        bad |= a < 0 || b < 0 || c < 0;
        if (a >= 0)
            H5Dclose(a);
        if (b >= 0)
            H5Dclose(b);
        if (c >= 0)
            H5Dclose(c);
    }
    free(dir);
    free(lam);
    free(w);
    H5Gclose(g);
    return bad ? -1 : 0;
}

/* Per-frame provenance: the flags that differ from the command line and the seeds. */
static int write_frames(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const int n = m->nframes;
    int bad = 0;
    hid_t g = group(h, sim, "frames", "NXcollection");
    if (g < 0)
        return -1;
    size_t maxl = 1;
    for (int i = 0; i < n; i++) {
        size_t l = m->frames[i].flags ? strlen(m->frames[i].flags) + 1 : 1;
        if (l > maxl)
            maxl = l;
    }
    char *flags = calloc((size_t)n, maxl);
    int64_t *seeds = malloc(sizeof(int64_t) * 3 * (size_t)n);
    if (!flags || !seeds) {
        note_fail(h, "allocating the per-frame provenance");
        bad = 1;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const struct nb_nxmx_frame *fr = &m->frames[i];
        if (fr->flags)
            memcpy(flags + (size_t)i * maxl, fr->flags, strlen(fr->flags));
        seeds[i] = fr->seed;
        seeds[n + i] = fr->mosaic_seed;
        seeds[2 * n + i] = fr->misset_seed;
    }
    hid_t t = str_type(maxl - 1);
    hsize_t nf = (hsize_t)n;
    hid_t d = small_dset(h, g, "flags", t, 1, &nf, flags);
    H5Tclose(t);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    static const char *const names[3] = {"seed", "mosaic_seed", "misset_seed"};
    for (int k = 0; k < 3; k++) {
        d = small_dset(h, g, names[k], H5T_NATIVE_INT64, 1, &nf, seeds + (size_t)k * n);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
    }
done:
    free(flags);
    free(seeds);
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_simulation(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                            double R[3][3])
{
    int bad = 0;
    hid_t sim = group(h, entry, "simulation", "NXcollection");
    if (sim < 0)
        return -1;
    /* argv as a fixed-length string array, and joined */
    size_t maxl = 1, total = 0;
    for (int i = 0; i < m->argc; i++) {
        size_t l = strlen(m->argv[i]);
        if (l + 1 > maxl)
            maxl = l + 1;
        total += l + 1;
    }
    char *arr = calloc((size_t)m->argc ? (size_t)m->argc : 1, maxl);
    char *joined = calloc(total + 1, 1);
    if (!arr || !joined) {
        note_fail(h, "allocating the command line");
        free(arr);
        free(joined);
        H5Gclose(sim);
        return -1;
    }
    for (int i = 0; i < m->argc; i++) {
        memcpy(arr + (size_t)i * maxl, m->argv[i], strlen(m->argv[i]));
        if (i)
            strcat(joined, " ");
        strcat(joined, m->argv[i]);
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, maxl);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hsize_t n = (hsize_t)m->argc;
    hid_t d = small_dset(h, sim, "argv", t, 1, &n, arr);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    bad |= attr_str(sim, "command_line", joined);
    free(arr);
    free(joined);
    bad |= attr_str(sim, "program", m->program);
    bad |= attr_str(sim, "program_version", m->version);
    /* the job's identity, for nb_nxmx_peek / nb_nxmx_reopen (resume) */
    bad |= attr_str(sim, "config_hash", m->config_hash ? m->config_hash : "");
    int64_t dseed = (int64_t)m->default_seed;
    bad |= attr_write(sim, "default_seed", H5T_NATIVE_INT64, 0, NULL, &dseed);
    bad |= write_params(sim, m, R);
    bad |= attr_i(sim, "mpi_ranks", m->size);
    bad |= write_sf(h, sim, m);
    bad |= write_sources(h, sim, m);
    bad |= write_frames(h, sim, m);
    bad |= create_carry(h, sim);
    /* completion record: nothing done yet */
    hid_t st = group(h, sim, "status", "NXcollection");
    if (st >= 0) {
        static const uint8_t zero8 = 0;
        signed char zero = 0;
        hsize_t nf = (hsize_t)h->nframes, bd[2] = {nf, (hsize_t)h->n_bands};
        bad |= attr_write(st, "complete", H5T_NATIVE_INT8, 0, NULL, &zero);
        bad |= attr_str(st, "started", m->start_time);
        bad |= table_dset(h, st, "frames_done", H5T_NATIVE_UINT8, 1, &nf, &zero8);
        bad |= table_dset(h, st, "bands_done", H5T_NATIVE_UINT8, 2, bd, &zero8);
        h->status = st;
    } else {
        bad = 1;
    }
    H5Gclose(sim);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------------ entry points */

/* pixel_mask, always: 0 = good, 256 = not rendered (mask 0 or outside the ROI).  Rank 0
 * computes and writes all of it inside the collective call. */
static int write_pixel_mask(struct nb_nxmx *h, const struct nb_scene *sc)
{
    static const uint32_t none = 0;
    hsize_t dims[2] = {(hsize_t)h->spixels, (hsize_t)h->fpixels};
    uint32_t *mk = NULL;
    if (h->rank == 0) {
        mk = malloc(sizeof *mk * (size_t)h->spixels * (size_t)h->fpixels);
        if (!mk)
            note_fail(h, "allocating the pixel mask");
        for (int s = 0; mk && s < h->spixels; s++)
            for (int f = 0; f < h->fpixels; f++)
                mk[(size_t)s * h->fpixels + f] = nb_pixel_rendered(&sc->k, s, f) ? 0u : 256u;
    }
    hid_t det = H5Gopen2(h->file, "/entry/instrument/detector", H5P_DEFAULT);
    if (det < 0)
        note_fail(h, "opening the detector group");
    hid_t d = small_dset(h, det, "pixel_mask", H5T_NATIVE_UINT32, 2, dims, mk ? mk : &none);
    free(mk);
    if (det >= 0)
        H5Gclose(det);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

static void layout_entry(struct nb_nxmx *h, const struct nb_nxmx_meta *m, double R[3][3])
{
    int bad = 0;
    hid_t entry = group(h, h->file, "entry", "NXentry");
    if (entry < 0)
        return;
    bad |= dset_str(h, entry, "definition", "NXmx");
    bad |= dset_str(h, entry, "start_time", m->start_time);
    bad |= dset_str(h, entry, "end_time_estimated", m->start_time);
    hid_t data = group(h, entry, "data", "NXdata");
    if (data >= 0) {
        bad |= attr_str(data, "signal", "data");
        hid_t dt = m->noise ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT;
        h->d_data = image_dset(h, data, "data", dt, m->gzip_level);
        if (h->write_float)
            h->d_float = image_dset(h, data, "float_image", H5T_NATIVE_FLOAT, m->gzip_level);
        if (h->write_int)
            h->d_int = image_dset(h, data, "int_image", H5T_NATIVE_UINT16, m->gzip_level);
        H5Gclose(data);
    }
    bad |= write_instrument(h, entry, m, R);
    bad |= write_pixel_mask(h, m->sc);
    bad |= write_sample(h, entry, m, R);
    bad |= write_simulation(h, entry, m, R);
    H5Gclose(entry);
    if (bad)
        note_fail(h, "writing the file layout");
}

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
static struct nb_nxmx *handle_new(const char *file, const char *name,
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
        note_fail(h, h->nframes < 1 || !m->frames || h->n_bands < 1
                         ? "checking the frame and band counts"
                         : "allocating the per-frame carry facts");
    if (nb_h5_plists(&h->fapl, &h->dxpl) != 0)
        note_fail(h, "setting up the property lists");
    return h;
}

nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err)
{
    double R[3][3];
    *out = NULL;
    struct nb_nxmx *h = handle_new(file, name, m, sync, err);
    if (!h)
        return NB_E_NOMEM;
    if (coll_ok(h)) {
        h->file = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, h->fapl);
        if (h->file < 0)
            coll_failed(h, "creating the file");
    }
    if (coll_ok(h)) {
        lab_to_mcstas(m->sc, R);
        layout_entry(h, m, R);
        c_flush(h);
    }
    nb_status st = c_result(h, err);
    *out = h; /* even after a failure: nb_nxmx_close() releases it on every rank */
    return st;
}

/* ------------------------------------------------------------------ resume */

/* The checks of nb_nxmx_reopen (formats.md §11.4 rule 3), in a fixed order, reading only:
 * every rank sees the same file and meta, so every rank stops at the same check. */
static void reopen_check(struct nb_nxmx *h, const struct nb_nxmx_meta *m, const char *file)
{
    const char *ours_hash = m->config_hash ? m->config_hash : "";
    const char *n = h->name;
    hid_t sim = group_open_checked(h->file, "/entry/simulation");
    hid_t data = group_open_checked(h->file, "/entry/data");
    hid_t carry = sim >= 0 ? group_open_checked(h->file, "/entry/simulation/carry") : -1;
    hid_t st = sim >= 0 ? group_open_checked(h->file, "/entry/simulation/status") : -1;
    char *hash = sim >= 0 ? attr_read_str(sim, "config_hash") : NULL;
    char *ver = sim >= 0 ? attr_read_str(sim, "program_version") : NULL;
    char *mode = carry >= 0 ? attr_read_str(carry, "mode") : NULL;
    int64_t nframes = 0, bands = 0, complete = 0;
    const hsize_t nf = (hsize_t)h->nframes, B = (hsize_t)h->n_bands;
    const hsize_t img[3] = {nf, (hsize_t)h->spixels, (hsize_t)h->fpixels}, bd[2] = {nf, B};
    static const char *const what[] = {"", "is missing", "has another shape",
                                       "has another type"};
    int rc;
#define NOT_OURS(item)                                                                        \
    note_msg(h, NB_E_INPUT, "--hdf5 %s: %s is not a nanobragg series file: missing %s", n,   \
             file, item)
    if (sim < 0)
        NOT_OURS("/entry/simulation");
    else if (!hash)
        NOT_OURS("/entry/simulation@config_hash");
    else if (strcmp(hash, ours_hash) != 0)
        note_msg(h, NB_E_INPUT,
                 "--hdf5 %s: %s was written by a different job (configuration %s here %s): "
                 "resume only the same command line with the same inputs",
                 n, file, hash, ours_hash);
    else if (!ver)
        NOT_OURS("/entry/simulation@program_version");
    else if (strcmp(ver, m->version) != 0)
        note_msg(h, NB_E_INPUT,
                 "--hdf5 %s: %s was written by version %s, this is %s: resume with the same "
                 "program",
                 n, file, ver, m->version);
    else if (attr_read_i64(sim, "nframes", &nframes) != 0)
        NOT_OURS("/entry/simulation@nframes");
    else if (nframes != h->nframes)
        note_msg(h, NB_E_INPUT, "--hdf5 %s: %s holds %lld frames, this job %d", n, file,
                 (long long)nframes, h->nframes);
    else if ((rc = dset_check(data, "data", 3, img, h->noise ? E_I32 : E_F32)) != 0)
        note_msg(h, NB_E_INPUT,
                 "--hdf5 %s: %s: /entry/data/data %s (this job: %s [%d][%d][%d])", n, file,
                 what[-rc], h->noise ? "int32 noise counts" : "float32", h->nframes,
                 h->spixels, h->fpixels);
    else if (attr_read_i64(sim, "bands_per_frame", &bands) != 0)
        NOT_OURS("/entry/simulation@bands_per_frame");
    else if (bands != h->n_bands)
        note_msg(h, NB_E_INPUT,
                 "--hdf5 %s: %s was written with %lld bands per frame, this job %d: resume "
                 "with the same number of ranks and --bands-per-frame",
                 n, file, (long long)bands, h->n_bands);
    else if ((rc = dset_check(data, "float_image", 3, img, E_F32)) != (h->write_float ? 0 : -1))
        note_msg(h, NB_E_INPUT, "--hdf5 %s: %s: /entry/data/float_image %s, this job %s it", n,
                 file, rc == 0 ? "is present" : what[-rc],
                 h->write_float ? "writes" : "does not write");
    else if ((rc = dset_check(data, "int_image", 3, img, E_U16)) != (h->write_int ? 0 : -1))
        note_msg(h, NB_E_INPUT, "--hdf5 %s: %s: /entry/data/int_image %s, this job %s it", n,
                 file, rc == 0 ? "is present" : what[-rc],
                 h->write_int ? "writes" : "does not write");
    else if (!mode || !attr_has(carry, "p1", H5T_INTEGER, (hssize_t)nf) ||
             !attr_has(carry, "phi_star", H5T_FLOAT, (hssize_t)nf) ||
             !attr_has(carry, "interp_latch_index", H5T_INTEGER, (hssize_t)nf))
        NOT_OURS("the carry facts /entry/simulation/carry@mode, @p1, @phi_star, "
                 "@interp_latch_index of this size");
    else if (strcmp(mode, h->carry_tables ? "c-parity" : "spec") != 0)
        note_msg(h, NB_E_INPUT, "--hdf5 %s: %s has carry mode %s, this job %s", n, file, mode,
                 h->carry_tables ? "c-parity" : "spec");
    else if (attr_read_i64(st, "complete", &complete) != 0 ||
             dset_check(st, "frames_done", 1, &nf, E_U8) != 0 ||
             dset_check(st, "bands_done", 2, bd, E_U8) != 0)
        NOT_OURS("the status record /entry/simulation/status (@complete, frames_done, "
                 "bands_done) of this size");
#undef NOT_OURS
    free(hash);
    free(ver);
    free(mode);
    if (st >= 0)
        H5Gclose(st);
    if (carry >= 0)
        H5Gclose(carry);
    if (data >= 0)
        H5Gclose(data);
    if (sim >= 0)
        H5Gclose(sim);
}

/* What nb_nxmx_create leaves in the handle, from the file: the image datasets and the
 * status group open, the per-frame carry facts and the band layout (when recorded) in
 * memory; then done[] from status/frames_done, read on every rank. */
static void reopen_handles(struct nb_nxmx *h, uint8_t *done)
{
    const hssize_t nf = h->nframes, B = h->n_bands;
    h->d_data = H5Dopen2(h->file, "/entry/data/data", H5P_DEFAULT);
    if (h->write_float)
        h->d_float = H5Dopen2(h->file, "/entry/data/float_image", H5P_DEFAULT);
    if (h->write_int)
        h->d_int = H5Dopen2(h->file, "/entry/data/int_image", H5P_DEFAULT);
    h->status = H5Gopen2(h->file, "/entry/simulation/status", H5P_DEFAULT);
    if (h->d_data < 0 || (h->write_float && h->d_float < 0) || (h->write_int && h->d_int < 0) ||
        h->status < 0)
        note_fail(h, "opening the image datasets");
    hid_t sim = H5Gopen2(h->file, "/entry/simulation", H5P_DEFAULT);
    hid_t carry = sim >= 0 ? H5Gopen2(sim, "carry", H5P_DEFAULT) : -1;
    if (attr_read_arr(carry, "p1", H5T_INTEGER, H5T_NATIVE_INT64, nf, h->p1) != 0 ||
        attr_read_arr(carry, "phi_star", H5T_FLOAT, H5T_NATIVE_DOUBLE, nf, h->phi_star) != 0 ||
        attr_read_arr(carry, "interp_latch_index", H5T_INTEGER, H5T_NATIVE_INT64, nf,
                      h->p_star) != 0)
        note_fail(h, "reading the carry facts");
    /* the band layout, written with the first finished frames (§11.3 @band_row0/@band_nrows) */
    htri_t has = sim >= 0 ? H5Aexists(sim, "band_row0") : -1;
    if (has > 0) {
        if (attr_read_arr(sim, "band_row0", H5T_INTEGER, H5T_NATIVE_INT32, B, h->lay_row0) != 0 ||
            attr_read_arr(sim, "band_nrows", H5T_INTEGER, H5T_NATIVE_INT32, B, h->lay_nrows) != 0)
            note_msg(h, NB_E_INPUT,
                     "--hdf5 %s: %s: /entry/simulation@band_row0/@band_nrows are not the "
                     "layout of %d bands",
                     h->name, h->file_path, h->n_bands);
        h->layout_written = 1;
    } else if (has < 0) {
        note_fail(h, "reading the band layout");
    }
    if (carry >= 0)
        H5Gclose(carry);
    if (sim >= 0)
        H5Gclose(sim);
    hid_t fd = h->status >= 0 ? H5Dopen2(h->status, "frames_done", H5P_DEFAULT) : -1;
    uint8_t *buf = malloc((size_t)h->nframes);
    if (!buf)
        note_fail(h, "allocating the frame list");
    static uint8_t dummy[1];
    /* collective: every rank reads all of it (after a local failure no rank does: coll_ok) */
    if (c_read(h, fd, H5T_NATIVE_UINT8, buf ? buf : dummy) >= 0 && done)
        for (int i = 0; i < h->nframes; i++)
            done[i] = buf[i] ? 1 : 0;
    free(buf);
    if (fd >= 0)
        H5Dclose(fd);
}

/* status@resumed: the start times of the resumed runs, space-separated (a string attribute
 * cannot grow: delete and write again). */
static void record_resume(struct nb_nxmx *h, const char *start_time)
{
    char *prev = attr_read_str(h->status, "resumed");
    size_t len = (prev ? strlen(prev) + 1 : 0) + strlen(start_time) + 1;
    char *all = malloc(len);
    if (!all) {
        note_fail(h, "allocating the resume record");
    } else {
        snprintf(all, len, "%s%s%s", prev ? prev : "", prev ? " " : "", start_time);
        if ((prev && H5Adelete(h->status, "resumed") < 0) ||
            attr_str(h->status, "resumed", all) != 0)
            note_fail(h, "recording the resume");
    }
    free(all);
    free(prev);
}

nb_status nb_nxmx_reopen(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out, uint8_t *done,
                         struct nb_err *err)
{
    *out = NULL;
    if (done && m->nframes > 0)
        memset(done, 0, (size_t)m->nframes);
    struct nb_nxmx *h = handle_new(file, name, m, sync, err);
    if (!h)
        return NB_E_NOMEM;
    h->keep_file = 1; /* not ours to discard until it has passed the checks */
    /* the checks on a read-only open: a read-write open and close alone would change the
     * file (HDF5 clears the superblock's "open for writing" flag that a killed job leaves) */
    if (coll_ok(h)) {
        h->file = H5Fopen(file, H5F_ACC_RDONLY, h->fapl);
        if (h->file < 0) {
            struct cause c;
            h5_cause(&c);
            note_msg(h, NB_E_INPUT, "--hdf5 %s: cannot reopen %s to resume (%s)", name, file,
                     c.text[0] ? c.text : "not an HDF5 file");
            coll_failed(h, "reopening the file");
        }
    }
    if (coll_ok(h))
        reopen_check(h, m, file); /* reads only: the file is unchanged when it is refused */
    if (coll_ok(h)) {
        herr_t rc = H5Fclose(h->file);
        h->file = -1;
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) > 0)
            hdf5_stuck = 1; /* as in close_all() */
        if (rc < 0)
            coll_failed(h, "closing the file after the checks");
    }
    if (coll_ok(h)) {
        h->file = H5Fopen(file, H5F_ACC_RDWR, h->fapl);
        if (h->file < 0)
            coll_failed(h, "reopening the file for writing");
    }
    if (coll_ok(h))
        reopen_handles(h, done);
    if (coll_ok(h)) {
        record_resume(h, m->start_time);
        c_flush(h);
    }
    nb_status st = c_result(h, err);
    if (st == NB_OK)
        h->keep_file = 0; /* from here on the file is this job's, as after nb_nxmx_create */
    else if (done)
        memset(done, 0, (size_t)h->nframes);
    *out = h; /* even after a failure: nb_nxmx_close() releases it on every rank */
    return st;
}

nb_status nb_nxmx_peek(const char *file, struct nb_nxmx_peek *out, struct nb_err *err)
{
    memset(out, 0, sizeof *out);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        struct cause c;
        h5_cause(&c);
        nb_err_set(err, "%s: not an HDF5 file (%s)", file,
                   c.text[0] ? c.text : "cannot open it");
        return NB_E_INPUT;
    }
    hid_t sim = group_open_checked(f, "/entry/simulation");
    hid_t st = sim >= 0 ? group_open_checked(f, "/entry/simulation/status") : -1;
    char *hash = sim >= 0 ? attr_read_str(sim, "config_hash") : NULL;
    char *ver = sim >= 0 ? attr_read_str(sim, "program_version") : NULL;
    int64_t seed = 0, nframes = 0, bands = 0, complete = 0;
    const char *missing = NULL;
    if (sim < 0)
        missing = "/entry/simulation";
    else if (!hash)
        missing = "/entry/simulation@config_hash";
    else if (attr_read_i64(sim, "default_seed", &seed) != 0)
        missing = "/entry/simulation@default_seed";
    else if (attr_read_i64(sim, "nframes", &nframes) != 0 || nframes < 1 || nframes > INT32_MAX)
        missing = "/entry/simulation@nframes";
    else if (attr_read_i64(sim, "bands_per_frame", &bands) != 0 || bands < 1 ||
             bands > INT32_MAX)
        missing = "/entry/simulation@bands_per_frame";
    else if (!ver)
        missing = "/entry/simulation@program_version";
    else if (st < 0)
        missing = "/entry/simulation/status";
    else if (attr_read_i64(st, "complete", &complete) != 0)
        missing = "/entry/simulation/status@complete";
    if (!missing) {
        out->default_seed = (long)seed;
        snprintf(out->config_hash, sizeof out->config_hash, "%s", hash);
        out->nframes = (int)nframes;
        out->bands_per_frame = (int)bands;
        out->complete = complete != 0;
        snprintf(out->version, sizeof out->version, "%s", ver);
    }
    free(hash);
    free(ver);
    if (st >= 0)
        H5Gclose(st);
    if (sim >= 0)
        H5Gclose(sim);
    int closed = H5Fclose(f) >= 0;
    if (missing) {
        nb_err_set(err, "%s: not a nanobragg series file: missing %s", file, missing);
        return NB_E_INPUT;
    }
    if (!closed) {
        nb_err_set(err, "%s: closing the file failed", file);
        return NB_E_INPUT;
    }
    return NB_OK;
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
        note_fail(h, "writing an image part outside the image stack");
        sel = 0;
    }
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t mdims[2] = {(hsize_t)(sel ? n : 1), (hsize_t)h->fpixels};
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    if (sel) {
        hsize_t start[3] = {(hsize_t)frame, (hsize_t)row0, 0};
        hsize_t count[3] = {1, (hsize_t)n, (hsize_t)h->fpixels};
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
            note_fail(h, "selecting image rows");
    } else {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    c_write(h, d, memtype, ms, fs, sel ? buf : dummy);
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
    return c_result(h, err);
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
        note_fail(h, "allocating the finished-frame list");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        int f = recs[k].frame, j = *n_out;
        if (f < 0 || f >= h->nframes || !recs[k].bands) {
            note_fail(h, "recording a frame outside the image stack");
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
        note_fail(h, "allocating the band layout");
        bad = 1;
    } else {
        for (int b = 0; b < B; b++) {
            r0[b] = h->lay_row0[b] = bands[b].row0;
            nr[b] = h->lay_nrows[b] = bands[b].n_rows;
        }
        hsize_t nb = (hsize_t)B;
        bad |= attr_write(sim, "band_row0", H5T_NATIVE_INT32, 1, &nb, r0);
        bad |= attr_write(sim, "band_nrows", H5T_NATIVE_INT32, 1, &nb, nr);
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
        note_fail(h, "allocating the carry tables");
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
        note_fail(h, "allocating the status record");
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
                note_msg(h, NB_E_INTERNAL,
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
        return c_result(h, err);
    int *fr = n > 0 ? sorted_frames(h, n, recs, &rp, &nf) : NULL;
    hid_t sim = H5Gopen2(h->file, "/entry/simulation", H5P_DEFAULT);
    hid_t carry = sim >= 0 ? H5Gopen2(sim, "carry", H5P_DEFAULT) : -1;
    if (carry < 0)
        note_fail(h, "opening the carry cache");
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
        note_fail(h, "recording the finished frames");
    free(fr);
    free(rp);
    if (carry >= 0)
        H5Gclose(carry);
    if (sim >= 0)
        H5Gclose(sim);
    c_flush(h); /* every frame recorded done is on disk */
    return c_result(h, err);
}

/* ------------------------------------------------------------------ close */

/* The end time and @complete = 1: the last changes before closing. */
static void mark_complete(struct nb_nxmx *h, const char *end_time)
{
    signed char one = 1;
    if (attr_str(h->status, "finished", end_time) != 0)
        note_fail(h, "recording the end time");
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
        note_fail(h, "opening end_time_estimated");
    c_write(h, e, t, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(t);
    if (e >= 0)
        H5Dclose(e);
    hid_t a = H5Aopen(h->status, "complete", H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT8, &one) < 0)
        note_fail(h, "setting @complete");
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
            hdf5_stuck = 1; /* HDF5 could not let go of the file: never shut HDF5 down */
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
        c_flush(h); /* everything on disk before the close, which then has little to write */
    } else if (ok == 2 && !h->failed) {
        c_flush(h); /* suspended: @complete stays 0, frames_done tells what to resume */
    }
    if (!ok && !h->failed) {
        h->failed = 1; /* the caller's agreed failure: no more collective calls but the close */
        h->failed_st = NB_E_OUTPUT;
    }
    if (ok) /* so that no rank closes while another still writes */
        coll_ok(h);
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
    if (!hdf5_stuck)
        H5close();
}
