/* test_at_geo2.c -- geometry properties that need no reference binary:
 *   AT-GEO-007 worked examples of geometry.md §14;
 *   AT-GEO-002 pivot selection (the expected pivot of each command is stated in the spec);
 *   AT-GEO-003 property: rotated detectors, BEAM and SAMPLE pivots, -close_distance (pix0 and
 *     axes against geometry.md §6-§8 to 1e-12);
 *   AT-GEO-004 two-theta axes per convention, header TWOTHETA and the -twotheta_axis quirks;
 *   AT-PRE-002 property: under -xds only ORGX/ORGY move the detector (Q23); CUSTOM pivots.
 * spec/acceptance.md §1, §8; geometry.md §2-§8, §14; cli.md §1, §8. */
#define _DEFAULT_SOURCE /* M_1_PI */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"
#define RTD (180.0 * M_1_PI)

enum { G_MOSFLM, G_XDS, G_DIALS, G_ADXV, G_CUSTOM };

typedef struct {
    int conv, fp, sp, pivot_sample;
    double pixel, distance, close; /* m; close NaN = not given */
    double xbeam, ybeam;           /* m, NaN = default */
    double orgx, orgy;             /* pixels, NaN = not given */
    double rot[3], twotheta;       /* rad */
} gin;

typedef struct {
    v3 f, s, o, b, pix0;
    double Fbeam, Sbeam, Fclose, Sclose, close, distance;
    double Xbeam, Ybeam; /* user/convention values (header BEAM_CENTER_X/Y) */
} gout;

static v3 rxyz(v3 v, const double r[3])
{
    if (r[0] != 0) {
        double c = cos(r[0]), s = sin(r[0]);
        v = v3_make(v.x, v.y * c - v.z * s, v.y * s + v.z * c);
    }
    if (r[1] != 0) {
        double c = cos(r[1]), s = sin(r[1]);
        v = v3_make(v.x * c + v.z * s, v.y, -v.x * s + v.z * c);
    }
    if (r[2] != 0) {
        double c = cos(r[2]), s = sin(r[2]);
        v = v3_make(v.x * c - v.y * s, v.x * s + v.y * c, v.z);
    }
    return v;
}

static v3 rot_all(v3 v, const gin *in, v3 t)
{
    v = rxyz(v, in->rot);
    if (in->twotheta != 0)
        v = v3_rot(v, t, in->twotheta);
    return v;
}

/* geometry.md §2, §4-§8 */
static gout geometry(const gin *in)
{
    gout g;
    double px = in->pixel, detf = px * in->fp, dets = px * in->sp;
    v3 f0, s0, o0, b, t;
    double Fclose = isnan(in->orgx) ? detf / 2 : (in->orgx - 0.5) * px;
    double Sclose = isnan(in->orgy) ? dets / 2 : (in->orgy - 0.5) * px;
    double Fbeam, Sbeam, xb = in->xbeam, yb = in->ybeam;
    int sample = 0;
    switch (in->conv) {
    case G_MOSFLM:
        b = v3_make(1, 0, 0), f0 = v3_make(0, 0, 1), s0 = v3_make(0, -1, 0), o0 = v3_make(1, 0, 0);
        t = v3_make(0, 0, -1);
        if (isnan(xb))
            xb = (dets + px) / 2;
        if (isnan(yb))
            yb = (detf + px) / 2;
        Fbeam = yb + 0.5 * px, Sbeam = xb + 0.5 * px;
        break;
    case G_ADXV:
        b = v3_make(0, 0, 1), f0 = v3_make(1, 0, 0), s0 = v3_make(0, -1, 0), o0 = v3_make(0, 0, 1);
        t = v3_make(-1, 0, 0);
        if (isnan(xb))
            xb = (detf + px) / 2;
        if (isnan(yb))
            yb = (dets - px) / 2;
        Fbeam = xb, Sbeam = dets - yb;
        break;
    case G_XDS:
    case G_DIALS:
        b = v3_make(0, 0, 1), f0 = v3_make(1, 0, 0), s0 = v3_make(0, 1, 0), o0 = v3_make(0, 0, 1);
        t = in->conv == G_XDS ? v3_make(1, 0, 0) : v3_make(0, 1, 0);
        if (isnan(xb))
            xb = Fclose;
        if (isnan(yb))
            yb = Sclose;
        Fbeam = xb, Sbeam = yb;
        sample = 1;
        break;
    default: /* CUSTOM with the default vectors */
        b = v3_make(1, 0, 0), f0 = v3_make(0, 0, 1), s0 = v3_make(0, -1, 0), o0 = v3_make(1, 0, 0);
        t = v3_make(0, 1, 0);
        if (isnan(xb))
            xb = Fclose;
        if (isnan(yb))
            yb = Sclose;
        Fbeam = xb, Sbeam = yb, Fclose = xb, Sclose = yb;
        sample = in->pivot_sample;
        break;
    }
    double r = v3_dot(b, rxyz(o0, in->rot));
    double close = isnan(in->close) ? fabs(r * in->distance) : in->close;
    double distance = close / r;
    v3 pix0 = v3_make(0, 0, 0);
    if (sample) {
        pix0 = v3_add(v3_add(v3_scale(f0, -Fclose), v3_scale(s0, -Sclose)), v3_scale(o0, close));
        pix0 = rot_all(pix0, in, t);
    }
    g.f = rot_all(f0, in, t), g.s = rot_all(s0, in, t), g.o = rot_all(o0, in, t), g.b = b;
    if (!sample)
        pix0 = v3_add(v3_add(v3_scale(g.f, -Fbeam), v3_scale(g.s, -Sbeam)), v3_scale(b, distance));
    g.pix0 = pix0;
    g.Fclose = -v3_dot(pix0, g.f);
    g.Sclose = -v3_dot(pix0, g.s);
    g.close = v3_dot(pix0, g.o);
    v3 w = v3_sub(v3_scale(b, g.close / r), pix0);
    g.Fbeam = v3_dot(g.f, w);
    g.Sbeam = v3_dot(g.s, w);
    g.distance = g.close / r;
    g.Xbeam = xb;
    g.Ybeam = yb;
    return g;
}

static gin gdefault(int conv, int n, double pixel_mm, double distance_mm)
{
    gin in;
    memset(&in, 0, sizeof in);
    in.conv = conv, in.fp = n, in.sp = n;
    in.pixel = pixel_mm / 1000.0, in.distance = distance_mm / 1000.0;
    in.close = NAN, in.xbeam = NAN, in.ybeam = NAN, in.orgx = NAN, in.orgy = NAN;
    return in;
}

static int g_equal(double printed, double mine)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%g", printed);
    snprintf(b, sizeof b, "%g", mine);
    return strcmp(a, b) == 0 || fabs(printed - mine) <= 6e-6 * fabs(mine) + 1e-300;
}

static int vec_line(const char *tag, const char *out, const char *key, v3 want, double tol)
{
    double v[3] = {NAN, NAN, NAN};
    char pre[64];
    snprintf(pre, sizeof pre, "%s ", key);
    int k = at_nums(out, pre, v, 3);
    int ok = k == 3 && fabs(v[0] - want.x) <= tol && fabs(v[1] - want.y) <= tol &&
             fabs(v[2] - want.z) <= tol;
    CHECK(ok, "%s: %s = (%.15g %.15g %.15g), expected (%.15g %.15g %.15g)", tag, key, v[0], v[1],
          v[2], want.x, want.y, want.z);
    return ok;
}

/* compare the printed detector with the model: axes and pix0 (%.15g, 1e-12), the %g summary */
static void check_detector(const char *tag, const char *out, const gout *g)
{
    vec_line(tag, out, "DETECTOR_FAST_AXIS", g->f, 1e-12);
    vec_line(tag, out, "DETECTOR_SLOW_AXIS", g->s, 1e-12);
    vec_line(tag, out, "DETECTOR_NORMAL_AXIS", g->o, 1e-12);
    vec_line(tag, out, "DETECTOR_PIX0_VECTOR", g->pix0, 1e-12);
    double v[2] = {NAN, NAN}, dist = NAN;
    CHECK(at_nums(out, "  Fbeam=", v, 2) == 2 && g_equal(v[0], g->Fbeam) && g_equal(v[1], g->Sbeam),
          "%s: Fbeam=%g Sbeam=%g, expected %g %g", tag, v[0], v[1], g->Fbeam, g->Sbeam);
    CHECK(at_nums(out, "  Fclose=", v, 2) == 2 && g_equal(v[0], g->Fclose) &&
              g_equal(v[1], g->Sclose),
          "%s: Fclose=%g Sclose=%g, expected %g %g", tag, v[0], v[1], g->Fclose, g->Sclose);
    CHECK(at_nums(out, "  distance=", &dist, 1) == 1 && g_equal(dist, g->distance),
          "%s: distance=%g, expected %g", tag, dist, g->distance);
    double dv[3] = {NAN, NAN, NAN};
    CHECK(at_nums(out, "  dials origin= ", dv, 3) == 3 && g_equal(dv[0], 1000 * g->pix0.z) &&
              g_equal(dv[1], 1000 * g->pix0.y) && g_equal(dv[2], -1000 * g->pix0.x),
          "%s: dials origin %g %g %g, expected %g %g %g", tag, dv[0], dv[1], dv[2],
          1000 * g->pix0.z, 1000 * g->pix0.y, -1000 * g->pix0.x);
}

/* SMV header values (formats.md §5) of the run in dir against the model */
static void check_header(const char *tag, const char *dir, const gin *in, const gout *g,
                         double lambda_A)
{
    char *h = NULL;
    uint16_t *img = at_smv(dir, "intimage.img", (size_t)in->fp * in->sp, &h);
    if (!h) {
        free(img);
        return;
    }
    double px = in->pixel, dets = px * in->sp;
    static const char *keys[] = {
        "PIXEL_SIZE",    "DISTANCE",      "WAVELENGTH",      "BEAM_CENTER_X",   "BEAM_CENTER_Y",
        "ADXV_CENTER_X", "ADXV_CENTER_Y", "MOSFLM_CENTER_X", "MOSFLM_CENTER_Y", "DENZO_X_BEAM",
        "DENZO_Y_BEAM",  "XDS_ORGX",      "XDS_ORGY",        "CLOSE_DISTANCE",  "TWOTHETA"};
    double want[] = {px * 1000,
                     g->distance * 1000,
                     lambda_A,
                     g->Xbeam * 1000,
                     g->Ybeam * 1000,
                     g->Fbeam * 1000,
                     (dets - g->Sbeam) * 1000,
                     (g->Sbeam - 0.5 * px) * 1000,
                     (g->Fbeam - 0.5 * px) * 1000,
                     g->Sbeam * 1000,
                     g->Fbeam * 1000,
                     g->Fclose / px + 0.5,
                     g->Sclose / px + 0.5,
                     g->close * 1000,
                     in->twotheta * RTD};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char buf[64];
        const char *v = at_hdr(h, keys[k], buf, sizeof buf);
        double x = v ? atof(v) : NAN;
        CHECK(v && fabs(x - want[k]) <= 6e-6 * fabs(want[k]) + 1e-9,
              "%s: header %s=%s, expected %g", tag, keys[k], v ? v : "(missing)", want[k]);
    }
    char buf[128];
    const char *v = at_hdr(h, "DIALS_ORIGIN", buf, sizeof buf);
    double o3[3] = {NAN, NAN, NAN};
    if (v)
        sscanf(v, "%lf,%lf,%lf", &o3[0], &o3[1], &o3[2]);
    double w3[3] = {1000 * g->pix0.z, 1000 * g->pix0.y, -1000 * g->pix0.x};
    int ok = 1;
    for (int c = 0; c < 3; c++)
        ok = ok && fabs(o3[c] - w3[c]) <= 6e-6 * fabs(w3[c]) + 1e-9;
    CHECK(ok, "%s: header DIALS_ORIGIN=%s, expected %g,%g,%g", tag, v ? v : "(missing)", w3[0],
          w3[1], w3[2]);
    free(h);
    free(img);
}

static char *run_out(const char *sub, const char *flags, int *rc)
{
    const char *d = at_dir(sub);
    *rc = at_run(d, B " -nonoise -nopgm %s", flags);
    CHECK(*rc == 0, "%s (%s): exit status %d", sub, flags, *rc);
    return at_stdout(d);
}

/* AT-GEO-007 worked examples (geometry.md §14) */
static void worked_examples(void)
{
    int rc;
    /* 1 */
    char *o = run_out("ex1",
                      "-mosflm -pixel 0.1 -distance 100 -Xbeam 51.2 -Ybeam 51.2 "
                      "-detpixels 1024 -roi 0 0 0 0",
                      &rc);
    vec_line("ex1", o, "DETECTOR_PIX0_VECTOR", v3_make(0.1, 0.05125, -0.05125), 1e-12);
    free(o);
    /* 2 */
    o = run_out("ex2", "-detpixels 4 -pixel 0.1 -distance 100 -twotheta 5", &rc);
    vec_line("ex2", o, "DETECTOR_FAST_AXIS", v3_make(0, 0, 1), 1e-15);
    vec_line("ex2", o, "DETECTOR_SLOW_AXIS", v3_make(-0.0871557427476582, -0.996194698091746, 0),
             1e-15);
    vec_line("ex2", o, "DETECTOR_NORMAL_AXIS", v3_make(0.996194698091746, -0.0871557427476582, 0),
             1e-15);
    vec_line("ex2", o, "DETECTOR_PIX0_VECTOR",
             v3_make(0.100026146722824, 0.000298858409427524, -0.0003), 1e-15);
    double v[3];
    CHECK(at_nums(o, "  distance=", v, 1) == 1 && g_equal(v[0], 0.0996195), "ex2: distance %g",
          v[0]);
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.0003) && g_equal(v[1], 0.000333165),
          "ex2: Fbeam %g Sbeam %g", v[0], v[1]);
    CHECK(at_nums(o, "  Fclose=", v, 2) == 2 && g_equal(v[0], 0.0003) && g_equal(v[1], 0.00901557),
          "ex2: Fclose %g Sclose %g", v[0], v[1]);
    CHECK(at_nums(o, "  dials origin= ", v, 3) == 3 && g_equal(v[0], -0.3) &&
              g_equal(v[1], 0.298858) && g_equal(v[2], -100.026),
          "ex2: dials origin %g %g %g", v[0], v[1], v[2]);
    free(o);
    /* 3 */
    o = run_out("ex3", "-xds -detpixels 4 -pixel 0.1 -distance 100", &rc);
    vec_line("ex3", o, "DETECTOR_PIX0_VECTOR", v3_make(-0.0002, -0.0002, 0.1), 1e-15);
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.0002) && g_equal(v[1], 0.0002),
          "ex3: Fbeam %g Sbeam %g", v[0], v[1]);
    CHECK(at_nums(o, "  Fclose=", v, 2) == 2 && g_equal(v[0], 0.0002) && g_equal(v[1], 0.0002),
          "ex3: Fclose %g Sclose %g", v[0], v[1]);
    CHECK(at_nums(o, "  dials origin= ", v, 3) == 3 && g_equal(v[0], 100) && g_equal(v[1], -0.2) &&
              g_equal(v[2], 0.2),
          "ex3: dials origin %g %g %g", v[0], v[1], v[2]);
    free(o);
    /* 4 */
    o = run_out("ex4",
                "-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 -detpixels 4 "
                "-pixel 0.1 -distance 100",
                &rc);
    vec_line("ex4", o, "DETECTOR_PIX0_VECTOR", v3_make(0.1, 0.0002, -0.0002), 1e-15);
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.0002) && g_equal(v[1], 0.0002),
          "ex4: Fbeam %g Sbeam %g", v[0], v[1]);
    CHECK(at_line(o, "custom convention selected") != NULL, "ex4: custom convention not selected");
    free(o);
    /* 5 */
    o = run_out("ex5", "-detpixels 4 -pixel 0.1", &rc);
    vec_line("ex5", o, "DETECTOR_PIX0_VECTOR", v3_make(0.1, 0.0003, -0.0003), 1e-15);
    CHECK(at_nums(o, "  Xbeam=", v, 2) == 2 && g_equal(v[0], 0.00025) && g_equal(v[1], 0.00025),
          "ex5: Xbeam %g Ybeam %g", v[0], v[1]);
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.0003) && g_equal(v[1], 0.0003),
          "ex5: Fbeam %g Sbeam %g", v[0], v[1]);
    free(o);
}

/* AT-GEO-002 pivot selection */
static void pivots(void)
{
    static const struct {
        const char *flags;
        int sample;
    } c[] = {{"-distance 100", 0},
             {"-close_distance 100", 0},
             {"-distance 100 -pivot sample", 0},
             {"-beam_vector 1 0 0 -close_distance 100", 1},
             {"-beam_vector 1 0 0 -distance 100 -pivot sample", 1},
             {"-xds", 1},
             {"-xds -pivot beam", 1},
             {"-dials", 1},
             {"-twotheta 10", 0},
             {"-beam_vector 1 0 0 -twotheta 10", 1}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        char sub[32], fl[256];
        snprintf(sub, sizeof sub, "pivot_%c", (char)('a' + k));
        snprintf(fl, sizeof fl, "-detpixels 64 -N 1 %s", c[k].flags);
        int rc;
        char *o = run_out(sub, fl, &rc);
        const char *want = c[k].sample ? "pivoting detector around sample"
                                       : "pivoting detector around direct beam spot";
        CHECK(at_line(o, want) != NULL, "AT-GEO-002 (%c) %s: expected '%s'", (char)('a' + k),
              c[k].flags, want);
        free(o);
    }
}

/* AT-GEO-003 property (flags in the order of the spec: -distance first, so that a later
 * -pivot sample is not overridden by the -distance rule's pivot := BEAM) */
static void rotated(void)
{
    static const struct {
        const char *tag, *flags;
        int conv, pivot_sample, close_given, tt;
    } c[] = {
        {"geo003_mosflm", "-distance 100 -mosflm", G_MOSFLM, 0, 0, 0},
        {"geo003_mosflm_tt", "-distance 100 -mosflm -twotheta 10", G_MOSFLM, 0, 0, 1},
        {"geo003_xds", "-distance 100 -xds", G_XDS, 1, 0, 0},
        {"geo003_xds_tt", "-distance 100 -xds -twotheta 10", G_XDS, 1, 0, 1},
        {"geo003_dials", "-distance 100 -dials", G_DIALS, 1, 0, 0},
        {"geo003_adxv", "-distance 100 -adxv", G_ADXV, 0, 0, 0},
        {"geo003_custom", "-distance 100 -beam_vector 1 0 0 -pivot sample", G_CUSTOM, 1, 0, 0},
        {"geo003_custom_tt", "-distance 100 -beam_vector 1 0 0 -pivot sample -twotheta 10",
         G_CUSTOM, 1, 0, 1},
        {"geo003_close", "-close_distance 95", G_MOSFLM, 0, 1, 0},
        {"geo003_close_xds", "-xds -close_distance 95", G_XDS, 1, 1, 0},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        char fl[256];
        snprintf(fl, sizeof fl,
                 "-detpixels 256 -detector_rotx 5 -detector_roty 3 "
                 "-detector_rotz 2 %s",
                 c[k].flags);
        int rc;
        char *o = run_out(c[k].tag, fl, &rc);
        gin in = gdefault(c[k].conv, 256, 0.1, 100);
        in.rot[0] = 5 / RTD, in.rot[1] = 3 / RTD, in.rot[2] = 2 / RTD;
        in.pivot_sample = c[k].pivot_sample;
        if (c[k].close_given)
            in.close = 95 / 1000.0;
        if (c[k].tt)
            in.twotheta = 10 / RTD;
        gout g = geometry(&in);
        if (rc == 0) {
            check_detector(c[k].tag, o, &g);
            check_header(c[k].tag, at_dir_keep(c[k].tag), &in, &g, 1.0);
        }
        free(o);
    }
}

/* AT-GEO-004 two-theta axes and quirks */
static void twotheta(void)
{
    static const struct {
        const char *flag;
        int conv;
    } c[] = {{"-mosflm", G_MOSFLM}, {"-xds", G_XDS}, {"-dials", G_DIALS}, {"-adxv", G_ADXV}};
    static const double tax[4][3] = {{0, 0, -1}, {1, 0, 0}, {0, 1, 0}, {-1, 0, 0}};
    for (int k = 0; k < 4; k++) {
        char sub[32], fl[128];
        snprintf(sub, sizeof sub, "geo004_%s", c[k].flag + 1);
        snprintf(fl, sizeof fl, "-detpixels 128 -distance 100 -twotheta 20 %s", c[k].flag);
        const char *d = at_dir(sub);
        int rc = at_run(d, B " -nonoise -nopgm %s", fl);
        CHECK(rc == 0, "%s: exit status %d", sub, rc);
        char *o = at_stdout(d);
        gin in = gdefault(c[k].conv, 128, 0.1, 100);
        gout g0 = geometry(&in);
        v3 t = v3_make(tax[k][0], tax[k][1], tax[k][2]);
        double tt = 20 / RTD;
        vec_line(sub, o, "DETECTOR_FAST_AXIS", v3_rot(g0.f, t, tt), 1e-12);
        vec_line(sub, o, "DETECTOR_SLOW_AXIS", v3_rot(g0.s, t, tt), 1e-12);
        vec_line(sub, o, "DETECTOR_NORMAL_AXIS", v3_rot(g0.o, t, tt), 1e-12);
        in.twotheta = tt;
        gout g = geometry(&in);
        check_detector(sub, o, &g);
        check_header(sub, d, &in, &g, 1.0);
        char *h = NULL, buf[64];
        uint16_t *img = at_smv(d, "intimage.img", 128 * 128, &h);
        CHECK(h && at_hdr(h, "TWOTHETA", buf, sizeof buf) && strcmp(buf, "20") == 0,
              "%s: header TWOTHETA=%s, expected 20", sub, h ? buf : "?");
        free(h);
        free(img);
        free(o);
    }
    static const struct {
        const char *tag, *flags, *want;
        int custom_sample, note;
    } q[] = {
        {"tt_axis_after", "-twotheta 20 -twotheta_axis 0 0 -1", "0", 1, 1},
        {"tt_axis_before", "-twotheta_axis 0 0 -1 -twotheta 20", "20", 0, 0},
        {"tt_axis_alone", "-twotheta_axis 1 0 0", "1", 0, 0},
        {"tt_axis_strict", "--strict-cli -twotheta 20 -twotheta_axis 0 0 -1", "20", 0, 0},
    };
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        const char *d = at_dir(q[k].tag);
        int rc = at_run(d, B " -detpixels 128 -distance 100 -nonoise -nopgm %s", q[k].flags);
        CHECK(rc == 0, "%s: exit status %d", q[k].tag, rc);
        char *h = NULL, buf[64] = "?";
        uint16_t *img = at_smv(d, "intimage.img", 128 * 128, &h);
        CHECK(h && at_hdr(h, "TWOTHETA", buf, sizeof buf) && strcmp(buf, q[k].want) == 0,
              "%s (%s): header TWOTHETA=%s, expected %s", q[k].tag, q[k].flags, buf, q[k].want);
        char *o = at_stdout(d);
        if (q[k].custom_sample) {
            CHECK(at_line(o, "custom convention selected") != NULL,
                  "%s: custom convention not selected", q[k].tag);
            CHECK(at_line(o, "pivoting detector around sample") != NULL,
                  "%s: SAMPLE pivot not selected", q[k].tag);
        }
        if (q[k].note)
            CHECK(strstr(o, "NOTE:") && strstr(o, "twotheta"),
                  "%s: no NOTE line about -twotheta_axis overwriting the two-theta angle (README "
                  "policy 6)",
                  q[k].tag);
        free(o);
        free(h);
        free(img);
    }
}

/* AT-PRE-002 property: under -xds only ORGX/ORGY move the detector; CUSTOM pivots agree */
static void xds_beam(void)
{
    const size_t n = 256 * 256;
    const char *base = "-N 5 -lambda 1 -detpixels 256 -distance 100";
    static const char *same[] = {"", "-Xbeam 20 -Ybeam 30", "-Xclose 20 -Yclose 30",
                                 "-Xbeam 20 -Ybeam 30 -pivot beam"};
    float *ref = NULL;
    for (size_t k = 0; k < 4; k++) {
        char sub[32];
        snprintf(sub, sizeof sub, "pre002_xds_%zu", k);
        const char *d = at_dir(sub);
        int rc = at_run(d, B " -nonoise -nopgm %s -xds %s", base, same[k]);
        CHECK(rc == 0, "%s: exit status %d", sub, rc);
        float *img = at_floats(d, "floatimage.bin", n);
        if (k == 0)
            ref = img;
        else {
            CHECK(ref && img && memcmp(ref, img, n * 4) == 0,
                  "-xds %s moved the image (only ORGX/ORGY may, Q23)", same[k]);
            free(img);
        }
    }
    free(ref);
    int rc;
    char fl[256];
    snprintf(fl, sizeof fl, "%s -xds -ORGX 100 -ORGY 150", base);
    char *o = run_out("pre002_xds_org", fl, &rc);
    gin in = gdefault(G_XDS, 256, 0.1, 100);
    in.orgx = 100, in.orgy = 150;
    gout g = geometry(&in);
    if (rc == 0)
        check_detector("pre002_xds_org", o, &g);
    free(o);
    snprintf(fl, sizeof fl, "%s -dials -ORGX 100 -ORGY 150", base);
    o = run_out("pre002_dials_org", fl, &rc);
    in.conv = G_DIALS;
    g = geometry(&in);
    if (rc == 0)
        check_detector("pre002_dials_org", o, &g);
    free(o);
    /* CUSTOM: Fclose = Xbeam, Sclose = Ybeam, X is fast; both pivots give the same pix0 */
    const char *piv[2] = {"-pivot beam", "-pivot sample"};
    for (int k = 0; k < 2; k++) {
        char sub[32];
        snprintf(sub, sizeof sub, "pre002_custom_%d", k);
        snprintf(fl, sizeof fl, "%s -beam_vector 1 0 0 -Xbeam 20 -Ybeam 30 %s", base, piv[k]);
        o = run_out(sub, fl, &rc);
        gin ci = gdefault(G_CUSTOM, 256, 0.1, 100);
        ci.xbeam = 0.020, ci.ybeam = 0.030, ci.pivot_sample = k;
        g = geometry(&ci);
        CHECK(fabs(g.pix0.x - 0.1) + fabs(g.pix0.y - 0.03) + fabs(g.pix0.z + 0.02) < 1e-15,
              "model: CUSTOM pix0 wrong");
        if (rc == 0)
            check_detector(sub, o, &g);
        free(o);
    }
}

/* Q06 (geometry.md §9): -pix0_vector[_mm] only switches to CUSTOM (worked example), with a
 * NOTE; --honor-pix0 uses the vector (metres; _mm times 1e-3) as the unrotated origin */
static void pix0_vector(void)
{
    int rc;
    char *o = run_out("q06_mosflm", "-detpixels 16 -Xbeam 0.12 -Ybeam 0.13", &rc);
    double v[2] = {NAN, NAN};
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.00018) && g_equal(v[1], 0.00017),
          "Q06: MOSFLM -Xbeam 0.12 -Ybeam 0.13: Fbeam %g Sbeam %g, expected 0.00018 0.00017", v[0],
          v[1]);
    free(o);
    o = run_out("q06_pix0", "-detpixels 16 -Xbeam 0.12 -Ybeam 0.13 -pix0_vector_mm 0.5 0.1 120",
                &rc);
    CHECK(at_nums(o, "  Fbeam=", v, 2) == 2 && g_equal(v[0], 0.00012) && g_equal(v[1], 0.00013),
          "Q06: with -pix0_vector_mm: Fbeam %g Sbeam %g, expected 0.00012 0.00013", v[0], v[1]);
    vec_line("q06_pix0", o, "DETECTOR_PIX0_VECTOR", v3_make(0.1, 0.00013, -0.00012), 1e-15);
    CHECK(strstr(o, "NOTE:") && strstr(o, "pix0"),
          "Q06: no NOTE line saying that the -pix0_vector value is ignored (README policy 6)");
    free(o);
    static const struct {
        const char *tag, *flags;
        int rotated;
    } c[] = {
        {"honor_m", "-detpixels 16 -pix0_vector 0.1 0.002 -0.003 --honor-pix0", 0},
        {"honor_mm", "-detpixels 16 -pix0_vector_mm 100 2 -3 --honor-pix0", 0},
        {"honor_rot",
         "-detpixels 16 -detector_rotx 5 -detector_roty 3 -detector_rotz 2 "
         "-pix0_vector 0.1 0.002 -0.003 --honor-pix0",
         1},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        o = run_out(c[k].tag, c[k].flags, &rc);
        double r[3] = {0, 0, 0};
        if (c[k].rotated)
            r[0] = 5 / RTD, r[1] = 3 / RTD, r[2] = 2 / RTD;
        v3 want = rxyz(v3_make(0.1, 0.002, -0.003), r);
        vec_line(c[k].tag, o, "DETECTOR_PIX0_VECTOR", want, 1e-15);
        /* derived quantities (geometry.md §8), CUSTOM default axes rotated */
        v3 f = rxyz(v3_make(0, 0, 1), r), s_ = rxyz(v3_make(0, -1, 0), r),
           oo = rxyz(v3_make(1, 0, 0), r), b = v3_make(1, 0, 0);
        double rr = v3_dot(b, oo), close = v3_dot(want, oo);
        v3 w = v3_sub(v3_scale(b, close / rr), want);
        double fs[2] = {NAN, NAN};
        CHECK(at_nums(o, "  Fbeam=", fs, 2) == 2 && g_equal(fs[0], v3_dot(f, w)) &&
                  g_equal(fs[1], v3_dot(s_, w)),
              "%s: Fbeam=%g Sbeam=%g, expected %g %g", c[k].tag, fs[0], fs[1], v3_dot(f, w),
              v3_dot(s_, w));
        CHECK(at_nums(o, "  Fclose=", fs, 2) == 2 && g_equal(fs[0], -v3_dot(want, f)) &&
                  g_equal(fs[1], -v3_dot(want, s_)),
              "%s: Fclose=%g Sclose=%g, expected %g %g", c[k].tag, fs[0], fs[1], -v3_dot(want, f),
              -v3_dot(want, s_));
        free(o);
    }
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_geo2"))
        return 2;
    worked_examples();
    pivots();
    rotated();
    twotheta();
    xds_beam();
    pix0_vector();
    return at_finish();
}
