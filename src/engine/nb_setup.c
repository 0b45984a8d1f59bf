/* nb_setup.c -- resolve a nb_config into a nb_scene exactly as nanoBragg's set-up does.
 *
 * Order and arithmetic follow spec/physics.md §1-§5, §14-§15 and spec/geometry.md; the echo
 * lines are nanoBragg's (spec/formats.md §10) so that our console output can be compared with
 * the reference's line by line.  Never prints: lines go to the caller's sink.
 * Depends on libc/libm and the engine headers only.  Entry points: see nb_setup.h.
 */
#include "nb_setup.h"

#include "../util/nb_sys.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AVOGADRO 6.02214179e23
#define SOURCE_DISTANCE 10.0 /* m */

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

static void set3(double *v, double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

static void copy3(double *dst, const double *src)
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
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

/* One family of the divergence / dispersion auto-selection table (physics.md §2.2-§2.3). */
static void resolve_range(double *range, double *step, int *count)
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
            } else {
                *count = (int)ceil(*range / *step);
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
}

static void sanity(double *range, double *step, int *count)
{
    if (*range <= 0.0 || *step <= 0.0 || *count <= 0) {
        *count = 1;
        *range = 0.0;
        *step = 0.0;
    }
}

static void resolve_phi(const struct nb_config *c, struct nb_scene *sc)
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
            } else {
                phisteps = (int)ceil(osc / phistep);
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
}

static void resolve_thickness(const struct nb_config *c, struct nb_scene *sc)
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
            } else {
                count = (int)ceil(thick / step);
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
    (void)err;
    resolve_phi(c, sc);
    sc->hdivrange = c->hdivrange;
    sc->hdivstep = c->hdivstep;
    sc->hdivsteps = c->hdivsteps;
    sc->vdivrange = c->vdivrange;
    sc->vdivstep = c->vdivstep;
    sc->vdivsteps = c->vdivsteps;
    sc->dispersion = c->dispersion;
    sc->dispstep = c->dispstep;
    sc->dispsteps = c->dispsteps;
    resolve_range(&sc->hdivrange, &sc->hdivstep, &sc->hdivsteps);
    resolve_range(&sc->vdivrange, &sc->vdivstep, &sc->vdivsteps);
    resolve_range(&sc->dispersion, &sc->dispstep, &sc->dispsteps);
    resolve_thickness(c, sc);
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

/* ===================================================================== stage 3 */

static void warn_angles(const struct nb_msg_sink *out, const char *title, const char *const names[6],
                        const double vals[6])
{
    int odd = 0;
    for (int i = 0; i < 6; i++)
        if (vals[i] > 1.0000001 || vals[i] < -1.0000001)
            odd = 1;
    if (!odd)
        return;
    nb_emitf(out, "%s", title);
    for (int i = 0; i < 6; i++)
        nb_emitf(out, "%s = %.25g\n", names[i], vals[i]);
}

/* Clamp sines to [-1, 1]; a cosine whose square exceeds 1 becomes +1 (geometry.md §11). */
static void clamp_angles(double *s, double *cs)
{
    for (int i = 0; i < 3; i++) {
        if (s[i] > 1.0)
            s[i] = 1.0;
        if (s[i] < -1.0)
            s[i] = -1.0;
        if (cs[i] * cs[i] > 1.0)
            cs[i] = 1.0;
    }
}

/* Reciprocal orientation from -cell (geometry.md §11).  Lengths in Angstrom. */
static nb_status cell_to_reciprocal(const struct nb_config *c, double abc[3], double *V_cell_out,
                                    double *as, double *bs, double *cs,
                                    const struct nb_msg_sink *out, struct nb_err *err)
{
    double a = c->cell_a, b = c->cell_b, cc = c->cell_c;
    double alpha = c->cell_alpha, beta = c->cell_beta, gamma = c->cell_gamma;
    if (b <= 0.0)
        b = a;
    if (cc <= 0.0)
        cc = a;
    if (alpha <= 0.0)
        alpha = NB_PI / 2;
    if (beta <= 0.0)
        beta = NB_PI / 2;
    if (gamma <= 0.0)
        gamma = NB_PI / 2;
    /* a cell whose angles cannot close is an error here, not a silent DBL_MIN volume */
    if (!(alpha < NB_PI && beta < NB_PI && gamma < NB_PI && alpha + beta + gamma < 2 * NB_PI &&
          alpha < beta + gamma && beta < alpha + gamma && gamma < alpha + beta)) {
        nb_err_set(err, "-cell: the angles %g %g %g (deg) cannot close a unit cell",
                   alpha * NB_RTD, beta * NB_RTD, gamma * NB_RTD);
        return NB_E_USAGE;
    }
    double aavg = (alpha + beta + gamma) / 2;
    double skew = sin(aavg) * sin(aavg - alpha) * sin(aavg - beta) * sin(aavg - gamma);
    if (skew < 0.0)
        skew = -skew;
    double V_cell = 2.0 * a * b * cc * sqrt(skew);
    if (!(V_cell > 0.0) || !isfinite(V_cell)) {
        nb_err_set(err, "-cell: the cell has no volume (%g A^3)", V_cell);
        return NB_E_USAGE;
    }
    double V_star = 1.0 / V_cell;
    double as_len = b * cc * sin(alpha) * V_star;
    double bs_len = cc * a * sin(beta) * V_star;
    double cs_len = a * b * sin(gamma) * V_star;
    if (as_len <= 0.0 || bs_len <= 0.0 || cs_len <= 0.0) {
        nb_emitf(out, "WARNING: impossible reciprocal cell lengths: %g %g %g\n", as_len, bs_len,
                 cs_len);
        as_len = fabs(as_len);
        bs_len = fabs(bs_len);
        cs_len = fabs(cs_len);
        if (as_len <= 0.0)
            as_len = DBL_MIN;
        if (bs_len <= 0.0)
            bs_len = DBL_MIN;
        if (cs_len <= 0.0)
            cs_len = DBL_MIN;
    }
    double s[3], co[3];
    s[0] = a * V_star / bs_len / cs_len;
    s[1] = b * V_star / as_len / cs_len;
    s[2] = cc * V_star / as_len / bs_len;
    co[0] = (cos(beta) * cos(gamma) - cos(alpha)) / (sin(beta) * sin(gamma));
    co[1] = (cos(gamma) * cos(alpha) - cos(beta)) / (sin(gamma) * sin(alpha));
    co[2] = (cos(alpha) * cos(beta) - cos(gamma)) / (sin(alpha) * sin(beta));
    {
        static const char *const names[6] = {"sin(alpha_star)", "cos(alpha_star)",
                                             "sin(beta_star) ", "cos(beta_star) ",
                                             "sin(gamma_star)", "cos9gamma_star)"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball reciprocal cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    set3(as, as_len, 0.0, 0.0);
    set3(bs, bs_len * co[2], bs_len * s[2], 0.0);
    set3(cs, cs_len * co[1], cs_len * (co[0] - co[1] * co[2]) / s[2],
         cs_len * V_cell / (a * b * cc * s[2]));
    abc[0] = a;
    abc[1] = b;
    abc[2] = cc;
    *V_cell_out = V_cell;
    return NB_OK;
}

/* Uniformly distributed rotation (Shoemake) from three deviates of the misset stream. */
static void uniform_umat(struct nb_rng *rng, long *seed, double u[9])
{
    double u1 = nb_ran1(rng, seed), u2 = nb_ran1(rng, seed), u3 = nb_ran1(rng, seed);
    double q1 = sqrt(1 - u1) * sin(2 * NB_PI * u2), q2 = sqrt(1 - u1) * cos(2 * NB_PI * u2);
    double q3 = sqrt(u1) * sin(2 * NB_PI * u3), q0 = sqrt(u1) * cos(2 * NB_PI * u3);
    u[0] = 1 - 2 * (q2 * q2 + q3 * q3);
    u[1] = 2 * (q1 * q2 - q0 * q3);
    u[2] = 2 * (q1 * q3 + q0 * q2);
    u[3] = 2 * (q1 * q2 + q0 * q3);
    u[4] = 1 - 2 * (q1 * q1 + q3 * q3);
    u[5] = 2 * (q2 * q3 - q0 * q1);
    u[6] = 2 * (q1 * q3 - q0 * q2);
    u[7] = 2 * (q2 * q3 + q0 * q1);
    u[8] = 1 - 2 * (q1 * q1 + q2 * q2);
}

static void rescale(double *v, double new_mag)
{
    double old = nb_v_mag(v);
    if (old <= 0.0)
        old = 1.0;
    for (int i = 0; i < 3; i++)
        v[i] = new_mag / old * v[i];
}

static void scale3(const double *v, double *out, double s)
{
    for (int i = 0; i < 3; i++)
        out[i] = s * v[i];
}

nb_status nb_setup_crystal(const struct nb_config *c, struct nb_scene *sc,
                           const struct nb_msg_sink *out, struct nb_err *err)
{
    double as[3] = {0, 0, 0}, bs[3] = {0, 0, 0}, cs[3] = {0, 0, 0};
    double abc[3] = {c->cell_a, c->cell_b, c->cell_c};
    double V_cell = 0.0;
    nb_status st;
    if (c->user_cell) {
        if ((st = cell_to_reciprocal(c, abc, &V_cell, as, bs, cs, out, err)) != NB_OK)
            return st;
    }
    if (c->have_mat) {
        nb_emitf(out, "reading %s\n", c->mat_name ? c->mat_name : "matrix");
        for (int i = 0; i < 3; i++) {
            as[i] = c->mat[3 * i + 0];
            bs[i] = c->mat[3 * i + 1];
            cs[i] = c->mat[3 * i + 2];
        }
        double f = 1e-10 / sc->lambda0;
        scale3(as, as, f);
        scale3(bs, bs, f);
        scale3(cs, cs, f);
    }
    double misset[3] = {c->misset[0], c->misset[1], c->misset[2]};
    int apply_misset = c->misset_mode == NB_MISSET_ANGLES;
    if (c->misset_mode == NB_MISSET_RANDOM) {
        double u[9];
        if (c->random_misset_uniform)
            uniform_umat(&sc->rng, &sc->misset_seed, u);
        else
            nb_mosaic_umat(&sc->rng, 90.0f, u, &sc->misset_seed); /* cap of "90" radians (Q09) */
        nb_umat2misset(u, misset);
        nb_emitf(out, "random orientation misset angles: %f %f %f deg\n", misset[0] * NB_RTD,
                 misset[1] * NB_RTD, misset[2] * NB_RTD);
        apply_misset = 1;
    }
    for (int i = 0; i < 3; i++)
        sc->misset_deg[i] = misset[i] * NB_RTD;
    if (apply_misset) {
        nb_rotate_xyz(as, as, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(bs, bs, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(cs, cs, misset[0], misset[1], misset[2]);
    }

    /* real-space vectors (geometry.md §13) */
    double axb[3], bxc[3], cxa[3];
    nb_v_cross(as, bs, axb);
    nb_v_cross(bs, cs, bxc);
    nb_v_cross(cs, as, cxa);
    double V_star = nb_v_dot(as, bxc);
    if (c->have_mat && (!(fabs(V_star) > 0.0) || !isfinite(V_star))) {
        /* checked before -cell rescales the cross products: a singular matrix stays one */
        nb_err_set(err, "-mat %s: the orientation matrix is singular (its reciprocal vectors "
                   "span no volume)", c->mat_name ? c->mat_name : "");
        return NB_E_INPUT;
    }
    if (c->user_cell) {
        rescale(bxc, abc[0] / V_cell);
        rescale(cxa, abc[1] / V_cell);
        rescale(axb, abc[2] / V_cell);
        V_star = 1.0 / V_cell;
    }
    if (!(V_star != 0.0) || !isfinite(V_star)) {
        nb_err_set(err, "-mat: the orientation matrix is singular or not finite");
        return NB_E_INPUT;
    }
    V_cell = 1.0 / V_star;
    double a[3], b[3], cc[3];
    scale3(bxc, a, V_cell);
    scale3(cxa, b, V_cell);
    scale3(axb, cc, V_cell);
    double a_len = nb_v_mag(a), b_len = nb_v_mag(b), c_len = nb_v_mag(cc);
    double t[3];
    nb_v_cross(b, cc, t);
    scale3(t, sc->a_star, V_star);
    nb_v_cross(cc, a, t);
    scale3(t, sc->b_star, V_star);
    nb_v_cross(a, b, t);
    scale3(t, sc->c_star, V_star);
    double as_len = nb_v_mag(sc->a_star), bs_len = nb_v_mag(sc->b_star),
           cs_len = nb_v_mag(sc->c_star);

    double s[3], co[3];
    s[0] = as_len * V_cell / b_len / c_len;
    s[1] = bs_len * V_cell / a_len / c_len;
    s[2] = cs_len * V_cell / a_len / b_len;
    co[0] = nb_v_dot(b, cc) / b_len / c_len;
    co[1] = nb_v_dot(a, cc) / a_len / c_len;
    co[2] = nb_v_dot(a, b) / a_len / b_len;
    {
        static const char *const names[6] = {"sin_alpha", "cos_alpha", "sin_beta ",
                                             "cos_beta ", "sin_gamma", "cos_gamma"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    for (int i = 0; i < 3; i++)
        sc->cell[3 + i] = atan2(s[i], co[i]) * NB_RTD;
    s[0] = a_len * V_star / bs_len / cs_len;
    s[1] = b_len * V_star / as_len / cs_len;
    s[2] = c_len * V_star / as_len / bs_len;
    co[0] = nb_v_dot(sc->b_star, sc->c_star) / bs_len / cs_len;
    co[1] = nb_v_dot(sc->a_star, sc->c_star) / as_len / cs_len;
    co[2] = nb_v_dot(sc->a_star, sc->b_star) / as_len / bs_len;
    {
        static const char *const names[6] = {"sin(alpha_star)", "cos(alpha_star)",
                                             "sin(beta_star) ", "cos(beta_star) ",
                                             "sin(gamma_star)", "cos(gamma_star)"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball reciprocal cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    for (int i = 0; i < 3; i++)
        sc->rcell[3 + i] = atan2(s[i], co[i]) * NB_RTD;
    sc->cell[0] = a_len;
    sc->cell[1] = b_len;
    sc->cell[2] = c_len;
    sc->rcell[0] = as_len;
    sc->rcell[1] = bs_len;
    sc->rcell[2] = cs_len;
    sc->V_cell = V_cell;
    nb_emitf(out, "Unit Cell: %g %g %g %g %g %g\n", sc->cell[0], sc->cell[1], sc->cell[2],
             sc->cell[3], sc->cell[4], sc->cell[5]);
    nb_emitf(out, "Recp Cell: %g %g %g %g %g %g\n", sc->rcell[0], sc->rcell[1], sc->rcell[2],
             sc->rcell[3], sc->rcell[4], sc->rcell[5]);
    nb_emitf(out, "volume = %g A^3\n", V_cell);
    nb_emitf(out, "real-space cell vectors (Angstrom):\n");
    nb_emitf(out, "     %-10s  %-10s  %-10s\n", "a", "b", "c");
    for (int i = 0; i < 3; i++)
        nb_emitf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], a[i], b[i], cc[i]);
    nb_emitf(out, "reciprocal-space cell vectors (Angstrom^-1):\n");
    nb_emitf(out, "     %-10s  %-10s  %-10s\n", "a_star", "b_star", "c_star");
    for (int i = 0; i < 3; i++)
        nb_emitf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], sc->a_star[i], sc->b_star[i],
                 sc->c_star[i]);

    /* metres: phi = 0, no mosaic */
    scale3(a, sc->a0, 1e-10);
    scale3(b, sc->b0, 1e-10);
    scale3(cc, sc->c0, 1e-10);
    a_len = nb_v_mag(sc->a0);
    b_len = nb_v_mag(sc->b0);
    c_len = nb_v_mag(sc->c0);

    /* crystal size (geometry.md §13.7) */
    double Na = c->Na, Nb = c->Nb, Nc = c->Nc;
    if (sc->xtal_size[0] > 0)
        Na = ceil(sc->xtal_size[0] / a_len);
    if (sc->xtal_size[1] > 0)
        Nb = ceil(sc->xtal_size[1] / b_len);
    if (sc->xtal_size[2] > 0)
        Nc = ceil(sc->xtal_size[2] / c_len);
    if (Na <= 1.0)
        Na = 1.0;
    if (Nb <= 1.0)
        Nb = 1.0;
    if (Nc <= 1.0)
        Nc = 1.0;
    sc->Na = Na;
    sc->Nb = Nb;
    sc->Nc = Nc;
    double xa = a_len * Na, xb = b_len * Nb, xc = c_len * Nc;
    sc->xtal_size[0] = xa;
    sc->xtal_size[1] = xb;
    sc->xtal_size[2] = xc;
    nb_emitf(out, "crystal is %g x %g x %g microns\n", xa * 1e6, xb * 1e6, xc * 1e6);
    double xmax = xa;
    if (xmax < xb)
        xmax = xb;
    if (xmax < xc)
        xmax = xc;
    double rps = sc->lambda0 * sc->distance / sc->pixel_size;
    double rec = ceil(3.0 * xmax / rps);
    if (!(rec < 1e6)) {
        nb_err_set(err, "-oversample: the crystal (%g m) needs %g-fold oversampling; give "
                   "-oversample explicitly", xmax, rec);
        return NB_E_USAGE;
    }
    sc->recommended_oversample = (int)rec;
    if (sc->recommended_oversample <= 0)
        sc->recommended_oversample = 1;
    sc->oversample = c->oversample;
    if (sc->oversample <= 0) {
        sc->oversample = sc->recommended_oversample;
        nb_emitf(out, "auto-selected %d-fold oversampling\n", sc->oversample);
    }
    if (sc->oversample < sc->recommended_oversample) {
        nb_emitf(out, "WARNING: maximum dimension of sample is %g A\n", xmax * 1e10);
        nb_emitf(out, "         but reciprocal pixel size is %g A\n", rps * 1e10);
        nb_emitf(out, "         intensity may vary significantly across a pixel!\n");
        nb_emitf(out, "         recommend -oversample %d to work around this\n",
                 sc->recommended_oversample);
    }
    double volume = xa * xb * xc;
    double molecules = Na * Nb * Nc;
    nb_emitf(out, "approximate MW = %g\n", volume * 1.2e6 * AVOGADRO / molecules);
    return NB_OK;
}

/* ===================================================================== stage 4 */

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

    /* mosaic domains: domain 0 forced to identity after its deviates are drawn (Q34) */
    sc->umats = malloc(sizeof(double) * 9 * (size_t)sc->mosaic_domains);
    if (!sc->umats) {
        nb_err_set(err, "out of memory for %d mosaic domains", sc->mosaic_domains);
        return NB_E_NOMEM;
    }
    for (int m = 0; m < sc->mosaic_domains; ++m) {
        nb_mosaic_umat(&sc->rng, (float)sc->mosaic_spread, sc->umats + 9 * m, &sc->mosaic_seed);
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
    if ((st = make_lattice_tables(sc, err)) != NB_OK)
        return st;
    fill_kernel(c, sc, hkl);
    return NB_OK;
}
