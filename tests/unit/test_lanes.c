/* test_lanes.c -- the SIMD hot loop computes what nb_pixel() computes, bit for bit.
 *
 * For a set of scenes that exercise every branch of the lane kernel (shapes, N = 1 axes,
 * oversampling with and without the oversample_* factors, thick sensors, curved detectors,
 * point pixels, divergence and dispersion with a dmin cut, ROI, mask, an HKL grid, water,
 * widths that are not a multiple of the lane count) and every arithmetic mode (--math=exact,
 * fast, --precision=single), every row renderer this CPU runs (generic, avx2, avx512) must
 * produce the float image of nb_pixel() called pixel by pixel, byte for byte; so must the row
 * renderer with its lanes switched off.  The host's per-row solid-angle sums (nb_band_omega,
 * the console line) must equal nb_pixel()'s own accumulation, byte for byte.  (The comparison is of
 * the float images the program writes: a one-ulp change in a double accumulator usually
 * rounds away; a change that reaches a pixel fails.)  Interpolation runs
 * through the renderer's nb_pixel() fallback and is compared the same way.
 * Also: nb_sin_det_core() within 2 ulp of libm's sin() (correctly rounded in glibc) on arguments
 * like the pixel loop's, and --math=fast within 1e-9 of --math=exact on every scene
 * (acceptance.md T1c: rel = max|fast - exact| / max|exact|).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/nb_backend.h"
#include "../../src/engine/nb_band.h"
#include "../../src/engine/nb_carry.h"
#include "../../src/engine/nb_cpu_isa.h"
#include "../carry/carry_scenes.h"
#include "unit_common.h"

static const struct scene_case lane_cases[] = {
    {"square_default", "-cell 60 70 80 90 90 90 -default_F 100 -N 5 -lambda 1.5 -distance 60 "
                       "-detpixels 37 -pixel 0.4", 0, 0, 0},
    {"mosaic_phi_os2", "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 6.2 -distance 100 "
                       "-detpixels 29 -pixel 3 -mosaic 0.5 -mosaic_dom 4 -phisteps 3 -osc 0.5 "
                       "-oversample 2", 0, 0, 0},
    {"triclinic_misset_hkl", "-cell 70 80 90 85 95 105 -misset 10 5 3 -N 8 -lambda 1 "
                             "-distance 30 -detpixels 26 -pixel 0.3 -interpolate 0", 0, 1, 0},
    {"oversample_factors", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                           "-detpixels 19 -pixel 0.6 -oversample 2 -oversample_omega "
                           "-oversample_polar -oversample_thick -detector_thick 0.3 "
                           "-detector_thicksteps 2 -detector_abs 500", 0, 0, 0},
    {"thick_sensor", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                     "-detpixels 21 -pixel 0.6 -detector_thick 0.45 -detector_thicksteps 3 "
                     "-detector_abs 320", 0, 0, 0},
    {"divergence_dispersion_dmin", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 "
                                   "-distance 50 -detpixels 33 -pixel 0.7 -divergence 0.2 "
                                   "-divsteps 3 -dispersion 2 -dispsteps 3 -dmin 2.2", 0, 0, 0},
    {"curved_point_nopolar", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 "
                             "-distance 60 -detpixels 17 -pixel 0.8 -curved_det -point_pixel "
                             "-nopolar", 0, 0, 0},
    {"round_xtal", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                   "-detpixels 23 -pixel 0.6 -round_xtal", 0, 0, 0},
    {"gauss_xtal", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                   "-detpixels 23 -pixel 0.6 -gauss_xtal", 0, 0, 0},
    {"tophat_xtal", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                    "-detpixels 23 -pixel 0.6 -tophat_spots", 0, 0, 0},
    {"thin_plate_Nc1", "-cell 60 70 80 90 90 90 -default_F 100 -Na 6 -Nb 7 -Nc 1 -lambda 1.5 "
                       "-distance 60 -detpixels 23 -pixel 0.6", 0, 0, 0},
    {"roi_water", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                  "-detpixels 30 -pixel 0.6 -roi 3 26 5 21 -water 50", 0, 0, 0},
    {"mask_rows", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -lambda 1.5 -distance 60 "
                  "-detpixels 24 -pixel 0.6", 30, 0, 0},
    {"phi0_carry_e1", "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 -detpixels 24 "
                      "-pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 2", 0, 0, 0},
    {"interp_fallback", "-cell 70 80 90 75 85 95 -misset 10 5 3 -N 2 -lambda 1 -distance 30 "
                        "-detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 -interpolate "
                        "-oversample 1", 0, 1, 0},
};
#define N_CASES ((int)(sizeof lane_cases / sizeof lane_cases[0]))

/* The image by nb_pixel(), pixel by pixel: the definition. */
static void render_scalar(const struct nb_kparams *K, int64_t p_e1, float *img, double *row_om)
{
    for (int s = 0; s < K->spixels; s++) {
        double om = 0.0;
        for (int f = 0; f < K->fpixels; f++) {
            float *v = &img[(size_t)s * K->fpixels + f];
            *v = 0.0f;
            if (!nb_pixel_rendered(K, s, f))
                continue;
            struct nb_pixel_result r;
            nb_pixel(K, s, f, (int64_t)s * K->fpixels + f == p_e1, &r, NULL);
            *v = r.value;
            om += r.omega_sum;
        }
        row_om[s] = om;
    }
}

static void render_rows(nb_row_fn row, int use_lanes, const struct nb_kparams *K, int64_t p_e1,
                        float *img, float *nn)
{
    for (int s = 0; s < K->spixels; s++) {
        int64_t trig;
        row(K, s, p_e1, use_lanes, img + (size_t)s * K->fpixels,
            nn ? nn + (size_t)s * K->fpixels : NULL, &trig);
    }
}

static int same_bits(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* ulp distance of two finite doubles of the same sign */
static double ulps(double a, double b)
{
    if (a == b)
        return 0.0;
    return fabs(a - b) / (nextafter(fabs(a), INFINITY) - fabs(a));
}

static void check_sin(void)
{
    /* the pixel loop's arguments: x = pi*h and x*N for |h| up to 400, N up to 100, with many
     * near-integer h (where sin(x) is tiny and the reduction matters most) */
    double worst = 0.0, at = 0.0;
    unsigned long long st = 88172645463325252ULL;
    for (long i = 0; i < 500000; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        double u = (double)(st >> 11) * 0x1p-53;
        double h = (u - 0.5) * 800.0;
        if (i % 3 == 0)
            h = rint(h) + (u - 0.5) * 1e-7;
        double N = (double)(1 + (long)(st % 100));
        double xs[2] = {NB_PI * h, NB_PI * h * N};
        for (int j = 0; j < 2; j++) {
            double e = ulps(sin(xs[j]), nb_sin_det_core(xs[j]));
            if (e > worst)
                worst = e, at = xs[j];
        }
    }
    CHECK(worst <= 2.0, "nb_sin_det_core: %.2f ulp from libm sin at x = %.17g", worst, at);
    printf("nb_sin_det_core: at most %.2f ulp from libm sin over 1e6 arguments\n", worst);
    CHECK(nb_sin_det_core(0.0) == 0.0 && isnan(nb_sin_det_core(NAN)) && isnan(nb_sin_det_core(INFINITY)),
          "nb_sin_det_core special values");
}

int main(void)
{
    check_sin();
    static const char *mode_name[] = {"exact", "fast", "single"};
    const char *note;
    const struct nb_cpu_isa *best = nb_cpu_isa_select(&note);
    struct {
        const char *name;
        nb_row_fn fn;
    } isas[3];
    int n_isa = 0;
    isas[n_isa].name = "generic", isas[n_isa++].fn = nb_row_generic;
#if defined(__x86_64__)
    /* what this CPU runs: the best pick, and every narrower one */
    if (!strcmp(best->name, "avx512") || !strcmp(best->name, "avx2"))
        isas[n_isa].name = "avx2", isas[n_isa++].fn = nb_row_avx2;
    if (!strcmp(best->name, "avx512"))
        isas[n_isa].name = "avx512", isas[n_isa++].fn = nb_row_avx512;
#endif
    printf("row renderers tested: %d (best on this CPU: %s)\n", n_isa, best->name);

    for (int c = 0; c < N_CASES; c++) {
        struct built b;
        if (carry_scene_build(&lane_cases[c], &b) != 0) {
            CHECK(0, "%s: scene set-up failed", lane_cases[c].name);
            continue;
        }
        struct nb_kparams K = b.sc.k;
        const size_t npx = (size_t)K.fpixels * K.spixels;
        const struct nb_band whole = {0, K.spixels, K.fpixels, 0};
        int64_t first, last;
        nb_band_prepass(&b.sc, &whole, &first, &last);
        float *ref = malloc(npx * sizeof *ref), *got = malloc(npx * sizeof *got);
        float *exact = malloc(npx * sizeof *exact), *nn = malloc(npx * sizeof *nn);
        double *rom = malloc(K.spixels * sizeof *rom), *gom = malloc(K.spixels * sizeof *gom);
        for (int mode = 0; mode < 3; mode++) {
            K.math_fast = mode >= 1;
            K.single = mode == 2;
            /* E1 (which reads lat_first) inside the image: every scene; without: two */
            for (int e1 = c < 2 ? 0 : 1; e1 < 2; e1++) {
                const int64_t p_e1 = e1 ? first : -1;
                render_scalar(&K, p_e1, ref, rom);
                /* the host's solid-angle rows (the console line) are nb_pixel()'s own sums */
                nb_band_omega(&b.sc, &whole, gom);
                CHECK(same_bits(rom, gom, K.spixels * sizeof *rom),
                      "%s, %s: nb_band_omega() differs from nb_pixel()'s solid-angle sums",
                      lane_cases[c].name, mode_name[mode]);
                if (mode == 0 && e1)
                    memcpy(exact, ref, npx * sizeof *ref);
                for (int i = 0; i < n_isa; i++)
                    for (int lanes = 0; lanes < 2; lanes++) {
                        render_rows(isas[i].fn, lanes, &K, p_e1, got, K.interpolate ? nn : NULL);
                        CHECK(same_bits(ref, got, npx * sizeof *ref),
                              "%s, %s, %s%s, E1 %s: image differs from nb_pixel()",
                              lane_cases[c].name, mode_name[mode], isas[i].name,
                              lanes ? "" : " without lanes", e1 ? "in the image" : "none");
                    }
            }
            if (mode == 1) {
                /* T1c against the reference arithmetic */
                double dmax = 0.0, vmax = 0.0;
                for (size_t p = 0; p < npx; p++) {
                    dmax = fmax(dmax, fabs((double)ref[p] - exact[p]));
                    vmax = fmax(vmax, fabs((double)exact[p]));
                }
                CHECK(vmax > 0.0, "%s: blank image", lane_cases[c].name);
                CHECK(dmax <= 1e-9 * vmax, "%s: --math=fast rel %.3g from exact (T1c: 1e-9)",
                      lane_cases[c].name, dmax / vmax);
                printf("%-28s fast vs exact rel-Linf %.3g\n", lane_cases[c].name, dmax / vmax);
            }
        }
        free(ref), free(got), free(exact), free(nn), free(rom), free(gom);
        carry_scene_free(&b);
    }
    return u_summary("test_lanes");
}
