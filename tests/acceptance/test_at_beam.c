/* test_at_beam.c -- beam properties that need no reference binary:
 *   AT-SRC-001: two-source file: "2 sources"; the λ column is used (Q07: --source-lambda=cli
 *     equals the file with both λ = 1e-10); weights ignored (Q08: changing them changes
 *     nothing; with -nopolar the image is the mean of the single-source images);
 *     --source-weights=apply gives the weighted mean (3e-7); the quirk file (comment line,
 *     last line without newline) exits 9 naming the file, writing nothing;
 *   AT-FLU-001: fluence = flux*exposure/beamsize^2 overrides -fluence; sample clipped to the
 *     beam (printed crystal size); the image scales with the fluence; default 0.1 mm beam
 *     clips -xtalsize 0.2 (Q21); -exposure 0 leaves the fluence unchanged.
 * spec/acceptance.md §7, §9; physics.md §2.6, §4.1, §14; formats.md §4. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"
#define SRC_CMD B " -N 5 -lambda 1 -detpixels 128 -distance 100 -oversample 1 -nonoise -nopgm"

static const size_t NPIX = 128 * 128;

static float *src_run(const char *sub, const char *file_text, const char *flags, char **out)
{
    const char *d = at_dir(sub);
    at_write_text(d, "src.txt", file_text);
    int rc = at_run(d, SRC_CMD " -sourcefile src.txt %s", flags);
    CHECK(rc == 0, "%s: exit status %d", sub, rc);
    if (out)
        *out = at_stdout(d);
    return rc == 0 ? at_floats(d, "floatimage.bin", NPIX) : NULL;
}

static int same(const float *a, const float *b)
{
    return a && b && memcmp(a, b, NPIX * sizeof(float)) == 0;
}

static void weighted(const char *tag, const float *two, const float *s1, const float *s2, double w1,
                     double w2)
{
    if (!two || !s1 || !s2)
        return;
    int bad = 0;
    for (size_t i = 0; i < NPIX; i++) {
        double want = (w1 * s1[i] + w2 * s2[i]) / 2.0;
        if (want == 0.0 ? two[i] != 0.0f : !at_ratio_ok(two[i], want, 1.0)) {
            if (bad++ < 5)
                fprintf(stderr, "%s: pixel %zu = %.9g, expected (%g*%.9g + %g*%.9g)/2 = %.9g\n",
                        tag, i, two[i], w1, s1[i], w2, s2[i], want);
        }
    }
    CHECK(bad == 0, "%s: %d pixels differ from the weighted mean of the single-source images", tag,
          bad);
}

static void src001(void)
{
    const char *f2 = "-10 0 0 1.0 1.0e-10\n-10 0.05 0 5.0 1.1e-10\n";
    char *o = NULL;
    float *two = src_run("src_two", f2, "", &o);
    CHECK(at_count_lines(o, "  2 sources") == 1, "two-source file: no '  2 sources' line");
    CHECK(strstr(o, "created a total of 2 sources") != NULL,
          "two-source file: no 'created a total of 2 sources' line");
    free(o);
    /* Q07: the λ column is used; --source-lambda=cli is the file with both λ = 1e-10 */
    float *cli = src_run("src_lcli", f2, "--source-lambda=cli", NULL);
    float *l1 = src_run("src_l1", "-10 0 0 1.0 1.0e-10\n-10 0.05 0 5.0 1.0e-10\n", "", NULL);
    CHECK(same(cli, l1), "--source-lambda=cli differs from the file with both lambda = 1e-10");
    CHECK(two && l1 && !same(two, l1), "the lambda column of the source file is not used (Q07)");
    /* Q08: weights ignored */
    float *w11 = src_run("src_w11", "-10 0 0 1.0 1.0e-10\n-10 0.05 0 1.0 1.1e-10\n", "", NULL);
    CHECK(same(two, w11), "changing the weight column changed the image (Q08)");
    /* weighted means, with -nopolar (the polarization factor comes from the first source
     * only, Q27, so a single-source run of source 2 would use a different factor) */
    float *np2 = src_run("src_np_two", f2, "-nopolar", NULL);
    float *np_ap = src_run("src_np_apply", f2, "-nopolar --source-weights=apply", NULL);
    float *np_s1 = src_run("src_np_s1", "-10 0 0 1.0 1.0e-10\n", "-nopolar", NULL);
    float *np_s2 = src_run("src_np_s2", "-10 0.05 0 5.0 1.1e-10\n", "-nopolar", NULL);
    weighted("ignore", np2, np_s1, np_s2, 1.0, 1.0);
    weighted("--source-weights=apply", np_ap, np_s1, np_s2, 1.0, 5.0);
    float *all[] = {two, cli, l1, w11, np2, np_ap, np_s1, np_s2};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
    /* quirk file: '# comment' line and a last line without newline -> exit 9 naming the file */
    const char *d = at_dir("src_quirk");
    at_write_text(d, "quirk_src.txt", "# comment\n-10 0 0 1.0 1.0e-10\n-10 0.05 0 5.0 1.1e-10");
    int rc = at_run(d, SRC_CMD " -sourcefile quirk_src.txt");
    CHECK(rc == 9, "quirk source file: exit status %d, expected 9", rc);
    char *e = at_stderr(d), *so = at_stdout(d);
    CHECK(strstr(e, "quirk_src.txt") || strstr(so, "quirk_src.txt"),
          "quirk source file: the error does not name the file");
    CHECK(!at_exists(d, "floatimage.bin") && !at_exists(d, "intimage.img"),
          "quirk source file: output written");
    free(e);
    free(so);
}

static float *flu_run(const char *sub, const char *flags, size_t n, char **out)
{
    const char *d = at_dir(sub);
    int rc = at_run(d, B " -lambda 1 -distance 100 -oversample 1 -nonoise -nopgm %s", flags);
    CHECK(rc == 0, "%s: exit status %d", sub, rc);
    if (out)
        *out = at_stdout(d);
    return rc == 0 ? at_floats(d, "floatimage.bin", n) : NULL;
}

static void flu001(void)
{
    const size_t n = 64 * 64;
    char *o = NULL;
    float *a = flu_run("flu_flux",
                       "-detpixels 64 -flux 1e12 -exposure 2 -beamsize 0.00005 "
                       "-fluence 1e20 -xtalsize 0.0001",
                       n, &o);
    double v[3] = {NAN, NAN, NAN};
    CHECK(at_nums(o, "  incident fluence: ", v, 1) == 1 && fabs(v[0] - 8e26) <= 1e-5 * 8e26,
          "printed fluence %g, expected 1e12*2/(5e-8)^2 = 8e+26", v[0]);
    CHECK(at_nums(o, "crystal is ", v, 3) == 3 && fabs(v[0] - 0.1) < 1e-9 &&
              fabs(v[1] - 0.05) < 1e-9 && fabs(v[2] - 0.05) < 1e-9,
          "crystal is %g x %g x %g microns, expected 0.1 x 0.05 x 0.05 (y, z clipped to the "
          "5e-8 m beam)",
          v[0], v[1], v[2]);
    free(o);
    /* the same crystal given as cell counts and the fluence given directly: same image */
    float *b = flu_run("flu_direct",
                       "-detpixels 64 -fluence 8e26 -Na 10 -Nb 5 -Nc 5 -beamsize "
                       "0.00005 -nointerpolate",
                       n, NULL);
    if (a && b) {
        int bad = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            sum += a[i];
            if (!at_ratio_ok(a[i], b[i], 1.0) && bad++ < 5)
                fprintf(stderr, "flu: pixel %zu: %.9g vs %.9g\n", i, a[i], b[i]);
        }
        CHECK(sum > 0, "flux run: empty image");
        CHECK(bad == 0,
              "flux/exposure/beamsize run differs from -fluence 8e26 with the clipped "
              "crystal (%d pixels)",
              bad);
    }
    free(a);
    free(b);
    /* Q21: the default 0.1 mm beam clips -xtalsize 0.2 */
    o = NULL;
    a = flu_run("flu_q21", "-detpixels 8 -roi 0 0 0 0 -xtalsize 0.2", 64, &o);
    CHECK(at_nums(o, "crystal is ", v, 3) == 3 && fabs(v[0] - 200) < 1e-6 &&
              fabs(v[1] - 100) < 1e-6 && fabs(v[2] - 100) < 1e-6,
          "crystal is %g x %g x %g microns, expected 200 x 100 x 100 (Q21)", v[0], v[1], v[2]);
    free(o);
    free(a);
    /* -exposure 0: fluence unchanged */
    o = NULL;
    a = flu_run("flu_exp0", "-detpixels 8 -flux 1e12 -exposure 0", 64, &o);
    CHECK(at_nums(o, "  incident fluence: ", v, 1) == 1 &&
              fabs(v[0] - AT_FLUENCE) <= 1e-5 * AT_FLUENCE,
          "-flux 1e12 -exposure 0: printed fluence %g, expected the default %g", v[0], AT_FLUENCE);
    free(o);
    free(a);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_beam"))
        return 2;
    src001();
    flu001();
    return at_finish();
}
