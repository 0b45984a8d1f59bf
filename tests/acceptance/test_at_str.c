/* test_at_str.c -- structure-factor properties that need no reference binary:
 *   AT-STR-001 nearest neighbour: value = r_e^2 fluence F(h0,k0,l0)^2 P w (default_F^2 = 0
 *     outside the grid);
 *   AT-STR-002 (a) tricubic interpolation: on grid.hkl (linear in h,k,l) and on a grid that is
 *     cubic in each index, cubic Lagrange interpolation reproduces the polynomial exactly, so
 *     F_cell is the polynomial at the fractional indices;
 *   AT-STR-002 (b) the interpolation latch: pixels before the first out-of-range term are
 *     interpolated, that pixel and all later ones use nearest neighbour; the warning is
 *     printed once with that term's indices; (c) --interp-fallback=default_F differs only in
 *     the triggering pixel.
 * spec/acceptance.md §3; physics.md §11, §12; carryover.md §2. */
#define _DEFAULT_SOURCE /* M_PI */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void write_grid(const char *d, const char *name, int cubic)
{
    size_t cap = 729 * 64, n = 0;
    char *t = malloc(cap);
    for (int h = -4; h <= 4; h++)
        for (int k = -4; k <= 4; k++)
            for (int l = -4; l <= 4; l++) {
                if (cubic)
                    n += (size_t)snprintf(t + n, cap - n, "%d %d %d %.17g\n", h, k, l,
                                          20.0 + h + 0.5 * k * k - 0.25 * l * l * l +
                                              0.125 * h * k * l);
                else
                    n += (size_t)snprintf(t + n, cap - n, "%d %d %d %d\n", h, k, l,
                                          10 + h + 2 * k + 3 * l);
            }
    at_write_text(d, name, t);
    free(t);
}

static double grid_F(int cubic, double h, double k, double l)
{
    if (cubic)
        return 20.0 + h + 0.5 * k * k - 0.25 * l * l * l + 0.125 * h * k * l;
    return 10 + h + 2 * k + 3 * l;
}

static double sincg(double x, double N)
{
    return x == 0.0 ? N : sin(x * N) / sin(x);
}

typedef struct {
    double hkl[3];
    int i0[3];
    int ambiguous; /* near a half-integer or the interpolation range boundary */
    int out_of_range;
    double Flatt, pw; /* lattice factor, P*omega */
} pix_t;

/* per-pixel quantities for a cubic 30 A cell, MOSFLM, os = 1 */
static void pixel_info(const at_det *g, int s, int f, double N, pix_t *p)
{
    const double lambda = 1e-10, cell = 30e-10;
    v3 P = at_subpixel_pos(g, s, f, 1, 0, 0, 0.0);
    v3 dv = v3_unit(P);
    v3 q = v3_scale(v3_sub(dv, g->b), 1.0 / lambda);
    p->hkl[0] = cell * q.x, p->hkl[1] = cell * q.y, p->hkl[2] = cell * q.z;
    p->ambiguous = 0;
    p->out_of_range = 0;
    p->Flatt = 1.0;
    for (int c = 0; c < 3; c++) {
        double x = p->hkl[c];
        p->i0[c] = (int)ceil(x - 0.5);
        if (fabs(x - floor(x) - 0.5) < 1e-6 || fabs(fabs(x) - 2.0) < 1e-6)
            p->ambiguous = 1;
        if (x > 2.0 || x < -2.0) /* h - h_min + 3 > h_range or h - 2 < h_min */
            p->out_of_range = 1;
        if (N > 1)
            p->Flatt *= sincg(M_PI * x, N);
    }
    p->pw = at_polar(g->b, dv, g->p, 0.0) * at_omega(g, P, 0);
}

static double nearest_F(const pix_t *p, double defF)
{
    for (int c = 0; c < 3; c++)
        if (p->i0[c] < -4 || p->i0[c] > 4)
            return defF;
    return 10 + p->i0[0] + 2 * p->i0[1] + 3 * p->i0[2];
}

/* AT-STR-001 */
static void str001(void)
{
    const int n = 64;
    const char *d = at_dir("str001");
    write_grid(d, "grid.hkl", 0);
    int rc = at_run(d, "-hkl grid.hkl -nointerpolate -cell 30 30 30 90 90 90 -N 1 -lambda 1 "
                       "-detpixels 64 -distance 20 -oversample 1 -nonoise -nopgm");
    CHECK(rc == 0, "str001: exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 20, NAN, NAN);
    int bad = 0, nin = 0, nout = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            pix_t p;
            pixel_info(&g, s, f, 1, &p);
            if (fabs(p.hkl[0] - floor(p.hkl[0]) - 0.5) < 1e-6 ||
                fabs(p.hkl[1] - floor(p.hkl[1]) - 0.5) < 1e-6 ||
                fabs(p.hkl[2] - floor(p.hkl[2]) - 0.5) < 1e-6)
                continue;
            double F = nearest_F(&p, 0.0);
            if (F == 0.0 && (abs(p.i0[1]) > 4 || abs(p.i0[2]) > 4))
                nout++;
            else
                nin++;
            double want = AT_RE2 * AT_FLUENCE * F * F * p.pw;
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr, "str001: pixel s %d f %d (hkl0 %d %d %d) = %.9g, expected %.9g\n",
                        s, f, p.i0[0], p.i0[1], p.i0[2], got, want);
        }
    printf("str001: %d pixels in the grid, %d outside\n", nin, nout);
    CHECK(nin > 0 && nout > 0, "str001: case does not reach outside the grid");
    CHECK(bad == 0, "str001: %d pixels differ from r_e^2 fluence F(h0,k0,l0)^2 P w", bad);
    free(img);
}

/* AT-STR-002 (a): interpolation inside the grid */
static void str002a(const char *tag, int cubic, int distance)
{
    const int n = 32;
    const char *d = at_dir(tag);
    write_grid(d, "grid.hkl", cubic);
    int rc = at_run(d,
                    "-hkl grid.hkl -interpolate -cell 30 30 30 90 90 90 -N 2 -lambda 1 "
                    "-detpixels 32 -distance %d -nonoise -nopgm",
                    distance);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    char *o = at_stdout(d);
    CHECK(strstr(o, "out of range") == NULL,
          "%s: interpolation out of range although all "
          "indices are inside [-2, 2]",
          tag);
    free(o);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, distance, NAN, NAN);
    int bad = 0;
    double kmax = 0, nn_diff = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            pix_t p;
            pixel_info(&g, s, f, 2, &p);
            kmax = fmax(kmax, fmax(fabs(p.hkl[1]), fabs(p.hkl[2])));
            double F = grid_F(cubic, p.hkl[0], p.hkl[1], p.hkl[2]);
            double want = AT_RE2 * AT_FLUENCE * F * F * p.Flatt * p.Flatt * p.pw;
            double Fn = grid_F(cubic, p.i0[0], p.i0[1], p.i0[2]);
            nn_diff = fmax(nn_diff, fabs(Fn * Fn - F * F) / (F * F));
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr,
                        "%s: pixel s %d f %d (hkl %.6f %.6f %.6f) = %.9g, expected "
                        "%.9g (rel %.3g)\n",
                        tag, s, f, p.hkl[0], p.hkl[1], p.hkl[2], got, want, (got - want) / want);
        }
    printf("%s: |k|,|l| up to %.3f; nearest neighbour would differ by up to %.3g\n", tag, kmax,
           nn_diff);
    CHECK(bad == 0, "%s: %d pixels differ from the interpolated polynomial", tag, bad);
    free(img);
}

/* AT-STR-002 (b) and (c): the latch.  defF < 0: the spec's command (no -default_F); there
 * F(0,-2,-2) = 0 = default_F at the triggering pixel, so (c) cannot differ from (b); the
 * variant with -default_F 7 makes the triggering pixel discriminate. */
static void str002bc(double defF)
{
    const int n = 32;
    char sb[32], sc[32], extra[32] = "";
    snprintf(sb, sizeof sb, "str002b%s", defF < 0 ? "" : "_defF");
    snprintf(sc, sizeof sc, "str002c%s", defF < 0 ? "" : "_defF");
    if (defF >= 0)
        snprintf(extra, sizeof extra, "-default_F %g", defF);
    const double dF = defF < 0 ? 0.0 : defF;
    const char *db = at_dir(sb), *dc = at_dir(sc);
    write_grid(db, "grid.hkl", 0);
    write_grid(dc, "grid.hkl", 0);
    const char *cmd = "-hkl grid.hkl -interpolate -cell 30 30 30 90 90 90 -N 2 -lambda 1 "
                      "-detpixels 32 -distance 30 -Xbeam 0.5 -Ybeam 1.6 -nonoise -nopgm";
    int rb = at_run(db, "%s %s", cmd, extra);
    int rcc = at_run(dc, "%s %s --interp-fallback=default_F", cmd, extra);
    CHECK(rb == 0 && rcc == 0, "str002b/c: exit status %d %d", rb, rcc);
    float *b = at_floats(db, "floatimage.bin", (size_t)n * n);
    float *c = at_floats(dc, "floatimage.bin", (size_t)n * n);
    char *ob = at_stdout(db), *oc = at_stdout(dc);
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 30, 0.5, 1.6);
    int pstar = -1, amb_before = 0;
    pix_t *px = malloc(sizeof(pix_t) * n * n);
    for (int i = 0; i < n * n; i++) {
        pixel_info(&g, i / n, i % n, 2, &px[i]);
        if (pstar < 0) {
            if (px[i].ambiguous)
                amb_before++;
            if (px[i].out_of_range)
                pstar = i;
        }
    }
    printf("str002b: first out-of-range pixel p* = %d (slow %d fast %d), hkl %g %g %g\n", pstar,
           pstar / n, pstar % n, px[pstar].hkl[0], px[pstar].hkl[1], px[pstar].hkl[2]);
    CHECK(pstar > 0, "str002b: the triggering pixel is the first rendered pixel (p* = %d)", pstar);
    CHECK(amb_before == 0, "str002b: p* is ambiguous (pixels near the range boundary)");
    /* warning once, with the indices of the triggering term */
    CHECK(at_count_lines(ob, "WARNING: out of range") == 1,
          "str002b: the out-of-range warning is printed %d times, expected once",
          at_count_lines(ob, "WARNING: out of range"));
    double w[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    const char *wl = at_line(ob, "WARNING: out of range");
    if (wl) {
        const char *colon = strstr(wl, "l0:");
        int k = 0;
        if (colon) {
            char *e;
            const char *p = colon + 3;
            for (; k < 6; k++) {
                w[k] = strtod(p, &e);
                if (e == p)
                    break;
                p = e;
                if (*p == ',')
                    p++;
            }
        }
        int ok = k == 6;
        for (int q = 0; ok && q < 3; q++)
            ok = fabs(w[q] - px[pstar].hkl[q]) <= 1e-5 * fmax(1.0, fabs(px[pstar].hkl[q])) &&
                 w[3 + q] == px[pstar].i0[q];
        CHECK(ok, "str002b: warning indices %g %g %g %g %g %g, expected %g %g %g %d %d %d", w[0],
              w[1], w[2], w[3], w[4], w[5], px[pstar].hkl[0], px[pstar].hkl[1], px[pstar].hkl[2],
              px[pstar].i0[0], px[pstar].i0[1], px[pstar].i0[2]);
    }
    if (b && c) {
        int bad = 0, nint = 0, nnn = 0;
        for (int i = 0; i < n * n; i++) {
            const pix_t *p = &px[i];
            if (i != pstar && p->ambiguous)
                continue;
            double F = i < pstar ? grid_F(0, p->hkl[0], p->hkl[1], p->hkl[2]) : nearest_F(p, dF);
            i < pstar ? nint++ : nnn++;
            double want = AT_RE2 * AT_FLUENCE * F * F * p->Flatt * p->Flatt * p->pw;
            if (!at_f32_ok(b[i], want) && bad++ < 5)
                fprintf(stderr, "str002b: pixel %d (slow %d fast %d, %s) = %.9g, expected %.9g\n",
                        i, i / n, i % n, i < pstar ? "interpolated" : "nearest", b[i], want);
        }
        printf("str002b: %d interpolated pixels, %d nearest-neighbour pixels checked\n", nint, nnn);
        CHECK(bad == 0, "str002b: %d pixels violate the latch semantics", bad);
        /* (c): identical except at p*, where F = default_F = 0 */
        int diff = 0;
        for (int i = 0; i < n * n; i++)
            if (i != pstar && b[i] != c[i] && diff++ < 5)
                fprintf(stderr, "str002c: pixel %d differs from (b): %.9g vs %.9g\n", i, c[i],
                        b[i]);
        CHECK(diff == 0, "str002c: %d pixels other than p* differ from (b)", diff);
        const pix_t *p = &px[pstar];
        double want = AT_RE2 * AT_FLUENCE * dF * dF * p->Flatt * p->Flatt * p->pw;
        CHECK(at_f32_ok(c[pstar], want),
              "%s: triggering pixel %.9g, expected the default_F value %.9g", sc, c[pstar], want);
        if (defF >= 0)
            CHECK(b[pstar] != c[pstar], "%s: triggering pixel equals (c): no discrimination", sb);
    }
    free(px);
    free(b);
    free(c);
    free(ob);
    free(oc);
}

/* Q20: the automatic interpolation switch uses the raw -N values; -xtalsize (Na = 167 here)
 * does not turn it off; -N 0 behaves like -N 1 */
static void q20(void)
{
    const char *cmd = "-hkl grid.hkl -cell 30 30 30 90 90 90 -lambda 1 -detpixels 32 "
                      "-distance 400 -nonoise -nopgm";
    const char *d0 = at_dir("q20_N0"), *d1 = at_dir("q20_N1"), *dx = at_dir("q20_xtal");
    const char *d5 = at_dir("q20_N5");
    write_grid(d0, "grid.hkl", 0);
    write_grid(d1, "grid.hkl", 0);
    write_grid(dx, "grid.hkl", 0);
    write_grid(d5, "grid.hkl", 0);
    int r0 = at_run(d0, "%s -N 0", cmd), r1 = at_run(d1, "%s -N 1", cmd);
    int rx = at_run(dx, "%s -xtalsize 0.0005", cmd), r5 = at_run(d5, "%s -N 5", cmd);
    CHECK(r0 == 0 && r1 == 0 && rx == 0 && r5 == 0, "q20: exit status %d %d %d %d", r0, r1, rx,
          r5);
    CHECK(at_same_file(d0, d1, "floatimage.bin"), "q20: -N 0 differs from -N 1");
    const char *on = "auto-selected tricubic interpolation";
    const char *off = "auto-selected no interpolation";
    char *o0 = at_stdout(d0), *ox = at_stdout(dx), *o5 = at_stdout(d5);
    CHECK(at_line(o0, on) != NULL, "q20: -N 0 does not auto-select interpolation");
    CHECK(at_line(ox, on) != NULL,
          "q20: -xtalsize (raw N = 1) does not auto-select interpolation (Q20)");
    CHECK(at_line(o5, off) != NULL, "q20: -N 5 does not auto-select no interpolation");
    free(o0);
    free(ox);
    free(o5);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_str"))
        return 2;
    str001();
    str002a("str002a", 0, 400);
    str002a("str002a_cubic", 1, 100);
    str002bc(-1);
    str002bc(7);
    q20();
    return at_finish();
}
