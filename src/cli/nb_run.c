/* nb_run.c -- the nanobragg program: parse -> read inputs -> set up -> render bands ->
 * statistics and images -> write every output atomically.
 *
 * Console output reproduces nanoBragg's lines (spec/formats.md §10) plus NOTE: lines; errors
 * are one line "error: <flag or file>: <problem>" on stderr with exit status 9 and no output
 * file left behind (spec/cli.md §6.1).  The back-end table is here because only the program
 * knows what was linked.  Entry point: nb_run().
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/nb_backend.h"
#include "../engine/nb_image.h"
#include "../engine/nb_setup.h"
#include "../io/nb_files.h"
#include "../io/nb_hdf5.h"
#include "../io/nb_io.h"
#include "../util/nb_sys.h"
#include "../../cuda/nb_cuda.h"
#include "../../mpi/nb_dist.h"
#include "nb_cli.h"
#include "nb_run.h"

#define NB_VERSION "0.1.0"

/* ------------------------------------------------------------------ console sinks */

static void emit_stdout(void *ctx, const char *text)
{
    (void)ctx;
    fputs(text, stdout);
}

struct textbuf {
    char *s;
    size_t n;
};

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

struct inputs {
    struct nb_hkl_grid hkl;
    int have_hkl;   /* a grid is loaded (-hkl or Fdump.bin) */
    int from_dump;  /* ... and it came from Fdump.bin       */
    int dump_exists;
    struct nb_source_list sources;
    struct textbuf hkl_msgs;
};

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

/* ------------------------------------------------------------------ outputs */

enum { OUT_FLOAT, OUT_INT, OUT_PGM, OUT_NOISE, OUT_FDUMP, OUT_N };

struct outputs {
    struct nb_outfile f[OUT_N];
    int want[OUT_N];
};

static void outputs_discard(struct outputs *o)
{
    for (int i = 0; i < OUT_N; i++)
        nb_out_discard(&o->f[i]);
}

static nb_status outputs_prepare(const struct nb_cli *cli, const struct inputs *in,
                                 struct outputs *o, struct nb_err *err)
{
    const char *names[OUT_N] = {cli->floatfile, cli->intfile, cli->pgmfile, cli->noisefile,
                                "Fdump.bin"};
    o->want[OUT_FLOAT] = o->want[OUT_INT] = 1;
    o->want[OUT_PGM] = cli->write_pgm;
    o->want[OUT_NOISE] = cli->write_noise;
    o->want[OUT_FDUMP] = in->have_hkl && !in->from_dump && !cli->no_fdump;
    for (int i = 0; i < OUT_N; i++) {
        if (!o->want[i])
            continue;
        nb_status st = nb_out_prepare(&o->f[i], names[i], i, err);
        if (st != NB_OK) {
            if (i == OUT_FDUMP) { /* a cache: the reference only warns */
                o->want[i] = 0;
                continue;
            }
            outputs_discard(o);
            return st;
        }
    }
    return NB_OK;
}

static void smv_keys(const struct nb_scene *sc, struct nb_smv_keys *k)
{
    k->fpixels = sc->fpixels;
    k->spixels = sc->spixels;
    k->pixel_mm = sc->pixel_size * 1000.0;
    k->distance_mm = sc->distance * 1000.0;
    k->wavelength_A = sc->lambda0 * 1e10;
    k->beam_x_mm = sc->Xbeam * 1000.0;
    k->beam_y_mm = sc->Ybeam * 1000;
    k->adxv_x = sc->Fbeam * 1000.0;
    k->adxv_y = (sc->detsize_s - sc->Sbeam) * 1000;
    k->mosflm_x = (sc->Sbeam - 0.5 * sc->pixel_size) * 1000.0;
    k->mosflm_y = (sc->Fbeam - 0.5 * sc->pixel_size) * 1000;
    k->denzo_x = (sc->Sbeam - 0.0 * sc->pixel_size) * 1000.0;
    k->denzo_y = (sc->Fbeam - 0.0 * sc->pixel_size) * 1000;
    for (int i = 0; i < 3; i++)
        k->dials_origin[i] = sc->dials_origin[i];
    k->orgx = sc->ORGX;
    k->orgy = sc->ORGY;
    k->close_distance_mm = sc->close_distance * 1000.0;
    k->phi_deg = sc->phi0 * NB_RTD;
    k->osc_deg = sc->osc * NB_RTD;
    k->twotheta_deg = sc->twotheta * NB_RTD;
}

/* ------------------------------------------------------------------ progress meter */

/* nanoBragg's meter: which "N% done" lines appear depends only on how many pixels have been
 * rendered, so printing them after each chunk of rows reproduces its output exactly. */
static void progress_lines(long from, long to, long total)
{
    if (total / 100 <= 0)
        return;
    for (long p = from; p < to; p++)
        if (p % (total / 20) == 0 ||
            ((10 * p < total || 10 * p > 9 * total) && (p % (total / 100) == 0))) {
            printf("%lu%% done\n", (unsigned long)(p * 100 / total));
            fflush(stdout);
        }
}

/* ------------------------------------------------------------------ rendering */

struct render_result {
    float *img;
    double omega_sum;
    int64_t p1, p_star;
    double trig_hkl[3];
    int trig_hkl0[3];
};

static long rendered_in_rows(const struct nb_scene *sc, int r0, int n)
{
    long c = 0;
    for (int s = r0; s < r0 + n; s++)
        for (int f = 0; f < sc->fpixels; f++)
            c += nb_pixel_rendered(&sc->k, s, f);
    return c;
}

static nb_status render_all(const struct nb_scene *sc, const struct nb_cli *cli,
                            struct render_result *R, struct nb_err *err)
{
    const struct nb_backend_ops *be = &nb_backend_cpu;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    nb_status st = NB_OK;
    void *state = NULL;
    float *nn = NULL;
    double *row_omega = NULL;
    R->img = calloc(npix, sizeof(float));
    if (sc->k.interpolate)
        nn = calloc(npix, sizeof(float));
    row_omega = calloc((size_t)sc->spixels, sizeof(double));
    if (!R->img || (sc->k.interpolate && !nn) || !row_omega) {
        nb_err_set(err, "out of memory for a %d x %d image", sc->fpixels, sc->spixels);
        st = NB_E_NOMEM;
        goto done;
    }
    if ((st = be->create(sc, &state, err)) != NB_OK)
        goto done;
    const int meter = cli->progress && !cli->printout;
    const long total = (long)(sc->roi_xmax - sc->roi_xmin + 1) * (sc->roi_ymax - sc->roi_ymin + 1);
    const int chunk = meter ? (sc->spixels + 63) / 64 : sc->spixels;
    struct nb_carry carry;
    nb_carry_initial(sc, &carry);
    R->p1 = R->p_star = -1;
    long done_px = 0;
    int warned = 0;
    for (int r0 = 0; r0 < sc->spixels; r0 += chunk) {
        struct nb_band b = {r0, sc->spixels - r0 < chunk ? sc->spixels - r0 : chunk,
                            sc->fpixels, r0 / chunk};
        struct nb_band_out o = {0};
        o.value = R->img + (size_t)r0 * sc->fpixels;
        o.value_nn = nn ? nn + (size_t)r0 * sc->fpixels : NULL;
        o.row_omega = row_omega + r0;
        if ((st = nb_carry_verify(sc, &carry, &b, R->p1, err)) != NB_OK)
            goto done;
        if ((st = be->render_band(state, &b, &carry, &o, err)) != NB_OK)
            goto done;
        if (R->p1 < 0)
            R->p1 = o.first_exec;
        nb_carry_through(sc, &carry, o.last_exec, &carry);
        if (R->p_star < 0 && o.trig_index >= 0) {
            R->p_star = o.trig_index;
            memcpy(R->trig_hkl, o.trig_hkl, sizeof R->trig_hkl);
            memcpy(R->trig_hkl0, o.trig_hkl0, sizeof R->trig_hkl0);
        }
        if (meter) {
            long n = rendered_in_rows(sc, b.row0, b.n_rows);
            progress_lines(done_px, done_px + n, total);
            done_px += n;
        }
        if (R->p_star >= 0 && !warned) {
            printf("WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
                   "%g,%g,%g,%d,%d,%d \n",
                   R->trig_hkl[0], R->trig_hkl[1], R->trig_hkl[2], R->trig_hkl0[0],
                   R->trig_hkl0[1], R->trig_hkl0[2]);
            printf("WARNING: further warnings will not be printed! ");
            warned = 1;
        }
    }
    {
        struct nb_band whole = {0, sc->spixels, sc->fpixels, 0};
        struct nb_band_out o = {0};
        o.value = R->img;
        o.value_nn = nn;
        nb_latch_select(sc, &whole, R->p_star, &o);
    }
    R->omega_sum = 0.0;
    for (int r = 0; r < sc->spixels; r++)
        R->omega_sum += row_omega[r];
done:
    if (state)
        be->destroy(state);
    free(nn);
    free(row_omega);
    return st;
}

/* Re-run one pixel with tracing or recording (it is rendered exactly as in the image). */
static void rerun_pixel(const struct nb_scene *sc, const struct render_result *R, int s, int f,
                        struct nb_trace *tr)
{
    struct nb_kparams K = sc->k;
    const int64_t idx = (int64_t)s * sc->fpixels + f;
    if (R->p_star >= 0 && idx > R->p_star)
        K.interpolate = 0;
    struct nb_pixel_result res;
    nb_pixel(&K, s, f, idx == R->p1, &res, tr);
}

static void trace_pixel(const struct nb_scene *sc, const struct render_result *R, int s, int f)
{
    if (s < 0 || f < 0 || s >= sc->spixels || f >= sc->fpixels ||
        !nb_pixel_rendered(&sc->k, s, f)) {
        printf("NOTE: -trace_pixel %d %d is not a rendered pixel; nothing traced\n", s, f);
        return;
    }
    struct nb_trace tr;
    memset(&tr, 0, sizeof tr);
    tr.line = trace_line;
    rerun_pixel(sc, R, s, f, &tr);
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
                            const struct render_result *R)
{
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!nb_pixel_rendered(&sc->k, s, f))
                continue;
            if (!((f == cli->printout_f && s == cli->printout_s) || cli->printout_f < 0))
                continue;
            struct nb_trace tr;
            memset(&tr, 0, sizeof tr);
            rerun_pixel(sc, R, s, f, &tr);
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

static nb_status write_outputs(const struct nb_cli *cli, const struct nb_scene *sc,
                               const struct inputs *in, struct outputs *o,
                               const struct render_result *R, struct nb_err *err)
{
    nb_status st = NB_OK;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    uint16_t *ints = malloc(npix * sizeof *ints);
    uint8_t *pgm = NULL;
    unsigned char *dump = NULL;
    char header[1100];
    int hb;
    struct nb_smv_keys keys;
    struct nb_stats stats;
    if (!ints) {
        nb_err_set(err, "out of memory for the integer image");
        return NB_E_NOMEM;
    }
    smv_keys(sc, &keys);
    size_t hlen = nb_smv_header_text(&keys, header, sizeof header, &hb);
    if (hlen == 0) {
        nb_err_set(err, "%s: SMV header too long", cli->intfile);
        st = NB_E_INTERNAL;
        goto done;
    }
    nb_stats_compute(sc, R->img, &stats);
    printf("writing %s as %zu %zu-byte floats\n", cli->floatfile, npix, sizeof(float));
    if ((st = nb_out_write(&o->f[OUT_FLOAT], R->img, npix * sizeof(float), NULL, 0, NULL, 0,
                           err)) != NB_OK)
        goto done;
    printf("max_I = %g  at %g %g\n", stats.max_I, stats.max_I_x, stats.max_I_y);
    printf("mean= %g rms= %g rmsd= %g\n", stats.mean, stats.rms, stats.rmsd);
    double iscale = nb_int_scale(cli->intfile_scale, stats.max_I);
    printf("intfile_scale = %g\n", iscale);
    nb_int_image(sc, R->img, iscale, cli->adc, ints);
    printf("writing %s as %zu-byte integers\n", cli->intfile, sizeof(uint16_t));
    if (hb != 512)
        printf("NOTE: %s: the SMV header text is longer than 512 bytes; written with "
               "HEADER_BYTES=%d (nanoBragg would overrun its 512)\n",
               cli->intfile, hb);
    if ((st = nb_out_write(&o->f[OUT_INT], header, hlen, ints, npix * sizeof *ints, NULL, 0,
                           err)) != NB_OK)
        goto done;
    if (cli->write_pgm) {
        pgm = malloc(npix);
        if (!pgm) {
            nb_err_set(err, "out of memory for the PGM image");
            st = NB_E_NOMEM;
            goto done;
        }
        double pscale = nb_pgm_scale(cli->pgm_scale, iscale, stats.rmsd);
        printf("pgm_scale = %g\n", pscale);
        nb_pgm_image(sc, R->img, pscale, pgm);
        printf("writing %s as %zu-byte integers\n", cli->pgmfile, sizeof(uint8_t));
        char ph[128];
        int pl = snprintf(ph, sizeof ph, "P5\n%d %d\n# pixels scaled by %lg\n255\n", sc->fpixels,
                          sc->spixels, pscale);
        if ((st = nb_out_write(&o->f[OUT_PGM], ph, (size_t)pl, pgm, npix, NULL, 0, err)) !=
            NB_OK)
            goto done;
    }
    if (cli->write_noise) {
        double photons;
        int overloads;
        struct nb_rng rng = sc->rng;
        long seed = sc->seed;
        nb_noise_image(sc, R->img, cli->adc, &rng, &seed, ints, &photons, &overloads);
        printf("%.0f photons on noise image (%d overloads)\n", photons, overloads);
        printf("writing %s as %zu-byte integers\n", cli->noisefile, sizeof(uint16_t));
        if ((st = nb_out_write(&o->f[OUT_NOISE], header, hlen, ints, npix * sizeof *ints, NULL,
                               0, err)) != NB_OK)
            goto done;
    }
    if (o->want[OUT_FDUMP]) {
        size_t dl;
        if ((st = nb_fdump_bytes(&in->hkl, &dump, &dl, err)) != NB_OK)
            goto done;
        if ((st = nb_out_write(&o->f[OUT_FDUMP], dump, dl, NULL, 0, NULL, 0, err)) != NB_OK)
            goto done;
    }
    for (int i = 0; i < OUT_N; i++)
        if (o->want[i] && (st = nb_out_commit(&o->f[i], err)) != NB_OK)
            goto done;
done:
    free(ints);
    free(pgm);
    free(dump);
    return st;
}

static void print_notes(const struct nb_cli *cli)
{
    if (cli->notes)
        fputs(cli->notes, stdout);
}

int nb_run(int argc, char **argv)
{
    struct nb_cli cli;
    struct nb_err err = {{0}};
    struct nb_msg_sink out = {emit_stdout, NULL};
    struct inputs in;
    struct outputs outs;
    struct nb_scene sc;
    struct render_result R = {0};
    int have_scene = 0;
    nb_status st;
    memset(&in, 0, sizeof in);
    memset(&outs, 0, sizeof outs);

    st = nb_cli_parse(argc, argv, &cli, &out, &err);
    if (cli.help) {
        int rc = usage_exit(&cli, 0);
        nb_cli_fini(&cli);
        return rc;
    }
    if (st != NB_OK)
        goto fail;
    print_notes(&cli);
    if (cli.hdf5) {
        nb_err_set(&err, "--hdf5: HDF5 output is not available in this version yet");
        st = NB_E_NOT_BUILT;
        goto fail;
    }
    if ((st = read_inputs(&cli, &in, &err)) != NB_OK)
        goto fail;
    if ((st = nb_setup_begin(&cli.cfg, &sc, &out, &err)) != NB_OK)
        goto fail;
    have_scene = 1;
    printf("nanobragg-hpc %s: nanoBragg-compatible X-ray diffraction simulator "
           "(physics of J. Holton and K. Frankel's nanoBragg)\n",
           NB_VERSION);
    if (!cli.hkl && !in.have_hkl && cli.cfg.default_F == 0.0)
        printf("ERROR: no hkl file and no dump file to read.");
    if ((!cli.hkl && !in.have_hkl && cli.cfg.default_F == 0.0) ||
        (!cli.mat && cli.cfg.cell_a == 0.0)) {
        int rc = usage_exit(&cli, 9);
        nb_scene_fini(&sc);
        nb_hkl_free(&in.hkl);
        nb_source_free(&in.sources);
        free(in.hkl_msgs.s);
        nb_cli_fini(&cli);
        return rc;
    }
    if ((st = outputs_prepare(&cli, &in, &outs, &err)) != NB_OK)
        goto fail;
    if ((st = nb_setup_geometry(&cli.cfg, &sc, &out, &err)) != NB_OK)
        goto fail;
    if ((st = nb_setup_crystal(&cli.cfg, &sc, &out, &err)) != NB_OK)
        goto fail;
    if (in.from_dump) {
        printf("reading Fs from %s\n", "Fdump.bin");
        printf("NOTE: structure factors read from Fdump.bin in the working directory (cache of "
               "an earlier -hkl run); --no-fdump ignores it\n");
    }
    if (in.hkl_msgs.s)
        fputs(in.hkl_msgs.s, stdout);
    if (outs.want[OUT_FDUMP])
        printf("writing dump file for next time: %s\n", "Fdump.bin");
    else if (in.have_hkl && !in.from_dump && !cli.no_fdump)
        printf("WARNING: unable to open dump file: %s\n", "Fdump.bin");
    if ((st = nb_setup_finish(&cli.cfg, &sc, in.have_hkl ? &in.hkl : NULL, &out, &err)) != NB_OK)
        goto fail;
    if (cli.have_mask)
        printf("  skipping zero-flagged pixels in %s\n", cli.mask);
    if (cli.write_noise) {
        printf("\n  noise image paramters:\n");
        printf("  seed: %ld\n", sc.seed);
        printf("  water droplet size: %g m\n", sc.water_size);
    }
    if (cli.cfg.oversample_thick && sc.detector_thick == 0.0)
        printf("NOTE: -oversample_thick without a sensor thickness gives an all-zero image, as "
               "in nanoBragg (Q12): the capture fraction of a zero-thickness layer is 0\n");
    if (sc.detector_thick > 0.0 && sc.detector_mu == 0.0)
        printf("NOTE: the sensor has a thickness but no absorption (-detector_abs inf or 0 given "
               "before -detector_thick): all-zero image, as in nanoBragg (Q12)\n");
    if (nb_carry_active(&sc))
        printf("NOTE: phi carryover (c-parity) active: the phi=0 step reuses the last rotated "
               "orientation; use --phi-carryover=spec for fresh rotations\n");
    if (cli.trace_s >= 0 && cli.trace_f >= 0)
        printf("TRACE_CONFIG: tracing pixel (spixel=%d, fpixel=%d)\n", cli.trace_s, cli.trace_f);
    fflush(stdout);

    if ((st = render_all(&sc, &cli, &R, &err)) != NB_OK)
        goto fail;
    if (cli.trace_s >= 0 && cli.trace_f >= 0)
        trace_pixel(&sc, &R, cli.trace_s, cli.trace_f);
    if (cli.printout)
        printout_pixels(&sc, &cli, &R);
    printf("\n");
    printf("solid angle subtended by detector = %g steradian ( %g%% sphere)\n",
           R.omega_sum / sc.steps, 100 * R.omega_sum / sc.steps / 4 / NB_PI);
    if ((st = write_outputs(&cli, &sc, &in, &outs, &R, &err)) != NB_OK)
        goto fail;
    outputs_discard(&outs);
    free(R.img);
    nb_scene_fini(&sc);
    nb_hkl_free(&in.hkl);
    nb_source_free(&in.sources);
    free(in.hkl_msgs.s);
    nb_cli_fini(&cli);
    return 0;
fail:
    fflush(stdout);
    fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : nb_strerror(st));
    outputs_discard(&outs);
    free(R.img);
    if (have_scene)
        nb_scene_fini(&sc);
    nb_hkl_free(&in.hkl);
    nb_source_free(&in.sources);
    free(in.hkl_msgs.s);
    nb_cli_fini(&cli);
    return 9;
}
