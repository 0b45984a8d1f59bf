/* test_at_geo.c -- AT-GEO-001, AT-GEO-005 (property), AT-GEO-006 (property).
 * spec/acceptance.md §1; geometry.md §2, §8, §10, §14; physics.md §7. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

/* AT-GEO-001 MOSFLM beam centre and +0.5 pixel */
static void geo001(void)
{
    const char *d = at_dir("geo001");
    int rc = at_run(d, B " -mosflm -pixel 0.1 -distance 100 -Xbeam 51.2 -Ybeam 51.2 "
                         "-detpixels 1024 -N 1 -roi 0 0 0 0 -nonoise -nopgm");
    CHECK(rc == 0, "exit status %d", rc);
    char *out = at_stdout(d);
    double v[3] = {NAN, NAN, NAN};
    CHECK(at_nums(out, "DETECTOR_PIX0_VECTOR ", v, 3) == 3, "no DETECTOR_PIX0_VECTOR line");
    CHECK(fabs(v[0] - 0.1) <= 1e-9 && fabs(v[1] - 0.05125) <= 1e-9 && fabs(v[2] + 0.05125) <= 1e-9,
          "pix0 = (%.15g, %.15g, %.15g), expected (0.1, 0.05125, -0.05125)", v[0], v[1], v[2]);
    /* the same from the formulas of geometry.md §2/§8 */
    at_det g;
    at_det_init(&g, AT_MOSFLM, 1024, 1024, 0.1, 100, 51.2, 51.2);
    CHECK(fabs(g.pix0.x - 0.1) <= 1e-15 && fabs(g.pix0.y - 0.05125) <= 1e-15 &&
              fabs(g.pix0.z + 0.05125) <= 1e-15,
          "test's own pix0 formula disagrees with geometry.md §14 example 1");
    double fs[2] = {NAN, NAN};
    CHECK(at_nums(out, "  Fbeam=", fs, 2) == 2, "no Fbeam/Sbeam line");
    CHECK(fs[0] == 0.05125 && fs[1] == 0.05125, "Fbeam=%g Sbeam=%g, expected 0.05125 both", fs[0],
          fs[1]);
    char *hdr = NULL;
    uint16_t *img = at_smv(d, "intimage.img", 1024 * 1024, &hdr);
    if (hdr) {
        static const struct {
            const char *key, *val;
        } want[] = {{"MOSFLM_CENTER_X", "51.2"}, {"MOSFLM_CENTER_Y", "51.2"},
                    {"ADXV_CENTER_X", "51.25"},  {"DENZO_X_BEAM", "51.25"},
                    {"DENZO_Y_BEAM", "51.25"},   {"BEAM_CENTER_X", "51.2"},
                    {"BEAM_CENTER_Y", "51.2"}};
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            char buf[64];
            const char *got = at_hdr(hdr, want[k].key, buf, sizeof buf);
            CHECK(got && strcmp(got, want[k].val) == 0, "header %s=%s, expected %s", want[k].key,
                  got ? got : "(missing)", want[k].val);
        }
    }
    free(hdr);
    free(img);
    free(out);
}

/* AT-GEO-005 curved detector: every pixel at the printed distance, and the position equals
 * R(f, Pz/D) R(s, Py/D) (D b) of the flat position (physics.md §7). */
static void geo005(void)
{
    static const int pix[3][2] = {{10, 20}, {200, 37}, {128, 250}}; /* slow, fast */
    at_det g;
    at_det_init(&g, AT_MOSFLM, 256, 256, 0.1, 100, NAN, NAN);
    for (int k = 0; k < 3; k++) {
        char sub[32];
        snprintf(sub, sizeof sub, "geo005_%d", k);
        const char *d = at_dir(sub);
        int rc = at_run(d,
                        B " -N 5 -lambda 6.2 -detpixels 256 -distance 100 -curved_det "
                          "-oversample 1 -nonoise -nopgm -trace_pixel %d %d",
                        pix[k][0], pix[k][1]);
        CHECK(rc == 0, "exit status %d", rc);
        char *out = at_stdout(d);
        double dist = NAN, P[3] = {NAN, NAN, NAN};
        CHECK(at_nums(out, "  distance=", &dist, 1) == 1, "no distance= line");
        CHECK(dist == 0.1, "printed distance %g, expected 0.1", dist);
        CHECK(at_nums(out, "TRACE_C: pixel_pos_meters ", P, 3) == 3,
              "no TRACE_C: pixel_pos_meters line for pixel %d %d", pix[k][0], pix[k][1]);
        double R = sqrt(P[0] * P[0] + P[1] * P[1] + P[2] * P[2]);
        CHECK(fabs(R - 0.1) <= 1e-12 * 0.1,
              "pixel (s %d, f %d): |pixel_pos| = %.17g, expected the distance 0.1 (1e-12 rel)",
              pix[k][0], pix[k][1], R);
        v3 flat = at_subpixel_pos(&g, pix[k][0], pix[k][1], 1, 0, 0, 0.0);
        double D = 0.1;
        v3 cur = v3_rot(v3_scale(g.b, D), g.s, flat.y / D);
        cur = v3_rot(cur, g.f, flat.z / D);
        double e = fabs(cur.x - P[0]) + fabs(cur.y - P[1]) + fabs(cur.z - P[2]);
        CHECK(e <= 1e-13,
              "pixel (s %d, f %d): curved position (%.15g %.15g %.15g), expected "
              "(%.15g %.15g %.15g)",
              pix[k][0], pix[k][1], P[0], P[1], P[2], cur.x, cur.y, cur.z);
        /* the detector is really curved: the flat position is not at distance D */
        CHECK(fabs(v3_norm(flat) - 0.1) > 1e-9, "test pixel is too close to the centre");
        free(out);
    }
    /* Q29: -curved_det as the last token is ignored (flat positions) */
    const char *d = at_dir("geo005_last");
    int rc = at_run_raw(d, B " -N 5 -lambda 6.2 -detpixels 256 -distance 100 -oversample 1 "
                             "-nonoise -nopgm -noprogress -trace_pixel 10 20 -curved_det");
    CHECK(rc == 0, "exit status %d", rc);
    char *out = at_stdout(d);
    double P[3] = {NAN, NAN, NAN};
    CHECK(at_nums(out, "TRACE_C: pixel_pos_meters ", P, 3) == 3, "no pixel_pos_meters line");
    v3 flat = at_subpixel_pos(&g, 10, 20, 1, 0, 0, 0.0);
    CHECK(fabs(flat.x - P[0]) + fabs(flat.y - P[1]) + fabs(flat.z - P[2]) <= 1e-15,
          "-curved_det as last token: position (%.15g %.15g %.15g), expected flat "
          "(%.15g %.15g %.15g)",
          P[0], P[1], P[2], flat.x, flat.y, flat.z);
    free(out);
}

/* AT-GEO-006 point-pixel solid angle: value(point)/value(normal) = R/(pixel^2 close) */
static void geo006(void)
{
    const int n = 64;
    const char *d1 = at_dir("geo006_normal");
    const char *d2 = at_dir("geo006_point");
    int rc1 = at_run(d1, B " -N 1 -detpixels 64 -distance 100 -oversample 1 -nonoise -nopgm");
    int rc2 = at_run(d2, B " -N 1 -detpixels 64 -distance 100 -oversample 1 -point_pixel "
                           "-nonoise -nopgm");
    CHECK(rc1 == 0 && rc2 == 0, "exit status %d / %d", rc1, rc2);
    float *a = at_floats(d1, "floatimage.bin", (size_t)n * n);
    float *b = at_floats(d2, "floatimage.bin", (size_t)n * n);
    if (!a || !b)
        return;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    int bad = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            size_t i = (size_t)s * n + f;
            double R = v3_norm(at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0));
            double r = R / (g.pixel * g.pixel * g.close);
            if (!at_ratio_ok(b[i], a[i], r)) {
                if (bad++ < 5)
                    fprintf(stderr,
                            "pixel s %d f %d: point %.9g normal %.9g ratio %.12g, "
                            "expected %.12g\n",
                            s, f, b[i], a[i], (double)b[i] / a[i], r);
            }
        }
    CHECK(bad == 0, "%d pixels violate the point-pixel ratio (3e-7 rel)", bad);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_geo"))
        return 2;
    geo001();
    geo005();
    geo006();
    return at_finish();
}
