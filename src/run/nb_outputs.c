/* nb_outputs.c -- the reference images and the commit of every output (nb_outputs.h). */
#define _POSIX_C_SOURCE 200809L
#include "nb_outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../engine/nb_image.h"

void nb_outputs_init(struct nb_outputs *o)
{
    nb_outset_init(&o->set);
    for (int i = 0; i < NB_OUT_IDS; i++)
        o->idx[i] = -1;
}

/* An output must not be one of the run's input files (nanoBragg would overwrite it). */
static nb_status not_an_input(const struct nb_cli *cli, const struct nb_outputs *o,
                              struct nb_err *err)
{
    const struct {
        const char *flag, *path;
    } in[] = {{"-hkl", cli->hkl},   {"-mat", cli->mat},   {"-sourcefile", cli->sourcefile},
              {"-img", cli->img},   {"-mask", cli->mask}, {"-stol", cli->stol}};
    for (int i = 0; i < o->set.n; i++) {
        const struct nb_outfile *f = &o->set.f[i];
        struct stat so, si;
        if (f->in_place || stat(f->target, &so) != 0)
            continue;
        for (size_t k = 0; k < sizeof in / sizeof in[0]; k++)
            if (in[k].path && stat(in[k].path, &si) == 0 && si.st_dev == so.st_dev &&
                si.st_ino == so.st_ino) {
                nb_err_set(err, "%s: '%s' is the %s input file", f->flag, f->name, in[k].flag);
                return NB_E_OUTPUT;
            }
    }
    return NB_OK;
}

nb_status nb_outputs_prepare(const struct nb_cli *cli, unsigned images, int want_fdump,
                             struct nb_outputs *o, struct nb_err *err)
{
    const struct {
        enum nb_out_id id;
        const char *flag, *name;
        int want;
        unsigned opts;
    } outs[] = {
        {NB_OUT_FLOAT, "-floatfile", cli->floatfile, (images & NB_NAMED_FLOAT) != 0, 0},
        {NB_OUT_INT, "-intfile", cli->intfile, (images & NB_NAMED_INT) != 0, 0},
        {NB_OUT_PGM, "-pgmfile", cli->pgmfile, cli->write_pgm && (images & NB_NAMED_PGM), 0},
        {NB_OUT_NOISE, "-noisefile", cli->noisefile,
         cli->write_noise && (images & NB_NAMED_NOISE), 0},
        {NB_OUT_HDF5, "--hdf5", cli->hdf5 ? cli->hdf5 : "", cli->hdf5 != NULL,
         NB_OUT_REGULAR_ONLY},
        {NB_OUT_FDUMP, "Fdump.bin", "Fdump.bin", want_fdump, NB_OUT_OPTIONAL},
    };
    const char *resume = o->resume_hdf5;
    nb_outputs_init(o);
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        nb_status st;
        if (!outs[i].want)
            continue;
        if (outs[i].id == NB_OUT_HDF5 && resume)
            o->idx[outs[i].id] = nb_outset_add_resumed(&o->set, outs[i].flag, outs[i].name,
                                                       outs[i].opts, resume, &st, err);
        else
            o->idx[outs[i].id] =
                nb_outset_add(&o->set, outs[i].flag, outs[i].name, outs[i].opts, &st, err);
        if (st != NB_OK) {
            nb_outputs_fini(o);
            return st;
        }
    }
    nb_status st = not_an_input(cli, o, err);
    if (st != NB_OK)
        nb_outputs_fini(o);
    return st;
}

int nb_outputs_have(const struct nb_outputs *o, enum nb_out_id id)
{
    return o->idx[id] >= 0;
}

const char *nb_outputs_file(const struct nb_outputs *o, enum nb_out_id id)
{
    return o->idx[id] >= 0 ? nb_outset_path(&o->set, o->idx[id]) : NULL;
}

static nb_status out_write(struct nb_outputs *o, enum nb_out_id id, const void *a, size_t na,
                           const void *b, size_t nb, struct nb_err *err)
{
    if (o->idx[id] < 0)
        return NB_OK; /* not an output of this run */
    return nb_outset_write(&o->set, o->idx[id], a, na, b, nb, NULL, 0, err);
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

/* the console lines of a plain run; a series prints one line per frame instead */
#define SAY(...)                                                                               \
    do {                                                                                       \
        if (verbose)                                                                           \
            printf(__VA_ARGS__);                                                               \
    } while (0)

static nb_status write_pgm(const struct nb_cli *cli, const struct nb_scene *sc,
                           struct nb_outputs *o, const float *img, double iscale, double rmsd,
                           int verbose, struct nb_err *err)
{
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    uint8_t *pgm = malloc(npix);
    if (!pgm) {
        nb_err_set(err, "out of memory for the PGM image");
        return NB_E_NOMEM;
    }
    double pscale = nb_pgm_scale(cli->pgm_scale, iscale, rmsd);
    SAY("pgm_scale = %g\n", pscale);
    nb_pgm_image(sc, img, pscale, pgm);
    SAY("writing %s as %zu-byte integers\n", cli->pgmfile, sizeof(uint8_t));
    char ph[128];
    int pl = snprintf(ph, sizeof ph, "P5\n%d %d\n# pixels scaled by %lg\n255\n", sc->fpixels,
                      sc->spixels, pscale);
    nb_status st = out_write(o, NB_OUT_PGM, ph, (size_t)pl, pgm, npix, err);
    free(pgm);
    return st;
}

nb_status nb_outputs_write_images(const struct nb_cli *cli, const struct nb_scene *sc,
                                  const struct nb_hkl_grid *fdump, struct nb_outputs *o,
                                  const float *img, int verbose, uint16_t **int_out,
                                  int32_t **counts_out, struct nb_image_report *rep,
                                  struct nb_err *err)
{
    nb_status st = NB_OK;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    uint16_t *ints = malloc(npix * sizeof *ints), *noise = NULL;
    int32_t *counts = NULL;
    unsigned char *dump = NULL;
    char header[1100];
    int hb;
    struct nb_smv_keys keys;
    struct nb_stats stats;
    memset(rep, 0, sizeof *rep);
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
    nb_stats_compute(sc, img, &stats);
    if (nb_outputs_have(o, NB_OUT_FLOAT))
        SAY("writing %s as %zu %zu-byte floats\n", cli->floatfile, npix, sizeof(float));
    if ((st = out_write(o, NB_OUT_FLOAT, img, npix * sizeof(float), NULL, 0, err)) != NB_OK)
        goto done;
    rep->max_I = stats.max_I;
    SAY("max_I = %g  at %g %g\n", stats.max_I, stats.max_I_x, stats.max_I_y);
    SAY("mean= %g rms= %g rmsd= %g\n", stats.mean, stats.rms, stats.rmsd);
    double iscale = nb_int_scale(cli->intfile_scale, stats.max_I);
    SAY("intfile_scale = %g\n", iscale);
    nb_int_image(sc, img, iscale, cli->adc, ints);
    if (nb_outputs_have(o, NB_OUT_INT))
        SAY("writing %s as %zu-byte integers\n", cli->intfile, sizeof(uint16_t));
    if (hb != 512 && nb_outputs_have(o, NB_OUT_INT))
        SAY("NOTE: %s: the SMV header text is longer than 512 bytes; written with "
               "HEADER_BYTES=%d (nanoBragg would overrun its 512)\n",
               cli->intfile, hb);
    if ((st = out_write(o, NB_OUT_INT, header, hlen, ints, npix * sizeof *ints, err)) != NB_OK)
        goto done;
    if (nb_outputs_have(o, NB_OUT_PGM) && (st = write_pgm(cli, sc, o, img, iscale, stats.rmsd, verbose, err)) != NB_OK)
        goto done;
    if (cli->write_noise) {
        double photons;
        int overloads;
        struct nb_rng rng = sc->rng;
        long seed = sc->seed;
        noise = malloc(npix * sizeof *noise);
        counts = malloc(npix * sizeof *counts);
        if (!noise || !counts) {
            nb_err_set(err, "out of memory for the noise image");
            st = NB_E_NOMEM;
            goto done;
        }
        nb_noise_image(sc, img, cli->adc, &rng, &seed, noise, counts, &photons, &overloads);
        rep->photons = photons;
        rep->overloads = overloads;
        SAY("%.0f photons on noise image (%d overloads)\n", photons, overloads);
        if (nb_outputs_have(o, NB_OUT_NOISE))
            SAY("writing %s as %zu-byte integers\n", cli->noisefile, sizeof(uint16_t));
        if ((st = out_write(o, NB_OUT_NOISE, header, hlen, noise, npix * sizeof *noise, err)) !=
            NB_OK)
            goto done;
    }
    if (fdump && nb_outputs_have(o, NB_OUT_FDUMP)) {
        size_t dl;
        if ((st = nb_fdump_bytes(fdump, &dump, &dl, err)) != NB_OK)
            goto done;
        if ((st = out_write(o, NB_OUT_FDUMP, dump, dl, NULL, 0, err)) != NB_OK)
            goto done;
        if (nb_outset_dropped(&o->set, o->idx[NB_OUT_FDUMP])) /* a cache: the run goes on */
            printf("WARNING: unable to write dump file: %s\n", "Fdump.bin");
    }
done:
    *int_out = ints;
    *counts_out = counts;
    free(noise);
    free(dump);
    return st;
}

nb_status nb_outputs_write_fdump(struct nb_outputs *o, const struct nb_hkl_grid *grid,
                                 struct nb_err *err)
{
    unsigned char *dump = NULL;
    size_t dl;
    nb_status st = nb_fdump_bytes(grid, &dump, &dl, err);
    if (st == NB_OK)
        st = out_write(o, NB_OUT_FDUMP, dump, dl, NULL, 0, err);
    if (st == NB_OK && nb_outset_dropped(&o->set, o->idx[NB_OUT_FDUMP]))
        printf("WARNING: unable to write dump file: %s\n", "Fdump.bin");
    free(dump);
    return st;
}

void nb_outputs_keep_hdf5(struct nb_outputs *o)
{
    if (o->idx[NB_OUT_HDF5] >= 0)
        nb_outset_keep_on_failure(&o->set, o->idx[NB_OUT_HDF5]);
}

nb_status nb_outputs_commit(struct nb_outputs *o, struct nb_err *err)
{
    return nb_outset_commit(&o->set, err);
}

void nb_outputs_fini(struct nb_outputs *o)
{
    if (!o)
        return;
    nb_outset_fini(&o->set);
    for (int i = 0; i < NB_OUT_IDS; i++)
        o->idx[i] = -1;
}
