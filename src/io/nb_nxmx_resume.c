/* nb_nxmx_resume.c -- resuming a series (spec/formats.md §11.4 rule 3): nb_nxmx_peek reads
 * the job's identity from a file in one process; nb_nxmx_reopen checks a suspended file
 * against the job, reading only (a refused file is left unchanged), then reopens it where
 * nb_nxmx_create would have left it.  No <mpi.h>; collective calls only through nb_nxmx.c.
 */

#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_nxmx_internal.h"

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
    nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: %s is not a nanobragg series file: missing %s", n,   \
                  file, item)
    if (sim < 0)
        NOT_OURS("/entry/simulation");
    else if (!hash)
        NOT_OURS("/entry/simulation@config_hash");
    else if (strcmp(hash, ours_hash) != 0)
        nxmx_note_msg(h, NB_E_INPUT,
                      "--hdf5 %s: %s was written by a different job (configuration %s here %s): "
                      "resume only the same command line with the same inputs",
                      n, file, hash, ours_hash);
    else if (!ver)
        NOT_OURS("/entry/simulation@program_version");
    else if (strcmp(ver, m->version) != 0)
        nxmx_note_msg(h, NB_E_INPUT,
                      "--hdf5 %s: %s was written by version %s, this is %s: resume with the same "
                      "program",
                      n, file, ver, m->version);
    else if (attr_read_i64(sim, "nframes", &nframes) != 0)
        NOT_OURS("/entry/simulation@nframes");
    else if (nframes != h->nframes)
        nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: %s holds %lld frames, this job %d", n, file,
                      (long long)nframes, h->nframes);
    else if ((rc = dset_check(data, "data", 3, img, h->noise ? E_I32 : E_F32)) != 0)
        nxmx_note_msg(h, NB_E_INPUT,
                      "--hdf5 %s: %s: /entry/data/data %s (this job: %s [%d][%d][%d])", n, file,
                      what[-rc], h->noise ? "int32 noise counts" : "float32", h->nframes,
                      h->spixels, h->fpixels);
    else if (attr_read_i64(sim, "bands_per_frame", &bands) != 0)
        NOT_OURS("/entry/simulation@bands_per_frame");
    else if (bands != h->n_bands)
        nxmx_note_msg(h, NB_E_INPUT,
                      "--hdf5 %s: %s was written with %lld bands per frame, this job %d: resume "
                      "with the same number of ranks and --bands-per-frame",
                      n, file, (long long)bands, h->n_bands);
    else if ((rc = dset_check(data, "float_image", 3, img, E_F32)) != (h->write_float ? 0 : -1))
        nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: %s: /entry/data/float_image %s, this job %s it", n,
                      file, rc == 0 ? "is present" : what[-rc],
                      h->write_float ? "writes" : "does not write");
    else if ((rc = dset_check(data, "int_image", 3, img, E_U16)) != (h->write_int ? 0 : -1))
        nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: %s: /entry/data/int_image %s, this job %s it", n,
                      file, rc == 0 ? "is present" : what[-rc],
                      h->write_int ? "writes" : "does not write");
    else if (!mode || !attr_has(carry, "p1", H5T_INTEGER, (hssize_t)nf) ||
             !attr_has(carry, "phi_star", H5T_FLOAT, (hssize_t)nf) ||
             !attr_has(carry, "interp_latch_index", H5T_INTEGER, (hssize_t)nf))
        NOT_OURS("the carry facts /entry/simulation/carry@mode, @p1, @phi_star, "
                 "@interp_latch_index of this size");
    else if (strcmp(mode, h->carry_tables ? "c-parity" : "spec") != 0)
        nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: %s has carry mode %s, this job %s", n, file, mode,
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
        nxmx_note_fail(h, "opening the image datasets");
    hid_t sim = H5Gopen2(h->file, "/entry/simulation", H5P_DEFAULT);
    hid_t carry = sim >= 0 ? H5Gopen2(sim, "carry", H5P_DEFAULT) : -1;
    if (attr_read_arr(carry, "p1", H5T_INTEGER, H5T_NATIVE_INT64, nf, h->p1) != 0 ||
        attr_read_arr(carry, "phi_star", H5T_FLOAT, H5T_NATIVE_DOUBLE, nf, h->phi_star) != 0 ||
        attr_read_arr(carry, "interp_latch_index", H5T_INTEGER, H5T_NATIVE_INT64, nf,
                      h->p_star) != 0)
        nxmx_note_fail(h, "reading the carry facts");
    /* the band layout, written with the first finished frames (§11.3 @band_row0/@band_nrows) */
    htri_t has = sim >= 0 ? H5Aexists(sim, "band_row0") : -1;
    if (has > 0) {
        if (attr_read_arr(sim, "band_row0", H5T_INTEGER, H5T_NATIVE_INT32, B, h->lay_row0) != 0 ||
            attr_read_arr(sim, "band_nrows", H5T_INTEGER, H5T_NATIVE_INT32, B, h->lay_nrows) != 0)
            nxmx_note_msg(h, NB_E_INPUT,
                          "--hdf5 %s: %s: /entry/simulation@band_row0/@band_nrows are not the "
                          "layout of %d bands",
                          h->name, h->file_path, h->n_bands);
        h->layout_written = 1;
    } else if (has < 0) {
        nxmx_note_fail(h, "reading the band layout");
    }
    if (carry >= 0)
        H5Gclose(carry);
    if (sim >= 0)
        H5Gclose(sim);
    hid_t fd = h->status >= 0 ? H5Dopen2(h->status, "frames_done", H5P_DEFAULT) : -1;
    uint8_t *buf = malloc((size_t)h->nframes);
    if (!buf)
        nxmx_note_fail(h, "allocating the frame list");
    static uint8_t dummy[1];
    /* collective: every rank reads all of it (after a local failure no rank does: nxmx_coll_ok) */
    if (nxmx_c_read(h, fd, H5T_NATIVE_UINT8, buf ? buf : dummy) >= 0 && done)
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
        nxmx_note_fail(h, "allocating the resume record");
    } else {
        snprintf(all, len, "%s%s%s", prev ? prev : "", prev ? " " : "", start_time);
        if ((prev && H5Adelete(h->status, "resumed") < 0) ||
            nxmx_attr_str(h->status, "resumed", all) != 0)
            nxmx_note_fail(h, "recording the resume");
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
    struct nb_nxmx *h = nxmx_handle_new(file, name, m, sync, err);
    if (!h)
        return NB_E_NOMEM;
    h->keep_file = 1; /* not ours to discard until it has passed the checks */
    /* the checks on a read-only open: a read-write open and close alone would change the
     * file (HDF5 clears the superblock's "open for writing" flag that a killed job leaves) */
    if (nxmx_coll_ok(h)) {
        h->file = H5Fopen(file, H5F_ACC_RDONLY, h->fapl);
        if (h->file < 0) {
            struct nxmx_cause c;
            nxmx_h5_cause(&c);
            nxmx_note_msg(h, NB_E_INPUT, "--hdf5 %s: cannot reopen %s to resume (%s)", name, file,
                          c.text[0] ? c.text : "not an HDF5 file");
            nxmx_coll_failed(h, "reopening the file");
        }
    }
    if (nxmx_coll_ok(h))
        reopen_check(h, m, file); /* reads only: the file is unchanged when it is refused */
    if (nxmx_coll_ok(h)) {
        herr_t rc = H5Fclose(h->file);
        h->file = -1;
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) > 0)
            nxmx_hdf5_stuck = 1; /* as in close_all() */
        if (rc < 0)
            nxmx_coll_failed(h, "closing the file after the checks");
    }
    if (nxmx_coll_ok(h)) {
        h->file = H5Fopen(file, H5F_ACC_RDWR, h->fapl);
        if (h->file < 0)
            nxmx_coll_failed(h, "reopening the file for writing");
    }
    if (nxmx_coll_ok(h))
        reopen_handles(h, done);
    if (nxmx_coll_ok(h)) {
        record_resume(h, m->start_time);
        nxmx_c_flush(h);
    }
    nb_status st = nxmx_c_result(h, err);
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
        struct nxmx_cause c;
        nxmx_h5_cause(&c);
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
