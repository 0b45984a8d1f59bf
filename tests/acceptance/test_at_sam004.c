/* test_at_sam004.c -- AT-SAM-004 [new] auto-selection, as properties: for every flag set of
 * the test, the printed set-up listings (divergence deviation, lambda<i>, phi<i>, thick<i>,
 * the source list and the summary counts) must equal what the tables of physics.md §2 and
 * the source generation of §4.2 give (computed here).  The float-image comparison with the
 * reference is out of scope (no reference binary).
 * spec/acceptance.md §2; physics.md §2.1-§2.6, §4.2. */
#define _DEFAULT_SOURCE /* M_1_PI */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RTD (180.0 * M_1_PI)

typedef struct {
    const char *flags;
    /* inputs as parsed (internal units; negative = not given) */
    double hrange, hstep, vrange, vstep;
    int hcount, vcount;
    double disp;
    int dispsteps;
    double thick;
    int thicksteps;
    double osc, phistep;
    int phisteps;
    double mosaic;
    int ndom;
    int square_div;
} sam_case;

#define DEF -1, -1, -1, -1, -1, -1, 0.0, -1, 0.0, -1, -1, -1, -1, -1, -1, 0

typedef struct {
    int n;
    double range, step;
} fam;

/* §2.2 (divergence, dispersion) */
static fam resolve_div(int count, double range, double step)
{
    fam r = {count, range, step};
    if (count <= 0) {
        if (range < 0 && step <= 0)
            r.n = 1, r.range = 0, r.step = 0;
        else if (range < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (range >= 0 && step <= 0)
            r.step = range, r.n = 2;
        else
            r.n = (int)ceil(range / step);
    } else {
        if (range < 0 && step <= 0)
            r.range = 1.0, r.step = r.range / count;
        else if (range < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (range >= 0 && step <= 0) {
            r.n = count > 2 ? count : 2;
            r.step = range / (r.n - 1);
        }
    }
    return r;
}

/* §2.4 */
static fam resolve_thick(int count, double thick, double step)
{
    fam r = {count, thick, step};
    if (count <= 0) {
        if (thick < 0 && step <= 0)
            r.n = 1, r.range = 0, r.step = 0;
        else if (thick < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (thick >= 0 && step <= 0)
            r.n = 2, r.step = thick / 2;
        else
            r.n = (int)ceil(thick / step);
    } else {
        if (thick < 0 && step <= 0)
            r.range = 0.5e-6, r.step = r.range / count;
        else if (thick < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (thick >= 0 && step <= 0) {
            r.n = count > 2 ? count : 2;
            r.step = thick / (r.n - 1);
        }
    }
    return r;
}

static void sanity(fam *f)
{
    if (f->range <= 0 || f->step <= 0 || f->n <= 0)
        f->n = 1, f->range = 0, f->step = 0;
}

/* §2.1 */
static fam resolve_phi(int n, double osc, double step)
{
    fam r = {n, osc, step};
    if (n < 0) {
        if (osc < 0 && step <= 0)
            r.n = 1, r.range = 0, r.step = 0;
        else if (osc < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (osc >= 0 && step <= 0)
            r.n = 2, r.step = osc / 2;
        else
            r.n = (int)ceil(osc / step);
    } else {
        if (r.n == 0)
            r.n = 1;
        if (osc < 0 && step <= 0)
            r.range = 1 / RTD, r.step = r.range / r.n;
        else if (osc < 0 && step > 0)
            r.range = step, r.n = 2;
        else if (osc >= 0 && step < 0)
            r.step = osc / r.n;
    }
    return r;
}

static int near_(double got, double want, double rel, double abs_)
{
    return fabs(got - want) <= rel * fabs(want) + abs_;
}

/* numbers of the i-th line starting with prefix */
static int nth_nums(const char *text, const char *prefix, int idx, double *v, int n)
{
    const char *p = text;
    for (int k = 0; p; k++) {
        p = at_line(p, prefix);
        if (!p)
            return 0;
        if (k == idx)
            return at_nums(p, prefix, v, n);
        p = strchr(p, '\n');
    }
    return 0;
}

static void run_case(int idx, const sam_case *c)
{
    char sub[32];
    snprintf(sub, sizeof sub, "sam004_%02d", idx);
    const char *d = at_dir(sub);
    int rc = at_run(d,
                    "-default_F 100 -cell 100 100 100 90 90 90 -N 1 -detpixels 8 "
                    "-distance 100 -nonoise -nopgm %s",
                    c->flags);
    CHECK(rc == 0, "%s: exit status %d", c->flags, rc);
    char *o = at_stdout(d);
    const char *tag = c->flags;

    /* expected sampling (physics.md §2) */
    fam ph = resolve_phi(c->phisteps, c->osc, c->phistep);
    fam hd = resolve_div(c->hcount, c->hrange, c->hstep);
    fam vd = resolve_div(c->vcount, c->vrange, c->vstep);
    fam dp = resolve_div(c->dispsteps, c->disp, -1);
    fam th = resolve_thick(c->thicksteps, c->thick, -1);
    sanity(&hd), sanity(&vd), sanity(&dp), sanity(&th);
    int ndom = c->ndom;
    double sig = c->mosaic;
    if (ndom <= 0) {
        if (sig < 0)
            ndom = 1, sig = 0;
        else if (sig == 0)
            ndom = 1;
        else
            ndom = 10;
    } else {
        if (sig < 0)
            ndom = 1, sig = 0;
        else if (sig == 0)
            ndom = 1;
    }

    /* listings: phi<i>, thick<i>, lambda<i> */
    for (int k = 0; k < ph.n; k++) {
        char pre[32];
        double v = NAN, want = ph.step * k * RTD;
        snprintf(pre, sizeof pre, "phi%d = ", k);
        CHECK(at_nums(o, pre, &v, 1) == 1 && near_(v, want, 1e-5, 1e-9),
              "%s: phi%d = %g, expected %g", tag, k, v, want);
    }
    {
        char pre[32];
        snprintf(pre, sizeof pre, "phi%d = ", ph.n);
        CHECK(at_line(o, pre) == NULL, "%s: more than %d phi steps listed", tag, ph.n);
    }
    for (int k = 0; k <= th.n; k++) {
        char pre[32];
        double v = NAN, want = th.step * k * 1e6;
        snprintf(pre, sizeof pre, "thick%d = ", k);
        if (k == th.n) {
            CHECK(at_line(o, pre) == NULL, "%s: more than %d layers listed", tag, th.n);
            break;
        }
        CHECK(at_nums(o, pre, &v, 1) == 1 && near_(v, want, 1e-5, 1e-9),
              "%s: thick%d = %g um, expected %g", tag, k, v, want);
    }
    double lambdas[16];
    for (int k = 0; k < dp.n && k < 16; k++) {
        char pre[32];
        double v = NAN;
        lambdas[k] = 1e-10 * (1.0 + dp.step * k - dp.range / 2.0);
        snprintf(pre, sizeof pre, "lambda%d = ", k);
        CHECK(at_nums(o, pre, &v, 1) == 1 && near_(v, lambdas[k], 1e-12, 0),
              "%s: lambda%d = %.15g, expected %.15g", tag, k, v, lambdas[k]);
    }
    /* generated sources (§4.2), MOSFLM: b = (1,0,0), p = (0,0,1), v = unit(b x p) */
    v3 b = v3_make(1, 0, 0), p = v3_make(0, 0, 1), vax = v3_unit(v3_cross(b, p));
    int nacc = 0, nsrc = 0, bad_src = 0, bad_dev = 0;
    double wts = 0;
    int total = 0;
    /* first pass: count accepted points */
    for (int pass = 0; pass < 2; pass++) {
        nacc = 0;
        for (int ih = 0; ih < hd.n; ih++)
            for (int iv = 0; iv < vd.n; iv++) {
                double dh = hd.step * ih - hd.range / 2.0, dv = vd.step * iv - vd.range / 2.0;
                if (!c->square_div) {
                    double T =
                        (dh * dh - hd.step * hd.step / 4.0 * (1 - hd.n % 2)) / hd.range / hd.range +
                        (dv * dv - vd.step * vd.step / 4.0 * (1 - vd.n % 2)) / vd.range / vd.range;
                    if (4 * T > 1.1)
                        continue;
                }
                if (pass == 1) {
                    double g[2] = {NAN, NAN};
                    if (nth_nums(o, "divergence deviation: ", nacc, g, 2) != 2 ||
                        !near_(g[0], dh, 1e-5, 1e-12) || !near_(g[1], dv, 1e-5, 1e-12)) {
                        if (bad_dev++ < 3)
                            fprintf(stderr, "%s: divergence deviation %d = %g %g, expected %g %g\n",
                                    tag, nacc, g[0], g[1], dh, dv);
                    }
                    v3 w = v3_rot(v3_rot(v3_scale(b, -10.0), p, dv), vax, dh);
                    for (int id = 0; id < dp.n; id++) {
                        /* source line nsrc after the "created a total" header */
                        const char *hdr = strstr(o, "created a total of ");
                        const char *l = hdr ? strchr(hdr, '\n') : NULL;
                        for (int k = 0; l && k < nsrc; k++)
                            l = strchr(l + 1, '\n');
                        double s[5] = {NAN, NAN, NAN, NAN, NAN};
                        int got = l ? at_nums(l + 1, "", s, 5) : 0;
                        double wt = 1.0 / total;
                        int ok = got == 5 && near_(s[0], w.x, 1e-5, 1e-5) &&
                                 near_(s[1], w.y, 1e-5, 1e-5) && near_(s[2], w.z, 1e-5, 1e-5) &&
                                 near_(s[3], wt, 1e-5, 0) && near_(s[4], lambdas[id], 1e-5, 0);
                        if (!ok && bad_src++ < 3)
                            fprintf(stderr,
                                    "%s: source %d = %g %g %g %g %g, expected %g %g %g %g "
                                    "%g\n",
                                    tag, nsrc, s[0], s[1], s[2], s[3], s[4], w.x, w.y, w.z, wt,
                                    lambdas[id]);
                        wts += wt;
                        nsrc++;
                    }
                }
                nacc++;
            }
        total = nacc * dp.n;
    }
    CHECK(bad_dev == 0, "%s: %d divergence deviation lines differ", tag, bad_dev);
    CHECK(bad_src == 0, "%s: %d source lines differ", tag, bad_src);
    CHECK(nth_nums(o, "divergence deviation: ", nacc, (double[2]){0, 0}, 2) == 0,
          "%s: more than %d divergence deviation lines", tag, nacc);
    /* summary counts */
    double v[3] = {NAN, NAN, NAN};
    CHECK(at_nums(o, "  created a total of ", v, 1) == 1 && v[0] == total,
          "%s: created a total of %g sources, expected %d", tag, v[0], total);
    char want[128];
    snprintf(want, sizeof want, "  %d divergence steps", nacc);
    CHECK(at_line(o, want) != NULL, "%s: no line '%s'", tag, want);
    snprintf(want, sizeof want, "  %d sources", total);
    CHECK(at_line(o, want) != NULL, "%s: no line '%s'", tag, want);
    snprintf(want, sizeof want, "  %d mosaic domains over mosaic spread of ", ndom);
    CHECK(at_nums(o, want, v, 1) == 1 && near_(v[0], sig * RTD, 1e-5, 1e-9),
          "%s: expected '%s%g degrees'", tag, want, sig * RTD);
    snprintf(want, sizeof want, "  %d phi steps from ", ph.n);
    CHECK(at_nums(o, want, v, 2) == 2 && near_(v[0], 0, 0, 1e-12) &&
              near_(v[1], ph.range * RTD, 1e-5, 1e-9),
          "%s: expected '%s0 to %g degrees'", tag, want, ph.range * RTD);
    CHECK(at_nums(o, "  sensor is ", v, 3) >= 2 && near_(v[0], th.range, 1e-5, 1e-15) &&
              v[1] == th.n,
          "%s: sensor is %g m thick in %g layers, expected %g m in %d", tag, v[0], v[1], th.range,
          th.n);
    double hv[2] = {NAN, NAN};
    CHECK(at_nums(o, "  hdivrange=", hv, 2) == 2 && near_(hv[0], hd.range, 1e-5, 1e-15) &&
              near_(hv[1], hd.step, 1e-5, 1e-15),
          "%s: hdivrange=%g hdivstep=%g, expected %g %g", tag, hv[0], hv[1], hd.range, hd.step);
    CHECK(at_nums(o, "  vdivrange=", hv, 2) == 2 && near_(hv[0], vd.range, 1e-5, 1e-15) &&
              near_(hv[1], vd.step, 1e-5, 1e-15),
          "%s: vdivrange=%g vdivstep=%g, expected %g %g", tag, hv[0], hv[1], vd.range, vd.step);
    printf("%-40s %2d divergence points, %2d sources, %d phi steps, %d layers, %d domains\n",
           c->flags, nacc, total, ph.n, th.n, ndom);
    free(o);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_sam004"))
        return 2;
    const double mr = 1e-3, deg = 1 / RTD;
    sam_case c[] = {
        {"-hdivrange 0.5", DEF},
        {"-hdivstep 0.1", DEF},
        {"-hdivsteps 5", DEF},
        {"-divsteps 3", DEF},
        {"-hdivrange 0.5 -hdivsteps 5", DEF},
        {"-hdivrange 0.28 -hdivstep 0.02", DEF},
        {"-divergence 0.5 -divsteps 4", DEF},
        {"-divergence 0.5 -divsteps 4 -square_div", DEF},
        {"-hdivrange 1 -hdivstep 0.5 -hdivsteps 5", DEF},
        {"-dispersion 10", DEF},
        {"-dispsteps 3", DEF},
        {"-dispersion 10 -dispsteps 3", DEF},
        {"-detector_thick 100", DEF},
        {"-thicksteps 3", DEF},
        {"-osc 1", DEF},
        {"-phisteps 4", DEF},
        {"-phistep 0.5", DEF},
        {"-osc 1 -phistep 0.3", DEF},
        {"-osc 1 -phisteps 4", DEF},
        {"-phisteps 4 -phistep 0.5", DEF},
        {"-mosaic 1", DEF},
        {"-mosaic_dom 5", DEF},
        {"-mosaic 0 -mosaic_dom 5", DEF},
    };
    /* the parsed inputs of each flag set (cli.md §2: mrad /1000, deg /RTD, % /100, um *1e-6) */
    c[0].hrange = 0.5 * mr;
    c[1].hstep = 0.1 * mr;
    c[2].hcount = 5;
    c[3].hcount = 3, c[3].vcount = 3;
    c[4].hrange = 0.5 * mr, c[4].hcount = 5;
    c[5].hrange = 0.28 * mr, c[5].hstep = 0.02 * mr;
    c[6].hrange = c[6].vrange = 0.5 * mr, c[6].hcount = c[6].vcount = 4;
    c[7].hrange = c[7].vrange = 0.5 * mr, c[7].hcount = c[7].vcount = 4, c[7].square_div = 1;
    c[8].hrange = 1 * mr, c[8].hstep = 0.5 * mr, c[8].hcount = 5;
    c[9].disp = 0.1;
    c[10].dispsteps = 3;
    c[11].disp = 0.1, c[11].dispsteps = 3;
    c[12].thick = 100e-6;
    c[13].thicksteps = 3;
    c[14].osc = 1 * deg;
    c[15].phisteps = 4;
    c[16].phistep = 0.5 * deg;
    c[17].osc = 1 * deg, c[17].phistep = 0.3 * deg;
    c[18].osc = 1 * deg, c[18].phisteps = 4;
    c[19].phisteps = 4, c[19].phistep = 0.5 * deg;
    c[20].mosaic = 1 * deg;
    c[21].ndom = 5;
    c[22].mosaic = 0, c[22].ndom = 5;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        run_case((int)k, &c[k]);
    return at_finish();
}
