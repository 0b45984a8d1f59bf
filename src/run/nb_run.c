/* nb_run.c -- the nanobragg program: parse -> read inputs -> set up -> render bands ->
 * statistics and images -> write every output atomically.
 *
 * Console output reproduces nanoBragg's lines (spec/formats.md §10) plus NOTE: lines; errors
 * are one line "error: <flag or file>: <problem>" on stderr with exit status 9 and no output
 * file left behind (spec/cli.md §6.1).  The back-end table is here because only the program
 * knows what was linked.  A series (--frames, --frames-from) continues in nb_run_series.c
 * after the command line's set-up.  Entry point: nb_run().
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "../engine/nb_backend.h"
#include "../engine/nb_cpu_isa.h"
#include "../engine/nb_image.h"
#include "../engine/nb_setup.h"
#include "../io/nb_files.h"
#include "../io/nb_nxmx.h"
#include "../io/nb_io.h"
#include "../io/nb_outfile.h"
#include "../util/nb_fault.h"
#include "../util/nb_sys.h"
#include "../../cuda/nb_cuda.h"
#include "../../mpi/nb_dist.h"
#include "nb_build_config.h"
#include "../cli/nb_cli.h"
#include "nb_outputs.h"
#include "nb_render_dist.h"
#include "nb_run.h"
#include "nb_run_internal.h"


/* ------------------------------------------------------------------ console sinks */

static void emit_stdout(void *ctx, const char *text)
{
    (void)ctx;
    fputs(text, stdout);
}


static void emit_buffer(void *ctx, const char *text)
{
    struct textbuf *b = ctx;
    size_t l = strlen(text);
    char *ns = realloc(b->s, b->n + l + 1);
    if (!ns)
        return;
    memcpy(ns + b->n, text, l + 1);
    b->s = ns;
    b->n += l;
}

static void trace_line(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ inputs */


static nb_status check_stol(const char *path, struct nb_err *err)
{
    FILE *fp = nb_files_fopen(path, "r");
    char line[1024];
    int any = 0;
    if (!fp) {
        nb_err_set(err, "%s: cannot open the S(Q) table", path);
        return NB_E_INPUT;
    }
    while (!any && fgets(line, sizeof line, fp)) {
        char *t = line + strspn(line, " \t,;:!\r");
        if (*t && *t != '\n')
            any = 1;
    }
    fclose(fp);
    if (!any) {
        nb_err_set(err, "%s: the S(Q) table is empty", path);
        return NB_E_INPUT;
    }
    return NB_OK;
}

/* A whole text file (the --frames-from list), NUL-terminated; NUL bytes are refused. */
static nb_status read_text(const char *path, char **out, struct nb_err *err)
{
    FILE *fp = nb_files_fopen(path, "rb");
    if (!fp) {
        nb_err_set(err, "%s: cannot open the frame list", path);
        return NB_E_INPUT;
    }
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (n + 1 < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    int rd_err = ferror(fp);
    fclose(fp);
    if (!buf || rd_err) {
        nb_status st = buf ? NB_E_INPUT : NB_E_NOMEM;
        free(buf);
        nb_err_set(err, "%s: %s", path, st == NB_E_INPUT ? "read error" : "out of memory");
        return st;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        nb_err_set(err, "%s: not a text file (holds a NUL byte)", path);
        return NB_E_INPUT;
    }
    *out = buf;
    return NB_OK;
}

static nb_status read_inputs(struct nb_cli *cli, struct inputs *in, struct nb_err *err)
{
    nb_status st;
    struct nb_config *c = &cli->cfg;
    if (cli->mat) {
        if ((st = nb_mat_read(cli->mat, c->mat, err)) != NB_OK)
            return st;
        c->have_mat = 1;
        c->mat_name = cli->mat;
    }
    if (cli->sourcefile) {
        if ((st = nb_source_read(cli->sourcefile, &in->sources, err)) != NB_OK)
            return st;
        c->sources = &in->sources;
    }
    if (cli->stol && (st = check_stol(cli->stol, err)) != NB_OK)
        return st;
    if (cli->frames_from && (st = read_text(cli->frames_from, &in->frames_text, err)) != NB_OK)
        return st;
    struct nb_msg_sink buf = {emit_buffer, &in->hkl_msgs};
    if (cli->hkl) {
        if ((st = nb_hkl_read(cli->hkl, cli->hkl_columns, c->default_F, &in->hkl, &buf, err)) !=
            NB_OK)
            return st;
        in->have_hkl = 1;
    } else if (!cli->no_fdump) {
        FILE *fp = nb_files_fopen("Fdump.bin", "rb");
        if (fp) {
            fclose(fp);
            in->dump_exists = 1;
            if ((st = nb_fdump_read("Fdump.bin", &in->hkl, err)) != NB_OK)
                return st;
            in->have_hkl = 1;
            in->from_dump = 1;
        }
    }
    return NB_OK;
}

/* ------------------------------------------------------------------ interruption */

/* While a series with an HDF5 file renders, the first SIGTERM, SIGINT, SIGHUP, SIGUSR1/2 or
 * SIGXCPU (Slurm's warnings before a time limit or pre-emption) only asks it to stop after the
 * frames in flight: they are written and flushed, and the job exits with status 75, its file
 * resumable (docs/batch.md).  A second one ends it at once, as outside a series. */
volatile sig_atomic_t run_series_graceful, run_stop_signal;

/* A terminating signal: remove this run's temporary and lock files (a series' resumable HDF5
 * file is not among them), then die by the signal.  The list lives in nb_outfile.c, in
 * static storage the handler may read. */
static void on_signal(int sig)
{
    if (run_series_graceful && !run_stop_signal && sig != SIGPIPE && sig != SIGQUIT && sig != SIGXFSZ &&
        sig != SIGALRM) {
        run_stop_signal = sig;
        return;
    }
    nb_outset_unlink_all_from_signal(); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* the signals that end a process by default and that batch systems and pipes send:
     * Ctrl-C, scancel/mpiexec (TERM), a closed terminal or pipe, CPU-time limits, SLURM's
     * --signal (USR1/USR2), alarms */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGXCPU, SIGXFSZ,
                               SIGUSR1, SIGUSR2, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* The back-end's lines: nb_device's choice, and for the CPU its kernel: instruction set, lanes
 * or scalar, arithmetic (docs/performance.md, docs/gpu.md). */
static void print_kernel_note(const struct run *r)
{
    const struct nb_kparams *K = &r->sc.k;
    fputs(r->dev.note, stdout);
    if (r->dev.be != &nb_backend_cpu) {
        printf("NOTE: GPU kernel: one thread per pixel (grid-stride), %s\n",
               K->single ? "--precision=single" : K->math_fast ? "--math=fast" : "--math=exact");
        return;
    }
    const int kind = nb_lanes_eligible(K);
    const char *isa = nb_cpu_kernel_name();
    printf("NOTE: CPU kernel %s, %s, %s%s\n", isa,
           kind == NB_LANES_SINGLE   ? "16 single-precision lanes"
           : kind == NB_LANES_DOUBLE ? "8 double-precision lanes"
                                     : "one pixel at a time",
           K->single ? "--precision=single" : K->math_fast ? "--math=fast" : "--math=exact",
           kind == NB_LANES_NONE && K->math_fast
               ? (K->interpolate ? " (interpolation is not in lanes)"
                                 : " (--factors=per-term is not in lanes)")
               : "");
#if defined(__x86_64__)
    if (K->math_fast && !strcmp(isa, "generic"))
        printf("NOTE: this CPU has no FMA instructions: --math=fast emulates them and is slower "
               "than --math=exact here\n");
#endif
}

/* ------------------------------------------------------------------ -trace_pixel, -printout */

/* Re-run one pixel with tracing or recording (it is rendered as in the image; `exact`: with
 * the reference's arithmetic, --math=exact in double, whatever the run's mode). */
static void rerun_pixel(const struct nb_scene *sc, const struct nb_render_result *R, int s, int f,
                        int exact, struct nb_trace *tr)
{
    struct nb_kparams K = sc->k;
    if (exact)
        K.math_fast = K.single = 0;
    const int64_t idx = (int64_t)s * sc->fpixels + f;
    if (R->p_star >= 0 && idx > R->p_star)
        K.interpolate = 0;
    struct nb_pixel_result res;
    nb_pixel(&K, s, f, idx == R->p1, &res, tr);
}

static void trace_pixel(const struct nb_scene *sc, const struct nb_render_result *R, int s, int f)
{
    if (s < 0 || f < 0 || s >= sc->spixels || f >= sc->fpixels ||
        !nb_pixel_rendered(&sc->k, s, f)) {
        printf("NOTE: -trace_pixel %d %d is not a rendered pixel; nothing traced\n", s, f);
        return;
    }
    struct nb_trace tr;
    memset(&tr, 0, sizeof tr);
    tr.line = trace_line;
    rerun_pixel(sc, R, s, f, 1, &tr);
    const struct nb_kparams *K = &sc->k;
    printf("TRACE_C: I_before_scaling %.15g\n", tr.I);
    printf("TRACE_C: r_e_meters %.15g\n", sqrt(K->r_e_sqr));
    printf("TRACE_C: r_e_sqr %.15g\n", K->r_e_sqr);
    printf("TRACE_C: fluence_photons_per_m2 %.15g\n", K->fluence);
    printf("TRACE_C: steps %d\n", K->steps);
    printf("TRACE_C: oversample_thick %d\n", K->oversample_thick);
    printf("TRACE_C: oversample_polar %d\n", K->oversample_polar);
    printf("TRACE_C: oversample_omega %d\n", K->oversample_omega);
    printf("TRACE_C: capture_fraction %.15g\n", tr.capture);
    printf("TRACE_C: polar %.15g\n", tr.polar);
    printf("TRACE_C: omega_pixel %.15g\n", tr.omega);
    printf("TRACE_C: cos_2theta %.15g\n", tr.cos2theta);
    printf("TRACE_C: I_pixel_final %.15g\n", tr.test);
    printf("TRACE_C: floatimage_accumulated %.15g\n",
           (double)R->img[(size_t)s * sc->fpixels + f]);
}

static void printout_pixels(const struct nb_scene *sc, const struct nb_cli *cli,
                            const struct nb_render_result *R)
{
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!nb_pixel_rendered(&sc->k, s, f))
                continue;
            if (!((f == cli->printout_f && s == cli->printout_s) || cli->printout_f < 0))
                continue;
            struct nb_trace tr;
            memset(&tr, 0, sizeof tr);
            rerun_pixel(sc, R, s, f, 0, &tr);
            double tt = atan2(sqrt(tr.pos[1] * tr.pos[1] + tr.pos[2] * tr.pos[2]), tr.pos[0]);
            double test = sin(tt / 2.0) / (sc->lambda0 * 1e10);
            printf("%4d %4d : stol = %g or %g\n", f, s, tr.stol, test);
            printf("at %g %g %g\n", tr.pos[0], tr.pos[1], tr.pos[2]);
            printf("hkl= %f %f %f  hkl0= %d %d %d\n", tr.h, tr.k, tr.l, tr.h0, tr.k0, tr.l0);
            printf(" F_cell=%g  F_latt=%g   I = %g\n", tr.F_cell, tr.F_latt, tr.I);
            printf("I/steps %15.10g\n", tr.I / sc->steps);
            printf("polar   %15.10g\n", tr.polar);
            printf("omega   %15.10g\n", tr.omega);
            printf("capfrac %15.10g\n", tr.capture);
            printf("pixel   %15.10g\n", (double)R->img[(size_t)s * sc->fpixels + f]);
            printf("real-space cell vectors (Angstrom):\n");
            printf("     %-10s  %-10s  %-10s\n", "a", "b", "c");
            printf("X: %11.8f %11.8f %11.8f\n", tr.a[0] * 1e10, tr.b[0] * 1e10, tr.c[0] * 1e10);
            printf("Y: %11.8f %11.8f %11.8f\n", tr.a[1] * 1e10, tr.b[1] * 1e10, tr.c[1] * 1e10);
            printf("Z: %11.8f %11.8f %11.8f\n", tr.a[2] * 1e10, tr.b[2] * 1e10, tr.c[2] * 1e10);
        }
}

/* ------------------------------------------------------------------ the program */

static int usage_exit(const struct nb_cli *cli, int status)
{
    struct nb_msg_sink out = {emit_stdout, NULL};
    struct nb_scene sc;
    struct nb_err e;
    struct nb_msg_sink quiet = {NULL, NULL};
    if (nb_setup_begin(&cli->cfg, &sc, &quiet, &e) == NB_OK) {
        nb_cli_print_usage(&out, cli->adc, cli->cfg.beamsize, cli->cfg.exposure, sc.fdet,
                           sc.sdet, sc.odet, sc.beam, sc.polar, sc.spindle);
        nb_scene_fini(&sc);
    } else {
        nb_cli_print_usage(&out, cli->adc, cli->cfg.beamsize, cli->cfg.exposure, NULL, NULL,
                           NULL, NULL, NULL, NULL);
    }
    return status;
}

static void print_notes(const struct nb_cli *cli)
{
    if (cli->notes)
        fputs(cli->notes, stdout);
}


static void run_fini(struct run *r)
{
    if (r->h5_open) /* every rank: the ranks agreed on the failure */
        run_hdf5_close(r, 0, "");
    free(r->int_img);
    free(r->counts_img);
    r->int_img = NULL;
    r->counts_img = NULL;
    nb_outputs_fini(&r->outs); /* removes what was not committed; releases the locks */
    nb_render_result_fini(&r->R);
    if (r->have_scene)
        nb_scene_fini(&r->sc);
    nb_hkl_free(&r->in.hkl);
    nb_source_free(&r->in.sources);
    free(r->in.hkl_msgs.s);
    r->in.hkl_msgs.s = NULL;
    free(r->in.frames_text);
    r->in.frames_text = NULL;
    if (r->have_cli)
        nb_cli_fini(&r->cli);
    free(r->resume_partial);
    r->resume_partial = NULL;
    nb_files_reset();
}

/* A series option on the command line?  (Decided before parsing: a series re-parses the
 * command line for every frame, from a copy of the input files in memory.) */
static int series_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--frames", 8) == 0)
            return 1;
    return 0;
}

/* Parse the command line and read every input: rank 0 from disk (recording the bytes), then
 * the other ranks from rank 0's copy, so files are read once.  Returns the agreed status. */
/* The --hdf5 name on a command line (before it is parsed), NULL when none. */
static const char *argv_hdf5(int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hdf5") && i + 1 < argc)
            name = argv[++i];
        else if (!strncmp(argv[i], "--hdf5=", 7))
            name = argv[i] + 7;
    }
    return name;
}

/* --resume, rank 0, before the parse: the stopped job's temporary file and what it records
 * (its default seed must be this job's too: the noise and misset streams depend on it). */
static nb_status find_resumable(struct run *r, int argc, char **argv)
{
    int asked = 0;
    for (int i = 1; i < argc; i++)
        asked |= !strcmp(argv[i], "--resume");
    const char *name = argv_hdf5(argc, argv);
    if (!asked || !name)
        return NB_OK; /* the parse reports --resume without --hdf5 */
    nb_status st = nb_outset_resumable(name, &r->resume_partial, &r->err);
    if (st == NB_OK && r->resume_partial)
        st = nb_nxmx_peek(r->resume_partial, &r->peek, &r->err);
    if (st == NB_OK && r->resume_partial && r->peek.complete) {
        nb_err_set(&r->err, "--resume: %s is complete; it only needs to be renamed (nothing to "
                            "render): mv %s %s",
                   r->resume_partial, r->resume_partial, name);
        st = NB_E_USAGE;
    }
    return st;
}

/* FNV-1a, 64 bits */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* What identifies a series job for --resume: the program version, the command line (but
 * --resume), the bytes of every input file and the default seed. */
static void config_hash(const struct run *r, int argc, char **argv, const unsigned char *pack,
                        size_t plen, char *out, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const char *v = NB_VERSION " " NB_SOURCE_REVISION;
    h = fnv1a(h, v, strlen(v) + 1);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--resume") != 0)
            h = fnv1a(h, argv[i], strlen(argv[i]) + 1);
    h = fnv1a(h, pack, plen);
    long long d = r->default_seed;
    h = fnv1a(h, &d, sizeof d);
    snprintf(out, n, "%016llx", (unsigned long long)h);
}

static nb_status parse_and_read(struct run *r, int argc, char **argv, int *help)
{
    struct nb_msg_sink out = {emit_stdout, NULL};
    nb_status st = NB_OK;
    const int series = series_requested(argc, argv);
    long seed = r->rank == 0 ? nb_default_seed() : 0;
    if (r->rank == 0 && series) {
        st = find_resumable(r, argc, argv);
        if (st == NB_OK && r->resume_partial)
            seed = r->peek.default_seed; /* the stopped job's */
    }
    nb_dist_bcast(r->d, &seed, sizeof seed, 0); /* one default seed for every rank */
    r->default_seed = seed;
    if (r->rank == 0 && st == NB_OK) {
        if (r->size > 1 || series)
            nb_files_record(); /* other ranks, and a series' frames, read the copy */
        st = nb_cli_parse_at(argc, argv, seed, &r->cli, &out, &r->err);
        r->have_cli = 1;
        if (st == NB_OK && !r->cli.help) {
            print_notes(&r->cli);
            st = read_inputs(&r->cli, &r->in, &r->err);
        }
        *help = r->cli.help;
    }
    nb_dist_bcast(r->d, help, sizeof *help, 0);
    if (*help)
        return NB_OK;
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK || (r->size == 1 && !series))
        return st;
    unsigned char *pack = NULL;
    size_t plen = 0;
    if (r->rank == 0 && nb_files_pack(&pack, &plen) != 0) {
        nb_err_set(&r->err, "out of memory packing the input files");
        st = NB_E_NOMEM;
    }
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK)
        return st;
    if (r->rank == 0 && series)
        config_hash(r, argc, argv, pack, plen, r->config_hash, sizeof r->config_hash);
    nb_dist_bcast(r->d, r->config_hash, sizeof r->config_hash, 0);
    nb_dist_bcast(r->d, &r->peek, sizeof r->peek, 0);
    int resuming = r->resume_partial != NULL;
    nb_dist_bcast(r->d, &resuming, sizeof resuming, 0);
    r->resuming = resuming;
    st = r->size > 1 ? nb_dist_bcast_alloc(r->d, &pack, &plen, 0) : NB_OK;
    if (r->rank == 0) {
        /* a series re-parses the command line for every frame: from this copy too */
        if (series && nb_files_replay(pack, plen) != 0) {
            nb_err_set(&r->err, "corrupt copy of the input files");
            st = NB_E_INTERNAL;
        }
        if (!series)
            free(pack);
    } else if (st == NB_OK) {
        struct nb_msg_sink quiet = {NULL, NULL};
        if (nb_files_replay(pack, plen) != 0) {
            free(pack);
            nb_err_set(&r->err, "corrupt copy of the input files");
            st = NB_E_COMM;
        } else {
            st = nb_cli_parse_at(argc, argv, seed, &r->cli, &quiet, &r->err);
            r->have_cli = 1;
            if (st == NB_OK)
                st = read_inputs(&r->cli, &r->in, &r->err);
        }
    }
    return nb_dist_agree(r->d, st, &r->err);
}

/* Set-up stages with the structure-factor messages in their place; every rank. */
static nb_status set_up(struct run *r)
{
    struct nb_msg_sink out = {emit_stdout, NULL};
    struct nb_cli *cli = &r->cli;
    struct inputs *in = &r->in;
    nb_status st;
    if ((st = nb_setup_geometry(&cli->cfg, &r->sc, &out, &r->err)) != NB_OK)
        return st;
    if ((st = nb_setup_crystal(&cli->cfg, &r->sc, &out, &r->err)) != NB_OK)
        return st;
    if (in->from_dump) {
        printf("reading Fs from %s\n", "Fdump.bin");
        printf("NOTE: structure factors read from Fdump.bin in the working directory (cache of "
               "an earlier -hkl run); --no-fdump ignores it\n");
    }
    if (in->hkl_msgs.s)
        fputs(in->hkl_msgs.s, stdout);
    if (nb_outputs_have(&r->outs, NB_OUT_FDUMP))
        printf("writing dump file for next time: %s\n", "Fdump.bin");
    else if (in->have_hkl && !in->from_dump && !cli->no_fdump)
        printf("WARNING: unable to open dump file: %s\n", "Fdump.bin");
    if ((st = nb_setup_finish(&cli->cfg, &r->sc, in->have_hkl ? &in->hkl : NULL, &out,
                              &r->err)) != NB_OK)
        return st;
    if (cli->have_mask)
        printf("  skipping zero-flagged pixels in %s\n", cli->mask);
    if (cli->write_noise) {
        printf("\n  noise image paramters:\n");
        printf("  seed: %ld\n", r->sc.seed);
        printf("  water droplet size: %g m\n", r->sc.water_size);
    }
    if (cli->cfg.oversample_thick && r->sc.detector_thick == 0.0)
        printf("NOTE: -oversample_thick without a sensor thickness gives an all-zero image, as "
               "in nanoBragg (Q12): the capture fraction of a zero-thickness layer is 0\n");
    if (r->sc.detector_thick > 0.0 && r->sc.detector_mu == 0.0)
        printf("NOTE: the sensor has a thickness but no absorption (-detector_abs inf or 0 given "
               "before -detector_thick): all-zero image, as in nanoBragg (Q12)\n");
    if (nb_carry_active(&r->sc))
        printf("NOTE: phi carryover (c-parity) active: the phi=0 step reuses the last rotated "
               "orientation; use --phi-carryover=spec for fresh rotations\n");
    if (r->size > 1 && !cli->frames && !cli->frames_from)
        printf("NOTE: %d MPI ranks render row bands balanced by rendered pixels\n", r->size);
    print_kernel_note(r);
    if (cli->trace_s >= 0 && cli->trace_f >= 0)
        printf("TRACE_CONFIG: tracing pixel (spixel=%d, fpixel=%d)\n", cli->trace_s,
               cli->trace_f);
    fflush(stdout);
    return NB_OK;
}

/* Release everything, shut HDF5 down (before MPI, which parallel HDF5 still uses), leave the
 * process group. */
static void process_end(struct run *r)
{
    run_fini(r);
    nb_gpu_release(); /* the CUDA back-end's device state, kept across frames */
    nb_hdf5_fini();
    nb_dist_fini(r->d);
}

/* Exit status: 0, 9 for every failure (as nanoBragg), 75 (EX_TEMPFAIL) for a series stopped
 * by a signal with its frames kept for --resume. */
static int finish(struct run *r, nb_status st)
{
    if (st != NB_OK && r->rank == 0) {
        fflush(stdout);
        fprintf(stderr, "%s: %s\n", st == NB_E_STOPPED ? "stopped" : "error",
                r->err.msg[0] ? r->err.msg : nb_strerror(st));
    }
    process_end(r);
    return st == NB_OK ? 0 : st == NB_E_STOPPED ? 75 : 9;
}

void run_iso_time(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What the file records of a frame before its render. */
void run_frame_info(const struct nb_scene *sc, const struct nb_config *c, const char *flags,
                       struct nb_nxmx_frame *f)
{
    memset(f, 0, sizeof *f);
    f->phi_deg = sc->phi0 * NB_RTD;
    f->phi_end_deg = (sc->phi0 + sc->osc) * NB_RTD;
    memcpy(f->cell, sc->cell, sizeof f->cell);
    memcpy(f->a_star, sc->a_star, sizeof f->a_star);
    memcpy(f->b_star, sc->b_star, sizeof f->b_star);
    memcpy(f->c_star, sc->c_star, sizeof f->c_star);
    f->seed = -c->seed; /* the flag values (the configuration holds them negated) */
    f->mosaic_seed = -c->mosaic_seed;
    f->misset_seed = -c->misset_seed;
    f->flags = flags;
}

void run_fill_meta(struct run *r, int argc, char **argv, const char *start_time,
                      struct nb_nxmx_meta *m)
{
    memset(m, 0, sizeof *m);
    m->argc = argc;
    m->argv = argv;
    m->program = "nanobragg-hpc";
    m->cpu_kernel = nb_cpu_kernel_name();
    m->device = r->dev.be ? r->dev.be->name : "cpu";
    m->gpu = r->dev.gpu >= 0 ? r->dev.gpu_name : NULL; /* rank 0's, on every rank */
    m->version = NB_VERSION " (" NB_SOURCE_REVISION ")";
    m->start_time = start_time;
    m->cfg = &r->cli.cfg;
    m->sc = &r->sc;
    m->hkl = r->in.have_hkl ? &r->in.hkl : NULL;
    m->hkl_source = r->in.from_dump ? "Fdump.bin" : "hkl";
    m->noise = r->cli.write_noise;
    m->adc = r->cli.adc;
    m->rank = r->rank;
    m->size = r->size;
    run_frame_info(&r->sc, &r->cli.cfg, "", &r->frame0);
    m->nframes = 1;
    m->frames = &r->frame0;
    m->bands_per_frame = r->size;
    m->write_float = 1;
    m->write_int = 1;
    m->gzip_level = r->cli.gzip_level;
    m->config_hash = r->config_hash;
    m->default_seed = r->default_seed;
}

int run_want_fdump(const struct run *r)
{
    return r->in.have_hkl && !r->in.from_dump && !r->cli.no_fdump;
}

/* How long a rank whose collective HDF5 call failed waits for the others before it ends the
 * job (they may be stuck inside the call): NB_COLLECTIVE_TIMEOUT seconds, default 10. */
static double stuck_after_s(void)
{
    const char *v = getenv("NB_COLLECTIVE_TIMEOUT");
    double t = v ? atof(v) : 10.0;
    return t > 0 ? t : 10.0;
}

static int agree_cb(void *ctx, nb_status *st, struct nb_err *err, double seconds)
{
    if (seconds < 0) {
        *st = nb_dist_agree(ctx, *st, err);
        return 0;
    }
    int timed_out = 0;
    *st = nb_dist_agree_within(ctx, *st, err, seconds, &timed_out);
    return timed_out ? -1 : 0;
}

/* A collective HDF5 call failed here while other ranks wait inside it: report, remove this
 * process's temporary and lock files, end every rank (exit status 9). */
static void stuck_cb(void *ctx, const struct nb_err *err)
{
    fflush(stdout);
    fprintf(stderr, "error: %s; ending the job\n", err->msg);
    fflush(stderr);
    nb_outset_unlink_all_from_signal();
    nb_dist_abort(ctx, 9);
}

/* Every rank creates the HDF5 file that rank 0 reserved (its temporary name is broadcast),
 * or with `done` reopens the stopped job's file it continues (done[i]: frame i is written). */
nb_status run_hdf5_open(struct run *r, const struct nb_nxmx_meta *meta, uint8_t *done)
{
    unsigned char *name = NULL;
    size_t len = 0;
    nb_status st = NB_OK;
    if (r->rank == 0) {
        const char *f = nb_outputs_file(&r->outs, NB_OUT_HDF5);
        len = strlen(f) + 1;
        name = (unsigned char *)strdup(f);
        st = name ? NB_OK : NB_E_NOMEM;
    }
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK)
        return st;
    st = nb_dist_bcast_alloc(r->d, &name, &len, 0);
    if ((st = nb_dist_agree(r->d, st, &r->err)) != NB_OK) {
        free(name);
        return st;
    }
    struct nb_nxmx_sync sync = {agree_cb, stuck_cb, r->d, stuck_after_s()};
    if (done)
        st = nb_nxmx_reopen((const char *)name, r->cli.hdf5, meta, &sync, &r->h5, done, &r->err);
    else
        st = nb_nxmx_create((const char *)name, r->cli.hdf5, meta, &sync, &r->h5, &r->err);
    r->h5_open = 1;
    free(name);
    return st; /* agreed by nb_nxmx_create */
}

/* The band records of a render as the HDF5 file keeps them (malloc'ed; NULL when out of
 * memory). */
struct nb_nxmx_band *run_band_table(const struct nb_render_result *R)
{
    struct nb_nxmx_band *bands = calloc((size_t)(R->n_bands > 0 ? R->n_bands : 1), sizeof *bands);
    for (int b = 0; bands && b < R->n_bands; b++) {
        const struct nb_band_record *x = &R->bands[b];
        bands[b].row0 = x->row0;
        bands[b].n_rows = x->n_rows;
        bands[b].in_state = x->in_state;
        bands[b].out_state = x->out_state;
        memcpy(bands[b].in_vec, x->in_vec, sizeof bands[b].in_vec);
        memcpy(bands[b].out_vec, x->out_vec, sizeof bands[b].out_vec);
        bands[b].in_last = x->in_last;
        bands[b].out_last = x->out_last;
    }
    return bands;
}

void run_end_time_now(struct run *r, char *buf, size_t n)
{
    run_iso_time(buf, n);
    nb_dist_bcast(r->d, buf, n, 0); /* identical attributes everywhere */
}

/* A plain run after the render: its one frame, band layout and carry cache, close.
 * Collective; agreed status. */
static nb_status hdf5_finish(struct run *r)
{
    struct nb_nxmx_band *bands = run_band_table(&r->R);
    nb_status st = bands ? NB_OK : NB_E_NOMEM;
    if (!bands)
        nb_err_set(&r->err, "out of memory for the band table");
    st = nb_dist_agree(r->d, st, &r->err);
    if (st == NB_OK)
        st = nb_nxmx_write_frame(r->h5, 0, r->R.band_row0, r->R.band_rows, r->R.band_img,
                                 r->rank == 0 ? r->counts_img : NULL,
                                 r->rank == 0 ? r->int_img : NULL, &r->err);
    if (st == NB_OK) {
        struct nb_nxmx_done done = {0, r->R.p1, r->R.p_star, r->sc.phi_star, bands};
        st = nb_nxmx_frames_done(r->h5, 1, &done, &r->err);
    }
    free(bands);
    char end_time[32];
    run_end_time_now(r, end_time, sizeof end_time);
    nb_status cst = run_hdf5_close(r, st == NB_OK, end_time);
    return st == NB_OK ? cst : st;
}

/* Close on every rank, then agree on the close: a rank whose close failed waits only so long
 * for the others, which may be stuck inside it (then stuck_cb ends the job). */
nb_status run_hdf5_close(struct run *r, int ok, const char *end_time)
{
    nb_status st = nb_nxmx_close(r->h5, ok, end_time, &r->err);
    r->h5 = NULL;
    r->h5_open = 0;
    if (agree_cb(r->d, &st, &r->err, st != NB_OK ? stuck_after_s() : -1.0) != 0)
        stuck_cb(r->d, &r->err);
    return st;
}

/* Rank 0 after the render: console lines, traces, the reference images (temporary files). */
static nb_status report_and_write(struct run *r)
{
    const struct nb_cli *cli = &r->cli;
    if (r->R.p_star >= 0) {
        printf("WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
               "%g,%g,%g,%d,%d,%d \n",
               r->R.trig_hkl[0], r->R.trig_hkl[1], r->R.trig_hkl[2], r->R.trig_hkl0[0],
               r->R.trig_hkl0[1], r->R.trig_hkl0[2]);
        printf("WARNING: further warnings will not be printed! ");
    }
    if (cli->trace_s >= 0 && cli->trace_f >= 0)
        trace_pixel(&r->sc, &r->R, cli->trace_s, cli->trace_f);
    if (cli->printout)
        printout_pixels(&r->sc, cli, &r->R);
    printf("\n");
    printf("solid angle subtended by detector = %g steradian ( %g%% sphere)\n",
           r->R.omega_sum / r->sc.steps, 100 * r->R.omega_sum / r->sc.steps / 4 / NB_PI);
    struct nb_image_report rep;
    return nb_outputs_write_images(cli, &r->sc, run_want_fdump(r) ? &r->in.hkl : NULL, &r->outs,
                                   r->R.img, 1, &r->int_img, &r->counts_img, &rep, &r->err);
}

int nb_run(int argc, char **argv)
{
    struct run r;
    struct nb_msg_sink out = {emit_stdout, NULL};
    nb_status st;
    int help = 0;
    memset(&r, 0, sizeof r);
    nb_hdf5_init();
    nb_outputs_init(&r.outs);
    if ((st = nb_dist_init(&argc, &argv, &r.d)) != NB_OK) {
        fprintf(stderr, "error: MPI: initialisation failed\n");
        return 9;
    }
    r.rank = nb_dist_rank(r.d);
    r.size = nb_dist_size(r.d);
    nb_fault_set_rank(r.rank);
    install_signal_cleanup();
    if (r.rank != 0 && !freopen("/dev/null", "w", stdout)) /* one console: rank 0's */
        return finish(&r, NB_E_OUTPUT);

    st = parse_and_read(&r, argc, argv, &help);
    if (help && r.rank == 0 && r.cli.version) {
        printf("nanobragg-hpc %s (source %s)\n", NB_VERSION, NB_SOURCE_REVISION);
        printf("MPI:  %s\n", NB_HAVE_MPI ? nb_dist_library() : "not built (NB_WITH_MPI=OFF)");
        printf("HDF5: %s\n", nb_hdf5_describe());
        printf("CUDA: %s\n", nb_cuda_describe());
        process_end(&r);
        return 0;
    }
    if (help) {
        int rc = r.rank == 0 ? usage_exit(&r.cli, 0) : 0;
        process_end(&r);
        return rc;
    }
    if (st != NB_OK)
        return finish(&r, st);
    st = nb_setup_begin(&r.cli.cfg, &r.sc, &out, &r.err);
    r.have_scene = st == NB_OK;
    if ((st = nb_dist_agree(r.d, st, &r.err)) != NB_OK)
        return finish(&r, st);
    printf("nanobragg-hpc %s: nanoBragg-compatible X-ray diffraction simulator "
           "(physics of J. Holton and K. Frankel's nanoBragg)\n",
           NB_VERSION);
    const struct nb_cli *cli = &r.cli;
    if (!cli->hkl && !r.in.have_hkl && cli->cfg.default_F == 0.0)
        printf("ERROR: no hkl file and no dump file to read.");
    if ((!cli->hkl && !r.in.have_hkl && cli->cfg.default_F == 0.0) ||
        (!cli->mat && cli->cfg.cell_a == 0.0)) {
        int rc = r.rank == 0 ? usage_exit(cli, 9) : 9;
        process_end(&r);
        return rc;
    }
    const int series = cli->frames > 0 || cli->frames_from != NULL;
    if (!series && (cli->bands_per_frame > 0 || cli->resume)) {
        nb_err_set(&r.err, "%s applies to a series (--frames, --frames-from)",
                   cli->resume ? "--resume" : "--bands-per-frame");
        return finish(&r, NB_E_USAGE);
    }
    if (cli->resume && !cli->hdf5) {
        nb_err_set(&r.err, "--resume needs --hdf5 FILE: the frames done are recorded there");
        return finish(&r, NB_E_USAGE);
    }
    if (r.rank == 0 && cli->resume) {
        if (r.resume_partial)
            printf("NOTE: --resume: continuing %s\n", r.resume_partial);
        else
            printf("NOTE: --resume: no stopped job's file for %s; starting from the first frame\n",
                   cli->hdf5);
        r.outs.resume_hdf5 = r.resume_partial;
    }
    /* the back-end, before any file is made: --device=cuda without a device fails here */
    st = nb_device_choose(r.d, cli->device, &cli->cfg, &r.dev, &r.err);
    if (st != NB_OK)
        return finish(&r, st);
    /* a series reserves only the job's files here (HDF5, Fdump.bin); its frames' files are
     * reserved and committed frame by frame */
    st = r.rank == 0 ? nb_outputs_prepare(cli, series ? 0 : NB_ALL_IMAGES, run_want_fdump(&r),
                                          &r.outs, &r.err)
                     : NB_OK;
    if (st == NB_OK && r.rank == 0 && r.resume_partial) /* whatever fails next, it stays */
        nb_outputs_keep_hdf5(&r.outs);
    if ((st = nb_dist_agree(r.d, st, &r.err)) != NB_OK)
        return finish(&r, st);
    st = set_up(&r);
    if ((st = nb_dist_agree(r.d, st, &r.err)) != NB_OK)
        return finish(&r, st);
    if (series)
        return finish(&r, run_series(&r, argc, argv));
    char start_time[32];
    run_iso_time(start_time, sizeof start_time);
    nb_dist_bcast(r.d, start_time, sizeof start_time, 0); /* identical attributes everywhere */
    struct nb_nxmx_meta meta;
    run_fill_meta(&r, argc, argv, start_time, &meta);
    if (cli->hdf5 && (st = run_hdf5_open(&r, &meta, NULL)) != NB_OK)
        return finish(&r, st);

    const double t_render = nb_seconds();
    st = nb_render_distributed(r.d, &r.sc, r.dev.be, cli->progress && !cli->printout, &r.R,
                               &r.err);
    if (st == NB_OK && r.rank == 0 && getenv("NB_TIMING") && *getenv("NB_TIMING"))
        printf("TIMING: render %.6f s (rank 0's %s back-end: create %.6f s, band %.6f s)\n",
               nb_seconds() - t_render, r.dev.be->name, r.R.seconds[0], r.R.seconds[1]);
    if (st == NB_OK && r.rank == 0) /* inf/NaN is refused, never written (docs/cli.md §1.2) */
        st = nb_image_check_finite(&r.sc, r.R.img, &r.err);
    if ((st = nb_dist_agree(r.d, st, &r.err)) != NB_OK)
        return finish(&r, st);
    st = r.rank == 0 ? report_and_write(&r) : NB_OK;
    if ((st = nb_dist_agree(r.d, st, &r.err)) != NB_OK)
        return finish(&r, st);
    if (r.h5 && (st = hdf5_finish(&r)) != NB_OK)
        return finish(&r, st);
    /* every output appears at once, only when everything has succeeded, or none does */
    st = r.rank == 0 ? nb_outputs_commit(&r.outs, &r.err) : NB_OK;
    st = nb_dist_agree(r.d, st, &r.err);
    if (st == NB_OK && r.rank == 0 && cli->hdf5)
        printf("wrote %s (NXmx; %s)\n", cli->hdf5, nb_hdf5_describe());
    return finish(&r, st);
}
