/* nb_image.c -- statistics, integer/PGM/noise images and the finiteness scan (see nb_image.h). */
#include "nb_image.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int in_roi(const struct nb_scene *sc, int s, int f)
{
    return !(f < sc->roi_xmin || f > sc->roi_xmax || s < sc->roi_ymin || s > sc->roi_ymax);
}

void nb_stats_compute(const struct nb_scene *sc, const float *img, struct nb_stats *st)
{
    const struct nb_kparams *K = &sc->k;
    double max_I = 0.0, max_x = 0.0, max_y = 0.0, sum = 0.0, sumsqr = 0.0;
    long n = 0;
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!nb_pixel_rendered(K, s, f))
                continue;
            const float v = img[(size_t)s * sc->fpixels + f];
            if (v > max_I) {
                max_I = v;
                /* Fdet, Sdet of the pixel's last subpixel, as the loop leaves them */
                max_x = K->subpixel_size * (f * K->oversample + K->oversample - 1) +
                        K->subpixel_size / 2.0;
                max_y = K->subpixel_size * (s * K->oversample + K->oversample - 1) +
                        K->subpixel_size / 2.0;
            }
            sum += v;
            sumsqr += v * v; /* a float product, as in the reference */
            ++n;
        }
    st->n_rendered = n;
    long nn = n;
    if (nn <= 0)
        nn = 1;
    double avg = sum / (double)nn;
    if (nn <= 1)
        nn = 2;
    st->rms = sqrt(sumsqr / (double)(nn - 1));
    double ss = 0.0;
    long m = 0;
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!in_roi(sc, s, f))
                continue;
            double t = img[(size_t)s * sc->fpixels + f] - avg;
            ss += t * t;
            ++m;
        }
    if (m <= 1)
        m = 2;
    st->rmsd = sqrt(ss / (double)(m - 1));
    st->mean = avg;
    st->max_I = max_I;
    st->max_I_x = max_x;
    st->max_I_y = max_y;
}

double nb_int_scale(double user_scale, double max_I)
{
    if (user_scale > 0.0)
        return user_scale;
    return max_I > 0.0 ? 55000.0 / max_I : 1.0;
}

void nb_int_image(const struct nb_scene *sc, const float *img, double scale, double adc,
                  uint16_t *out)
{
    /* every pixel on its own: rows in parallel give the same bytes */
#pragma omp parallel for schedule(static)
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            size_t i = (size_t)s * sc->fpixels + f;
            out[i] = 0;
            if (!in_roi(sc, s, f))
                continue;
            double t = img[i] * scale + adc;
            if (t > 65535.0)
                t = 65535.0;
            if (t < 0.0)
                t = 0.0;
            out[i] = (uint16_t)nb_d2i(floorf((float)(t + 0.5)));
        }
}

double nb_pgm_scale(double user_scale, double int_scale, double rmsd)
{
    if (user_scale > 0.0)
        return user_scale;
    return rmsd > 0.0 ? 250.0 / (5.0 * rmsd) : int_scale;
}

void nb_pgm_image(const struct nb_scene *sc, const float *img, double scale, uint8_t *out)
{
    memset(out, 0, (size_t)sc->fpixels * sc->spixels);
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!in_roi(sc, s, f))
                continue;
            size_t i = (size_t)s * sc->fpixels + f;
            double t = img[i] * scale;
            if (t > 255.0)
                t = 255.0;
            out[i] = (uint8_t)nb_d2i(t); /* truncation, as the reference's cast */
        }
}

void nb_noise_image(const struct nb_scene *sc, const float *img, double adc, struct nb_rng *rng,
                    long *seed, uint16_t *out, int32_t *counts, double *photons, int *overloads)
{
    double sum = 0.0;
    int over = 0;
    const int32_t sat = nb_count_saturation(adc);
    memset(out, 0, sizeof *out * (size_t)sc->fpixels * sc->spixels);
    if (counts)
        memset(counts, 0, sizeof *counts * (size_t)sc->fpixels * sc->spixels);
    for (int s = 0; s < sc->spixels; s++)
        for (int f = 0; f < sc->fpixels; f++) {
            if (!in_roi(sc, s, f))
                continue;
            size_t i = (size_t)s * sc->fpixels + f;
            double t = nb_poidev(rng, img[i], seed);
            sum += t;
            if (counts)
                counts[i] = t + adc > 65535.0 ? sat + 1 : (int32_t)nb_d2i(t);
            t += adc;
            if (t > 65535.0) {
                t = 65535.0;
                ++over;
            }
            out[i] = (uint16_t)nb_d2i(t);
        }
    *photons = sum;
    *overloads = over;
}

int32_t nb_count_saturation(double adc)
{
    double s = floor(65535.0 - adc);
    if (s > 2147483646.0)
        return 2147483646;
    if (s < -2147483647.0)
        return -2147483647;
    return (int32_t)s;
}

size_t nb_image_count_nonfinite(const float *img, size_t n, size_t *first)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(img[i])) {
            if (bad++ == 0)
                *first = i;
        }
    return bad;
}

/* Largest |F| of the structure-factor grid (for the message only). */
static double grid_max_abs(const struct nb_kparams *K)
{
    double m = 0.0;
    if (!K->hkls || !K->Fhkl)
        return m;
    const size_t n =
        (size_t)(K->h_range + 1) * (size_t)(K->k_range + 1) * (size_t)(K->l_range + 1);
    for (size_t i = 0; i < n; i++)
        if (!(fabs(K->Fhkl[i]) <= m)) /* NaN cannot be in the grid; keep the largest */
            m = fabs(K->Fhkl[i]);
    return m;
}

nb_status nb_image_check_finite(const struct nb_scene *sc, const float *img, struct nb_err *err)
{
    const size_t n = (size_t)sc->fpixels * (size_t)sc->spixels;
    size_t first = 0;
    const size_t bad = nb_image_count_nonfinite(img, n, &first);
    if (bad == 0)
        return NB_OK;
    const struct nb_kparams *K = &sc->k;
    char F[96];
    if (K->hkls)
        snprintf(F, sizeof F, "default_F %g, largest -hkl |F| %g", K->default_F,
                 grid_max_abs(K));
    else
        snprintf(F, sizeof F, "default_F %g", K->default_F);
    nb_err_set(err,
               "-default_F/-hkl, -N, -fluence/-flux, -water, -polar: the intensity overflows "
               "(beyond %g photons per pixel in single precision): %zu of %zu pixels are inf "
               "or NaN, the first %g at slow %zu fast %zu; in effect: %s, N %gx%gx%g, fluence "
               "%g photons/m^2, water %g um, Kahn factor %g%s",
               (double)FLT_MAX, bad, n, (double)img[first], first / (size_t)sc->fpixels,
               first % (size_t)sc->fpixels, F, K->Na, K->Nb, K->Nc, K->fluence,
               K->water_size * 1e6, K->kahn, K->nopolar ? " (-nopolar)" : "");
    return NB_E_USAGE;
}
