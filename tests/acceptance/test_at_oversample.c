/* test_at_oversample.c -- running-sum properties of the -oversample_* switches and of the
 * layer sampling (Q03, Q11, Q12), as analytic checks (float32 tolerance):
 *   AT-SAM-002 with -oversample_omega, -oversample_polar and both;
 *   AT-ABS-001 with -oversample_thick, with -thicksteps 1 (2 layers), with
 *   --thickness-step=uniform, and the Q12 zero images;
 *   AT-BKG-001 with -oversample 2 and with -oversample 2 -oversample_omega;
 *   AT-ABS-001 with -oversample 2 (cached kappa, P, w of subpixel (0,0));
 *   Q14: dmin-culled pixels lose their water background unless -nopolar/-oversample_polar.
 * spec/acceptance.md §2, §5; physics.md §2.4, §7, §8, §13, §14, §15. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

/* one-pixel ROI case of AT-SAM-002 with the -oversample_* switches */
static void sam002_switch(const char *tag, const char *flags, int ov_polar, int ov_omega)
{
    const int n = 16, os = 2, fp = 12, sp = 3;
    const double F2 = 100.0 * 100.0;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 50, NAN, NAN);
    const char *d = at_dir(tag);
    int rc = at_run(d,
                    B " -N 1 -lambda 1 -detpixels 16 -distance 50 -oversample 2 "
                      "-roi 12 12 3 3 -nonoise -nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    double I = 0, P00 = 0, w00 = 0;
    for (int sS = 0; sS < os; sS++)
        for (int sF = 0; sF < os; sF++) {
            v3 P = at_subpixel_pos(&g, sp, fp, os, sS, sF, 0.0);
            double pol = at_polar(g.b, v3_unit(P), g.p, 0.0), w = at_omega(&g, P, 0);
            if (sS == 0 && sF == 0) {
                P00 = pol;
                w00 = w;
            }
            I += F2;
            if (ov_polar)
                I *= pol;
            if (ov_omega)
                I *= w;
        }
    double S = AT_RE2 * AT_FLUENCE * I / (os * os);
    if (!ov_polar)
        S *= P00;
    if (!ov_omega)
        S *= w00;
    float got = img[sp * n + fp];
    CHECK(at_f32_ok(got, S), "%s: pixel = %.9g, expected the running-sum value %.9g (rel %.3g)",
          tag, got, S, (got - S) / S);
    free(img);
}

/* AT-ABS-001 variants: nl layers of depth dt; ov_thick applies kappa per term */
static void abs_case(const char *tag, const char *flags, int nl, double dt, int ov_thick)
{
    const int n = 32;
    const double F2 = 100.0 * 100.0, mu = 1.0 / (50 * 1e-6);
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir(tag);
    int rc = at_run(d,
                    B " -N 1 -lambda 1 -detpixels 32 -distance 100 -oversample 1 "
                      "-detector_thick 100 -detector_abs 50 -nonoise -nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P0 = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            double I = 0, kap = 0;
            for (int t = 0; t < nl; t++) {
                v3 Pt = at_subpixel_pos(&g, s, f, 1, 0, 0, t * dt);
                double rho = v3_dot(v3_unit(Pt), g.o);
                kap = exp(-t * dt * mu / rho) - exp(-(t + 1) * dt * mu / rho);
                I += F2;
                if (ov_thick)
                    I *= kap;
            }
            double S = AT_RE2 * AT_FLUENCE * I;
            if (!ov_thick)
                S *= kap; /* last layer's value */
            S *= at_polar(g.b, v3_unit(P0), g.p, 0.0) * at_omega(&g, P0, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, S) && bad++ < 5)
                fprintf(stderr, "%s: pixel s %d f %d = %.9g, expected %.9g (rel %.3g)\n", tag, s, f,
                        got, S, (got - S) / S);
        }
    CHECK(bad == 0, "%s: %d pixels differ from the layer formula", tag, bad);
    free(img);
}

/* Q12: all-zero images, with a NOTE line */
static void zero_case(const char *tag, const char *flags)
{
    const int n = 16;
    const char *d = at_dir(tag);
    int rc = at_run(d,
                    B " -N 1 -lambda 1 -detpixels 16 -distance 100 -oversample 1 -nonoise "
                      "-nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (img) {
        int nz = 0;
        for (int i = 0; i < n * n; i++)
            if (img[i] != 0.0f)
                nz++;
        CHECK(nz == 0, "%s (%s): %d non-zero pixels, expected an all-zero image (Q12)", tag, flags,
              nz);
    }
    char *o = at_stdout(d);
    CHECK(strstr(o, "NOTE:") != NULL, "%s (%s): no NOTE: line for the Q12 zero image", tag, flags);
    free(o);
    free(img);
}

/* AT-BKG-001 variants with oversampling */
static void bkg_case(const char *tag, const char *flags, int os, int ov_omega)
{
    const int n = 16;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir(tag);
    at_write_text(d, "zero.hkl", "0 0 0 0\n");
    int rc = at_run(d,
                    "-hkl zero.hkl -nointerpolate -cell 100 100 100 90 90 90 -N 1 "
                    "-detpixels 16 -distance 100 -water 100 -nonoise -nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    const double w = 100 / 1e6;
    const double Ibg = 2.57 * 2.57 * AT_RE2 * AT_FLUENCE * w * w * w * 1e6 * AT_AVOGADRO / 18.0;
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P00 = at_subpixel_pos(&g, s, f, os, 0, 0, 0.0);
            double I = Ibg;
            for (int sS = 0; sS < os; sS++)
                for (int sF = 0; sF < os; sF++) {
                    v3 P = at_subpixel_pos(&g, s, f, os, sS, sF, 0.0);
                    I += 0.0; /* F = 0 */
                    if (ov_omega)
                        I *= at_omega(&g, P, 0);
                }
            double S = AT_RE2 * AT_FLUENCE * I / (os * os);
            S *= at_polar(g.b, v3_unit(P00), g.p, 0.0);
            if (!ov_omega)
                S *= at_omega(&g, P00, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, S) && bad++ < 5)
                fprintf(stderr, "%s: pixel s %d f %d = %.9g, expected %.9g (rel %.3g)\n", tag, s, f,
                        got, S, (got - S) / S);
        }
    CHECK(bad == 0, "%s: %d pixels differ from the background formula", tag, bad);
    free(img);
}

/* AT-ABS-001 with 2x2 oversampling: kappa of subpixel (0,0) of the last layer, P and w of
 * subpixel (0,0) of layer 0; the 4 layers x 4 subpixels of F^2 are divided by steps = 4 */
static void abs_os2(void)
{
    const int n = 32, os = 2, nl = 4;
    const double F2 = 100.0 * 100.0, mu = 1.0 / (50 * 1e-6), dt = 100e-6 / 3.0;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir("abs_os2");
    int rc = at_run(d, B " -N 1 -lambda 1 -detpixels 32 -distance 100 -oversample 2 "
                         "-detector_thick 100 -detector_abs 50 -thicksteps 4 -nonoise -nopgm");
    CHECK(rc == 0, "abs_os2: exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P0 = at_subpixel_pos(&g, s, f, os, 0, 0, 0.0);
            v3 P3 = at_subpixel_pos(&g, s, f, os, 0, 0, (nl - 1) * dt);
            double rho = v3_dot(v3_unit(P3), g.o);
            double kap = exp(-(nl - 1) * dt * mu / rho) - exp(-nl * dt * mu / rho);
            double S = AT_RE2 * AT_FLUENCE * (nl * os * os * F2) / (os * os) * kap *
                       at_polar(g.b, v3_unit(P0), g.p, 0.0) * at_omega(&g, P0, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, S) && bad++ < 5)
                fprintf(stderr, "abs_os2: pixel s %d f %d = %.9g, expected %.9g (rel %.3g)\n", s, f,
                        got, S, (got - S) / S);
        }
    CHECK(bad == 0, "abs_os2: %d pixels differ from the cached-factor formula", bad);
    free(img);
}

/* Q14: a pixel whose every subpath fails the dmin cut is 0 including its water background;
 * with -nopolar or -oversample_polar it keeps the background.  mode 0 default, 1 -nopolar,
 * 2 -oversample_polar. */
static void q14_case(const char *tag, const char *flags, int mode)
{
    const int n = 16;
    const double dmin = 150e-10, lambda = 1e-10;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir(tag);
    at_write_text(d, "zero.hkl", "0 0 0 0\n");
    int rc = at_run(d,
                    "-hkl zero.hkl -nointerpolate -cell 100 100 100 90 90 90 -N 1 "
                    "-detpixels 16 -distance 100 -water 100 -oversample 1 -dmin 150 -nonoise "
                    "-nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    const double w = 100 / 1e6;
    const double Ibg = 2.57 * 2.57 * AT_RE2 * AT_FLUENCE * w * w * w * 1e6 * AT_AVOGADRO / 18.0;
    int bad = 0, ncut = 0, nkeep = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            v3 dv = v3_unit(P);
            double stol = 0.5 * v3_norm(v3_scale(v3_sub(dv, g.b), 1.0 / lambda));
            double dsp = 0.5 / stol;
            if (fabs(dsp - dmin) < 1e-9 * dmin)
                continue;
            int cut = dmin > dsp;
            cut ? ncut++ : nkeep++;
            double pol = at_polar(g.b, dv, g.p, 0.0), om = at_omega(&g, P, 0);
            double S;
            if (mode == 0)
                S = cut ? 0.0 : AT_RE2 * AT_FLUENCE * Ibg * pol * om;
            else if (mode == 1)
                S = AT_RE2 * AT_FLUENCE * Ibg * om;
            else
                S = AT_RE2 * AT_FLUENCE * Ibg * (cut ? 1.0 : pol) * om;
            float got = img[s * n + f];
            if ((S == 0.0 ? got != 0.0f : !at_f32_ok(got, S)) && bad++ < 5)
                fprintf(stderr, "%s: pixel s %d f %d (%s) = %.9g, expected %.9g\n", tag, s, f,
                        cut ? "culled" : "kept", got, S);
        }
    CHECK(ncut > 0 && nkeep > 0, "%s: case does not exercise the cut (%d culled, %d kept)", tag,
          ncut, nkeep);
    CHECK(bad == 0, "%s: %d pixels violate Q14", tag, bad);
    free(img);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_oversample"))
        return 2;
    sam002_switch("sam002_omega", "-oversample_omega", 0, 1);
    sam002_switch("sam002_polar", "-oversample_polar", 1, 0);
    sam002_switch("sam002_both", "-oversample_polar -oversample_omega", 1, 1);
    const double T = 100e-6;
    abs_case("abs_thick", "-thicksteps 4 -oversample_thick", 4, T / 3.0, 1);
    abs_case("abs_2layers", "-thicksteps 1", 2, T, 0);
    abs_case("abs_uniform", "-thicksteps 4 --thickness-step=uniform", 4, T / 4.0, 0);
    zero_case("q12_ovthick", "-oversample_thick");
    zero_case("q12_absinf", "-detector_abs inf -detector_thick 100");
    bkg_case("bkg_os2", "-oversample 2", 2, 0);
    bkg_case("bkg_os2_omega", "-oversample 2 -oversample_omega", 2, 1);
    abs_os2();
    q14_case("q14_default", "", 0);
    q14_case("q14_nopolar", "-nopolar", 1);
    q14_case("q14_ovpolar", "-oversample_polar", 2);
    return at_finish();
}
