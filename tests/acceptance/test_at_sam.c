/* test_at_sam.c -- AT-SAM-001, AT-SAM-002 (property), AT-ABS-001 (property),
 * AT-SAM-003 / AT-CLI-008 (dmin properties).
 * spec/acceptance.md §2; physics.md §7, §8, §9, §13, §14. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

/* AT-SAM-001: two identical steps at phi = 0 give the image of one step */
static void sam001(void)
{
    const int n = 128;
    const char *d1 = at_dir("sam001_two");
    const char *d2 = at_dir("sam001_one");
    int rc1 = at_run(d1, B " -N 5 -lambda 6.2 -detpixels 128 -distance 100 -oversample 1 "
                           "-phi 0 -osc 0 -phisteps 2 -nonoise -nopgm");
    int rc2 = at_run(d2, B " -N 5 -lambda 6.2 -detpixels 128 -distance 100 -oversample 1 "
                           "-phi 0 -osc 0 -phisteps 1 -nonoise -nopgm");
    CHECK(rc1 == 0 && rc2 == 0, "exit status %d / %d", rc1, rc2);
    float *a = at_floats(d1, "floatimage.bin", (size_t)n * n);
    float *b = at_floats(d2, "floatimage.bin", (size_t)n * n);
    if (a && b) {
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s/sam001", d1);
        CHECK(nb_test_compare_floats(a, b, (size_t)n * n, n, 0.0, prefix, NULL) == 0,
              "-phisteps 2 at phi=0 differs from -phisteps 1 (T0 required)");
        double sum = 0;
        for (int i = 0; i < n * n; i++)
            sum += b[i];
        CHECK(sum > 0, "image is empty");
    }
    free(a);
    free(b);
}

/* AT-SAM-002: with the cached factors the pixel value is r_e^2 fluence F^2 P00 w00 */
static void sam002(void)
{
    const int n = 16, os = 2, fp = 12, sp = 3;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 50, NAN, NAN);
    const char *d = at_dir("sam002");
    int rc = at_run(d, B " -N 1 -lambda 1 -detpixels 16 -distance 50 -oversample 2 "
                         "-roi 12 12 3 3 -nonoise -nopgm");
    CHECK(rc == 0, "exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (img) {
        v3 P = at_subpixel_pos(&g, sp, fp, os, 0, 0, 0.0);
        double w = at_omega(&g, P, 0);
        double pol = at_polar(g.b, v3_unit(P), g.p, 0.0);
        double want = AT_RE2 * AT_FLUENCE * 100.0 * 100.0 * pol * w;
        float got = img[sp * n + fp];
        CHECK(at_f32_ok(got, want),
              "pixel (s %d, f %d) = %.9g, expected r_e^2 fluence 100^2 "
              "P00 w00 = %.9g (rel %.3g)",
              sp, fp, got, want, (got - want) / want);
        /* the mean over subpixels is measurably different: the test discriminates */
        double mean = 0;
        for (int sS = 0; sS < os; sS++)
            for (int sF = 0; sF < os; sF++) {
                v3 Q = at_subpixel_pos(&g, sp, fp, os, sS, sF, 0.0);
                mean += at_polar(g.b, v3_unit(Q), g.p, 0.0) * at_omega(&g, Q, 0);
            }
        mean /= os * os;
        double want_pt = AT_RE2 * AT_FLUENCE * 100.0 * 100.0 * mean;
        CHECK(fabs(want_pt - want) > 1e-6 * want, "test pixel does not discriminate");
        int nz = 0;
        for (int i = 0; i < n * n; i++)
            if (i != sp * n + fp && img[i] != 0.0f)
                nz++;
        CHECK(nz == 0, "%d pixels outside the one-pixel ROI are non-zero", nz);
    }
    free(img);
}

/* AT-ABS-001: value = r_e^2 fluence 100^2 4 kappa_3 P w (layer step T/(n-1)) */
static void abs001(void)
{
    const int n = 32;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const char *d = at_dir("abs001");
    int rc = at_run(d, B " -N 1 -lambda 1 -detpixels 32 -distance 100 -oversample 1 "
                         "-detector_thick 100 -detector_abs 50 -thicksteps 4 -nonoise -nopgm");
    CHECK(rc == 0, "exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    const double T = 100 * 1e-6, dt = T / 3.0, mu = 1.0 / (50 * 1e-6);
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P0 = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            v3 P3 = at_subpixel_pos(&g, s, f, 1, 0, 0, 3 * dt);
            double rho = v3_dot(v3_unit(P3), g.o);
            double kap = exp(-3 * dt * mu / rho) - exp(-4 * dt * mu / rho);
            double want = AT_RE2 * AT_FLUENCE * 100.0 * 100.0 * 4 * kap *
                          at_polar(g.b, v3_unit(P0), g.p, 0.0) * at_omega(&g, P0, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr, "pixel s %d f %d: %.9g, expected %.9g (rel %.3g)\n", s, f, got,
                        want, (got - want) / want);
        }
    CHECK(bad == 0, "%d pixels differ from r_e^2 fluence 100^2 4 kappa3 P w", bad);
    free(img);
}

/* d-spacing lam/(2 sin theta) at detector plane point (Fdet, Sdet) */
static double dspacing(const at_det *g, double Fdet, double Sdet, double lambda)
{
    v3 P = v3_add(v3_add(v3_scale(g->f, Fdet), v3_scale(g->s, Sdet)), g->pix0);
    v3 q = v3_scale(v3_sub(v3_unit(P), g->b), 1.0 / lambda);
    double stol = 0.5 * v3_norm(q);
    return 0.5 / stol;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* AT-SAM-003 / AT-CLI-008 dmin culling */
static void sam003(void)
{
    const int n = 256;
    const double lambda = 1e-10, dmin = 3.5e-10;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 50, NAN, NAN);
    const char *dw = at_dir("sam003_with");
    const char *dn = at_dir("sam003_without");
    int rc1 = at_run(dw, B " -N 5 -lambda 1 -detpixels 256 -distance 50 -dmin 3.5 -nonoise "
                           "-nopgm");
    int rc2 = at_run(dn, B " -N 5 -lambda 1 -detpixels 256 -distance 50 -nonoise -nopgm");
    CHECK(rc1 == 0 && rc2 == 0, "exit status %d / %d", rc1, rc2);
    float *a = at_floats(dw, "floatimage.bin", (size_t)n * n);
    float *b = at_floats(dn, "floatimage.bin", (size_t)n * n);
    if (!a || !b)
        return;
    double sa = 0, sb = 0;
    int ncut = 0, nkeep = 0, bad_cut = 0, bad_keep = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            size_t i = (size_t)s * n + f;
            sa += a[i];
            sb += b[i];
            /* pixel rectangle in plane coordinates; the beam spot is at (Fbeam, Sbeam) and
             * the beam is normal to the plane, so d falls with the in-plane distance */
            double F0 = f * g.pixel, F1 = (f + 1) * g.pixel;
            double S0 = s * g.pixel, S1 = (s + 1) * g.pixel;
            double Fn = clampd(g.Fbeam, F0, F1), Sn = clampd(g.Sbeam, S0, S1);
            double Ff = fabs(F0 - g.Fbeam) > fabs(F1 - g.Fbeam) ? F0 : F1;
            double Sf = fabs(S0 - g.Sbeam) > fabs(S1 - g.Sbeam) ? S0 : S1;
            double dmax = dspacing(&g, Fn, Sn, lambda), dlow = dspacing(&g, Ff, Sf, lambda);
            if (dmax < dmin * (1 - 1e-9)) {
                ncut++;
                if (a[i] != 0.0f && bad_cut++ < 5)
                    fprintf(stderr,
                            "pixel s %d f %d: d <= %.4g A everywhere but value %.9g "
                            "(expected exactly 0)\n",
                            s, f, dmax * 1e10, a[i]);
            } else if (dlow > dmin * (1 + 1e-9)) {
                nkeep++;
                if (a[i] != b[i] && bad_keep++ < 5)
                    fprintf(stderr,
                            "pixel s %d f %d: d >= %.4g A everywhere but value %.9g "
                            "differs from the run without -dmin (%.9g)\n",
                            s, f, dlow * 1e10, a[i], b[i]);
            }
        }
    printf("dmin: %d pixels entirely beyond the cut, %d entirely inside\n", ncut, nkeep);
    CHECK(ncut > 0 && nkeep > 0, "geometry does not exercise the cut (%d cut, %d kept)", ncut,
          nkeep);
    CHECK(bad_cut == 0, "%d fully culled pixels are not exactly 0", bad_cut);
    CHECK(bad_keep == 0, "%d uncut pixels differ from the run without -dmin", bad_keep);
    CHECK(sa <= sb, "sum with -dmin %.9g > sum without %.9g", sa, sb);
    CHECK(sa < sb, "-dmin 3.5 removed nothing (sum %.9g)", sa);
    free(a);
    free(b);
}

/* normalization and domain-0 identities: -mosaic s -mosaic_dom 1 is the identity domain
 * (physics.md §5: U_0 := I), two identical source-file lines equal one (steps = N_src x ...),
 * the mosaic seed matters for more domains */
static float *render64(const char *sub, const char *flags, const char *srcfile)
{
    const char *d = at_dir(sub);
    if (srcfile)
        at_write_text(d, "src.txt", srcfile);
    int rc = at_run(d,
                    B " -N 5 -lambda 6.2 -detpixels 64 -distance 100 -oversample 1 -nonoise "
                      "-nopgm %s",
                    flags);
    CHECK(rc == 0, "%s (%s): exit status %d", sub, flags, rc);
    return rc == 0 ? at_floats(d, "floatimage.bin", 64 * 64) : NULL;
}

static void equivalences(void)
{
    const size_t nb = 64 * 64 * sizeof(float);
    float *z = render64("eq_plain", "", NULL);
    float *m1 = render64("eq_mosaic1", "-mosaic 0.5 -mosaic_dom 1", NULL);
    CHECK(z && m1 && memcmp(z, m1, nb) == 0,
          "-mosaic 0.5 -mosaic_dom 1 differs from no mosaic (domain 0 must be the identity)");
    float *a = render64("eq_seed5a", "-mosaic 0.5 -mosaic_dom 3 -mosaic_seed 5", NULL);
    float *b = render64("eq_seed5b", "-mosaic 0.5 -mosaic_dom 3 -mosaic_seed 5", NULL);
    float *c = render64("eq_seed6", "-mosaic 0.5 -mosaic_dom 3 -mosaic_seed 6", NULL);
    CHECK(a && b && memcmp(a, b, nb) == 0, "same -mosaic_seed twice: different images");
    CHECK(a && c && memcmp(a, c, nb) != 0, "-mosaic_seed 5 vs 6: identical images");
    float *s1 = render64("eq_src1", "-sourcefile src.txt", "-10 0 0 1 6.2e-10\n");
    float *s2 =
        render64("eq_src2", "-sourcefile src.txt", "-10 0 0 1 6.2e-10\n-10 0 0 1 6.2e-10\n");
    CHECK(s1 && s2 && memcmp(s1, s2, nb) == 0, "two identical sources differ from one source");
    CHECK(s1 && z && memcmp(s1, z, nb) == 0,
          "a source file with the default source differs from the generated default source");
    float *all[] = {z, m1, a, b, c, s1, s2};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_sam"))
        return 2;
    sam001();
    sam002();
    abs001();
    sam003();
    equivalences();
    return at_finish();
}
