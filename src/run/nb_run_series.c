/* nb_run_series.c -- the series (docs/batch.md): frames planned and checked before anything
 * is rendered, rank groups rendering whole frames (row bands inside a group), the HDF5 stack
 * written round by round, per-frame files, stop on a signal and --resume.
 * Entry point: run_series() (nb_run_internal.h), called by nb_run().
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/nb_image.h"
#include "../engine/nb_setup.h"
#include "../util/nb_sys.h"
#include "nb_run_internal.h"
#include "nb_series.h"


/* One frame, parsed and set up: the command line with the frame's flags appended, through
 * the same parser and set-up as a plain run, quietly; inputs come from the job's copy. */
struct frame {
    char **argv;
    struct nb_cli cli;
    int have_cli;
    struct nb_scene sc;
    int have_scene;
};

static void frame_fini(struct frame *f)
{
    if (f->have_scene)
        nb_scene_fini(&f->sc);
    if (f->have_cli)
        nb_cli_fini(&f->cli);
    free(f->argv);
    memset(f, 0, sizeof *f);
}

/* Where a frame comes from, for messages: "frame 3 (list.txt:7)". */
static void frame_name(const struct run *r, const struct nb_series *s, int i, char *buf, size_t n)
{
    if (s->f[i].line > 0)
        snprintf(buf, n, "frame %d (%s:%d)", i + 1, r->cli.frames_from, s->f[i].line);
    else
        snprintf(buf, n, "frame %d", i + 1);
}

static nb_status frame_setup(struct run *r, const struct nb_series *s, int i, int argc,
                             char **argv, struct frame *f)
{
    struct nb_msg_sink quiet = {NULL, NULL};
    struct nb_err e;
    nb_status st;
    memset(f, 0, sizeof *f);
    const struct nb_series_frame *sf = &s->f[i];
    f->argv = malloc(sizeof(char *) * (size_t)(argc + sf->ntok + 1));
    if (!f->argv) {
        nb_err_set(&r->err, "out of memory for frame %d", i + 1);
        return NB_E_NOMEM;
    }
    memcpy(f->argv, argv, sizeof(char *) * (size_t)argc);
    memcpy(f->argv + argc, sf->tok, sizeof(char *) * (size_t)sf->ntok);
    f->argv[argc + sf->ntok] = NULL;
    st = nb_cli_parse_at(argc + sf->ntok, f->argv, r->default_seed, &f->cli, &quiet, &e);
    f->have_cli = 1;
    /* the input files were read once: the frame uses the job's copies */
    struct nb_config *c = &f->cli.cfg;
    if (st == NB_OK && r->cli.cfg.have_mat) {
        memcpy(c->mat, r->cli.cfg.mat, sizeof c->mat);
        c->have_mat = 1;
        c->mat_name = r->cli.cfg.mat_name;
    }
    if (st == NB_OK && r->cli.cfg.sources)
        c->sources = r->cli.cfg.sources;
    if (st == NB_OK) {
        st = nb_setup_begin(c, &f->sc, &quiet, &e);
        f->have_scene = st == NB_OK;
    }
    if (st == NB_OK)
        st = nb_setup_geometry(c, &f->sc, &quiet, &e);
    if (st == NB_OK)
        st = nb_setup_crystal(c, &f->sc, &quiet, &e);
    if (st == NB_OK)
        st = nb_setup_finish(c, &f->sc, r->in.have_hkl ? &r->in.hkl : NULL, &quiet, &e);
    if (st != NB_OK) {
        char where[PATH_MAX + 64];
        frame_name(r, s, i, where, sizeof where);
        nb_err_set(&r->err, "%s: %s", where, e.msg);
    }
    return st;
}

/* What a --frames-from line may not do, found by parsing the line's flags alone. */
static nb_status check_line(struct run *r, const struct nb_series *s, int i, int *seed_given)
{
    struct nb_msg_sink quiet = {NULL, NULL};
    const struct nb_series_frame *sf = &s->f[i];
    char where[PATH_MAX + 64];
    frame_name(r, s, i, where, sizeof where);
    char **av = malloc(sizeof(char *) * (size_t)(sf->ntok + 2));
    if (!av) {
        nb_err_set(&r->err, "out of memory");
        return NB_E_NOMEM;
    }
    av[0] = "nanobragg";
    memcpy(av + 1, sf->tok, sizeof(char *) * (size_t)sf->ntok);
    av[sf->ntok + 1] = NULL;
    struct nb_cli lc;
    struct nb_err e;
    nb_status st = nb_cli_parse_at(sf->ntok + 1, av, 1, &lc, &quiet, &e);
    const char *what = NULL;
    if (st != NB_OK)
        nb_err_set(&r->err, "%s: %s", where, e.msg);
    else if (lc.unknown_flags > 0) {
        nb_err_set(&r->err, "%s: unknown flag %s", where, lc.first_unknown);
        st = NB_E_USAGE;
    }
    else if (lc.hkl || lc.mat || lc.sourcefile || lc.img || lc.mask || lc.stol)
        what = "input files (-hkl, -mat, -sourcefile, -img, -mask, -stol) are read once per "
               "job; give them on the command line";
    else if (lc.named || !lc.write_pgm || !lc.write_noise)
        what = "output files are named on the command line (per-frame names with a # template)";
    else if (lc.printout || lc.trace_s >= 0 || lc.help)
        what = "-printout, -trace_pixel and -h are not per-frame flags";
    if (st == NB_OK && what) {
        nb_err_set(&r->err, "%s: %s: %s", where, sf->flags, what);
        st = NB_E_USAGE;
    }
    *seed_given = st == NB_OK && lc.seed_given;
    nb_cli_fini(&lc);
    free(av);
    return st;
}

/* Frames of a stack share their detector; with --hdf5 also what one NXmx file describes once
 * (beam, geometry).  Compared exactly. */
static const char *frame_differs(const struct nb_scene *a, const struct nb_scene *b, int hdf5)
{
#define SAME(x) (memcmp(&a->x, &b->x, sizeof a->x) == 0)
    if (a->fpixels != b->fpixels || a->spixels != b->spixels)
        return "the detector size";
    if (!SAME(roi_xmin) || !SAME(roi_xmax) || !SAME(roi_ymin) || !SAME(roi_ymax))
        return "the region of interest";
    if (!hdf5)
        return NULL;
    if (!SAME(pixel_size) || !SAME(distance) || !SAME(pix0) || !SAME(fdet) || !SAME(sdet) ||
        !SAME(odet) || !SAME(detector_thick))
        return "the detector geometry";
    if (!SAME(beam) || !SAME(lambda0) || !SAME(polar) || !SAME(spindle))
        return "the beam or the spindle";
    return NULL;
#undef SAME
}

struct plan {
    struct nb_series s;
    int groups, bands;        /* G groups of B ranks                                  */
    int group, leader;        /* this rank's group; it is the group's first rank      */
    struct nb_dist *sub;      /* this rank's group                                    */
    struct nb_nxmx_frame *info; /* per frame, for the HDF5 file                       */
    unsigned images;          /* NB_NAMED_* written per frame                         */
    struct frame f0;          /* frame 0 set up: it describes the HDF5 file           */
};

static void plan_fini(struct plan *p)
{
    nb_series_fini(&p->s);
    free(p->info);
    frame_fini(&p->f0);
    if (p->sub)
        nb_dist_fini(p->sub);
    memset(p, 0, sizeof *p);
}

/* Frames x bands: B ranks per frame.  Default: whole frames per rank when there are at least
 * as many frames as ranks, else the most groups that still have a frame each (the largest
 * divisor G of P with G <= N), each splitting its frame into P/G bands. */
static nb_status choose_groups(struct run *r, struct plan *p)
{
    int P = r->size, N = p->s.n, B = r->cli.bands_per_frame;
    if (B == 0 && r->resuming && r->peek.bands_per_frame > 0) {
        B = r->peek.bands_per_frame; /* the file's carry tables are [frames][B] */
        if (B > P || P % B != 0) {
            nb_err_set(&r->err, "--resume: the stopped job split each frame into %d bands; "
                                "%d rank%s cannot (resume with a multiple of %d ranks)",
                       B, P, P > 1 ? "s" : "", B);
            return NB_E_USAGE;
        }
    }
    if (B > 0) {
        if (B > P || P % B != 0) {
            nb_err_set(&r->err, "--bands-per-frame %d: %d rank%s cannot form groups of %d "
                                "(give a divisor of %d)",
                       B, P, P > 1 ? "s" : "", B, P);
            return NB_E_USAGE;
        }
    } else {
        int G = 1;
        for (int g = 1; g <= P; g++)
            if (P % g == 0 && g <= N)
                G = g;
        B = P / G;
    }
    p->bands = B;
    p->groups = P / B;
    p->group = r->rank / B;
    p->leader = r->rank % B == 0;
    return NB_OK;
}

/* Build the frame list, check every frame before anything is rendered, choose the groups. */
static nb_status plan_series(struct run *r, int argc, char **argv, struct plan *p)
{
    nb_status st;
    const struct nb_cli *cli = &r->cli;
    memset(p, 0, sizeof *p);
    if (cli->frames && cli->frames_from) {
        nb_err_set(&r->err, "--frames-from: give --frames or --frames-from, not both");
        return NB_E_USAGE;
    }
    if (cli->frames)
        st = nb_series_rotation(cli->frames, r->sc.phi0, r->sc.osc, &p->s, &r->err);
    else
        st = nb_series_from_text(cli->frames_from, r->in.frames_text, &p->s, &r->err);
    if (st != NB_OK)
        return st;
    const int N = p->s.n;
    /* per-frame names: a # template each; one plain name only for a one-frame series */
    const struct {
        unsigned bit;
        const char *flag, *name;
        int on;
    } outs[] = {{NB_NAMED_FLOAT, "-floatfile", cli->floatfile, 1},
                {NB_NAMED_INT, "-intfile", cli->intfile, 1},
                {NB_NAMED_PGM, "-pgmfile", cli->pgmfile, cli->write_pgm},
                {NB_NAMED_NOISE, "-noisefile", cli->noisefile, cli->write_noise}};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        if (!(cli->named & outs[k].bit) || !outs[k].on)
            continue;
        if (N > 1 && !nb_series_is_template(outs[k].name)) {
            nb_err_set(&r->err, "%s: '%s' names one file but the series has %d frames; use a "
                                "template with a # run, such as img_#####.img (frame 1 is "
                                "written as img_00001.img)",
                       outs[k].flag, outs[k].name, N);
            return NB_E_USAGE;
        }
        p->images |= outs[k].bit;
    }
    if (!p->images && !cli->hdf5) {
        nb_err_set(&r->err, "%s: the series writes nothing: give --hdf5 FILE and/or per-frame "
                            "names (-noisefile img_#####.img); the single-run default names "
                            "are not written for a series",
                   cli->frames ? "--frames" : "--frames-from");
        return NB_E_USAGE;
    }
    p->info = calloc((size_t)N, sizeof *p->info);
    if (!p->info) {
        nb_err_set(&r->err, "out of memory for %d frames", N);
        return NB_E_NOMEM;
    }
    if (cli->printout || cli->trace_s >= 0) {
        nb_err_set(&r->err, "%s: -printout and -trace_pixel apply to a plain run, not a series",
                   cli->frames ? "--frames" : "--frames-from");
        return NB_E_USAGE;
    }
    /* seeds, then every frame parsed and set up once (every rank: the same checks) */
    const long S = -cli->cfg.seed;
    struct frame *f0 = &p->f0;
    for (int i = 0; i < N && st == NB_OK; i++) {
        int seed_given = 0;
        if (!p->s.rotation)
            st = check_line(r, &p->s, i, &seed_given);
        if (st == NB_OK && !seed_given) {
            char v[32];
            snprintf(v, sizeof v, "%ld", nb_series_seed(S, i));
            st = nb_series_append(&p->s, i, "-seed", v, &r->err);
        }
        struct frame f;
        if (st == NB_OK)
            st = frame_setup(r, &p->s, i, argc, argv, &f);
        else
            memset(&f, 0, sizeof f);
        if (st == NB_OK) {
            const char *why = i > 0 ? frame_differs(&f0->sc, &f.sc, cli->hdf5 != NULL) : NULL;
            if (why) {
                char where[PATH_MAX + 64];
                frame_name(r, &p->s, i, where, sizeof where);
                nb_err_set(&r->err, "%s: %s: changes %s, which every frame of %s shares", where,
                           p->s.f[i].flags, why, cli->hdf5 ? "the NXmx stack" : "a series");
                st = NB_E_USAGE;
            }
        }
        if (st == NB_OK)
            run_frame_info(&f.sc, &f.cli.cfg, p->s.f[i].flags, &p->info[i]);
        if (i == 0)
            *f0 = f; /* kept: frame 0 describes the file (detector, beam, parameters) */
        else
            frame_fini(&f);
    }
    if (st == NB_OK)
        st = choose_groups(r, p);
    return st;
}

/* A frame's per-frame files: its names from the templates, reserved, written, committed.
 * img NULL: only reserve them and let go (the check before anything is rendered). */
static nb_status write_frame_files(struct run *r, const struct plan *p, int i, struct frame *f,
                                   const float *img, uint16_t **ints, int32_t **counts,
                                   struct nb_image_report *rep)
{
    struct nb_cli oc = f->cli; /* shallow: only the names change */
    oc.hdf5 = NULL;            /* the job's file, reserved once */
    char *names[4] = {NULL, NULL, NULL, NULL};
    const char **slots[4] = {&oc.floatfile, &oc.intfile, &oc.pgmfile, &oc.noisefile};
    nb_status st = NB_OK;
    for (int k = 0; k < 4; k++) {
        names[k] = nb_series_expand(*slots[k], (long)i + 1);
        if (!names[k])
            st = NB_E_NOMEM;
        else
            *slots[k] = names[k];
    }
    struct nb_outputs o;
    nb_outputs_init(&o);
    if (st != NB_OK)
        nb_err_set(&r->err, "out of memory for the file names of frame %d", i + 1);
    if (st == NB_OK)
        st = nb_outputs_prepare(&oc, p->images, 0, &o, &r->err);
    if (st == NB_OK && img)
        st = nb_outputs_write_images(&oc, &f->sc, NULL, &o, img, 0, ints, counts, rep, &r->err);
    if (st == NB_OK && img)
        st = nb_outputs_commit(&o, &r->err);
    nb_outputs_fini(&o);
    for (int k = 0; k < 4; k++)
        free(names[k]);
    return st;
}

/* What a group reports of a finished frame; followed by `bands` band records. */
struct frame_report {
    int frame;                /* -1: nothing this round */
    int64_t p1, p_star;
    double phi_star, max_I, photons;
    long rendered;            /* pixels rendered, for the meter */
    double steps;             /* evaluations per rendered pixel */
};

/* The series' meter, on stderr (rank 0): one line per round, or on a terminal one line
 * rewritten in place.  done: frames done in all; here: of them, rendered by this job (they
 * give the rate and the ETA). */
static void progress_line(int done, int total, double t0, double evals, int here)
{
    double el = nb_seconds() - t0;
    double eta = here > 0 ? el * (total - done) / here : 0.0;
    const int tty = isatty(STDERR_FILENO);
    fprintf(stderr, "%sframes %d/%d done (%.0f%%), %.1f s, %.3g evaluations/s, ETA %02d:%02d:%02d%s",
            tty ? "\r\033[K" : "", done, total, 100.0 * done / total, el,
            el > 0 ? evals / el : 0.0, (int)(eta / 3600), (int)(eta / 60) % 60, (int)eta % 60,
            tty && done < total ? "\r" : "\n");
    fflush(stderr);
}

/* Render the frames in todo[]: round k, group g renders todo[k*G + g] with its ranks as
 * bands; then every rank takes part in writing the round's frames to the HDF5 stack.  After
 * each round the ranks agree on a stop request (run_stop_signal): NB_E_STOPPED. */
/* Where a rank's time goes in a series (seconds). */
struct series_clock {
    double setup, render, images, hdf5, status, wait;
};

static void clock_add(double *acc, double *t)
{
    double now = nb_seconds();
    *acc += now - *t;
    *t = now;
}

static nb_status render_series(struct run *r, int argc, char **argv, struct plan *p,
                               const int *todo, int n_todo, struct series_clock *tm)
{
    const int N = p->s.n, G = p->groups, B = p->bands;
    const size_t rec_size = sizeof(struct frame_report) + sizeof(struct nb_nxmx_band) * (size_t)B;
    unsigned char *mine = calloc(1, rec_size), *all = calloc((size_t)r->size, rec_size);
    struct nb_nxmx_done *done = calloc((size_t)G, sizeof *done);
    nb_status st = mine && all && done ? NB_OK : NB_E_NOMEM;
    if (st != NB_OK)
        nb_err_set(&r->err, "out of memory for the frame reports");
    st = nb_dist_agree(r->d, st, &r->err);
    const double t0 = nb_seconds();
    double evals = 0;
    int n_done = N - n_todo;
    for (int k = 0; st == NB_OK && k * G < n_todo; k++) {
        const int i = k * G + p->group < n_todo ? todo[k * G + p->group] : -1;
        struct frame f;
        struct nb_render_result R;
        memset(&f, 0, sizeof f);
        memset(&R, 0, sizeof R);
        uint16_t *ints = NULL;
        int32_t *counts = NULL;
        struct nb_image_report rep;
        memset(&rep, 0, sizeof rep);
        struct frame_report *fr = (struct frame_report *)mine;
        memset(mine, 0, rec_size);
        fr->frame = -1;
        nb_status fst = NB_OK;
        double tc = nb_seconds();
        if (i >= 0)
            fst = frame_setup(r, &p->s, i, argc, argv, &f);
        clock_add(&tm->setup, &tc);
        /* every rank of the group renders (its band); a rank without a frame waits below */
        if (i >= 0 && fst == NB_OK)
            fst = nb_render_distributed(p->sub, &f.sc, r->dev.be, 0, &R, &r->err);
        clock_add(&tm->render, &tc);
        if (i >= 0 && fst == NB_OK && p->leader)
            fst = nb_image_check_finite(&f.sc, R.img, &r->err);
        if (i >= 0 && fst == NB_OK && p->leader)
            fst = write_frame_files(r, p, i, &f, R.img, &ints, &counts, &rep);
        clock_add(&tm->images, &tc);
        if (i >= 0 && fst == NB_OK && p->leader) {
            fr->frame = i;
            fr->p1 = R.p1;
            fr->p_star = R.p_star;
            fr->phi_star = f.sc.phi_star;
            fr->max_I = rep.max_I;
            fr->photons = rep.photons;
            for (int b = 0; b < R.n_bands; b++)
                fr->rendered += R.bands[b].rendered;
            fr->steps = f.sc.steps;
            struct nb_nxmx_band *bt = run_band_table(&R);
            if (!bt) {
                nb_err_set(&r->err, "out of memory for the band table");
                fst = NB_E_NOMEM;
            } else {
                memcpy(mine + sizeof *fr, bt, sizeof *bt * (size_t)B);
                free(bt);
            }
        }
        st = nb_dist_agree(r->d, fst, &r->err);
        clock_add(&tm->wait, &tc);
        if (st == NB_OK && r->h5)
            st = nb_nxmx_write_frame(r->h5, i, R.band_row0, R.band_rows, R.band_img,
                                     p->leader ? counts : NULL,
                                     p->leader && (p->images & NB_NAMED_INT) ? ints : NULL,
                                     &r->err);
        clock_add(&tm->hdf5, &tc);
        if (st == NB_OK)
            st = nb_dist_allgather(r->d, mine, rec_size, all);
        clock_add(&tm->wait, &tc);
        int n = 0;
        for (int q = 0; st == NB_OK && q < r->size; q++) {
            struct frame_report *x = (struct frame_report *)(all + rec_size * (size_t)q);
            if (x->frame < 0)
                continue;
            done[n].frame = x->frame;
            done[n].p1 = x->p1;
            done[n].p_star = x->p_star;
            done[n].phi_star = x->phi_star;
            done[n].bands = (const struct nb_nxmx_band *)(all + rec_size * (size_t)q + sizeof *x);
            n++;
            n_done++;
            evals += (double)x->rendered * x->steps;
            printf("frame %d/%d: %s: max_I = %g, %.0f photons\n", x->frame + 1, N,
                   p->info[x->frame].flags, x->max_I, x->photons);
        }
        if (st == NB_OK && r->h5)
            st = nb_nxmx_frames_done(r->h5, n, done, &r->err);
        clock_add(&tm->status, &tc);
        fflush(stdout);
        if (st == NB_OK && r->cli.progress && r->rank == 0)
            progress_line(n_done, N, t0, evals, n_done - (N - n_todo));
        free(ints);
        free(counts);
        nb_render_result_fini(&R);
        frame_fini(&f);
        if (st == NB_OK && (k + 1) * G < n_todo) { /* a stop request, on any rank */
            const int sig = run_stop_signal;
            nb_status sst = NB_OK;
            if (sig) {
                nb_err_set(&r->err, "signal %d: %d of %d frames done", sig, n_done, N);
                sst = NB_E_STOPPED;
            }
            st = nb_dist_agree(r->d, sst, &r->err);
        }
    }
    free(mine);
    free(all);
    free(done);
    return st;
}

/* The whole series after the command line's set-up: plan, reserve the job's files (HDF5,
 * Fdump.bin), render round by round (only the frames not done yet, with --resume), commit. */
nb_status run_series(struct run *r, int argc, char **argv)
{
    struct plan p;
    nb_status st = plan_series(r, argc, argv, &p);
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK) {
        plan_fini(&p);
        return st;
    }
    st = nb_dist_split(r->d, p.group, r->rank, &p.sub);
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK) {
        plan_fini(&p);
        return st;
    }
    printf("NOTE: series of %d frames; %d rank%s: %d group%s of %d (whole frames per group, "
           "each frame in %d row band%s)\n",
           p.s.n, r->size, r->size > 1 ? "s" : "", p.groups, p.groups > 1 ? "s" : "", p.bands,
           p.bands, p.bands > 1 ? "s" : "");
    fflush(stdout);
    /* the first frame's names can be written (folder, permissions, not an input file) */
    st = r->rank == 0 && p.images ? write_frame_files(r, &p, 0, &p.f0, NULL, NULL, NULL, NULL)
                                   : NB_OK;
    if (st == NB_OK && r->rank == 0 && run_want_fdump(r) && nb_outputs_have(&r->outs, NB_OUT_FDUMP))
        st = nb_outputs_write_fdump(&r->outs, &r->in.hkl, &r->err);
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK) {
        plan_fini(&p);
        return st;
    }
    char start_time[32];
    run_iso_time(start_time, sizeof start_time);
    nb_dist_bcast(r->d, start_time, sizeof start_time, 0);
    struct nb_nxmx_meta meta;
    run_fill_meta(r, argc, argv, start_time, &meta);
    meta.cfg = &p.f0.cli.cfg;
    meta.sc = &p.f0.sc;
    meta.nframes = p.s.n;
    meta.frames = p.info;
    meta.series = 1;
    meta.bands_per_frame = p.bands;
    meta.write_float = r->cli.hdf5_float;
    meta.write_int = (p.images & NB_NAMED_INT) != 0;
    uint8_t *done = calloc((size_t)p.s.n, 1);
    int *todo = malloc(sizeof(int) * (size_t)p.s.n);
    if (!done || !todo) {
        nb_err_set(&r->err, "out of memory for %d frames", p.s.n);
        st = NB_E_NOMEM;
    }
    if ((st = nb_dist_agree(r->d, st, &r->err)) == NB_OK && r->cli.hdf5) {
        st = run_hdf5_open(r, &meta, r->resuming ? done : NULL);
        if (r->rank == 0 && r->h5_open) /* from now on the frames done are kept for --resume */
            nb_outputs_keep_hdf5(&r->outs);
    }
    int n_todo = 0;
    for (int i = 0; done && todo && i < p.s.n; i++)
        if (!done[i])
            todo[n_todo++] = i;
    if (st == NB_OK && r->resuming)
        printf("NOTE: --resume: %d of %d frames were done; rendering the other %d\n",
               p.s.n - n_todo, p.s.n, n_todo);
    run_series_graceful = r->cli.hdf5 != NULL;
    struct series_clock tm = {0, 0, 0, 0, 0, 0};
    const double t_start = nb_seconds();
    if (st == NB_OK)
        st = render_series(r, argc, argv, &p, todo, n_todo, &tm);
    if (st == NB_OK && r->h5) {
        char end_time[32];
        run_end_time_now(r, end_time, sizeof end_time);
        st = run_hdf5_close(r, 1, end_time);
    }
    if (st == NB_OK) {
        st = r->rank == 0 ? nb_outputs_commit(&r->outs, &r->err) : NB_OK;
        st = nb_dist_agree(r->d, st, &r->err);
    }
    run_series_graceful = 0;
    if (st == NB_E_STOPPED && r->h5) {
        char end_time[32];
        run_end_time_now(r, end_time, sizeof end_time);
        nb_status cst = run_hdf5_close(r, 2, end_time); /* flushed, closed, @complete = 0 */
        if (cst != NB_OK)
            st = cst;
        else if (r->rank == 0)
            snprintf(r->err.msg + strlen(r->err.msg), sizeof r->err.msg - strlen(r->err.msg),
                     "; kept in %s: run the same command with --resume to continue",
                     nb_outputs_file(&r->outs, NB_OUT_HDF5));
    }
    if (st != NB_OK && st != NB_E_STOPPED && r->rank == 0 && r->cli.hdf5 &&
        nb_outputs_have(&r->outs, NB_OUT_HDF5))
        printf("NOTE: the frames done so far are kept in %s; the same command with --resume "
               "continues them\n",
               nb_outputs_file(&r->outs, NB_OUT_HDF5));
    if (st == NB_OK && r->rank == 0) {
        const double all = nb_seconds() - t_start;
        printf("NOTE: series time on rank 0: %.3f s: frame set-up %.1f%%, render %.1f%%, images "
               "%.1f%%, HDF5 images %.1f%%, status and flush %.1f%%, waiting for other ranks "
               "%.1f%%, the rest %.1f%%\n",
               all, 100 * tm.setup / all, 100 * tm.render / all, 100 * tm.images / all,
               100 * tm.hdf5 / all, 100 * tm.status / all, 100 * tm.wait / all,
               100 * (all - tm.setup - tm.render - tm.images - tm.hdf5 - tm.status - tm.wait) /
                   all);
    }
    if (st == NB_OK && r->rank == 0 && r->cli.hdf5)
        printf("wrote %s (NXmx, %d frames; %s)\n", r->cli.hdf5, p.s.n, nb_hdf5_describe());
    free(done);
    free(todo);
    plan_fini(&p);
    return st;
}
