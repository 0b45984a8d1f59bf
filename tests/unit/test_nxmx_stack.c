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
 * 77 when this build has no HDF5.  Scratch files under NB_TEST_SCRATCH/nxmx_stack.
 */
#define _POSIX_C_SOURCE 200809L
#include "unit_common.h"

#include "engine/nb_setup.h"
#include "io/nb_nxmx.h"
#include "nb_build_config.h"

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
    char dir[4096], a[4200], b[4200], cmd[16384];
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
    free_scene(&x);
    free_scene(&y);
    nb_hdf5_fini();
    if (nb_test_failures == 0) {
        snprintf(cmd, sizeof cmd, PY " '%s' '%s' '%s'", argv[1], a, b);
        int rc = system(cmd);
        u_nchecks++;
        CHECK(rc == 0, "%s exited with status %d", cmd, rc);
    }
    return u_summary("test_nxmx_stack");
}
