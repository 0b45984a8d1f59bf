/* test_at_pol.c -- AT-POL-001 (properties, MOSFLM, XDS, DIALS axes, Q13) and AT-BKG-001
 * (property).  spec/acceptance.md §4, §5; physics.md §7, §9, §14, §15. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

/* kind: K >= 0 -> Kahn formula with K; K < 0 -> factor 1 */
static void pol_case(const char *name, int conv, const char *flags, double K)
{
    const int n = 64;
    at_det g;
    at_det_init(&g, conv, n, n, 0.1, 50, NAN, NAN);
    const char *d = at_dir(name);
    int rc = at_run(d,
                    B " -N 1 -lambda 1 -detpixels 64 -distance 50 -oversample 1 -nonoise "
                      "-nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", name, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    int bad = 0;
    double pmin = 2, pmax = -1;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            double pol = K < 0 ? 1.0 : at_polar(g.b, v3_unit(P), g.p, K);
            pmin = fmin(pmin, pol);
            pmax = fmax(pmax, pol);
            double want = AT_RE2 * AT_FLUENCE * 100.0 * 100.0 * pol * at_omega(&g, P, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr,
                        "%s: pixel s %d f %d: %.9g, expected %.9g (factor %.12g, got "
                        "factor %.12g)\n",
                        name, s, f, got, want, pol, pol * got / want);
        }
    CHECK(bad == 0, "%s (%s): %d pixels differ from the polarization formula (K=%g)", name, flags,
          bad, K);
    printf("%s: polarization factor range %.9f .. %.9f\n", name, pmin, pmax);
    free(img);
}

static void pol001(void)
{
    pol_case("pol_K0", AT_MOSFLM, "-polar 0", 0.0);
    pol_case("pol_K095", AT_MOSFLM, "-polar 0.95", 0.95);
    pol_case("pol_K1", AT_MOSFLM, "-polar 1", 1.0);
    pol_case("pol_nopolar", AT_MOSFLM, "-nopolar", -1.0);
    /* Q13: -oversample_polar recomputes the factor with the current Kahn factor */
    pol_case("pol_nopolar_ovp", AT_MOSFLM, "-nopolar -oversample_polar", 0.0);
    pol_case("pol_K095_nopolar_ovp", AT_MOSFLM, "-polar 0.95 -nopolar -oversample_polar", 0.95);
    pol_case("pol_xds", AT_XDS, "-xds -polar 0.95", 0.95);
    pol_case("pol_dials", AT_DIALS, "-dials -polar 0.95", 0.95);
}

/* AT-BKG-001 water background: value = r_e^2 fluence I_bg P w */
static void bkg001(void)
{
    const int n = 16;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir("bkg001");
    at_write_text(d, "zero.hkl", "0 0 0 0\n");
    int rc = at_run(d, "-hkl zero.hkl -nointerpolate -cell 100 100 100 90 90 90 -N 1 "
                       "-detpixels 16 -distance 100 -water 100 -oversample 1 -nonoise -nopgm");
    CHECK(rc == 0, "exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    const double w = 100 / 1e6;
    double Ibg = 2.57 * 2.57 * AT_RE2 * AT_FLUENCE * w * w * w * 1e6 * AT_AVOGADRO / 18.0;
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            double want = AT_RE2 * AT_FLUENCE * Ibg * at_polar(g.b, v3_unit(P), g.p, 0.0) *
                          at_omega(&g, P, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr, "pixel s %d f %d: %.9g, expected %.9g (rel %.3g)\n", s, f, got,
                        want, (got - want) / want);
        }
    CHECK(bad == 0, "%d pixels differ from r_e^2 fluence I_bg P w", bad);
    free(img);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_pol"))
        return 2;
    pol001();
    bkg001();
    return at_finish();
}
