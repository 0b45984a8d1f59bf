/* test_at_pre.c -- AT-PRE-001 / AT-CLI-004 header precedence as properties, with SMV files
 * written by the test (no reference binary):
 *   - -img/-mask in both command-line orders give identical results (mask read first, image
 *     header wins for shared keys);
 *   - header CLOSE_DISTANCE overrides -distance; WAVELENGTH, PIXEL_SIZE, BEAM_CENTER_X/Y,
 *     PHI, OSC_RANGE are taken from the image header; TWOTHETA has no effect (Q16);
 *   - BEAM_CENTER_Y of a mask is measured from the opposite edge;
 *   - command-line flags override header values;
 *   - a mask whose size differs from -detpixels, and a truncated mask, exit 9 (cli.md §3, §6).
 * spec/acceptance.md §8; cli.md §3, §4, §6; formats.md §5. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BASE "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -nonoise -nopgm"

static void write_smv(const char *dir, const char *name, const char *keys, int fp, int sp,
                      const uint16_t *data, size_t ndata)
{
    size_t n = (size_t)fp * sp;
    if (ndata > n)
        ndata = n;
    unsigned char *b = malloc(512 + 2 * n);
    memset(b, ' ', 512);
    char h[512];
    int hl = snprintf(h, sizeof h,
                      "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                      "TYPE=unsigned_short;\nSIZE1=%d;\nSIZE2=%d;\n%s}\f",
                      fp, sp, keys);
    memcpy(b, h, (size_t)hl);
    for (size_t i = 0; i < ndata; i++) {
        b[512 + 2 * i] = (unsigned char)(data[i] & 0xff);
        b[512 + 2 * i + 1] = (unsigned char)(data[i] >> 8);
    }
    at_write(dir, name, b, 512 + 2 * ndata);
    free(b);
}

static const char *IMG_KEYS = "PIXEL_SIZE=0.1;\nDISTANCE=150;\nWAVELENGTH=1.5;\n"
                              "BEAM_CENTER_X=3.3;\nBEAM_CENTER_Y=3.0;\nCLOSE_DISTANCE=150;\n"
                              "PHI=10;\nOSC_RANGE=0.5;\nTWOTHETA=15;\n";
static const char *IMG0_KEYS = "PIXEL_SIZE=0.1;\nDISTANCE=150;\nWAVELENGTH=1.5;\n"
                               "BEAM_CENTER_X=3.3;\nBEAM_CENTER_Y=3.0;\nCLOSE_DISTANCE=150;\n"
                               "PHI=10;\nOSC_RANGE=0.5;\nTWOTHETA=0;\n";
static const char *MASK_KEYS = "PIXEL_SIZE=0.172;\nDISTANCE=200;\nWAVELENGTH=2;\n"
                               "BEAM_CENTER_X=4.0;\nBEAM_CENTER_Y=2.0;\nCLOSE_DISTANCE=200;\n";

static uint16_t *mask_data(int n)
{
    uint16_t *m = malloc(sizeof(uint16_t) * n * n);
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++)
            m[s * n + f] = (s >= 10 && s < 20 && f >= 30 && f < 45) ? 0 : 1;
    return m;
}

static const char *setup(const char *sub)
{
    const char *d = at_dir(sub);
    uint16_t *m = mask_data(64);
    uint16_t *img = malloc(sizeof(uint16_t) * 64 * 64);
    for (int i = 0; i < 64 * 64; i++)
        img[i] = (uint16_t)(i % 1000);
    write_smv(d, "img.img", IMG_KEYS, 64, 64, img, 64 * 64);
    write_smv(d, "img0.img", IMG0_KEYS, 64, 64, img, 64 * 64);
    write_smv(d, "mask.img", MASK_KEYS, 64, 64, m, 64 * 64);
    write_smv(d, "short.img", MASK_KEYS, 64, 64, m, 64 * 32);
    free(m);
    free(img);
    return d;
}

static int g_equal(double printed, double mine)
{
    return fabs(printed - mine) <= 6e-6 * fabs(mine) + 1e-300;
}

static void expect_nums(const char *tag, const char *out, const char *prefix, int n,
                        const double *want)
{
    double v[4] = {NAN, NAN, NAN, NAN};
    int k = at_nums(out, prefix, v, n);
    int ok = k == n;
    for (int i = 0; ok && i < n; i++)
        ok = g_equal(v[i], want[i]);
    CHECK(ok, "%s: '%s' gives %g %g %g, expected %g %g %g", tag, prefix, v[0], n > 1 ? v[1] : 0,
          n > 2 ? v[2] : 0, want[0], n > 1 ? want[1] : 0, n > 2 ? want[2] : 0);
}

static void expect_hdr(const char *tag, const char *h, const char *key, const char *want)
{
    char buf[64] = "?";
    CHECK(h && at_hdr(h, key, buf, sizeof buf) && strcmp(buf, want) == 0,
          "%s: output header %s=%s, expected %s", tag, key, buf, want);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_pre"))
        return 2;
    const size_t np = 64 * 64;
    const char *d1 = setup("pre_img_mask"), *d2 = setup("pre_mask_img");
    int r1 = at_run(d1, BASE " -distance 100 -img img.img -mask mask.img");
    int r2 = at_run(d2, BASE " -distance 100 -mask mask.img -img img.img");
    CHECK(r1 == 0 && r2 == 0, "exit status %d %d", r1, r2);
    CHECK(at_same_file(d1, d2, "floatimage.bin") && at_same_file(d1, d2, "intimage.img"),
          "-img/-mask order changes the output");
    char *o = at_stdout(d1);
    {
        const char *tag = "img+mask";
        double w[3];
        w[0] = 0.15;
        expect_nums(tag, o, "  distance=", 1, w); /* header CLOSE_DISTANCE beats -distance */
        w[0] = 1.5e-10;
        expect_nums(tag, o, "  wave=", 1, w);
        w[0] = 0.0033, w[1] = 0.003;
        expect_nums(tag, o, "  Xbeam=", 2, w);              /* image header wins, not flipped */
        double fs[2] = {0.003 + 0.00005, 0.0033 + 0.00005}; /* MOSFLM: F = Y + px/2, S = X + px/2 */
        expect_nums(tag, o, "  Fbeam=", 2, fs);
        w[0] = 10;
        expect_nums(tag, o, "phi0 = ", 1, w);
        w[0] = 10.25;
        expect_nums(tag, o, "phi1 = ", 1, w);
        /* pix0 of an untilted MOSFLM detector at 0.15 m: TWOTHETA=15 in the header is ignored */
        w[0] = 0.15, w[1] = fs[1], w[2] = -fs[0];
        expect_nums(tag, o, "DETECTOR_PIX0_VECTOR ", 3, w);
        char *h = NULL;
        uint16_t *iv = at_smv(d1, "intimage.img", np, &h);
        expect_hdr(tag, h, "PIXEL_SIZE", "0.1");
        expect_hdr(tag, h, "WAVELENGTH", "1.5");
        expect_hdr(tag, h, "CLOSE_DISTANCE", "150");
        expect_hdr(tag, h, "PHI", "10");
        expect_hdr(tag, h, "OSC_RANGE", "0.5");
        expect_hdr(tag, h, "TWOTHETA", "0");
        free(h);
        free(iv);
        float *f = at_floats(d1, "floatimage.bin", np);
        uint16_t *m = mask_data(64);
        int bad = 0, nz = 0;
        for (size_t i = 0; f && i < np; i++) {
            if (m[i] == 0 && f[i] != 0.0f)
                bad++;
            if (m[i] != 0 && f[i] != 0.0f)
                nz++;
        }
        CHECK(f && bad == 0 && nz > 0, "img+mask: %d masked pixels rendered (%d rendered)", bad,
              nz);
        free(m);
        free(f);
    }
    free(o);
    /* TWOTHETA in the image header has no effect */
    const char *d3 = setup("pre_twotheta0");
    int r3 = at_run(d3, BASE " -distance 100 -img img0.img -mask mask.img");
    CHECK(r3 == 0 && at_same_file(d1, d3, "floatimage.bin") && at_same_file(d1, d3, "intimage.img"),
          "header TWOTHETA=15 vs 0 changes the output (Q16: it must be ignored)");
    /* mask alone: its BEAM_CENTER_Y is measured from the opposite edge */
    const char *d4 = setup("pre_mask_only");
    int r4 = at_run(d4, BASE " -mask mask.img");
    CHECK(r4 == 0, "mask only: exit status %d", r4);
    o = at_stdout(d4);
    {
        double w[2] = {0.004, 64 * 0.000172 - 0.002};
        expect_nums("mask only", o, "  Xbeam=", 2, w);
        w[0] = 0.2;
        expect_nums("mask only", o, "  distance=", 1, w);
        w[0] = 2e-10;
        expect_nums("mask only", o, "  wave=", 1, w);
        double dp[4]; /* distance, detsize_f, detsize_s, pixel */
        CHECK(at_nums(o, "  distance=", dp, 4) == 4 && g_equal(dp[3], 0.000172),
              "mask only: pixel %g, expected 0.000172 from PIXEL_SIZE", dp[3]);
    }
    free(o);
    /* command-line flags override header values */
    const char *d5 = setup("pre_override");
    int r5 = at_run(d5, BASE " -img img.img -lambda 1 -close_distance 120 -Xbeam 2 -phi 3");
    CHECK(r5 == 0, "override: exit status %d", r5);
    o = at_stdout(d5);
    {
        double w[2] = {1e-10, 0};
        expect_nums("override", o, "  wave=", 1, w);
        w[0] = 0.12;
        expect_nums("override", o, "  distance=", 1, w);
        w[0] = 0.002, w[1] = 0.003;
        expect_nums("override", o, "  Xbeam=", 2, w);
        w[0] = 3;
        expect_nums("override", o, "phi0 = ", 1, w);
    }
    free(o);
    /* mask size differing from -detpixels, truncated mask: exit 9, no output */
    const char *d6 = setup("pre_mismatch");
    int r6 = at_run(d6, BASE " -mask mask.img -detpixels 32");
    CHECK(r6 == 9, "-mask (64x64) with -detpixels 32: exit status %d, expected 9", r6);
    CHECK(!at_exists(d6, "floatimage.bin"), "-mask size mismatch: output written");
    const char *d7 = setup("pre_truncated");
    int r7 = at_run(d7, BASE " -mask short.img");
    CHECK(r7 == 9, "truncated mask: exit status %d, expected 9", r7);
    CHECK(!at_exists(d7, "floatimage.bin"), "truncated mask: output written");
    return at_finish();
}
