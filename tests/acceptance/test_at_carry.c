/* test_at_carry.c -- AT-CARRY-002 [new]: --phi-carryover=spec equals the default mode run
 * with -phi 1e-28 (a tiny non-zero start that disables the carry); spec == c-parity when the
 * phi sequence has no exact zero or no non-zero angle; the c-parity NOTE line is printed
 * exactly when the modes differ.  spec/acceptance.md §13; carryover.md §1, §3;
 * physics.md §10. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOTE "NOTE: phi carryover"

#define CASE_A "-cell 70 70 70 90 90 90 -default_F 1 -N 2 -distance 100 -detpixels 4 -pixel 0.1"
#define CASE_B                                                                                     \
    "-default_F 100 -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -pixel 0.1 -distance 100 "         \
    "-detpixels 256 -mosflm -seed 1 -mosaic 0 -oversample 1"

typedef struct {
    float *img;
    char *out;
    const char *dir;
    int rc;
} run_t;

static run_t run(const char *sub, const char *fmt, const char *base, const char *phi,
                 const char *mode)
{
    run_t r;
    r.dir = at_dir(sub);
    r.rc = at_run(r.dir, fmt, base, phi, mode);
    CHECK(r.rc == 0, "%s: exit status %d", sub, r.rc);
    r.out = at_stdout(r.dir);
    r.img = NULL;
    return r;
}

static void run_free(run_t *r)
{
    free(r->img);
    free(r->out);
}

static double rel_linf(const float *a, const float *b, size_t n)
{
    double mx = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs((double)b[i]));
        md = fmax(md, fabs((double)a[i] - (double)b[i]));
        if (isnan(a[i]) || isnan(b[i]))
            return INFINITY;
    }
    return mx > 0 ? md / mx : md;
}

/* spec mode with phi0 = 0 vs c-parity with phi0 = 1e-28: rel-Linf <= 1e-12 */
static void spec_vs_tiny(const char *tag, const char *base, const char *sweep, int npix,
                         int expect_diff)
{
    char s1[64], s2[64], phi0[256], phit[256];
    snprintf(s1, sizeof s1, "%s_spec", tag);
    snprintf(s2, sizeof s2, "%s_tiny", tag);
    snprintf(phi0, sizeof phi0, "-phi 0 %s", sweep);
    snprintf(phit, sizeof phit, "-phi 1e-28 %s", sweep);
    const char *fmt = "%s %s %s -nonoise -nopgm";
    run_t a = run(s1, fmt, base, phi0, "--phi-carryover=spec");
    run_t b = run(s2, fmt, base, phit, "");
    size_t n = (size_t)npix * npix;
    a.img = at_floats(a.dir, "floatimage.bin", n);
    b.img = at_floats(b.dir, "floatimage.bin", n);
    if (a.img && b.img) {
        double rel = rel_linf(a.img, b.img, n);
        printf("%s: spec(-phi 0) vs c-parity(-phi 1e-28): rel-Linf %.3g\n", tag, rel);
        CHECK(rel <= 1e-12, "%s: spec mode differs from the -phi 1e-28 run: rel %.3g > 1e-12", tag,
              rel);
    }
    CHECK(at_line(a.out, NOTE) == NULL, "%s: spec mode prints the c-parity NOTE", tag);
    CHECK(at_line(b.out, NOTE) == NULL, "%s: -phi 1e-28 (no zero step) prints the NOTE", tag);
    /* c-parity with phi0 = 0: the carry is active -> NOTE, and the image differs */
    char s3[64];
    snprintf(s3, sizeof s3, "%s_cpar", tag);
    run_t c = run(s3, fmt, base, phi0, "");
    c.img = at_floats(c.dir, "floatimage.bin", n);
    CHECK(at_line(c.out, NOTE) != NULL, "%s: c-parity with a phi=0 step: no '%s' line", tag, NOTE);
    /* (in case (a) the carried rotation of 0.081 deg changes the pixels by ~1e-8 relative,
     * below float32 resolution, so the images may coincide there) */
    if (expect_diff)
        CHECK(a.img && c.img && memcmp(a.img, c.img, n * 4) != 0,
              "%s: c-parity and spec give identical images although the carry is active", tag);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}

/* spec == c-parity (identical files) when the modes cannot differ; no NOTE */
static void same_modes(const char *tag, const char *base, const char *phi, int npix)
{
    char s1[64], s2[64];
    snprintf(s1, sizeof s1, "%s_spec", tag);
    snprintf(s2, sizeof s2, "%s_cpar", tag);
    const char *fmt = "%s %s %s -seed 4";
    run_t a = run(s1, fmt, base, phi, "--phi-carryover=spec");
    run_t b = run(s2, fmt, base, phi, "");
    (void)npix;
    static const char *files[] = {"floatimage.bin", "intimage.img", "noiseimage.img", "image.pgm"};
    for (size_t k = 0; k < 4; k++)
        CHECK(at_same_file(a.dir, b.dir, files[k]), "%s (%s): %s differs between spec and c-parity",
              tag, phi, files[k]);
    CHECK(at_line(b.out, NOTE) == NULL,
          "%s (%s): c-parity prints the NOTE although the modes "
          "agree",
          tag, phi);
    run_free(&a);
    run_free(&b);
}

/* Case (a) in double precision: its float images coincide in all modes (see above), so
 * compare the %.15g "TRACE_C: I_pixel_final" of every pixel (-trace_pixel s f). */
static double trace_final(const char *sub, const char *phi, const char *mode, int s, int f)
{
    const char *d = at_dir(sub);
    int rc = at_run(d, CASE_A " %s -osc 0.09 -phisteps 10 -nonoise -nopgm -trace_pixel %d %d %s",
                    phi, s, f, mode);
    CHECK(rc == 0, "%s: exit status %d", sub, rc);
    char *o = at_stdout(d);
    double v = NAN;
    CHECK(at_nums(o, "TRACE_C: I_pixel_final ", &v, 1) == 1, "%s: no I_pixel_final trace line",
          sub);
    free(o);
    return v;
}

static void case_a_double(void)
{
    /* pixel 0 holds E1; the others (row 0, the diagonal, corners) carry R(phi*) */
    static const int pix[8] = {0, 1, 2, 3, 5, 10, 12, 15};
    double vs[8], vt[8], vc[8], mx = 0, md = 0, mdc = 0;
    for (int k = 0; k < 8; k++) {
        int s = pix[k] / 4, f = pix[k] % 4, i = k;
        vs[i] = trace_final("a_tr_spec", "-phi 0", "--phi-carryover=spec", s, f);
        vt[i] = trace_final("a_tr_tiny", "-phi 1e-28", "", s, f);
        vc[i] = trace_final("a_tr_cpar", "-phi 0", "", s, f);
        mx = fmax(mx, fabs(vt[i]));
        md = fmax(md, fabs(vs[i] - vt[i]));
        if (i > 0)
            mdc = fmax(mdc, fabs(vc[i] - vs[i]));
    }
    printf("a (double, traced): spec vs -phi 1e-28 rel-Linf %.3g; c-parity vs spec %.3g\n", md / mx,
           mdc / mx);
    CHECK(md <= 1e-12 * mx, "(a) traced: spec differs from -phi 1e-28: rel %.3g > 1e-12", md / mx);
    CHECK(mdc > 0, "(a) traced: c-parity equals spec on every pixel after E1 (carry not active)");
    CHECK(vc[0] == vs[0], "(a) traced: first pixel (E1) differs between c-parity and spec");
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_carry"))
        return 2;
    /* (a) */
    spec_vs_tiny("a", CASE_A, "-osc 0.09 -phisteps 10", 4, 0);
    case_a_double();
    same_modes("a_1step", CASE_A, "-phi 0 -osc 0.09 -phisteps 1", 4);
    same_modes("a_phi5", CASE_A, "-phi 5 -osc 0.09 -phisteps 10", 4);
    /* (b) AT-PARALLEL-021 9-step case and (d) with -dmin 60 */
    spec_vs_tiny("b", CASE_B, "-osc 90 -phisteps 9", 256, 1);
    spec_vs_tiny("d", CASE_B " -dmin 60", "-osc 90 -phisteps 9", 256, 1);
    /* (c) zero step in the middle: -phi -10 -osc 20 -phistep 10 -phisteps 3 */
    {
        const char *fmt = "%s %s %s -nonoise -nopgm";
        run_t a = run("c_spec", fmt, CASE_B, "-phi -10 -osc 20 -phistep 10 -phisteps 3",
                      "--phi-carryover=spec");
        run_t b = run("c_cpar", fmt, CASE_B, "-phi -10 -osc 20 -phistep 10 -phisteps 3", "");
        CHECK(at_line(b.out, NOTE) != NULL, "(c): c-parity with a middle zero step: no NOTE");
        CHECK(at_line(a.out, NOTE) == NULL, "(c): spec mode prints the NOTE");
        CHECK(!at_same_file(a.dir, b.dir, "floatimage.bin"),
              "(c): spec and c-parity identical although the middle step is exactly 0");
        run_free(&a);
        run_free(&b);
    }
    return at_finish();
}
