/* nb_setup.c -- set-up stages 1 and 2: detector, conventions, sampling auto-selection.
 *
 * Order and arithmetic follow spec/physics.md §1-§2 and spec/geometry.md §2-§8; the echo lines
 * are nanoBragg's (spec/formats.md §10) so that our console output can be compared with the
 * reference's line by line.  Never prints: lines go to the caller's sink.  Stages 3 and 4 are
 * in nb_setup_crystal.c and nb_setup_finish.c.  Entry points: see nb_setup.h.
 */
#include "nb_setup.h"

#include "../util/nb_sys.h"
#include "nb_setup_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *nb_convention_name(int convention)
{
    switch (convention) {
    case NB_CONV_ADXV: return "adxv";
    case NB_CONV_MOSFLM: return "mosflm";
    case NB_CONV_XDS: return "xds";
    case NB_CONV_DIALS: return "dials";
    case NB_CONV_DENZO: return "denzo";
    default: return "custom";
    }
}

void nb_rotate_xyz(const double *v, double *newv, double phix, double phiy, double phiz)
{
    double nx = v[0], ny = v[1], nz = v[2], rx, ry, rz;
    if (phix != 0) {
        double ryy = cos(phix), ryz = -sin(phix), rzy = sin(phix), rzz = cos(phix);
        rx = nx;
        ry = ny * ryy + nz * ryz;
        rz = ny * rzy + nz * rzz;
        nx = rx;
        ny = ry;
        nz = rz;
    }
    if (phiy != 0) {
        double rxx = cos(phiy), rxy = 0, rxz = sin(phiy), rzx = -sin(phiy), rzy = 0,
               rzz = cos(phiy);
        rx = nx * rxx + ny * rxy + nz * rxz;
        ry = ny;
        rz = nx * rzx + ny * rzy + nz * rzz;
        nx = rx;
        ny = ry;
        nz = rz;
    }
    if (phiz != 0) {
        double rxx = cos(phiz), rxy = -sin(phiz), ryx = sin(phiz), ryy = cos(phiz);
        rx = nx * rxx + ny * rxy;
        ry = nx * ryx + ny * ryy;
        rz = nz;
        nx = rx;
        ny = ry;
        nz = rz;
    }
    newv[0] = nx;
    newv[1] = ny;
    newv[2] = nz;
}

void nb_scene_fini(struct nb_scene *sc)
{
    if (!sc)
        return;
    free(sc->src);
    free(sc->umats);
    free(sc->phi);
    free(sc->lat_first);
    free(sc->lat_rest);
    sc->src = sc->umats = sc->phi = sc->lat_first = sc->lat_rest = NULL;
}

/* ===================================================================== stage 1 */

nb_status nb_setup_begin(const struct nb_config *c, struct nb_scene *sc,
                         const struct nb_msg_sink *out, struct nb_err *err)
{
    memset(sc, 0, sizeof *sc);
    sc->pixel_size = c->pixel_size;
    sc->detsize_f = c->detsize_f;
    sc->detsize_s = c->detsize_s;
    if (c->fpixels)
        sc->detsize_f = c->pixel_size * c->fpixels;
    if (c->spixels)
        sc->detsize_s = c->pixel_size * c->spixels;
    double nf = ceil(sc->detsize_f / sc->pixel_size - 0.5);
    double ns = ceil(sc->detsize_s / sc->pixel_size - 0.5);
    if (!(nf >= 1 && ns >= 1)) {
        nb_err_set(err, "-detsize: the detector has no pixels (%g x %g)", nf, ns);
        return NB_E_USAGE;
    }
    if (nf > 2147483647.0 || ns > 2147483647.0 || !nb_memory_allows(nf * ns * 12.0)) {
        nb_err_set(err, "-detpixels: a %.0f x %.0f pixel detector does not fit in memory", nf, ns);
        return NB_E_NOMEM;
    }
    sc->fpixels = (int)nf;
    sc->spixels = (int)ns;

    /* fluence from flux, and the beam clipping the sample (Q21) */
    sc->fluence = c->fluence;
    sc->flux = c->flux;
    sc->exposure = c->exposure;
    sc->beamsize = c->beamsize;
    double sample_y = c->sample_y, sample_z = c->sample_z;
    if (sc->flux != 0.0 && sc->exposure > 0.0 && sc->beamsize >= 0)
        sc->fluence = sc->flux * sc->exposure / sc->beamsize / sc->beamsize;
    if (sc->beamsize >= 0) {
        if (sc->beamsize < sample_y) {
            nb_emitf(out, "WARNING: clipping sample (%lg m high) with beam (%lg m)\n", sample_y,
                     sc->beamsize);
            sample_y = sc->beamsize;
        }
        if (sc->beamsize < sample_z) {
            nb_emitf(out, "WARNING: clipping sample (%lg m wide) with beam (%lg m)\n", sample_z,
                     sc->beamsize);
            sample_z = sc->beamsize;
        }
    }
    if (sc->exposure > 0.0)
        sc->flux = sc->fluence / sc->exposure * sc->beamsize * sc->beamsize;
    sc->xtal_size[0] = c->sample_x; /* crystal size request after clipping; final later */
    sc->xtal_size[1] = sample_y;
    sc->xtal_size[2] = sample_z;

    /* beam-centre quantities before the convention block (geometry.md §4) */
    double Fclose = NAN, Sclose = NAN;
    if (!isnan(c->ORGX))
        Fclose = (c->ORGX - 0.5) * sc->pixel_size;
    if (!isnan(c->ORGY))
        Sclose = (c->ORGY - 0.5) * sc->pixel_size;
    if (isnan(Fclose))
        Fclose = (sc->detsize_f - 0 * sc->pixel_size) / 2.0;
    if (isnan(Sclose))
        Sclose = (sc->detsize_s + 0 * sc->pixel_size) / 2.0;
    sc->Xclose = isnan(c->Xclose) ? Fclose : c->Xclose;
    sc->Yclose = isnan(c->Yclose) ? Sclose : c->Yclose;
    sc->Fclose = Fclose;
    sc->Sclose = Sclose;
    sc->Fbeam = Fclose;
    sc->Sbeam = Sclose;
    sc->roi_xmin = c->roi_xmin < 0 ? 0 : c->roi_xmin;
    sc->roi_xmax = c->roi_xmax < 0 ? sc->fpixels : c->roi_xmax;
    sc->roi_ymin = c->roi_ymin < 0 ? 0 : c->roi_ymin;
    sc->roi_ymax = c->roi_ymax < 0 ? sc->spixels : c->roi_ymax;
    if (sc->roi_xmin > sc->roi_xmax || sc->roi_ymin > sc->roi_ymax) {
        nb_err_set(err, "-roi: inverted region (xmin %d > xmax %d or ymin %d > ymax %d)",
                   sc->roi_xmin, sc->roi_xmax, sc->roi_ymin, sc->roi_ymax);
        return NB_E_USAGE;
    }
    if (c->mask && (c->mask->fpixels != sc->fpixels || c->mask->spixels != sc->spixels)) {
        nb_err_set(err, "-mask: mask is %d x %d pixels but the detector is %d x %d",
                   c->mask->fpixels, c->mask->spixels, sc->fpixels, sc->spixels);
        return NB_E_USAGE;
    }

    /* convention block (geometry.md §2): vectors, beam centre mapping, forced pivot */
    sc->convention = c->convention;
    sc->pivot = c->pivot;
    copy3(sc->beam, c->beam);
    copy3(sc->fdet, c->fdet);
    copy3(sc->sdet, c->sdet);
    copy3(sc->odet, c->odet);
    copy3(sc->twotheta_axis, c->twotheta_axis);
    copy3(sc->polar, c->polar);
    copy3(sc->spindle, c->spindle);
    double Xbeam = c->Xbeam, Ybeam = c->Ybeam;
    const double px = sc->pixel_size;
    switch (c->convention) {
    case NB_CONV_ADXV:
        if (isnan(Xbeam))
            Xbeam = (sc->detsize_f + px) / 2.0;
        if (isnan(Ybeam))
            Ybeam = (sc->detsize_s - px) / 2.0;
        set3(sc->beam, 0, 0, 1);
        set3(sc->fdet, 1, 0, 0);
        set3(sc->sdet, 0, -1, 0);
        set3(sc->odet, 0, 0, 1);
        set3(sc->twotheta_axis, -1, 0, 0);
        set3(sc->polar, 1, 0, 0);
        set3(sc->spindle, 1, 0, 0);
        sc->Fbeam = Xbeam;
        sc->Sbeam = sc->detsize_s - Ybeam;
        sc->pivot = NB_PIVOT_BEAM;
        break;
    case NB_CONV_MOSFLM:
    case NB_CONV_DENZO:
        if (isnan(Xbeam))
            Xbeam = (sc->detsize_s + px) / 2.0;
        if (isnan(Ybeam))
            Ybeam = (sc->detsize_f + px) / 2.0;
        set3(sc->beam, 1, 0, 0);
        set3(sc->odet, 1, 0, 0);
        set3(sc->fdet, 0, 0, 1);
        set3(sc->sdet, 0, -1, 0);
        set3(sc->twotheta_axis, 0, 0, -1);
        set3(sc->polar, 0, 0, 1);
        set3(sc->spindle, 0, 0, 1);
        if (c->convention == NB_CONV_MOSFLM) {
            sc->Fbeam = Ybeam + 0.5 * px;
            sc->Sbeam = Xbeam + 0.5 * px;
        } else {
            sc->Fbeam = Ybeam + 0.0 * px;
            sc->Sbeam = Xbeam + 0.0 * px;
        }
        sc->pivot = NB_PIVOT_BEAM;
        break;
    case NB_CONV_XDS:
    case NB_CONV_DIALS:
        if (isnan(Xbeam))
            Xbeam = sc->Xclose;
        if (isnan(Ybeam))
            Ybeam = sc->Yclose;
        set3(sc->beam, 0, 0, 1);
        set3(sc->fdet, 1, 0, 0);
        set3(sc->sdet, 0, 1, 0);
        set3(sc->odet, 0, 0, 1);
        if (c->convention == NB_CONV_XDS) {
            set3(sc->twotheta_axis, 1, 0, 0);
            set3(sc->polar, 1, 0, 0);
            set3(sc->spindle, 1, 0, 0);
        } else {
            set3(sc->twotheta_axis, 0, 1, 0);
            set3(sc->polar, 0, 1, 0);
            set3(sc->spindle, 0, 1, 0);
        }
        sc->Fbeam = Xbeam;
        sc->Sbeam = Ybeam;
        sc->pivot = NB_PIVOT_SAMPLE;
        break;
    default: /* CUSTOM */
        if (isnan(Xbeam))
            Xbeam = sc->Xclose;
        if (isnan(Ybeam))
            Ybeam = sc->Yclose;
        sc->Fbeam = Xbeam;
        sc->Sbeam = Ybeam;
        sc->Fclose = Xbeam;
        sc->Sclose = Ybeam;
        break;
    }
    sc->Xbeam = Xbeam;
    sc->Ybeam = Ybeam;

    /* normalisation (geometry.md §5) */
    nb_v_unitize(sc->beam, sc->beam);
    nb_v_unitize(sc->fdet, sc->fdet);
    nb_v_unitize(sc->sdet, sc->sdet);
    if (nb_v_unitize(sc->odet, sc->odet) != 1.0) {
        nb_emitf(out, "WARNING: auto-generating odet_vector\n");
        nb_v_cross(sc->fdet, sc->sdet, sc->odet);
        nb_v_unitize(sc->odet, sc->odet);
    }
    nb_v_unitize(sc->polar, sc->polar);
    nb_v_unitize(sc->spindle, sc->spindle);
    nb_v_cross(sc->beam, sc->polar, sc->vert);
    nb_v_unitize(sc->vert, sc->vert);

    /* carried to later stages */
    sc->lambda0 = c->lambda0;
    sc->phi_carryover = c->phi_carryover;
    sc->seed = c->seed;
    sc->seed_initial = c->seed;
    sc->mosaic_seed = c->mosaic_seed;
    sc->misset_seed = c->misset_seed;
    nb_rng_init(&sc->rng);
    return NB_OK;
}

/* ===================================================================== stage 2 */

/* ceil(range / step) as a step count (range >= 0, step > 0).  The reference converts it with
 * an (int) cast, which is undefined behaviour when the quotient does not fit in an int (a huge
 * range or a tiny step); -1 then, and the caller names the flags (cli.md §6.1). */
static int ceil_count(double range, double step)
{
    const double n = ceil(range / step);
    return n < 2147483648.0 ? (int)n : -1;
}

/* The error for a range / step that gives more steps than an int holds.  `scale` converts the
 * SI values back to the unit of the flags, for the message. */
static nb_status too_many_steps(const char *flags, double range, double step, double scale,
                                const char *unit, struct nb_err *err)
{
    nb_err_set(err, "%s: a range of %g %s in steps of %g %s is %.3g steps, more than %d", flags,
               range * scale, unit, step * scale, unit, ceil(range / step), 2147483647);
    return NB_E_USAGE;
}

/* One family of the divergence / dispersion auto-selection table (physics.md §2.2-§2.3).
 * flags, scale, unit: for the error message (see too_many_steps). */
static nb_status resolve_range(double *range, double *step, int *count, const char *flags,
                               double scale, const char *unit, struct nb_err *err)
{
    if (*count <= 0) {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *count = 1;
                *range = 0.0;
                *step = 0.0;
            } else {
                *range = *step;
                *count = 2;
            }
        } else {
            if (*step <= 0.0) {
                *step = *range;
                *count = 2;
            } else if ((*count = ceil_count(*range, *step)) < 0) {
                return too_many_steps(flags, *range, *step, scale, unit, err);
            }
        }
    } else {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *range = 1.0;
                *step = *range / *count;
            } else {
                *range = *step;
                *count = 2;
            }
        } else {
            if (*step <= 0.0) {
                if (*count <= 1)
                    *count = 2;
                *step = *range / (*count - 1);
            }
        }
    }
    return NB_OK;
}

static void sanity(double *range, double *step, int *count)
{
    if (*range <= 0.0 || *step <= 0.0 || *count <= 0) {
        *count = 1;
        *range = 0.0;
        *step = 0.0;
    }
}

static nb_status resolve_phi(const struct nb_config *c, struct nb_scene *sc, struct nb_err *err)
{
    double osc = c->osc, phistep = c->phistep;
    int phisteps = c->phisteps;
    if (phisteps < 0) {
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                phisteps = 1;
                osc = 0.0;
                phistep = 0.0;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else {
            if (phistep <= 0.0) {
                phisteps = 2;
                phistep = osc / 2.0;
            } else if ((phisteps = ceil_count(osc, phistep)) < 0) {
                return too_many_steps("-osc/-phistep", osc, phistep, NB_RTD, "deg", err);
            }
        }
    } else {
        if (phisteps == 0)
            phisteps = 1;
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                osc = 1.0 / NB_RTD;
                phistep = osc / phisteps;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else {
            if (phistep < 0.0)
                phistep = osc / phisteps;
        }
    }
    sc->phi0 = c->phi0;
    sc->osc = osc;
    sc->phistep = phistep;
    sc->phisteps = phisteps;
    return NB_OK;
}

static nb_status resolve_thickness(const struct nb_config *c, struct nb_scene *sc,
                                   struct nb_err *err)
{
    double thick = c->detector_thick, step = c->detector_thickstep;
    int count = c->detector_thicksteps;
    if (count <= 0) {
        if (thick < 0.0) {
            if (step <= 0.0) {
                count = 1;
                thick = 0.0;
                step = 0.0;
            } else {
                thick = step;
                count = 2;
            }
        } else {
            if (step <= 0.0) {
                count = 2;
                step = thick / count;
            } else if ((count = ceil_count(thick, step)) < 0) {
                return too_many_steps("-detector_thick", thick, step, 1e6, "um", err);
            }
        }
    } else {
        if (thick < 0.0) {
            if (step <= 0.0) {
                thick = 0.5e-6;
                step = thick / count;
            } else {
                thick = step;
                count = 2;
            }
        } else {
            if (step <= 0.0) {
                if (count <= 1)
                    count = 2;
                /* Q11: the reference divides by count-1; --thickness-step=uniform by count */
                step = c->thickness_step_uniform ? thick / count : thick / (count - 1);
            }
        }
    }
    sc->detector_thick = thick;
    sc->detector_thickstep = step;
    sc->n_layers = count;
    sc->detector_mu = c->detector_mu;
    return NB_OK;
}

static void resolve_mosaic(const struct nb_config *c, struct nb_scene *sc,
                           const struct nb_msg_sink *out)
{
    double spread = c->mosaic_spread;
    int domains = c->mosaic_domains;
    if (domains <= 0) {
        if (spread < 0.0) {
            domains = 1;
            spread = 0.0;
        } else if (spread == 0.0) {
            domains = 1;
        } else {
            nb_emitf(out, "WARNING: finite mosaicity with only one domain! upping to 10 mosaic "
                          "domains\n");
            domains = 10;
        }
    } else {
        if (spread < 0.0) {
            nb_emitf(out, "WARNING: no mosaic spread specified.  setting mosaic_domains = 1\n");
            spread = 0.0;
            domains = 1;
        } else if (spread == 0.0) {
            nb_emitf(out, "WARNING: zero mosaic spread specified.  setting mosaic_domains = 1\n");
            domains = 1;
        }
    }
    sc->mosaic_spread = spread;
    sc->mosaic_domains = domains;
}

static void detector_orient(const struct nb_config *c, struct nb_scene *sc,
                            const struct nb_msg_sink *out)
{
    double v[3];
    nb_rotate_xyz(sc->odet, v, sc->rotx, sc->roty, sc->rotz);
    double ratio = nb_v_dot(sc->beam, v);
    if (ratio == 0.0)
        ratio = DBL_MIN;
    double close_distance = c->close_distance, distance = c->distance;
    if (isnan(close_distance))
        close_distance = fabs(ratio * distance);
    distance = close_distance / ratio;

    if (c->honor_pix0 && c->pix0_given) {
        /* --honor-pix0: the given vector is the unrotated origin (geometry.md §9) */
        double scale = c->pix0_given == 2 ? 1e-3 : 1.0;
        for (int i = 0; i < 3; i++)
            sc->pix0[i] = c->pix0[i] * scale;
        nb_rotate_xyz(sc->pix0, sc->pix0, sc->rotx, sc->roty, sc->rotz);
        nb_rotate_axis(sc->pix0, sc->pix0, sc->twotheta_axis, sc->twotheta);
    } else if (sc->pivot == NB_PIVOT_SAMPLE) {
        nb_emitf(out, "pivoting detector around sample\n");
        for (int i = 0; i < 3; i++)
            sc->pix0[i] = -sc->Fclose * sc->fdet[i] - sc->Sclose * sc->sdet[i] +
                          close_distance * sc->odet[i];
        nb_rotate_xyz(sc->pix0, sc->pix0, sc->rotx, sc->roty, sc->rotz);
        nb_rotate_axis(sc->pix0, sc->pix0, sc->twotheta_axis, sc->twotheta);
    }
    nb_rotate_xyz(sc->fdet, sc->fdet, sc->rotx, sc->roty, sc->rotz);
    nb_rotate_xyz(sc->sdet, sc->sdet, sc->rotx, sc->roty, sc->rotz);
    nb_rotate_xyz(sc->odet, sc->odet, sc->rotx, sc->roty, sc->rotz);
    nb_rotate_axis(sc->fdet, sc->fdet, sc->twotheta_axis, sc->twotheta);
    nb_rotate_axis(sc->sdet, sc->sdet, sc->twotheta_axis, sc->twotheta);
    nb_rotate_axis(sc->odet, sc->odet, sc->twotheta_axis, sc->twotheta);
    nb_emitf(out, "DETECTOR_FAST_AXIS %.15g %.15g %.15g\n", sc->fdet[0], sc->fdet[1], sc->fdet[2]);
    nb_emitf(out, "DETECTOR_SLOW_AXIS %.15g %.15g %.15g\n", sc->sdet[0], sc->sdet[1], sc->sdet[2]);
    nb_emitf(out, "DETECTOR_NORMAL_AXIS %.15g %.15g %.15g\n", sc->odet[0], sc->odet[1],
             sc->odet[2]);
    if (!(c->honor_pix0 && c->pix0_given) && sc->pivot == NB_PIVOT_BEAM) {
        nb_emitf(out, "pivoting detector around direct beam spot\n");
        for (int i = 0; i < 3; i++)
            sc->pix0[i] =
                -sc->Fbeam * sc->fdet[i] - sc->Sbeam * sc->sdet[i] + distance * sc->beam[i];
    }
    sc->Fclose = -nb_v_dot(sc->pix0, sc->fdet);
    sc->Sclose = -nb_v_dot(sc->pix0, sc->sdet);
    sc->close_distance = nb_v_dot(sc->pix0, sc->odet);
    nb_emitf(out, "DETECTOR_PIX0_VECTOR %.15g %.15g %.15g\n", sc->pix0[0], sc->pix0[1],
             sc->pix0[2]);
    double w[3];
    for (int i = 0; i < 3; i++)
        w[i] = sc->close_distance / ratio * sc->beam[i] - sc->pix0[i];
    sc->Fbeam = nb_v_dot(sc->fdet, w);
    sc->Sbeam = nb_v_dot(sc->sdet, w);
    sc->distance = sc->close_distance / ratio;
    sc->ratio = ratio;
    sc->ORGX = sc->Fclose / sc->pixel_size + 0.5;
    sc->ORGY = sc->Sclose / sc->pixel_size + 0.5;
    double ez[3] = {+0, +0, +1}, ey[3] = {+0, +1, +0}, ex[3] = {-1, +0, +0};
    sc->dials_origin[0] = 1000.0 * nb_v_dot(sc->pix0, ez);
    sc->dials_origin[1] = 1000.0 * nb_v_dot(sc->pix0, ey);
    sc->dials_origin[2] = 1000.0 * nb_v_dot(sc->pix0, ex);
    sc->xds_beam[0] = nb_v_dot(sc->beam, sc->fdet);
    sc->xds_beam[1] = nb_v_dot(sc->beam, sc->sdet);
    sc->xds_beam[2] = nb_v_dot(sc->beam, sc->odet);
    nb_emitf(out, "XDS incident beam: %g %g %g\n", sc->xds_beam[0], sc->xds_beam[1],
             sc->xds_beam[2]);
}

nb_status nb_setup_geometry(const struct nb_config *c, struct nb_scene *sc,
                            const struct nb_msg_sink *out, struct nb_err *err)
{
    nb_status st;
    if ((st = resolve_phi(c, sc, err)) != NB_OK)
        return st;
    sc->hdivrange = c->hdivrange;
    sc->hdivstep = c->hdivstep;
    sc->hdivsteps = c->hdivsteps;
    sc->vdivrange = c->vdivrange;
    sc->vdivstep = c->vdivstep;
    sc->vdivsteps = c->vdivsteps;
    sc->dispersion = c->dispersion;
    sc->dispstep = c->dispstep;
    sc->dispsteps = c->dispsteps;
    if ((st = resolve_range(&sc->hdivrange, &sc->hdivstep, &sc->hdivsteps,
                            "-divergence/-hdivrange/-hdivstep", 1000.0, "mrad", err)) != NB_OK ||
        (st = resolve_range(&sc->vdivrange, &sc->vdivstep, &sc->vdivsteps,
                            "-divergence/-vdivrange/-vdivstep", 1000.0, "mrad", err)) != NB_OK ||
        (st = resolve_range(&sc->dispersion, &sc->dispstep, &sc->dispsteps, "-dispersion", 100.0,
                            "%", err)) != NB_OK ||
        (st = resolve_thickness(c, sc, err)) != NB_OK)
        return st;
    if (sc->detector_thick > 0.0 && sc->detector_mu < 0.0) {
        sc->detector_mu = 1.0 / sc->detector_thick;
        nb_emitf(out, "WARNING: setting detector attenuation depth to %g m\n", sc->detector_mu);
    }
    resolve_mosaic(c, sc, out);
    sanity(&sc->hdivrange, &sc->hdivstep, &sc->hdivsteps);
    sanity(&sc->vdivrange, &sc->vdivstep, &sc->vdivsteps);
    sanity(&sc->dispersion, &sc->dispstep, &sc->dispsteps);
    if (sc->detector_thick <= 0.0 || sc->detector_thickstep <= 0.0 || sc->n_layers <= 0) {
        sc->n_layers = 1;
        sc->detector_thick = 0.0;
        sc->detector_thickstep = 0.0;
    }

    nb_emitf(out, "%s convention selected.\n", nb_convention_name(sc->convention));
    sc->rotx = c->rotx;
    sc->roty = c->roty;
    sc->rotz = c->rotz;
    sc->twotheta = c->twotheta;
    detector_orient(c, sc, out);

    /* automatic interpolation from the raw N values (Q20) */
    sc->interpolate = c->interpolate;
    sc->interp_auto = 0;
    if (sc->interpolate > 1) {
        sc->interp_auto = 1;
        if (c->Na <= 2 || c->Nb <= 2 || c->Nc <= 2) {
            nb_emitf(out, "auto-selected tricubic interpolation of structure factors\n");
            sc->interpolate = 1;
        } else {
            nb_emitf(out, "auto-selected no interpolation\n");
            sc->interpolate = 0;
        }
    }
    return NB_OK;
}

