/* test_nxmx_stack.c -- the frame-stack HDF5 writer (src/io/nb_nxmx.h) in one process.
 *
 * Writes two 3-frame files out of order (frames 2, 0, 1; see write_stack for the rounds):
 *   stack_noise.h5  noise counts in data, float and int images, gzip 6, c-parity carry tables
 *   stack_plain.h5  float image in data only, no filter, spec carry (no tables)
 * then has check_nxmx_stack.py (argv[1], run with /usr/bin/python3 and h5py) check shapes,
 * chunks, filters and every per-frame value against formats.md §11 and the values written
 * here (the same formulas, repeated in the script).  Last, each fault-injection point of the
 * writer (NB_FAULT=h5-create, h5-write, h5-run, h5-close; not h5-stop, which stops the
 * process) must make its entry point fail with the injected message.
 * Resume (formats.md §11.4 rule 3), for both kinds of file (resume_test), and for a first run
 * killed (SIGKILL, tag "killed") instead of suspended:
 *   resume_<tag>_full.h5       frames 0, 1, 2 written in one go
 *   resume_<tag>.h5            frames 0 and 2, suspended (close ok = 2), peeked, refused by
 *                              reopens with another job's meta (the file's bytes unchanged),
 *                              reopened (done = {1, 0, 1}), frame 1 written, closed complete
 *   resume_<tag>_suspended.h5  a byte copy of the suspended file
 * the script then checks the suspended state and that the resumed file equals the one written
 * in one go (every dataset and attribute, data byte for byte, but the time stamps).  Last,
 * nb_nxmx_peek of a truncated copy, random bytes, an HDF5 file of another kind and a missing
 * file fails with NB_E_INPUT (and leaves no HDF5 object open).
 * 77 when this build has no HDF5.  Scratch files under NB_TEST_SCRATCH/nxmx_stack.
 */
#define _POSIX_C_SOURCE 200809L
#include "unit_common.h"

#include "engine/nb_setup.h"
#include "io/nb_nxmx.h"
#include "nb_build_config.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#if NB_HAVE_HDF5
#include <hdf5.h>
#endif

#define NF 3
#define PY "/usr/bin/python3"

/* One process: every agreement is with itself. */
static int agree_self(void *ctx, nb_status *st, struct nb_err *err, double seconds)
{
    (void)ctx;
    (void)st;
    (void)err;
    (void)seconds;
    return 0;
}

static void stuck_self(void *ctx, const struct nb_err *err)
{
    (void)ctx;
    fprintf(stderr, "stuck: %s\n", err->msg);
    abort();
}

static const struct nb_nxmx_sync sync1 = {agree_self, stuck_self, NULL, 1.0};

/* The values the script expects (check_nxmx_stack.py repeats these formulas). */
static float pixel_value(int frame, int s, int f)
{
    return (float)(1000 * frame + 32 * s + f) + 0.25f;
}

struct scene {
    struct nb_cli cli;
    struct nb_scene sc;
};

static int build_scene(const char *line, struct scene *x)
{
    struct nb_msg_sink sink = {NULL, NULL};
    struct nb_err err = {{0}};
    memset(x, 0, sizeof *x);
    if (u_parse(line, &x->cli))
        return 1;
    nb_status st = nb_setup_begin(&x->cli.cfg, &x->sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_geometry(&x->cli.cfg, &x->sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_crystal(&x->cli.cfg, &x->sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_finish(&x->cli.cfg, &x->sc, NULL, &sink, &err);
    if (st != NB_OK)
        fprintf(stderr, "set-up of \"%s\" failed: %s: %s\n", line, nb_strerror(st), err.msg);
    return st != NB_OK;
}

static void free_scene(struct scene *x)
{
    nb_scene_fini(&x->sc);
    nb_cli_fini(&x->cli);
}

/* Frame i: phi 0.5 i .. 0.5 (i+1) deg, cell a + i, reciprocal axes scaled by 1 + i/10 (not
 * physical: distinct values per frame are the point), seeds 100+i, 200+i, 300+i. */
static const char *const frame_flags[NF] = {"", "-phi 0.5", "-phi 1 -seed 102"};

static void fill_frames(const struct nb_scene *sc, struct nb_nxmx_frame *fr)
{
    for (int i = 0; i < NF; i++) {
        memset(&fr[i], 0, sizeof fr[i]);
        fr[i].phi_deg = 0.5 * i;
        fr[i].phi_end_deg = 0.5 * (i + 1);
        memcpy(fr[i].cell, sc->cell, sizeof fr[i].cell);
        fr[i].cell[0] += i;
        for (int k = 0; k < 3; k++) {
            fr[i].a_star[k] = sc->a_star[k] * (1.0 + 0.1 * i);
            fr[i].b_star[k] = sc->b_star[k] * (1.0 + 0.1 * i);
            fr[i].c_star[k] = sc->c_star[k] * (1.0 + 0.1 * i);
        }
        fr[i].seed = 100 + i;
        fr[i].mosaic_seed = 200 + i;
        fr[i].misset_seed = 300 + i;
        fr[i].flags = frame_flags[i];
    }
}

static void fill_meta(struct scene *x, const struct nb_nxmx_frame *fr, int noise,
                      struct nb_nxmx_meta *m)
{
    static char *argv[] = {(char *)"nanoBragg", (char *)"-test", NULL};
    memset(m, 0, sizeof *m);
    m->argc = 2;
    m->argv = argv;
    m->program = "nanobragg-hpc";
    m->version = "test";
    m->start_time = "2026-01-01T00:00:00Z";
    m->cfg = &x->cli.cfg;
    m->sc = &x->sc;
    m->noise = noise;
    m->adc = 40.0;
    m->rank = 0;
    m->size = 1;
    m->nframes = NF;
    m->frames = fr;
    m->series = 1;
    m->bands_per_frame = 1;
    m->write_float = noise;
    m->write_int = noise;
    m->gzip_level = noise ? 6 : -1;
    m->config_hash = "abc123";
    m->default_seed = 4242;
}

/* The record of a finished frame i (one band over the whole detector). */
static void fill_done(const struct nb_scene *sc, int i, struct nb_nxmx_band *b,
                      struct nb_nxmx_done *d)
{
    memset(b, 0, sizeof *b);
    b->row0 = 0;
    b->n_rows = sc->spixels;
    b->in_state = 0;
    b->out_state = 1;
    for (int k = 0; k < 9; k++) {
        b->in_vec[k] = 1e-9 * (10 * i + k);
        b->out_vec[k] = -1e-9 * (10 * i + k);
    }
    b->in_last = -1;
    b->out_last = 50 + i;
    d->frame = i;
    d->p1 = 10 + i;
    d->p_star = i == 1 ? -1 : 20 + i;
    d->phi_star = i == 1 ? NAN : 0.01 * i;
    d->bands = b;
}

/* Frame i in two row halves (float rows), counts and ints with the first half. */
static nb_status write_one(struct nb_nxmx *h, const struct nb_scene *sc, int i,
                           struct nb_err *err)
{
    const int fp = sc->fpixels, sp = sc->spixels, half = sp / 2;
    float *img = malloc(sizeof(float) * (size_t)fp * sp);
    int32_t *counts = malloc(sizeof(int32_t) * (size_t)fp * sp);
    uint16_t *ints = malloc(sizeof(uint16_t) * (size_t)fp * sp);
    nb_status st = NB_E_NOMEM;
    if (img && counts && ints) {
        for (int s = 0; s < sp; s++)
            for (int f = 0; f < fp; f++) {
                float v = pixel_value(i, s, f);
                img[s * fp + f] = v;
                counts[s * fp + f] = (int32_t)v + 7;
                ints[s * fp + f] = (uint16_t)((int)v % 60000);
            }
        st = nb_nxmx_write_frame(h, i, 0, half, img, counts, ints, err);
        if (st == NB_OK)
            st = nb_nxmx_write_frame(h, i, half, sp - half, img + (size_t)half * fp, NULL,
                                     NULL, err);
        if (st == NB_OK) /* a round in which this rank has nothing */
            st = nb_nxmx_write_frame(h, -1, 0, 0, NULL, NULL, NULL, err);
    }
    free(img);
    free(counts);
    free(ints);
    return st;
}

/* Frames in the order 2, 0, 1.  noise file: rounds {2} {0 1}, the second recorded done with
 * its records in the order 1, 0 (nb_nxmx_frames_done sorts them); plain file: one frame a
 * round. */
static void write_stack(const char *path, struct scene *x, int noise)
{
    static const int order[NF] = {2, 0, 1};
    static const int rounds_noise[][2] = {{1, 0}, {2, 1}}, rounds_plain[][2] = {{1, 0}, {1, 1},
                                                                                {1, 2}};
    const int(*rounds)[2] = noise ? rounds_noise : rounds_plain; /* frames, first in order */
    const int n_rounds = noise ? 2 : 3;
    struct nb_nxmx_frame fr[NF];
    struct nb_nxmx_meta m;
    struct nb_err err = {{0}};
    struct nb_nxmx *h = NULL;
    fill_frames(&x->sc, fr);
    fill_meta(x, fr, noise, &m);
    u_ctx = path;
    nb_status st = nb_nxmx_create(path, path, &m, &sync1, &h, &err);
    CHECK(st == NB_OK, "%s: create: %s: %s", u_ctx, nb_strerror(st), err.msg);
    for (int r = 0; st == NB_OK && r < n_rounds; r++) {
        struct nb_nxmx_band b[NF];
        struct nb_nxmx_done d[NF];
        const int n = rounds[r][0], first = rounds[r][1];
        for (int k = 0; st == NB_OK && k < n; k++) {
            st = write_one(h, &x->sc, order[first + k], &err);
            CHECK(st == NB_OK, "%s: write_frame %d: %s: %s", u_ctx, order[first + k],
                  nb_strerror(st), err.msg);
        }
        for (int k = 0; k < n; k++) /* records in reverse order */
            fill_done(&x->sc, order[first + n - 1 - k], &b[k], &d[k]);
        if (st == NB_OK) {
            st = nb_nxmx_frames_done(h, n, d, &err);
            CHECK(st == NB_OK, "%s: frames_done round %d: %s: %s", u_ctx, r, nb_strerror(st),
                  err.msg);
        }
    }
    nb_status cst = nb_nxmx_close(h, st == NB_OK, "2026-01-01T00:00:09Z", &err);
    CHECK(cst == NB_OK, "%s: close: %s: %s", u_ctx, nb_strerror(cst), err.msg);
}

/* NB_FAULT=point makes the entry point of that phase fail, with the injected message, and the
 * close after it fail too (the caller then discards the file; what the close still writes
 * into it after the truncation is of no interest). */
static void fault(const char *dir, struct scene *x, const char *point)
{
    char path[4096];
    struct nb_nxmx_frame fr[NF];
    struct nb_nxmx_meta m;
    struct nb_err err = {{0}};
    struct nb_nxmx *h = NULL;
    struct nb_nxmx_band b;
    struct nb_nxmx_done d;
    snprintf(path, sizeof path, "%s/fault_%s.h5", dir, point);
    fill_frames(&x->sc, fr);
    fill_meta(x, fr, 1, &m);
    fill_done(&x->sc, 0, &b, &d);
    u_ctx = point;
    setenv("NB_FAULT", point, 1);
    nb_status st = nb_nxmx_create(path, path, &m, &sync1, &h, &err);
    const char *failed_in = "create";
    if (st == NB_OK) {
        failed_in = "write_frame";
        st = write_one(h, &x->sc, 0, &err);
    }
    if (st == NB_OK) {
        failed_in = "frames_done";
        st = nb_nxmx_frames_done(h, 1, &d, &err);
    }
    int ok = st == NB_OK;
    nb_status cst = nb_nxmx_close(h, ok, "2026-01-01T00:00:09Z", ok ? &err : NULL);
    if (ok) {
        failed_in = "close";
        st = cst;
    }
    unsetenv("NB_FAULT");
    static const char *const expect[][2] = {{"h5-create", "create"},
                                            {"h5-write", "write_frame"},
                                            {"h5-run", "frames_done"},
                                            {"h5-close", "close"}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (strcmp(expect[i][0], point) == 0)
            CHECK(st == NB_E_OUTPUT && strcmp(failed_in, expect[i][1]) == 0,
                  "%s: expected a failure in %s, got %s in %s", point, expect[i][1],
                  nb_strerror(st), failed_in);
    CHECK(strstr(err.msg, "injected failure") != NULL, "%s: message \"%s\"", point, err.msg);
    CHECK(cst == NB_E_OUTPUT, "%s: close after the failure returned %s", point,
          nb_strerror(cst));
}

/* Single-frame rounds: each of frames[0..n) written, then recorded done. */
static nb_status write_rounds(struct nb_nxmx *h, const struct scene *x, const int *frames, int n,
                              struct nb_err *err)
{
    nb_status st = NB_OK;
    for (int k = 0; st == NB_OK && k < n; k++) {
        struct nb_nxmx_band b;
        struct nb_nxmx_done d;
        st = write_one(h, &x->sc, frames[k], err);
        fill_done(&x->sc, frames[k], &b, &d);
        if (st == NB_OK)
            st = nb_nxmx_frames_done(h, 1, &d, err);
    }
    return st;
}

/* 1 when the two files hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = nb_test_read_file(a, &na), *y = nb_test_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* A copy of the first `len` bytes of src (all when len is (size_t)-1). */
static int copy_file(const char *src, const char *dst, size_t len)
{
    size_t n = 0;
    unsigned char *x = nb_test_read_file(src, &n);
    int rc = x ? nb_test_write_file(dst, x, len < n ? len : n) : -1;
    free(x);
    return rc;
}

static int open_hdf5_objects(void)
{
#if NB_HAVE_HDF5
    return (int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
#else
    return 0;
#endif
}

/* Suspend after frames 0 and 2, peek, refused reopens, reopen, frame 1, close (see the top).
 * killed: instead of the suspend, a child process writes frames 0 and 2, recorded done, then
 * frame 1's images, and is killed (SIGKILL) before frame 1 is recorded done or the file
 * closed: what a job killed by the batch system leaves. */
static void resume_test(const char *dir, struct scene *x, int noise, int killed, const char *tag)
{
    static const int all[NF] = {0, 1, 2}, first[2] = {0, 2};
    char full[4096], part[4096], susp[4096], trunc[4096];
    struct nb_nxmx_frame fr[NF];
    struct nb_nxmx_meta m;
    struct nb_err err = {{0}};
    struct nb_nxmx *h = NULL;
    snprintf(full, sizeof full, "%s/resume_%s_full.h5", dir, tag);
    snprintf(part, sizeof part, "%s/resume_%s.h5", dir, tag);
    snprintf(susp, sizeof susp, "%s/resume_%s_suspended.h5", dir, tag);
    snprintf(trunc, sizeof trunc, "%s/resume_%s_truncated.h5", dir, tag);
    fill_frames(&x->sc, fr);
    fill_meta(x, fr, noise, &m);
    u_ctx = tag;

    /* in one go */
    nb_status st = nb_nxmx_create(full, full, &m, &sync1, &h, &err);
    if (st == NB_OK)
        st = write_rounds(h, x, all, NF, &err);
    CHECK(st == NB_OK, "%s: one go: %s: %s", u_ctx, nb_strerror(st), err.msg);
    nb_status cst = nb_nxmx_close(h, st == NB_OK, "2026-01-01T00:00:09Z", &err);
    CHECK(cst == NB_OK, "%s: one go: close: %s: %s", u_ctx, nb_strerror(cst), err.msg);

    /* stopped after frames 0 and 2 */
    if (killed) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            st = nb_nxmx_create(part, part, &m, &sync1, &h, &err);
            if (st == NB_OK)
                st = write_rounds(h, x, first, 2, &err);
            if (st == NB_OK)
                st = write_one(h, &x->sc, 1, &err);
            if (st != NB_OK)
                _exit(3);
            raise(SIGKILL);
            _exit(4);
        }
        int ws = 0;
        CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid && WIFSIGNALED(ws) &&
                  WTERMSIG(ws) == SIGKILL,
              "%s: the first run was not killed (wait status %d)", u_ctx, ws);
    } else {
        st = nb_nxmx_create(part, part, &m, &sync1, &h, &err);
        if (st == NB_OK)
            st = write_rounds(h, x, first, 2, &err);
        CHECK(st == NB_OK, "%s: first run: %s: %s", u_ctx, nb_strerror(st), err.msg);
        cst = nb_nxmx_close(h, st == NB_OK ? 2 : 0, "2026-01-01T00:00:05Z", &err);
        CHECK(cst == NB_OK, "%s: suspend: %s: %s", u_ctx, nb_strerror(cst), err.msg);
    }
    CHECK(open_hdf5_objects() == 0, "%s: %d HDF5 objects open after the suspend", u_ctx,
          open_hdf5_objects());
    CHECK(copy_file(part, susp, (size_t)-1) == 0, "%s: cannot copy %s", u_ctx, part);

    /* peek: the job's identity, one process, nothing left open */
    struct nb_nxmx_peek pk;
    st = nb_nxmx_peek(part, &pk, &err);
    CHECK(st == NB_OK, "%s: peek: %s: %s", u_ctx, nb_strerror(st), err.msg);
    CHECK(pk.default_seed == 4242 && strcmp(pk.config_hash, "abc123") == 0 &&
              pk.nframes == NF && pk.bands_per_frame == 1 && pk.complete == 0 &&
              strcmp(pk.version, "test") == 0,
          "%s: peek gave seed %ld hash \"%s\" nframes %d bands %d complete %d version \"%s\"",
          u_ctx, pk.default_seed, pk.config_hash, pk.nframes, pk.bands_per_frame, pk.complete,
          pk.version);
    CHECK(open_hdf5_objects() == 0, "%s: %d HDF5 objects open after peek", u_ctx,
          open_hdf5_objects());

    /* reopens with another job's meta: NB_E_INPUT, one line, the file's bytes unchanged */
    struct {
        const char *what, *expect;
        struct nb_nxmx_meta m;
    } bad[7];
    int nbad = 0;
    for (int i = 0; i < 7; i++)
        bad[i].m = m;
    bad[nbad].what = "another configuration";
    bad[nbad].m.config_hash = "def456";
    bad[nbad++].expect = " was written by a different job (configuration abc123 here def456): "
                         "resume only the same command line with the same inputs";
    bad[nbad].what = "no configuration hash";
    bad[nbad].m.config_hash = NULL;
    bad[nbad++].expect = "(configuration abc123 here )";
    bad[nbad].what = "another version";
    bad[nbad].m.version = "other";
    bad[nbad++].expect = "was written by version test, this is other";
    bad[nbad].what = "another frame count";
    bad[nbad].m.nframes = 2;
    bad[nbad++].expect = "holds 3 frames, this job 2";
    bad[nbad].what = "another band count";
    bad[nbad].m.bands_per_frame = 2;
    bad[nbad++].expect = "with 1 bands per frame, this job 2";
    bad[nbad].what = "another data type";
    bad[nbad].m.noise = !noise;
    bad[nbad++].expect = "/entry/data/data has another type";
    bad[nbad].what = "int_image or not";
    bad[nbad].m.write_int = !noise;
    bad[nbad++].expect = noise ? "int_image is present, this job does not write it"
                               : "int_image is missing, this job writes it";
    for (int i = 0; i < nbad; i++) {
        uint8_t done[NF] = {7, 7, 7};
        memset(&err, 0, sizeof err);
        st = nb_nxmx_reopen(part, part, &bad[i].m, &sync1, &h, done, &err);
        CHECK(st == NB_E_INPUT && strstr(err.msg, bad[i].expect) != NULL &&
                  strchr(err.msg, '\n') == NULL,
              "%s: reopen with %s: %s: \"%s\", expected NB_E_INPUT with \"%s\"", u_ctx,
              bad[i].what, nb_strerror(st), err.msg, bad[i].expect);
        CHECK(h != NULL, "%s: reopen with %s left *out NULL", u_ctx, bad[i].what);
        CHECK(done[0] == 0 && done[1] == 0 && done[2] == (bad[i].m.nframes == NF ? 0 : 7),
              "%s: reopen with %s: done %d %d %d", u_ctx, bad[i].what, done[0], done[1],
              done[2]); /* done[nframes]: all 0 after a failure */
        nb_nxmx_close(h, 0, "2026-01-01T00:00:06Z", NULL);
        CHECK(same_bytes(part, susp), "%s: reopen with %s changed the file", u_ctx, bad[i].what);
    }
    CHECK(open_hdf5_objects() == 0, "%s: %d HDF5 objects open after the refused reopens",
          u_ctx, open_hdf5_objects());

    /* a truncated file is refused and kept as it is */
    {
        size_t n = 0;
        unsigned char *bytes = nb_test_read_file(susp, &n);
        free(bytes);
        CHECK(copy_file(susp, trunc, n / 2) == 0, "%s: cannot write %s", u_ctx, trunc);
        char keep[4200];
        snprintf(keep, sizeof keep, "%s.orig", trunc);
        CHECK(copy_file(trunc, keep, (size_t)-1) == 0, "%s: cannot write %s", u_ctx, keep);
        uint8_t done[NF];
        st = nb_nxmx_reopen(trunc, trunc, &m, &sync1, &h, done, &err);
        CHECK(st == NB_E_INPUT && strstr(err.msg, "cannot reopen") != NULL,
              "%s: reopen of a truncated file: %s: %s", u_ctx, nb_strerror(st), err.msg);
        nb_nxmx_close(h, 0, "2026-01-01T00:00:06Z", NULL);
        CHECK(same_bytes(trunc, keep), "%s: the refused reopen changed the truncated file",
              u_ctx);
    }

    /* the resume */
    uint8_t done[NF] = {7, 7, 7};
    m.start_time = "2026-01-01T01:00:00Z";
    st = nb_nxmx_reopen(part, part, &m, &sync1, &h, done, &err);
    CHECK(st == NB_OK, "%s: reopen: %s: %s", u_ctx, nb_strerror(st), err.msg);
    CHECK(done[0] == 1 && done[1] == 0 && done[2] == 1, "%s: done %d %d %d, expected 1 0 1",
          u_ctx, done[0], done[1], done[2]);
    for (int i = 0; st == NB_OK && i < NF; i++)
        if (!done[i])
            st = write_rounds(h, x, &i, 1, &err);
    CHECK(st == NB_OK, "%s: resumed run: %s: %s", u_ctx, nb_strerror(st), err.msg);
    cst = nb_nxmx_close(h, st == NB_OK, "2026-01-01T00:00:09Z", &err);
    CHECK(cst == NB_OK, "%s: close after the resume: %s: %s", u_ctx, nb_strerror(cst), err.msg);
    st = nb_nxmx_peek(part, &pk, &err);
    CHECK(st == NB_OK && pk.complete == 1, "%s: peek after the resume: %s, complete %d", u_ctx,
          nb_strerror(st), pk.complete);
    CHECK(open_hdf5_objects() == 0, "%s: %d HDF5 objects open after the resume", u_ctx,
          open_hdf5_objects());
}

/* nb_nxmx_peek of files that are not series files: NB_E_INPUT, one line, no crash. */
static void peek_bad(const char *dir, const char *good)
{
    char path[4200];
    struct nb_nxmx_peek pk;
    struct nb_err err;
    size_t n = 0;
    unsigned char *bytes = nb_test_read_file(good, &n);
    struct {
        const char *name, *expect;
    } cases[] = {{"half.h5", ": not an HDF5 file ("},
                 {"random.h5", ": not an HDF5 file ("},
                 {"empty.h5", ": not a nanobragg series file: missing /entry/simulation"},
                 {"no_hash.h5", ": not a nanobragg series file: missing "
                                "/entry/simulation@config_hash"},
                 {"missing.h5", ": not an HDF5 file ("}};
    CHECK(bytes != NULL, "cannot read %s", good);
    if (!bytes)
        return;
    /* half of a real file; 64 KiB of random bytes (a fixed generator) */
    snprintf(path, sizeof path, "%s/%s", dir, cases[0].name);
    nb_test_write_file(path, bytes, n / 2);
    free(bytes);
    unsigned char *rnd = malloc(65536);
    uint64_t z = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; rnd && i < 65536; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (unsigned char)(z >> 56);
    }
    snprintf(path, sizeof path, "%s/%s", dir, cases[1].name);
    if (rnd)
        nb_test_write_file(path, rnd, 65536);
    free(rnd);
#if NB_HAVE_HDF5
    /* an HDF5 file of another kind; one with /entry/simulation but no @config_hash */
    snprintf(path, sizeof path, "%s/%s", dir, cases[2].name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    snprintf(path, sizeof path, "%s/%s", dir, cases[3].name);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "entry", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g2 = H5Gcreate2(g, "simulation", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g2);
    H5Gclose(g);
    H5Fclose(f);
#endif
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        memset(&err, 0, sizeof err);
        u_ctx = cases[i].name;
        nb_status st = nb_nxmx_peek(path, &pk, &err);
        CHECK(st == NB_E_INPUT && strncmp(err.msg, path, strlen(path)) == 0 &&
                  strstr(err.msg, cases[i].expect) != NULL && strchr(err.msg, '\n') == NULL,
              "peek %s: %s: \"%s\", expected NB_E_INPUT with \"%s\"", cases[i].name,
              nb_strerror(st), err.msg, cases[i].expect);
        CHECK(open_hdf5_objects() == 0, "peek %s left %d HDF5 objects open", cases[i].name,
              open_hdf5_objects());
    }
}

int main(int argc, char **argv)
{
    if (!NB_HAVE_HDF5) {
        printf("test_nxmx_stack: skipped (built without HDF5)\n");
        return NB_TEST_SKIP;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: test_nxmx_stack <check_nxmx_stack.py>\n");
        return 1;
    }
    char dir[4096], a[4200], b[4200], cmd[32768];
    snprintf(dir, sizeof dir, "%s/nxmx_stack", NB_TEST_SCRATCH);
    if (nb_test_fresh_dir(dir) != 0) {
        fprintf(stderr, "cannot make %s\n", dir);
        return 1;
    }
    snprintf(a, sizeof a, "%s/stack_noise.h5", dir);
    snprintf(b, sizeof b, "%s/stack_plain.h5", dir);
    nb_hdf5_init();
    struct scene x, y;
    /* a 32 x 24 detector with a ROI, so that pixel_mask has 256s */
    const char *common = "-cell 50 60 70 90 90 90 -default_F 100 -pixel 0.1 -distance 100 "
                         "-roi 2 29 1 22";
    char line[512];
    snprintf(line, sizeof line, "%s -detpixels_f 32 -detpixels_s 24", common);
    if (build_scene(line, &x))
        return 1;
    snprintf(line, sizeof line, "%s -detpixels_f 32 -detpixels_s 24 --phi-carryover=spec",
             common);
    if (build_scene(line, &y))
        return 1;
    write_stack(a, &x, 1);
    write_stack(b, &y, 0);
    fault(dir, &x, "h5-create");
    fault(dir, &x, "h5-write");
    fault(dir, &x, "h5-run");
    fault(dir, &x, "h5-close");
    resume_test(dir, &x, 1, 0, "noise");
    resume_test(dir, &y, 0, 0, "plain");
    resume_test(dir, &x, 1, 1, "killed");
    char susp[4200];
    snprintf(susp, sizeof susp, "%s/resume_noise_suspended.h5", dir);
    peek_bad(dir, susp);
    free_scene(&x);
    free_scene(&y);
    nb_hdf5_fini();
    if (nb_test_failures == 0) {
        snprintf(cmd, sizeof cmd,
                 PY " '%s' '%s' '%s' '%s/resume_noise_suspended.h5' '%s/resume_noise.h5' "
                    "'%s/resume_noise_full.h5' '%s/resume_plain_suspended.h5' "
                    "'%s/resume_plain.h5' '%s/resume_plain_full.h5' "
                    "'%s/resume_killed_suspended.h5' '%s/resume_killed.h5' "
                    "'%s/resume_killed_full.h5'",
                 argv[1], a, b, dir, dir, dir, dir, dir, dir, dir, dir, dir);
        int rc = system(cmd);
        u_nchecks++;
        CHECK(rc == 0, "%s exited with status %d", cmd, rc);
    }
    return u_summary("test_nxmx_stack");
}
