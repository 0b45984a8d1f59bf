/* nb_nxmx_simulation.c -- /entry/simulation as nb_nxmx_create writes it (spec/formats.md
 * §11.3, nxmx_write_simulation): the command line and the job's identity, every parameter as
 * an attribute (SI, lab frame), structure factors, sources, per-frame provenance, and the
 * carry cache and status record, created empty: nb_nxmx_frames_done (nb_nxmx.c) fills their
 * rows.  No <mpi.h>; collective calls only through nb_nxmx.c.
 */

#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "nb_nxmx_internal.h"

/* ------------------------------------------------------------------ /entry/simulation */

static int attr_d(hid_t loc, const char *name, double v)
{
    return nxmx_attr_write(loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int attr_i(hid_t loc, const char *name, int v)
{
    return nxmx_attr_write(loc, name, H5T_NATIVE_INT32, 0, NULL, &v);
}

static int attr_i64v(hid_t loc, const char *name, const int64_t *v, hsize_t n)
{
    return nxmx_attr_write(loc, name, H5T_NATIVE_INT64, 1, &n, v);
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
        nxmx_note_fail(h, "setting up a table");
    hid_t d = nxmx_c_dcreate(h, loc, name, type, sp, dcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

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
    bad |= nxmx_attr_write(sim, "series", H5T_NATIVE_INT8, 0, NULL, &series);
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
        bad |= nxmx_attr_dv(sim, vv[i].name, vv[i].v, 3);
    bad |= attr_d(sim, "adc_offset", m->adc); /* formats.md §11.2: not in /entry/data/data */
    bad |= nxmx_attr_dv(sim, "cell", sc->cell, 6);
    bad |= nxmx_attr_dv(sim, "reciprocal_cell", sc->rcell, 6);
    hsize_t rd[2] = {3, 3};
    bad |= nxmx_attr_write(sim, "lab_to_mcstas", H5T_NATIVE_DOUBLE, 2, rd, R);
    bad |= nxmx_attr_str(sim, "convention", conv[sc->convention]);
    bad |= nxmx_attr_str(sim, "pivot", sc->pivot == NB_PIVOT_BEAM ? "beam" : "sample");
    bad |= nxmx_attr_str(sim, "shape", shapes[c->shape]);
    bad |= nxmx_attr_str(sim, "phi_carryover",
                         c->phi_carryover == NB_CARRY_SPEC ? "spec" : "c-parity");
    bad |= nxmx_attr_str(sim, "interp_fallback",
                         c->interp_fallback_default_F ? "default_F" : "reference");
    bad |= nxmx_attr_str(sim, "factors", c->factors_per_term ? "per-term" : "reference");
    bad |= nxmx_attr_str(sim, "source_lambda", c->source_lambda_cli ? "cli" : "file");
    bad |= nxmx_attr_str(sim, "source_weights", c->source_weights_apply ? "apply" : "ignore");
    bad |= nxmx_attr_str(sim, "random_misset", c->random_misset_uniform ? "uniform" : "reference");
    bad |= nxmx_attr_str(sim, "thickness_step",
                         c->thickness_step_uniform ? "uniform" : "reference");
    bad |= nxmx_attr_str(sim, "honor_pix0", c->honor_pix0 ? "yes" : "no");
    bad |= nxmx_attr_str(sim, "device", m->device ? m->device : "cpu");
    if (m->gpu && *m->gpu)
        bad |= nxmx_attr_str(sim, "gpu", m->gpu);
    bad |= nxmx_attr_str(sim, "precision", c->precision_single ? "single" : "double");
    bad |= nxmx_attr_str(sim, "math", c->math_exact ? "exact" : "fast");
    bad |= nxmx_attr_str(sim, "cpu_kernel", m->cpu_kernel ? m->cpu_kernel : "");
    return bad ? -1 : 0;
}

/* The carry cache (§11.3), empty: the facts per frame are -1 / NaN / -1 and the tables hold
 * their fill values until nb_nxmx_frames_done records a frame.  No tables in spec mode. */
static int create_carry(struct nb_nxmx *h, hid_t sim)
{
    int bad = 0;
    hid_t g = nxmx_group(h, sim, "carry", "NXcollection");
    if (g < 0)
        return -1;
    hsize_t nf = (hsize_t)h->nframes, B = (hsize_t)h->n_bands;
    bad |= nxmx_attr_str(g, "mode", h->carry_tables ? "c-parity" : "spec");
    bad |= attr_i64v(g, "p1", h->p1, nf);
    bad |= nxmx_attr_dv(g, "phi_star", h->phi_star, nf);
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
    hid_t g = nxmx_group(h, sim, "structure_factors", "NXcollection");
    if (g < 0)
        return -1;
    hsize_t dims[3] = {(hsize_t)gr->h_range + 1, (hsize_t)gr->k_range + 1,
                       (hsize_t)gr->l_range + 1};
    hid_t d = nxmx_small_dset(h, g, "F", H5T_NATIVE_DOUBLE, 3, dims, gr->F);
    if (d >= 0) {
        bad |= nxmx_attr_str(d, "units", "electrons");
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
    bad |= nxmx_attr_str(g, "source", m->hkl_source ? m->hkl_source : "hkl");
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_sources(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_scene *sc = m->sc;
    if (sc->n_sources <= 1)
        return 0;
    int bad = 0, n = sc->n_sources;
    hid_t g = nxmx_group(h, sim, "sources", "NXcollection");
    if (g < 0)
        return -1;
    double *dir = malloc(sizeof(double) * 3 * (size_t)n), *lam = malloc(sizeof(double) * (size_t)n),
           *w = malloc(sizeof(double) * (size_t)n);
    if (!dir || !lam || !w) {
        nxmx_note_fail(h, "allocating the source tables");
        bad = 1;
    } else {
        for (int i = 0; i < n; i++) {
            memcpy(dir + 3 * i, sc->src + 5 * i, 3 * sizeof(double));
            lam[i] = sc->src[5 * i + 3];
            w[i] = sc->src[5 * i + 4];
        }
        hsize_t d2[2] = {(hsize_t)n, 3}, d1 = (hsize_t)n;
        hid_t a = nxmx_small_dset(h, g, "direction", H5T_NATIVE_DOUBLE, 2, d2, dir);
        hid_t b = nxmx_small_dset(h, g, "wavelength", H5T_NATIVE_DOUBLE, 1, &d1, lam);
        hid_t c = nxmx_small_dset(h, g, "weight", H5T_NATIVE_DOUBLE, 1, &d1, w);
        if (b >= 0)
            bad |= nxmx_attr_str(b, "units", "m");
        if (c >= 0)
            bad |= nxmx_attr_str(c, "applied", m->cfg->source_weights_apply ? "yes" : "no");
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
    hid_t g = nxmx_group(h, sim, "frames", "NXcollection");
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
        nxmx_note_fail(h, "allocating the per-frame provenance");
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
    hid_t t = nxmx_str_type(maxl - 1);
    hsize_t nf = (hsize_t)n;
    hid_t d = nxmx_small_dset(h, g, "flags", t, 1, &nf, flags);
    H5Tclose(t);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    static const char *const names[3] = {"seed", "mosaic_seed", "misset_seed"};
    for (int k = 0; k < 3; k++) {
        d = nxmx_small_dset(h, g, names[k], H5T_NATIVE_INT64, 1, &nf, seeds + (size_t)k * n);
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

int nxmx_write_simulation(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                          double R[3][3])
{
    int bad = 0;
    hid_t sim = nxmx_group(h, entry, "simulation", "NXcollection");
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
        nxmx_note_fail(h, "allocating the command line");
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
    hid_t d = nxmx_small_dset(h, sim, "argv", t, 1, &n, arr);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    bad |= nxmx_attr_str(sim, "command_line", joined);
    free(arr);
    free(joined);
    bad |= nxmx_attr_str(sim, "program", m->program);
    bad |= nxmx_attr_str(sim, "program_version", m->version);
    /* the job's identity, for nb_nxmx_peek / nb_nxmx_reopen (resume) */
    bad |= nxmx_attr_str(sim, "config_hash", m->config_hash ? m->config_hash : "");
    int64_t dseed = (int64_t)m->default_seed;
    bad |= nxmx_attr_write(sim, "default_seed", H5T_NATIVE_INT64, 0, NULL, &dseed);
    bad |= write_params(sim, m, R);
    bad |= attr_i(sim, "mpi_ranks", m->size);
    bad |= write_sf(h, sim, m);
    bad |= write_sources(h, sim, m);
    bad |= write_frames(h, sim, m);
    bad |= create_carry(h, sim);
    /* completion record: nothing done yet */
    hid_t st = nxmx_group(h, sim, "status", "NXcollection");
    if (st >= 0) {
        static const uint8_t zero8 = 0;
        signed char zero = 0;
        hsize_t nf = (hsize_t)h->nframes, bd[2] = {nf, (hsize_t)h->n_bands};
        bad |= nxmx_attr_write(st, "complete", H5T_NATIVE_INT8, 0, NULL, &zero);
        bad |= nxmx_attr_str(st, "started", m->start_time);
        bad |= table_dset(h, st, "frames_done", H5T_NATIVE_UINT8, 1, &nf, &zero8);
        bad |= table_dset(h, st, "bands_done", H5T_NATIVE_UINT8, 2, bd, &zero8);
        h->status = st;
    } else {
        bad = 1;
    }
    H5Gclose(sim);
    return bad ? -1 : 0;
}
