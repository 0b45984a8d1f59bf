/* test_at_io.c -- AT-ROI-001 / AT-CLI-005 (ROI and mask), AT-STA-001-like statistics,
 * AT-CLI-006 (integer scaling properties), AT-IO-001 (SMV header and layout),
 * AT-IO-002 (PGM).  spec/acceptance.md §6, §8, §10, §11; formats.md §5-§9;
 * physics.md §17. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

typedef struct {
    int fp, sp;
    int xmin, xmax, ymin, ymax; /* inclusive ROI */
    const uint16_t *mask;       /* NULL = none */
} layout;

static int in_roi(const layout *L, int s, int f)
{
    return f >= L->xmin && f <= L->xmax && s >= L->ymin && s <= L->ymax;
}
static int rendered(const layout *L, int s, int f)
{
    return in_roi(L, s, f) && (!L->mask || L->mask[s * L->fp + f] != 0);
}

/* expected int pixel, formats.md §6 */
static unsigned expect_int(float v, double scale, double adc)
{
    double x = (double)v * scale + adc;
    if (x < 0)
        x = 0;
    if (x > 65535)
        x = 65535;
    float t = (float)(x + 0.5);
    return (unsigned)floor(t);
}

/* %g equality of a printed value, allowing for last-digit rounding */
static int g_equal(double printed, double mine)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%g", printed);
    snprintf(b, sizeof b, "%g", mine);
    if (strcmp(a, b) == 0)
        return 1;
    return fabs(printed - mine) <= 6e-6 * fabs(mine);
}

/* physics.md §17 statistics recomputed from the float image */
static void check_stats(const char *tag, const char *out, const float *img, const layout *L,
                        double pixel, int os)
{
    double sum = 0, sumsq = 0, maxI = 0;
    long n = 0, nroi = 0;
    int mf = -1, ms = -1;
    for (int s = 0; s < L->sp; s++)
        for (int f = 0; f < L->fp; f++) {
            if (!rendered(L, s, f))
                continue;
            double v = img[s * L->fp + f];
            if (v > maxI) {
                maxI = v;
                mf = f;
                ms = s;
            }
            sum += v;
            sumsq += v * v;
            n++;
        }
    double nn = n ? (double)n : 1.0;
    double mean = sum / nn;
    double rms = sqrt(sumsq / (n > 1 ? (double)(n - 1) : 1.0));
    double dev = 0;
    for (int s = 0; s < L->sp; s++)
        for (int f = 0; f < L->fp; f++) {
            if (!in_roi(L, s, f))
                continue;
            double v = img[s * L->fp + f] - mean;
            dev += v * v;
            nroi++;
        }
    double rmsd = sqrt(dev / (nroi > 1 ? (double)(nroi - 1) : 1.0));
    double p[3] = {NAN, NAN, NAN};
    CHECK(at_nums(out, "mean= ", p, 3) == 3, "%s: no 'mean= ' line", tag);
    CHECK(g_equal(p[0], mean), "%s: printed mean %g, expected %g (rendered pixels only)", tag, p[0],
          mean);
    CHECK(g_equal(p[1], rms), "%s: printed rms %g, expected %g", tag, p[1], rms);
    CHECK(g_equal(p[2], rmsd), "%s: printed rmsd %g, expected %g (whole ROI incl. masked)", tag,
          p[2], rmsd);
    /* the masked pixels really matter for rmsd: the variant without them differs */
    double m[3] = {NAN, NAN, NAN};
    CHECK(at_nums(out, "max_I = ", m, 3) == 3, "%s: no 'max_I = ' line", tag);
    double D = pixel / os;
    double mx = (mf + 1) * pixel - D / 2, my = (ms + 1) * pixel - D / 2;
    CHECK(g_equal(m[0], maxI), "%s: printed max_I %g, expected %g", tag, m[0], maxI);
    CHECK(g_equal(m[1], mx) && g_equal(m[2], my),
          "%s: max_I location %g %g, expected %g %g (pixel f %d s %d)", tag, m[1], m[2], mx, my, mf,
          ms);
    printf("%s: mean %g rms %g rmsd %g max_I %g\n", tag, mean, rms, rmsd, maxI);
}

/* ROI/mask run: float, int and noise images, stats; scale <= 0 means automatic */
static void roi_case(const char *tag, int npix, int xmin, int xmax, int ymin, int ymax,
                     double scale_flag)
{
    const int fp = npix, sp = npix;
    uint16_t *mask = malloc(sizeof(uint16_t) * fp * sp);
    for (int s = 0; s < sp; s++)
        for (int f = 0; f < fp; f++) {
            int zero = (s >= ymin + 2 && s <= ymin + 6 && f >= xmin + 3 && f <= xmin + 9) ||
                       (s == ymax && f == xmax) || (s == ymin && f == xmin + 1) ||
                       (s == 1 && f == 1) /* outside the ROI */;
            mask[s * fp + f] = zero ? 0 : (uint16_t)(1 + (s + f) % 7);
        }
    layout L = {fp,  sp, xmin, xmax < fp - 1 ? xmax : fp - 1, ymin, ymax < sp - 1 ? ymax : sp - 1,
                mask};
    const char *d = at_dir(tag);
    at_write_mask(d, "mask.img", fp, sp, 0.1, mask);
    char scale[64] = "";
    if (scale_flag > 0)
        snprintf(scale, sizeof scale, "-scale %g", scale_flag);
    int rc = at_run(d,
                    B " -N 5 -lambda 6.2 -distance 100 -oversample 1 -mask mask.img "
                      "-roi %d %d %d %d -seed 3 -nopgm -fluence 1e31 %s",
                    xmin, xmax, ymin, ymax, scale);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    size_t n = (size_t)fp * sp;
    char *out = at_stdout(d);
    float *img = at_floats(d, "floatimage.bin", n);
    uint16_t *iv = at_smv(d, "intimage.img", n, NULL);
    uint16_t *nv = at_smv(d, "noiseimage.img", n, NULL);
    if (img && iv && nv) {
        int bad_f = 0, bad_i = 0, bad_n = 0, n_nonzero = 0, nmasked_roi = 0;
        double maxI = 0;
        for (int s = 0; s < sp; s++)
            for (int f = 0; f < fp; f++)
                if (rendered(&L, s, f) && img[s * fp + f] > maxI)
                    maxI = img[s * fp + f];
        double sc = scale_flag > 0 ? scale_flag : (maxI > 0 ? 55000.0 / maxI : 1.0);
        for (int s = 0; s < sp; s++)
            for (int f = 0; f < fp; f++) {
                size_t i = (size_t)s * fp + f;
                int roi = in_roi(&L, s, f), ren = rendered(&L, s, f);
                if (!ren && img[i] != 0.0f && bad_f++ < 5)
                    fprintf(stderr, "%s: float pixel s %d f %d = %g, expected 0 (%s)\n", tag, s, f,
                            img[i], roi ? "masked" : "outside ROI");
                if (ren && img[i] != 0.0f)
                    n_nonzero++;
                if (roi && !ren)
                    nmasked_roi++;
                unsigned want = roi ? expect_int(img[i], sc, 40.0) : 0u;
                if (iv[i] != want && bad_i++ < 5)
                    fprintf(stderr,
                            "%s: int pixel s %d f %d = %u, expected %u (float %.9g, "
                            "scale %.9g, %s)\n",
                            tag, s, f, iv[i], want, img[i], sc,
                            !roi  ? "outside ROI"
                            : ren ? "rendered"
                                  : "masked");
                /* noise: 0 outside the ROI; masked pixels (value 0) give poidev(0)+adc */
                unsigned wn = roi ? (ren ? nv[i] : 40u) : 0u;
                if ((nv[i] != wn || (roi && nv[i] < 40)) && bad_n++ < 5)
                    fprintf(stderr, "%s: noise pixel s %d f %d = %u, expected %s\n", tag, s, f,
                            nv[i],
                            !roi  ? "0 (outside ROI)"
                            : ren ? ">= 40"
                                  : "40 (masked)");
            }
        CHECK(n_nonzero > 0, "%s: nothing rendered", tag);
        CHECK(nmasked_roi > 0, "%s: mask has no zero inside the ROI", tag);
        CHECK(bad_f == 0, "%s: %d float pixels non-zero outside the ROI or at masked pixels", tag,
              bad_f);
        CHECK(bad_i == 0, "%s: %d int pixels differ from formats.md §6", tag, bad_i);
        CHECK(bad_n == 0, "%s: %d noise pixels differ from formats.md §8", tag, bad_n);
        double ps = NAN;
        CHECK(at_nums(out, "intfile_scale = ", &ps, 1) == 1, "%s: no intfile_scale line", tag);
        CHECK(g_equal(ps, sc), "%s: intfile_scale = %g, expected %g", tag, ps, sc);
        check_stats(tag, out, img, &L, 0.1e-3, 1);
    }
    free(out);
    free(img);
    free(iv);
    free(nv);
    free(mask);
}

/* AT-CLI-006: automatic scale puts the maximum at floor((float)(55000+adc+0.5)); every pixel
 * follows the formula */
static void cli006_case(const char *tag, const char *flags, double adc, double scale_flag,
                        long want_max)
{
    const int n = 64;
    const char *d = at_dir(tag);
    int rc = at_run(d,
                    B " -N 5 -lambda 6.2 -detpixels 64 -distance 100 -oversample 1 -nonoise "
                      "-nopgm %s",
                    flags);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    uint16_t *iv = at_smv(d, "intimage.img", (size_t)n * n, NULL);
    if (img && iv) {
        double maxI = 0;
        unsigned imax = 0;
        for (int i = 0; i < n * n; i++) {
            if (img[i] > maxI)
                maxI = img[i];
            if (iv[i] > imax)
                imax = iv[i];
        }
        double sc = scale_flag > 0 ? scale_flag : 55000.0 / maxI;
        int bad = 0, nclip = 0;
        for (int i = 0; i < n * n; i++) {
            unsigned want = expect_int(img[i], sc, adc);
            if (want == 65535)
                nclip++;
            if (iv[i] != want && bad++ < 5)
                fprintf(stderr, "%s: int pixel %d = %u, expected %u (float %.9g)\n", tag, i, iv[i],
                        want, img[i]);
        }
        CHECK(bad == 0, "%s: %d int pixels differ from floor((float)(clamp(f*s+adc)+0.5))", tag,
              bad);
        if (want_max >= 0)
            CHECK((long)imax == want_max, "%s: maximum int pixel %u, expected %ld", tag, imax,
                  want_max);
        printf("%s: max int %u, %d pixels clipped at 65535\n", tag, imax, nclip);
    }
    free(img);
    free(iv);
}

static void cli006(void)
{
    cli006_case("cli006_default", "", 40.0, 0, 55040);
    cli006_case("cli006_adc0", "-adc 0", 0.0, 0, 55000);
    cli006_case("cli006_adc10.5", "-adc 10.5", 10.5, 0, 55011);
    cli006_case("cli006_scale1e-3", "-scale 1e-3 -fluence 1e33", 40.0, 1e-3, -1);
    cli006_case("cli006_scale_clip", "-scale 2000", 40.0, 2000, 65535);
}

/* AT-IO-001: SMV header text and data layout on an asymmetric detector and ROI */
static void io001(void)
{
    const int fp = 40, sp = 24;
    const int xmin = 3, xmax = 10, ymin = 5, ymax = 7;
    const char *d = at_dir("io001");
    int rc = at_run(d,
                    B " -N 1 -lambda 1 -detpixels_f 40 -detpixels_s 24 -pixel 0.1 "
                      "-distance 100 -oversample 1 -phi 5 -osc 1 -roi %d %d %d %d "
                      "-intfile a.img -noisefile b.img -seed 1 -nopgm",
                    xmin, xmax, ymin, ymax);
    CHECK(rc == 0, "exit status %d", rc);
    size_t n = (size_t)fp * sp;
    char *ha = NULL, *hb = NULL;
    uint16_t *a = at_smv(d, "a.img", n, &ha);
    uint16_t *b = at_smv(d, "b.img", n, &hb);
    float *img = at_floats(d, "floatimage.bin", n);
    if (!a || !b || !img)
        goto done;
    CHECK(memcmp(ha, hb, 512) == 0, "int and noise headers differ");
    /* expected header (formats.md §5; geometry.md §2, §8) */
    at_det g;
    at_det_init(&g, AT_MOSFLM, fp, sp, 0.1, 100, NAN, NAN);
    double px = g.pixel, dets = px * sp, detf = px * fp;
    double Xbeam = (dets + px) / 2, Ybeam = (detf + px) / 2;
    double Fclose = -v3_dot(g.pix0, g.f), Sclose = -v3_dot(g.pix0, g.s);
    char want[1024];
    int k = snprintf(
        want, sizeof want,
        "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
        "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\nWAVELENGTH=%g;\n"
        "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\nADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
        "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\nDENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
        "DIALS_ORIGIN=%g,%g,%g\nXDS_ORGX=%g;\nXDS_ORGY=%g;\nCLOSE_DISTANCE=%g;\nPHI=%g;\n"
        "OSC_START=%g;\nOSC_RANGE=%g;\nTWOTHETA=%g;\nDETECTOR_SN=000;\nBEAMLINE=fake;\n}\f",
        fp, sp, px * 1000, g.distance * 1000, 1.0, Xbeam * 1000, Ybeam * 1000, g.Fbeam * 1000,
        (dets - g.Sbeam) * 1000, (g.Sbeam - 0.5 * px) * 1000, (g.Fbeam - 0.5 * px) * 1000,
        g.Sbeam * 1000, g.Fbeam * 1000, 1000 * g.pix0.z, 1000 * g.pix0.y, -1000 * g.pix0.x,
        Fclose / px + 0.5, Sclose / px + 0.5, g.close * 1000, 5.0, 5.0, 1.0, 0.0);
    for (int i = k; i < 512; i++)
        want[i] = ' ';
    want[512] = '\0';
    if (memcmp(ha, want, 512) != 0) {
        /* report the first differing line */
        int i = 0;
        while (i < 512 && ha[i] == want[i])
            i++;
        int ls = i;
        while (ls > 0 && want[ls - 1] != '\n')
            ls--;
        CHECK(0, "SMV header differs at byte %d: got \"%.40s\", expected \"%.40s\"", i, ha + ls,
              want + ls);
    }
    /* data layout: index = slow*fpixels + fast, shown by the asymmetric ROI */
    int bad = 0;
    for (int s = 0; s < sp; s++)
        for (int f = 0; f < fp; f++) {
            size_t i = (size_t)s * fp + f;
            int roi = f >= xmin && f <= xmax && s >= ymin && s <= ymax;
            int ok = roi ? (img[i] > 0 && a[i] >= 40 && b[i] >= 40)
                         : (img[i] == 0 && a[i] == 0 && b[i] == 0);
            if (!ok && bad++ < 5)
                fprintf(stderr, "pixel s %d f %d (%s ROI): float %g int %u noise %u\n", s, f,
                        roi ? "in" : "outside", img[i], a[i], b[i]);
        }
    CHECK(bad == 0, "%d pixels violate index = slow*fpixels + fast with the ROI", bad);
done:
    free(ha);
    free(hb);
    free(a);
    free(b);
    free(img);
}

/* AT-IO-002: PGM header and pixels */
static void pgm_case(const char *tag, double pgmscale)
{
    const int fp = 48, sp = 32;
    layout L = {fp, sp, 2, 40, 3, 30, NULL};
    const char *d = at_dir(tag);
    char extra[64] = "";
    if (pgmscale > 0)
        snprintf(extra, sizeof extra, "-pgmscale %g", pgmscale);
    int rc = at_run(d,
                    B " -N 5 -lambda 6.2 -detpixels_f 48 -detpixels_s 32 -distance 100 "
                      "-oversample 1 -roi 2 40 3 30 -nonoise -pgmfile p.pgm %s",
                    extra);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    size_t n = (size_t)fp * sp, len = 0;
    float *img = at_floats(d, "floatimage.bin", n);
    unsigned char *pg = at_file(d, "p.pgm", &len);
    char *out = at_stdout(d);
    CHECK(pg != NULL, "%s: p.pgm missing", tag);
    if (!img || !pg)
        goto done;
    /* my scale: -pgmscale, else 250/(5 rmsd) (rmsd over the ROI) */
    double sum = 0, dev = 0;
    long cnt = 0;
    for (int s = 0; s < sp; s++)
        for (int f = 0; f < fp; f++)
            if (rendered(&L, s, f)) {
                sum += img[s * fp + f];
                cnt++;
            }
    double mean = sum / (double)cnt;
    for (int s = 0; s < sp; s++)
        for (int f = 0; f < fp; f++)
            if (in_roi(&L, s, f))
                dev += (img[s * fp + f] - mean) * (img[s * fp + f] - mean);
    double rmsd = sqrt(dev / (double)(cnt - 1));
    double sc = pgmscale > 0 ? pgmscale : 250.0 / (5.0 * rmsd);
    double ps = NAN;
    CHECK(at_nums(out, "pgm_scale = ", &ps, 1) == 1, "%s: no pgm_scale line", tag);
    CHECK(g_equal(ps, sc), "%s: pgm_scale = %g, expected %g", tag, ps, sc);
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr, "P5\n%d %d\n# pixels scaled by %lg\n255\n", fp, sp, ps);
    CHECK(len == (size_t)hl + n, "%s: PGM has %zu bytes, expected %d + %zu", tag, len, hl, n);
    CHECK(len >= (size_t)hl && memcmp(pg, hdr, (size_t)hl) == 0,
          "%s: PGM header \"%.60s\", expected \"%s\"", tag, (const char *)pg, hdr);
    if (len != (size_t)hl + n)
        goto done;
    int bad = 0, n255 = 0;
    for (size_t i = 0; i < n; i++) {
        int s = (int)(i / fp), f = (int)(i % fp);
        double x = in_roi(&L, s, f) ? img[i] * sc : 0.0;
        double want = x > 255 ? 255 : floor(x);
        if (want == 255)
            n255++;
        int edge = pgmscale <= 0 && fabs(x - floor(x + 0.5)) <= 1e-6 * fabs(x) + 1e-12;
        if (pg[hl + i] != (unsigned char)want && !edge && bad++ < 5)
            fprintf(stderr, "%s: PGM pixel s %d f %d = %u, expected %g (float %.9g)\n", tag, s, f,
                    pg[hl + i], want, img[i]);
    }
    CHECK(bad == 0, "%s: %d PGM pixels differ from min(255, trunc(float*scale))", tag, bad);
    printf("%s: scale %g, %d pixels at 255\n", tag, sc, n255);
done:
    free(img);
    free(pg);
    free(out);
}

/* all-zero image (Q12 -oversample_thick without thickness): max_I = 0 -> intfile scale 1,
 * int pixels = adc; rmsd = 0 -> pgm scale = intfile scale; PGM all 0 (formats.md §6, §9) */
static void zero_image(void)
{
    const int n = 16;
    const char *d = at_dir("zero_image");
    int rc = at_run(d, B " -N 1 -detpixels 16 -distance 100 -oversample 1 -oversample_thick "
                         "-nonoise -pgmfile p.pgm");
    CHECK(rc == 0, "zero image: exit status %d", rc);
    char *o = at_stdout(d);
    double v[3] = {NAN, NAN, NAN};
    CHECK(at_nums(o, "intfile_scale = ", v, 1) == 1 && v[0] == 1.0,
          "zero image: intfile_scale = %g, expected 1", v[0]);
    CHECK(at_nums(o, "pgm_scale = ", v, 1) == 1 && v[0] == 1.0,
          "zero image: pgm_scale = %g, expected the intfile scale 1", v[0]);
    CHECK(at_nums(o, "max_I = ", v, 1) == 1 && v[0] == 0.0, "zero image: max_I = %g", v[0]);
    uint16_t *iv = at_smv(d, "intimage.img", (size_t)n * n, NULL);
    int bad = 0;
    for (int i = 0; iv && i < n * n; i++)
        if (iv[i] != 40)
            bad++;
    CHECK(iv && bad == 0, "zero image: %d int pixels differ from adc 40", bad);
    size_t len = 0;
    unsigned char *pg = at_file(d, "p.pgm", &len);
    const char *hdr = "P5\n16 16\n# pixels scaled by 1\n255\n";
    CHECK(pg && len == strlen(hdr) + 256 && memcmp(pg, hdr, strlen(hdr)) == 0,
          "zero image: PGM header/size wrong");
    bad = 0;
    for (size_t i = strlen(hdr); pg && i < len; i++)
        if (pg[i] != 0)
            bad++;
    CHECK(bad == 0, "zero image: %d PGM pixels non-zero", bad);
    free(pg);
    free(iv);
    free(o);
}

/* cli.md §2.2: a negative -roi value means "default" (0 or fpixels/spixels) */
static void roi_negative(void)
{
    const char *cmd = B " -N 5 -lambda 6.2 -detpixels 64 -distance 100 -oversample 1 -nonoise "
                        "-nopgm";
    const char *a = at_dir("roi_neg_a"), *b = at_dir("roi_neg_b");
    const char *c = at_dir("roi_neg_c"), *e = at_dir("roi_neg_d");
    int r1 = at_run(a, "%s -roi 2 -1 3 -1", cmd), r2 = at_run(b, "%s -roi 2 63 3 63", cmd);
    int r3 = at_run(c, "%s -roi -1 5 -1 5", cmd), r4 = at_run(e, "%s -roi 0 5 0 5", cmd);
    CHECK(r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0, "negative ROI runs: exit status");
    CHECK(at_same_file(a, b, "floatimage.bin") && at_same_file(a, b, "intimage.img"),
          "-roi 2 -1 3 -1 differs from -roi 2 63 3 63");
    CHECK(at_same_file(c, e, "floatimage.bin") && at_same_file(c, e, "intimage.img"),
          "-roi -1 5 -1 5 differs from -roi 0 5 0 5");
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_io"))
        return 2;
    /* AT-ROI-001 geometry: 64x64, -roi 10 40 20 50, automatic int scale */
    roi_case("roi001", 64, 10, 40, 20, 50, 0);
    /* AT-CLI-005 geometry: 32x32, -roi 8 23 4 19, with -scale (AT-CLI-006 masked/ROI part) */
    roi_case("cli005", 32, 8, 23, 4, 19, 7.0);
    cli006();
    io001();
    pgm_case("pgm_auto", 0);
    pgm_case("pgm_0.5", 0.5);
    pgm_case("pgm_5", 5.0); /* exercises the 255 clamp */
    zero_image();
    roi_negative();
    return at_finish();
}
