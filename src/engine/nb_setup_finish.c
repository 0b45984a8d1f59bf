/* nb_setup_finish.c -- set-up stage 4: sources, mosaic domains, steps, background, the
 * rotated-cell tables of the phi loop, the kernel parameters and the summary block
 * (spec/physics.md §4, §5, §14, §15; carryover.md §1.1, §3).  Echo lines go to the sink.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/nb_sys.h"
#include "nb_setup.h"
#include "nb_setup_internal.h"

/* ===================================================================== stage 4 */

/* The smallest double that converts to float as +inf (FLT_MAX plus half its last place). */
#define FLOAT_OVERFLOW 0x1.ffffffp+127

/* Angles of divergence grid point (ih, iv) and whether the elliptical trim keeps it
 * (physics.md §4.2; with a zero range the test is NaN and nothing is trimmed, Q26). */
static int div_point(const struct nb_config *c, const struct nb_scene *sc, int ih, int iv,
                     double *hdiv_out, double *vdiv_out)
{
    double hdiv = sc->hdivstep * ih - sc->hdivrange / 2.0;
    double vdiv = sc->vdivstep * iv - sc->vdivrange / 2.0;
    double test = (hdiv * hdiv - sc->hdivstep * sc->hdivstep / 4.0 * (1 - sc->hdivsteps % 2)) /
                  sc->hdivrange / sc->hdivrange;
    test += (vdiv * vdiv - sc->vdivstep * sc->vdivstep / 4.0 * (1 - sc->vdivsteps % 2)) /
            sc->vdivrange / sc->vdivrange;
    *hdiv_out = hdiv;
    *vdiv_out = vdiv;
    return !(c->round_div && test * 4.0 > 1.1);
}

static nb_status make_sources(const struct nb_config *c, struct nb_scene *sc,
                              const struct nb_msg_sink *out, struct nb_err *err)
{
    int n = 0;
    sc->divsteps = -1;
    if (c->sources && c->sources->n > 0) {
        const struct nb_source_list *L = c->sources;
        n = L->n;
        sc->src = malloc(sizeof(double) * 5 * (size_t)n);
        if (!sc->src)
            goto nomem;
        for (int i = 0; i < n; i++) {
            double *s = sc->src + 5 * i;
            s[0] = isnan(L->x[i]) ? -SOURCE_DISTANCE * sc->beam[0] : L->x[i];
            s[1] = isnan(L->y[i]) ? -SOURCE_DISTANCE * sc->beam[1] : L->y[i];
            s[2] = isnan(L->z[i]) ? -SOURCE_DISTANCE * sc->beam[2] : L->z[i];
            s[4] = isnan(L->weight[i]) ? 1.0 : L->weight[i];
            s[3] = isnan(L->lambda[i]) ? sc->lambda0 : L->lambda[i];
            if (c->source_lambda_cli)
                s[3] = sc->lambda0;
        }
    } else {
        int divsteps = 0;
        for (int ih = 0; ih < sc->hdivsteps; ++ih)
            for (int iv = 0; iv < sc->vdivsteps; ++iv) {
                double hdiv, vdiv;
                if (!div_point(c, sc, ih, iv, &hdiv, &vdiv))
                    continue;
                ++divsteps;
                nb_emitf(out, "divergence deviation: %g %g\n", hdiv, vdiv);
            }
        for (int id = 0; id < sc->dispsteps; ++id) {
            double lambda = sc->lambda0 * (1.0 + sc->dispstep * id - sc->dispersion / 2.0);
            nb_emitf(out, "lambda%d = %.15g\n", id, lambda);
        }
        sc->divsteps = divsteps;
        if ((double)divsteps * sc->dispsteps > 1e8) {
            nb_err_set(err, "-divsteps: %d x %d sources is too many", divsteps, sc->dispsteps);
            return NB_E_USAGE;
        }
        n = divsteps * sc->dispsteps;
        sc->src = malloc(sizeof(double) * 5 * (size_t)(n > 0 ? n : 1));
        if (!sc->src)
            goto nomem;
        double weight = 1.0 / n;
        int k = 0;
        for (int ih = 0; ih < sc->hdivsteps; ++ih)
            for (int iv = 0; iv < sc->vdivsteps; ++iv) {
                double hdiv, vdiv;
                if (!div_point(c, sc, ih, iv, &hdiv, &vdiv))
                    continue;
                double v[3], nv[3];
                for (int i = 0; i < 3; i++)
                    v[i] = -SOURCE_DISTANCE * sc->beam[i];
                nb_rotate_axis(v, nv, sc->polar, vdiv);
                nb_rotate_axis(nv, v, sc->vert, hdiv);
                for (int id = 0; id < sc->dispsteps; ++id) {
                    double *s = sc->src + 5 * k++;
                    s[0] = v[0];
                    s[1] = v[1];
                    s[2] = v[2];
                    s[4] = weight;
                    s[3] = sc->lambda0 * (1.0 + sc->dispstep * id - sc->dispersion / 2.0);
                }
            }
    }
    sc->n_sources = n;
    nb_emitf(out, "  created a total of %d sources:\n", n);
    for (int i = 0; i < n; i++) {
        double *s = sc->src + 5 * i;
        nb_emitf(out, "%g %g %g   %g %g\n", s[0], s[1], s[2], s[4], s[3]);
        nb_v_unitize(s, s);
    }
    return NB_OK;
nomem:
    nb_err_set(err, "out of memory for the source list");
    return NB_E_NOMEM;
}

/* Rotated-cell tables for the phi loop (carryover.md §1.1, §3). */
static nb_status make_lattice_tables(struct nb_scene *sc, struct nb_err *err)
{
    const int np = sc->phisteps, nd = sc->mosaic_domains;
    const size_t n = (size_t)np * nd * 9;
    double *rot = malloc(sizeof(double) * 9 * (size_t)np);
    sc->phi = malloc(sizeof(double) * (size_t)np);
    sc->lat_first = malloc(sizeof(double) * n);
    sc->lat_rest = malloc(sizeof(double) * n);
    if (!rot || !sc->phi || !sc->lat_first || !sc->lat_rest) {
        free(rot);
        nb_err_set(err, "out of memory for the phi x mosaic tables");
        return NB_E_NOMEM;
    }
    double setup[9];
    copy3(setup, sc->a0);
    copy3(setup + 3, sc->b0);
    copy3(setup + 6, sc->c0);
    int kstar = -1;
    sc->phi_has_zero = sc->phi_has_nonzero = 0;
    for (int k = 0; k < np; k++) {
        double phi = sc->phi0 + sc->phistep * k;
        sc->phi[k] = phi;
        if (phi != 0.0) {
            nb_rotate_axis(sc->a0, rot + 9 * k, sc->spindle, phi);
            nb_rotate_axis(sc->b0, rot + 9 * k + 3, sc->spindle, phi);
            nb_rotate_axis(sc->c0, rot + 9 * k + 6, sc->spindle, phi);
            kstar = k;
            sc->phi_has_nonzero = 1;
        } else {
            sc->phi_has_zero = 1;
        }
    }
    sc->phi_star = kstar >= 0 ? sc->phi[kstar] : NAN;
    memcpy(sc->W_rot, kstar >= 0 ? rot + 9 * kstar : setup, sizeof sc->W_rot);
    int last_nonzero = -1;
    for (int k = 0; k < np; k++) {
        const double *first, *rest;
        if (sc->phi[k] != 0.0) {
            first = rest = rot + 9 * k;
            last_nonzero = k;
        } else if (sc->phi_carryover == NB_CARRY_SPEC) {
            first = rest = setup;
        } else if (last_nonzero >= 0) {
            first = rest = rot + 9 * last_nonzero; /* reuse of the previous step's vectors */
        } else {
            first = setup;                                     /* E1: nothing rotated yet */
            rest = kstar >= 0 ? rot + 9 * kstar : setup;       /* the carried R(u, phi*)  */
        }
        for (int m = 0; m < nd; m++) {
            double *f = sc->lat_first + 9 * ((size_t)k * nd + m);
            double *r = sc->lat_rest + 9 * ((size_t)k * nd + m);
            if (sc->mosaic_spread > 0.0) {
                const double *u = sc->umats + 9 * m;
                for (int v = 0; v < 3; v++) {
                    nb_rotate_umat(first + 3 * v, f + 3 * v, u);
                    nb_rotate_umat(rest + 3 * v, r + 3 * v, u);
                }
            } else {
                memcpy(f, first, 9 * sizeof(double));
                memcpy(r, rest, 9 * sizeof(double));
            }
        }
    }
    free(rot);
    return NB_OK;
}

/* Is any pixel rendered (ROI clipped to the detector, and mask)?  With none, the image is all
 * zero whatever the intensities, so the overflow checks below have nothing to refuse. */
static int any_pixel_rendered(const struct nb_config *c, const struct nb_scene *sc)
{
    const int f1 = sc->roi_xmax < sc->fpixels - 1 ? sc->roi_xmax : sc->fpixels - 1;
    const int s1 = sc->roi_ymax < sc->spixels - 1 ? sc->roi_ymax : sc->spixels - 1;
    for (int s = sc->roi_ymin; s <= s1; s++)
        for (int f = sc->roi_xmin; f <= f1; f++)
            if (!c->mask || c->mask->data[(size_t)s * (size_t)sc->fpixels + (size_t)f] != 0)
                return 1;
    return 0;
}

/* Finite inputs whose size makes EVERY rendered pixel inf or NaN, refused before rendering
 * (docs/cli.md §1.2; the reference writes such an image with exit status 0).  A pixel is
 * r_e^2 fluence (I_bg + sum of F^2 F_latt^2) / steps times its factors (physics.md §6, §14);
 * each test below makes that non-finite for every rendered pixel, so no finite run is ever
 * refused here.  Overflows that reach only some pixels, or only the single-precision image,
 * are caught after rendering by nb_image_check_finite(). */
static nb_status check_overflow(const struct nb_config *c, const struct nb_scene *sc,
                                const struct nb_hkl_grid *hkl, struct nb_err *err)
{
    if (!any_pixel_rendered(c, sc))
        return NB_OK;
    if (!isfinite(sc->fluence)) { /* -fluence itself is finite: this is flux*exposure/size^2 */
        nb_err_set(err, "-flux/-exposure/-beamsize: the fluence %g photons/s x %g s / (%g m)^2 "
                   "is %g photons/m^2; every pixel would be inf or NaN", c->flux, c->exposure,
                   c->beamsize, sc->fluence);
        return NB_E_USAGE;
    }
    if (!isfinite(sc->I_bg)) { /* the accumulator of every pixel starts from it */
        nb_err_set(err, "-water: the background of %g um of water at %g photons/m^2 overflows; "
                   "every pixel would be inf or NaN", sc->water_size * 1e6, sc->fluence);
        return NB_E_USAGE;
    }
    /* The two below make every term of the sum inf or NaN; every pixel has terms unless -dmin
     * cuts them (Q14).  A square lattice factor is a product of sin(Nx)/sin(x) (N at x = 0),
     * never exactly 0, so every term is evaluated; the other shapes multiply by Na Nb Nc. */
    if (c->dmin > 0.0)
        return NB_OK;
    if (!(isfinite(sc->Na) && isfinite(sc->Nb) && isfinite(sc->Nc)) ||
        (c->shape != NB_SHAPE_SQUARE && !isfinite(sc->Na * sc->Nb * sc->Nc))) {
        nb_err_set(err, "-N/-xtalsize: a crystal of %g x %g x %g cells overflows the lattice "
                   "factor; every pixel would be inf or NaN", sc->Na, sc->Nb, sc->Nc);
        return NB_E_USAGE;
    }
    const int grid = hkl && hkl->hkls > 0; /* without a grid every F is default_F */
    if (!grid && (c->shape == NB_SHAPE_SQUARE || sc->water_size != 0.0) &&
        !isfinite(c->default_F * c->default_F)) {
        nb_err_set(err, "-default_F: F^2 = (%g)^2 overflows; every pixel would be inf or NaN",
                   c->default_F);
        return NB_E_USAGE;
    }
    return NB_OK;
}

static void print_summary(const struct nb_config *c, const struct nb_scene *sc, long hkls,
                          double default_F, const struct nb_msg_sink *out)
{
    static const char *const shapes[] = {"parallelpiped", "ellipsoidal", "gaussian",
                                         "tophat-spot"};
    nb_emitf(out, "  %ld initialized hkls (all others =%g)\n", hkls, default_F);
    nb_emitf(out, "  %s xtal: %.0fx%.0fx%.0f cells\n", shapes[c->shape], sc->Na, sc->Nb, sc->Nc);
    nb_emitf(out, "  wave=%g meters +/- %g%% in %d steps\n", sc->lambda0, sc->dispersion * 100,
             sc->dispsteps);
    if (c->nopolar)
        nb_emitf(out, "  polarization effect disabled\n");
    else
        nb_emitf(out, "  Kahn polarization factor: %f\n", c->polarization);
    if (c->curved_det)
        nb_emitf(out, "  curved detector: all pixels same distance from origin\n");
    if (c->point_pixel)
        nb_emitf(out, "  pixel obliquity effect disabled\n");
    nb_emitf(out, "  incident fluence: %lg photons/m^2\n", sc->fluence);
    nb_emitf(out, "  distance=%lg detsize=%lgx%lg  pixel=%lg meters (%dx%d pixels)\n",
             sc->distance, sc->detsize_f, sc->detsize_s, sc->pixel_size, sc->fpixels,
             sc->spixels);
    nb_emitf(out, "  sensor is %lg m thick in %d layers with mu= %lg\n", sc->detector_thick,
             sc->n_layers, sc->detector_mu);
    nb_emitf(out, "  Xbeam=%lg Ybeam=%lg\n", sc->Xbeam, sc->Ybeam);
    nb_emitf(out, "  Fbeam=%lg Sbeam=%lg\n", sc->Fbeam, sc->Sbeam);
    nb_emitf(out, "  Xclose=%lg Yclose=%lg\n", sc->Xclose, sc->Yclose);
    nb_emitf(out, "  Fclose=%lg Sclose=%lg\n", sc->Fclose, sc->Sclose);
    nb_emitf(out, "  DIRECTION_OF_DETECTOR_X-AXIS= %g %g %g\n", sc->fdet[0], sc->fdet[1],
             sc->fdet[2]);
    nb_emitf(out, "  DIRECTION_OF_DETECTOR_Y-AXIS= %g %g %g\n", sc->sdet[0], sc->sdet[1],
             sc->sdet[2]);
    nb_emitf(out, "  DIRECTION_OF_DETECTOR_Z-AXIS= %g %g %g\n", sc->odet[0], sc->odet[1],
             sc->odet[2]);
    nb_emitf(out, "  INCIDENT_BEAM_DIRECTION= %g %g %g\n", sc->beam[0], sc->beam[1], sc->beam[2]);
    nb_emitf(out, "  spindle ROTATION_AXIS= %g %g %g\n", sc->spindle[0], sc->spindle[1],
             sc->spindle[2]);
    double n[3];
    nb_v_cross(sc->beam, sc->polar, n);
    nb_emitf(out, "  POLARIZATION_PLANE_NORMAL= %g %g %g\n", n[0], n[1], n[2]);
    nb_emitf(out, "  dials origin= %g %g %g\n", sc->dials_origin[0], sc->dials_origin[1],
             sc->dials_origin[2]);
    nb_emitf(out, "  roi: %d < x < %d && %d < y < %d\n", sc->roi_xmin, sc->roi_xmax, sc->roi_ymin,
             sc->roi_ymax);
    nb_emitf(out, "  hdivrange=%g hdivstep=%g  radians\n", sc->hdivrange, sc->hdivstep);
    nb_emitf(out, "  vdivrange=%g vdivstep=%g  radians\n", sc->vdivrange, sc->vdivstep);
    nb_emitf(out, "  %d divergence steps\n", sc->divsteps);
    nb_emitf(out, "  %d sources\n", sc->n_sources);
    nb_emitf(out, "  %d mosaic domains over mosaic spread of %g degrees\n", sc->mosaic_domains,
             sc->mosaic_spread * NB_RTD);
    nb_emitf(out, "  %d phi steps from %g to %g degrees\n", sc->phisteps, sc->phi0 * NB_RTD,
             (sc->phi0 + sc->osc) * NB_RTD);
    nb_emitf(out, "  %dx%d pixel oversample steps%s%s%s\n", sc->oversample, sc->oversample,
             c->oversample_thick ? " +thick" : "", c->oversample_polar ? " +polar" : "",
             c->oversample_omega ? " +omega" : "");
}

static void fill_kernel(const struct nb_config *c, struct nb_scene *sc,
                        const struct nb_hkl_grid *hkl)
{
    struct nb_kparams *k = &sc->k;
    memset(k, 0, sizeof *k);
    k->fpixels = sc->fpixels;
    k->spixels = sc->spixels;
    k->roi_xmin = sc->roi_xmin;
    k->roi_xmax = sc->roi_xmax;
    k->roi_ymin = sc->roi_ymin;
    k->roi_ymax = sc->roi_ymax;
    k->mask = c->mask ? c->mask->data : NULL;
    k->oversample = sc->oversample;
    k->pixel_size = sc->pixel_size;
    k->subpixel_size = sc->pixel_size / sc->oversample;
    k->n_layers = sc->n_layers;
    k->layer_step = sc->detector_thickstep;
    k->detector_thick = sc->detector_thick;
    k->detector_mu = sc->detector_mu;
    copy3(k->fdet, sc->fdet);
    copy3(k->sdet, sc->sdet);
    copy3(k->odet, sc->odet);
    copy3(k->pix0, sc->pix0);
    copy3(k->beam, sc->beam);
    k->close_distance = sc->close_distance;
    k->distance = sc->distance;
    k->curved = c->curved_det;
    k->point_pixel = c->point_pixel;
    k->n_sources = sc->n_sources;
    k->src = sc->src;
    /* The reference re-normalises the polarization axis in place at every call; a unit vector
     * reaches its fixed point after one re-normalisation, which we apply here once. */
    double p1[3], p2[3];
    nb_v_unitize(sc->polar, p1);
    nb_v_unitize(p1, p2);
    sc->polar_fixed_point = (p1[0] == p2[0] && p1[1] == p2[1] && p1[2] == p2[2]);
    copy3(k->polar_axis, p1);
    k->kahn = c->polarization;
    k->nopolar = c->nopolar;
    k->oversample_thick = c->oversample_thick;
    k->oversample_polar = c->oversample_polar;
    k->oversample_omega = c->oversample_omega;
    k->apply_weights = c->source_weights_apply;
    k->factors_per_term = c->factors_per_term;
    k->math_fast = !c->math_exact;
    k->single = c->precision_single;
    k->dmin = c->dmin;
    k->phisteps = sc->phisteps;
    k->n_domains = sc->mosaic_domains;
    k->phi = sc->phi;
    k->lat_first = sc->lat_first;
    k->lat_rest = sc->lat_rest;
    k->shape = c->shape;
    k->fudge = c->fudge;
    k->Na = sc->Na;
    k->Nb = sc->Nb;
    k->Nc = sc->Nc;
    copy3(k->a_star, sc->a_star);
    copy3(k->b_star, sc->b_star);
    copy3(k->c_star, sc->c_star);
    if (hkl) {
        k->hkls = hkl->hkls > 0 ? 1 : 0;
        k->h_min = hkl->h_min;
        k->h_max = hkl->h_max;
        k->k_min = hkl->k_min;
        k->k_max = hkl->k_max;
        k->l_min = hkl->l_min;
        k->l_max = hkl->l_max;
        k->h_range = hkl->h_range;
        k->k_range = hkl->k_range;
        k->l_range = hkl->l_range;
        k->Fhkl = hkl->F;
    }
    k->default_F = c->default_F;
    k->interpolate = sc->interpolate;
    k->fallback_default_F = c->interp_fallback_default_F;
    k->water_size = sc->water_size;
    k->I_bg = sc->I_bg;
    k->r_e_sqr = 7.94079248018965e-30;
    k->fluence = sc->fluence;
    k->steps = sc->steps;
}

nb_status nb_setup_finish(const struct nb_config *c, struct nb_scene *sc,
                          const struct nb_hkl_grid *hkl, const struct nb_msg_sink *out,
                          struct nb_err *err)
{
    nb_status st;
    long hkls = hkl ? hkl->hkls : 0;
    if (hkls == 0)
        sc->interpolate = 0;
    /* sizes are checked before anything is listed or allocated (cli.md §6.1: fail fast) */
    if (!nb_memory_allows((double)sc->mosaic_domains * sc->phisteps * 9 * 8 * 2 +
                          (double)sc->mosaic_domains * 72 + (double)sc->phisteps * 8)) {
        nb_err_set(err, "%s: %d phi steps x %d mosaic domains do not fit in memory",
                   sc->phisteps > sc->mosaic_domains ? "-phisteps" : "-mosaic_domains",
                   sc->phisteps, sc->mosaic_domains);
        return NB_E_NOMEM;
    }
    if (!(c->sources && c->sources->n > 0)) {
        double grid = (double)sc->hdivsteps * sc->vdivsteps, n = grid * sc->dispsteps;
        if (grid > 1e7 || n > 1e8 || !nb_memory_allows(n * 5 * 8)) {
            nb_err_set(err, "%s: %d x %d divergence points x %d wavelengths are too many "
                       "sources", grid > 1e7 ? "-divsteps" : "-dispsteps", sc->hdivsteps,
                       sc->vdivsteps, sc->dispsteps);
            return NB_E_NOMEM;
        }
    }
    if (sc->n_layers > 100000) {
        nb_err_set(err, "-thicksteps: %d sensor layers are too many", sc->n_layers);
        return NB_E_USAGE;
    }
    for (int t = 0; t < sc->n_layers; ++t)
        nb_emitf(out, "thick%d = %g um\n", t, sc->detector_thickstep * t * 1e6);
    if (sc->phisteps <= 0) {
        nb_err_set(err, "-osc: an oscillation of %g deg in steps of %g deg gives no phi steps "
                   "(nanoBragg would divide by zero and write a NaN image)",
                   sc->osc * NB_RTD, sc->phistep * NB_RTD);
        return NB_E_USAGE;
    }
    for (int k = 0; k < sc->phisteps; ++k)
        nb_emitf(out, "phi%d = %g\n", k, (sc->phi0 + sc->phistep * k) * NB_RTD);
    if ((st = make_sources(c, sc, out, err)) != NB_OK)
        return st;
    if (sc->n_sources <= 0) {
        nb_err_set(err, "-divsteps: the divergence grid leaves no source");
        return NB_E_USAGE;
    }

    /* mosaic domains: domain 0 forced to identity after its deviates are drawn (Q34).  The
     * draw takes the spread in single precision, as the reference: a spread beyond the float
     * range would make every domain but the first a NaN matrix (and its conversion is
     * undefined in C17), so it is refused when such a domain exists; with one domain the
     * value only feeds a matrix that is overwritten, and the draws do not depend on it. */
    if (sc->mosaic_domains > 1 && !(sc->mosaic_spread < FLOAT_OVERFLOW)) {
        nb_err_set(err, "-mosaic: a spread of %g deg overflows the single-precision mosaic "
                   "rotations (at most %g deg); the %d domains would not be rotations",
                   sc->mosaic_spread * NB_RTD, FLT_MAX * NB_RTD, sc->mosaic_domains);
        return NB_E_USAGE;
    }
    const float spread = sc->mosaic_spread < FLOAT_OVERFLOW ? (float)sc->mosaic_spread : FLT_MAX;
    sc->umats = malloc(sizeof(double) * 9 * (size_t)sc->mosaic_domains);
    if (!sc->umats) {
        nb_err_set(err, "out of memory for %d mosaic domains", sc->mosaic_domains);
        return NB_E_NOMEM;
    }
    for (int m = 0; m < sc->mosaic_domains; ++m) {
        nb_mosaic_umat(&sc->rng, spread, sc->umats + 9 * m, &sc->mosaic_seed);
        if (m == 0) {
            static const double id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
            memcpy(sc->umats, id, sizeof id);
        }
    }
    nb_emitf(out, "  created a total of %d mosaic domains\n", sc->mosaic_domains);

    if (sc->oversample <= 0)
        sc->oversample = 1;
    double steps = (double)sc->n_sources * sc->mosaic_domains * sc->phisteps * sc->oversample *
                   sc->oversample;
    if (steps > 2147483647.0) {
        nb_err_set(err, "-oversample: %g steps per pixel overflow the normalisation", steps);
        return NB_E_USAGE;
    }
    sc->steps = (int)steps;
    print_summary(c, sc, hkls, c->default_F, out);

    sc->water_size = c->water_size;
    sc->I_bg = 2.57 * 2.57 * 7.94079248018965e-30 * sc->fluence * sc->water_size * sc->water_size *
               sc->water_size * 1e6 * AVOGADRO / 18.0;
    if ((st = check_overflow(c, sc, hkl, err)) != NB_OK)
        return st;
    if ((st = make_lattice_tables(sc, err)) != NB_OK)
        return st;
    fill_kernel(c, sc, hkl);
    return NB_OK;
}

