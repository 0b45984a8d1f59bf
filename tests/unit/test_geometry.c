/* test_geometry.c -- detector conventions, pivots, rotations and derived beam centres.
 *
 * Oracle: spec/geometry.md §2-§9 and the worked examples of §14, plus acceptance.md AT-GEO-002,
 * -003, -004 and -007.  Expected values come from the spec's tables, its printed examples, and
 * an independent re-statement of §6-§8 below (own rotation matrices and Rodrigues formula,
 * tests/unit/unit_common.h) -- never from running the program.  Scenes are built with
 * nb_cli_parse + nb_setup_begin/nb_setup_geometry.
 */
#include "unit_common.h"

#include <float.h>

/* ---------------------------------------------------------------- reference model */

/* Convention block of geometry.md §2-§4: initial vectors, beam centres and forced pivot. */
struct rconv {
    double b[3], f[3], s[3], o[3], t[3], p[3], u[3];
    int pivot;
    double Xbeam, Ybeam, Fbeam, Sbeam, Fclose, Sclose, Xclose, Yclose;
};

/* conv: enum nb_convention.  NaN inputs = not given.  For CUSTOM the caller may overwrite the
 * vectors afterwards (they start as the CUSTOM fall-backs of the §2 table). */
static void ref_conv(int conv, int fpix, int spix, double px, double Xb, double Yb, double Xc,
                     double Yc, double orgx, double orgy, int parsed_pivot, struct rconv *r)
{
    double dsf = px * fpix, dss = px * spix;
    /* §4 steps 1-4 */
    r->Fclose = !isnan(orgx) ? (orgx - 0.5) * px : dsf / 2;
    r->Sclose = !isnan(orgy) ? (orgy - 0.5) * px : dss / 2;
    r->Xclose = !isnan(Xc) ? Xc : r->Fclose;
    r->Yclose = !isnan(Yc) ? Yc : r->Sclose;
    /* §2 table */
    switch (conv) {
    case NB_CONV_MOSFLM:
    case NB_CONV_DENZO:
        u_set3(r->b, 1, 0, 0), u_set3(r->f, 0, 0, 1), u_set3(r->s, 0, -1, 0);
        u_set3(r->o, 1, 0, 0), u_set3(r->t, 0, 0, -1), u_set3(r->p, 0, 0, 1);
        u_set3(r->u, 0, 0, 1);
        r->pivot = NB_PIVOT_BEAM;
        r->Xbeam = !isnan(Xb) ? Xb : (dss + px) / 2;
        r->Ybeam = !isnan(Yb) ? Yb : (dsf + px) / 2;
        r->Fbeam = r->Ybeam + (conv == NB_CONV_MOSFLM ? 0.5 : 0.0) * px;
        r->Sbeam = r->Xbeam + (conv == NB_CONV_MOSFLM ? 0.5 : 0.0) * px;
        break;
    case NB_CONV_ADXV:
        u_set3(r->b, 0, 0, 1), u_set3(r->f, 1, 0, 0), u_set3(r->s, 0, -1, 0);
        u_set3(r->o, 0, 0, 1), u_set3(r->t, -1, 0, 0), u_set3(r->p, 1, 0, 0);
        u_set3(r->u, 1, 0, 0);
        r->pivot = NB_PIVOT_BEAM;
        r->Xbeam = !isnan(Xb) ? Xb : (dsf + px) / 2;
        r->Ybeam = !isnan(Yb) ? Yb : (dss - px) / 2;
        r->Fbeam = r->Xbeam;
        r->Sbeam = dss - r->Ybeam;
        break;
    case NB_CONV_XDS:
    case NB_CONV_DIALS:
        u_set3(r->b, 0, 0, 1), u_set3(r->f, 1, 0, 0), u_set3(r->s, 0, 1, 0);
        u_set3(r->o, 0, 0, 1);
        if (conv == NB_CONV_XDS)
            u_set3(r->t, 1, 0, 0), u_set3(r->p, 1, 0, 0), u_set3(r->u, 1, 0, 0);
        else
            u_set3(r->t, 0, 1, 0), u_set3(r->p, 0, 1, 0), u_set3(r->u, 0, 1, 0);
        r->pivot = NB_PIVOT_SAMPLE;
        r->Xbeam = !isnan(Xb) ? Xb : r->Xclose;
        r->Ybeam = !isnan(Yb) ? Yb : r->Yclose;
        r->Fbeam = r->Xbeam;
        r->Sbeam = r->Ybeam;
        break;
    default: /* CUSTOM */
        u_set3(r->b, 1, 0, 0), u_set3(r->f, 0, 0, 1), u_set3(r->s, 0, -1, 0);
        u_set3(r->o, 1, 0, 0), u_set3(r->t, 0, 1, 0), u_set3(r->p, 0, 0, 1);
        u_set3(r->u, 0, 0, 1);
        r->pivot = parsed_pivot;
        r->Xbeam = !isnan(Xb) ? Xb : r->Xclose;
        r->Ybeam = !isnan(Yb) ? Yb : r->Yclose;
        r->Fbeam = r->Xbeam;
        r->Sbeam = r->Ybeam;
        r->Fclose = r->Xbeam;
        r->Sclose = r->Ybeam;
        break;
    }
}

/* §6-§8 with the spec's formulas (unit vectors given). */
struct rgeo {
    double pix0[3], f[3], s[3], o[3];
    double Fclose, Sclose, close_distance, Fbeam, Sbeam, distance, ORGX, ORGY, dials[3], ratio;
};

static void ref_orient(const struct rconv *c, double px, double distance_in, double close_in,
                       double rx, double ry, double rz, double tt, struct rgeo *g)
{
    double M[9], T[9], RT[9], v[3];
    u_Rxyz(rx, ry, rz, M);
    u_rodrigues(c->t, tt, T);
    u_matmul(T, M, RT); /* x, then y, then z, then two-theta */
    u_matvec(M, c->o, v);
    double r = u_dot(c->b, v);
    if (r == 0.0)
        r = DBL_MIN;
    double close = isnan(close_in) ? fabs(r * distance_in) : close_in;
    double dist = close / r;
    if (c->pivot == NB_PIVOT_SAMPLE) {
        double p[3];
        for (int i = 0; i < 3; i++)
            p[i] = -c->Fclose * c->f[i] - c->Sclose * c->s[i] + close * c->o[i];
        u_matvec(RT, p, g->pix0);
    }
    u_matvec(RT, c->f, g->f);
    u_matvec(RT, c->s, g->s);
    u_matvec(RT, c->o, g->o);
    if (c->pivot == NB_PIVOT_BEAM)
        for (int i = 0; i < 3; i++)
            g->pix0[i] = -c->Fbeam * g->f[i] - c->Sbeam * g->s[i] + dist * c->b[i];
    g->Fclose = -u_dot(g->pix0, g->f);
    g->Sclose = -u_dot(g->pix0, g->s);
    g->close_distance = u_dot(g->pix0, g->o);
    double w[3];
    for (int i = 0; i < 3; i++)
        w[i] = g->close_distance / r * c->b[i] - g->pix0[i];
    g->Fbeam = u_dot(g->f, w);
    g->Sbeam = u_dot(g->s, w);
    g->distance = g->close_distance / r;
    g->ORGX = g->Fclose / px + 0.5;
    g->ORGY = g->Sclose / px + 0.5;
    g->dials[0] = 1000.0 * g->pix0[2];
    g->dials[1] = 1000.0 * g->pix0[1];
    g->dials[2] = -1000.0 * g->pix0[0];
    g->ratio = r;
}

/* Compare a scene with the reference model (absolute tolerance tol in m). */
static void check_against_ref(const struct nb_scene *sc, const struct rgeo *g, double tol)
{
    CHECK_VECV(sc->fdet, g->f, 1e-12);
    CHECK_VECV(sc->sdet, g->s, 1e-12);
    CHECK_VECV(sc->odet, g->o, 1e-12);
    CHECK_VECV(sc->pix0, g->pix0, tol);
    CHECK_ABS(sc->Fclose, g->Fclose, tol);
    CHECK_ABS(sc->Sclose, g->Sclose, tol);
    CHECK_ABS(sc->close_distance, g->close_distance, tol);
    CHECK_ABS(sc->Fbeam, g->Fbeam, tol);
    CHECK_ABS(sc->Sbeam, g->Sbeam, tol);
    CHECK_ABS(sc->distance, g->distance, tol);
    CHECK_ABS(sc->ORGX, g->ORGX, 1e-6);
    CHECK_ABS(sc->ORGY, g->ORGY, 1e-6);
    CHECK_VECV(sc->dials_origin, g->dials, 1e3 * tol);
}

/* ------------------------------------------------------------ §14 worked examples */

static void worked_examples(void)
{
    struct nb_scene sc;

    /* 1. MOSFLM 1024x1024 default, -Xbeam 51.2 -Ybeam 51.2 */
    u_ctx = "geometry.md §14 example 1";
    if (!u_geometry("-mosflm -pixel 0.1 -distance 100 -Xbeam 51.2 -Ybeam 51.2", &sc)) {
        CHECK_ABS(sc.Fbeam, 0.05125, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.05125, 1e-12);
        CHECK_VEC(sc.pix0, 0.1, 0.05125, -0.05125, 1e-12);
        CHECK(sc.pivot == NB_PIVOT_BEAM, "pivot %d, expected BEAM", sc.pivot);
    } else
        CHECK(0, "example 1 set-up failed");
    nb_scene_fini(&sc);

    /* 2. MOSFLM 4x4, -twotheta 5 (BEAM forced) */
    u_ctx = "geometry.md §14 example 2";
    if (!u_geometry("-detpixels 4 -pixel 0.1 -distance 100 -twotheta 5", &sc)) {
        CHECK(sc.pivot == NB_PIVOT_BEAM, "pivot %d, expected BEAM (forced by MOSFLM)", sc.pivot);
        CHECK_VEC(sc.fdet, 0, 0, 1, 1e-15);
        CHECK_VEC(sc.sdet, -0.0871557427476582, -0.996194698091746, 0, 1e-15);
        CHECK_VEC(sc.odet, 0.996194698091746, -0.0871557427476582, 0, 1e-15);
        CHECK_VEC(sc.pix0, 0.100026146722824, 0.000298858409427524, -0.0003, 1e-15);
        CHECK_ABS(sc.distance, 0.0996195, 5e-8);
        CHECK_ABS(sc.close_distance, 0.0996195, 5e-8);
        CHECK_ABS(sc.Fbeam, 0.0003, 5e-12);
        CHECK_ABS(sc.Sbeam, 0.000333165, 5e-10);
        CHECK_ABS(sc.Fclose, 0.0003, 5e-12);
        CHECK_ABS(sc.Sclose, 0.00901557, 5e-9);
        CHECK_VEC(sc.dials_origin, -0.3, 0.298858, -100.026, 5e-4);
        /* and the full model to 1e-12 */
        struct rconv c;
        struct rgeo g;
        ref_conv(NB_CONV_MOSFLM, 4, 4, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, 0, 0, 0, 5 * U_DEG, &g);
        check_against_ref(&sc, &g, 1e-12);
    } else
        CHECK(0, "example 2 set-up failed");
    nb_scene_fini(&sc);

    /* 3. XDS 4x4 */
    u_ctx = "geometry.md §14 example 3";
    if (!u_geometry("-xds -detpixels 4 -pixel 0.1 -distance 100", &sc)) {
        CHECK_VEC(sc.pix0, -0.0002, -0.0002, 0.1, 1e-12);
        CHECK_ABS(sc.Fbeam, 0.0002, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.0002, 1e-12);
        CHECK_ABS(sc.Fclose, 0.0002, 1e-12);
        CHECK_ABS(sc.Sclose, 0.0002, 1e-12);
        CHECK_VEC(sc.dials_origin, 100, -0.2, 0.2, 1e-9);
    } else
        CHECK(0, "example 3 set-up failed");
    nb_scene_fini(&sc);

    /* 4. MOSFLM axes but CUSTOM */
    u_ctx = "geometry.md §14 example 4";
    if (!u_geometry("-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 -detpixels 4 "
                    "-pixel 0.1 -distance 100",
                    &sc)) {
        CHECK(sc.convention == NB_CONV_CUSTOM, "convention %d, expected CUSTOM", sc.convention);
        CHECK_ABS(sc.Fbeam, 0.0002, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.0002, 1e-12);
        CHECK_VEC(sc.pix0, 0.1, 0.0002, -0.0002, 1e-12);
    } else
        CHECK(0, "example 4 set-up failed");
    nb_scene_fini(&sc);

    /* 5. default MOSFLM 4x4 */
    u_ctx = "geometry.md §14 example 5";
    if (!u_geometry("-detpixels 4 -pixel 0.1 -distance 100", &sc)) {
        CHECK_ABS(sc.Xbeam, 0.00025, 1e-12);
        CHECK_ABS(sc.Ybeam, 0.00025, 1e-12);
        CHECK_ABS(sc.Fbeam, 0.0003, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.0003, 1e-12);
        CHECK_VEC(sc.pix0, 0.1, 0.0003, -0.0003, 1e-12);
    } else
        CHECK(0, "example 5 set-up failed");
    nb_scene_fini(&sc);

    /* §9 example: -pix0_vector_mm only switches to CUSTOM */
    u_ctx = "geometry.md §9 example (MOSFLM -Xbeam 0.12 -Ybeam 0.13)";
    if (!u_geometry("-mosflm -Xbeam 0.12 -Ybeam 0.13", &sc)) {
        CHECK_ABS(sc.Fbeam, 0.00018, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.00017, 1e-12);
    } else
        CHECK(0, "§9 example set-up failed");
    nb_scene_fini(&sc);
    u_ctx = "geometry.md §9 example (+ -pix0_vector_mm 0.5 0.1 120)";
    if (!u_geometry("-mosflm -Xbeam 0.12 -Ybeam 0.13 -pix0_vector_mm 0.5 0.1 120", &sc)) {
        CHECK(sc.convention == NB_CONV_CUSTOM, "convention %d, expected CUSTOM", sc.convention);
        CHECK_ABS(sc.Fbeam, 0.00012, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.00013, 1e-12);
        CHECK_VEC(sc.pix0, 0.1, 0.00013, -0.00012, 1e-12);
    } else
        CHECK(0, "§9 example with pix0 set-up failed");
    nb_scene_fini(&sc);
}

/* ------------------------------------------------------ §2 convention table (AT-GEO-007) */

static void convention_table(void)
{
    static const struct {
        const char *flag;
        int conv;
    } convs[] = {{"-mosflm", NB_CONV_MOSFLM}, {"-denzo", NB_CONV_DENZO},
                 {"-adxv", NB_CONV_ADXV},     {"-xds", NB_CONV_XDS},
                 {"-dials", NB_CONV_DIALS},   {"-beam_vector 1 0 0", NB_CONV_CUSTOM}};
    /* expected pix0 per convention for 4x4, 0.1 mm, 100 mm (hand-derived from §2/§8) */
    static const double pix0_hand[6][3] = {{0.1, 0.0003, -0.0003},    {0.1, 0.00025, -0.00025},
                                           {-0.00025, 0.00025, 0.1},  {-0.0002, -0.0002, 0.1},
                                           {-0.0002, -0.0002, 0.1},   {0.1, 0.0002, -0.0002}};
    static char ctx[6][96];
    for (int k = 0; k < 6; k++) {
        char line[256];
        snprintf(line, sizeof line, "%s -detpixels 4 -pixel 0.1 -distance 100", convs[k].flag);
        snprintf(ctx[k], sizeof ctx[k], "AT-GEO-007 '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (u_geometry(line, &sc)) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        struct rconv c;
        struct rgeo g;
        ref_conv(convs[k].conv, 4, 4, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        CHECK(sc.convention == convs[k].conv, "%s: convention %d, expected %d", u_ctx,
              sc.convention, convs[k].conv);
        CHECK(sc.pivot == c.pivot, "%s: pivot %d, expected %d", u_ctx, sc.pivot, c.pivot);
        CHECK_VECV(sc.beam, c.b, 0);
        CHECK_VECV(sc.fdet, c.f, 0);
        CHECK_VECV(sc.sdet, c.s, 0);
        CHECK_VECV(sc.odet, c.o, 0);
        CHECK_VECV(sc.twotheta_axis, c.t, 0);
        CHECK_VECV(sc.polar, c.p, 0);
        CHECK_VECV(sc.spindle, c.u, 0);
        double v[3];
        u_cross(c.b, c.p, v);
        double n = u_norm(v);
        for (int i = 0; i < 3; i++)
            v[i] /= n;
        CHECK_VECV(sc.vert, v, 1e-15);
        CHECK_ABS(sc.Xbeam, c.Xbeam, 1e-15);
        CHECK_ABS(sc.Ybeam, c.Ybeam, 1e-15);
        CHECK_ABS(sc.Xclose, c.Xclose, 1e-15);
        CHECK_ABS(sc.Yclose, c.Yclose, 1e-15);
        ref_orient(&c, 1e-4, 0.1, NAN, 0, 0, 0, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK_VEC(sc.pix0, pix0_hand[k][0], pix0_hand[k][1], pix0_hand[k][2], 1e-12);
        /* untilted: the recomputed beam centre is the mapped input, distance unchanged */
        CHECK_ABS(sc.Fbeam, c.Fbeam, 1e-12);
        CHECK_ABS(sc.Sbeam, c.Sbeam, 1e-12);
        CHECK_ABS(sc.distance, 0.1, 1e-15);
        CHECK_ABS(sc.close_distance, 0.1, 1e-15);
        /* "XDS incident beam" = (b.f, b.s, b.o) */
        CHECK_VEC(sc.xds_beam, u_dot(c.b, c.f), u_dot(c.b, c.s), u_dot(c.b, c.o), 1e-15);
        nb_scene_fini(&sc);
    }
}

/* ------------------------------------------------ §3 pivot selection (AT-GEO-002 a-j) */

static void pivots(void)
{
    static const struct {
        const char *args;
        int pivot, conv;
        double close;  /* -close_distance in m, NaN = not given */
        double tt_deg; /* -twotheta */
    } cases[] = {
        {"-distance 100", NB_PIVOT_BEAM, NB_CONV_MOSFLM, NAN, 0},                      /* a */
        {"-close_distance 100", NB_PIVOT_BEAM, NB_CONV_MOSFLM, 0.1, 0},                /* b */
        {"-distance 100 -pivot sample", NB_PIVOT_BEAM, NB_CONV_MOSFLM, NAN, 0},        /* c */
        {"-beam_vector 1 0 0 -close_distance 100", NB_PIVOT_SAMPLE, NB_CONV_CUSTOM, 0.1, 0}, /* d */
        {"-beam_vector 1 0 0 -distance 100 -pivot sample", NB_PIVOT_SAMPLE, NB_CONV_CUSTOM, NAN,
         0},                                                                           /* e */
        {"-xds", NB_PIVOT_SAMPLE, NB_CONV_XDS, NAN, 0},                                /* f */
        {"-xds -pivot beam", NB_PIVOT_SAMPLE, NB_CONV_XDS, NAN, 0},                    /* g */
        {"-dials", NB_PIVOT_SAMPLE, NB_CONV_DIALS, NAN, 0},                            /* h */
        {"-twotheta 10", NB_PIVOT_BEAM, NB_CONV_MOSFLM, NAN, 10},                      /* i */
        {"-beam_vector 1 0 0 -twotheta 10", NB_PIVOT_SAMPLE, NB_CONV_CUSTOM, NAN, 10}, /* j */
        /* order matters in CUSTOM: the last pivot-setting flag wins (§3) */
        {"-beam_vector 1 0 0 -pivot sample -distance 100", NB_PIVOT_BEAM, NB_CONV_CUSTOM, NAN, 0},
        {"-beam_vector 1 0 0 -close_distance 100 -pivot beam", NB_PIVOT_BEAM, NB_CONV_CUSTOM, 0.1,
         0},
        /* -fdet_vector ... -mosflm ends in MOSFLM, -xds ... -fdet_vector in CUSTOM (§3) */
        {"-fdet_vector 0 1 0 -mosflm", NB_PIVOT_BEAM, NB_CONV_MOSFLM, NAN, 0},
        {"-xds -beam_vector 1 0 0", NB_PIVOT_SAMPLE, NB_CONV_CUSTOM, NAN, 0},
    };
    static char ctx[sizeof cases / sizeof cases[0]][128];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char line[256];
        snprintf(line, sizeof line, "-detpixels 64 -N 1 %s", cases[k].args);
        snprintf(ctx[k], sizeof ctx[k], "AT-GEO-002 '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (u_geometry(line, &sc)) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        CHECK(sc.pivot == cases[k].pivot, "%s: pivot %s, expected %s", u_ctx,
              sc.pivot == NB_PIVOT_BEAM ? "BEAM" : "SAMPLE",
              cases[k].pivot == NB_PIVOT_BEAM ? "BEAM" : "SAMPLE");
        CHECK(sc.convention == cases[k].conv, "%s: convention %d, expected %d", u_ctx,
              sc.convention, cases[k].conv);
        struct rconv c;
        struct rgeo g;
        ref_conv(cases[k].conv, 64, 64, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, cases[k].pivot, &c);
        ref_orient(&c, 1e-4, 0.1, cases[k].close, 0, 0, 0, cases[k].tt_deg * U_DEG, &g);
        check_against_ref(&sc, &g, 1e-12);
        nb_scene_fini(&sc);
    }
}

/* --------------------------------------------------- AT-GEO-004 two-theta axis defaults */

static void twotheta_axes(void)
{
    static const struct {
        const char *flag;
        int conv;
        double t[3];
    } cases[] = {{"-mosflm", NB_CONV_MOSFLM, {0, 0, -1}},
                 {"-xds", NB_CONV_XDS, {1, 0, 0}},
                 {"-dials", NB_CONV_DIALS, {0, 1, 0}},
                 {"-adxv", NB_CONV_ADXV, {-1, 0, 0}}};
    static char ctx[4][128];
    for (int k = 0; k < 4; k++) {
        char line[256];
        snprintf(line, sizeof line, "%s -detpixels 128 -distance 100 -twotheta 20",
                 cases[k].flag);
        snprintf(ctx[k], sizeof ctx[k], "AT-GEO-004 '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (u_geometry(line, &sc)) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        struct rconv c;
        struct rgeo g;
        ref_conv(cases[k].conv, 128, 128, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        CHECK_VECV(sc.twotheta_axis, cases[k].t, 0);
        double R[9], e[3];
        u_rodrigues(cases[k].t, 20 * U_DEG, R);
        u_matvec(R, c.f, e);
        CHECK_VECV(sc.fdet, e, 1e-12);
        u_matvec(R, c.s, e);
        CHECK_VECV(sc.sdet, e, 1e-12);
        u_matvec(R, c.o, e);
        CHECK_VECV(sc.odet, e, 1e-12);
        CHECK_ABS(sc.twotheta, 20 * U_DEG, 1e-15);
        /* the rest of §8 */
        ref_orient(&c, 1e-4, 0.1, NAN, 0, 0, 0, 20 * U_DEG, &g);
        check_against_ref(&sc, &g, 1e-12);
        nb_scene_fini(&sc);
    }
}

/* ------------------------------------ §7 detector rotations: x, then y, then z, then 2theta */

static void detector_rotations(void)
{
    static const struct {
        const char *flag;
        int conv;
    } cases[] = {{"-mosflm", NB_CONV_MOSFLM}, {"-xds", NB_CONV_XDS}, {"-adxv", NB_CONV_ADXV}};
    static char ctx[3][160];
    const double ax = 10 * U_DEG, ay = 20 * U_DEG, az = 30 * U_DEG;
    for (int k = 0; k < 3; k++) {
        char line[256];
        snprintf(line, sizeof line,
                 "%s -detpixels 64 -distance 100 -detector_rotx 10 -detector_roty 20 "
                 "-detector_rotz 30",
                 cases[k].flag);
        snprintf(ctx[k], sizeof ctx[k], "§7 '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (u_geometry(line, &sc)) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        struct rconv c;
        struct rgeo g;
        ref_conv(cases[k].conv, 64, 64, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        double M[9], e[3], wrong[9], ew[3];
        u_Rxyz(ax, ay, az, M);
        u_matvec(M, c.f, e);
        CHECK_VECV(sc.fdet, e, 1e-12);
        u_matvec(M, c.s, e);
        CHECK_VECV(sc.sdet, e, 1e-12);
        u_matvec(M, c.o, e);
        CHECK_VECV(sc.odet, e, 1e-12);
        /* the test discriminates: the reversed order z, y, x gives another fast axis */
        {
            double x[9], y[9], z[9], t[9];
            u_Rx(ax, x), u_Ry(ay, y), u_Rz(az, z);
            u_matmul(y, z, t);
            u_matmul(x, t, wrong);
            u_matvec(wrong, c.f, ew);
            u_matvec(M, c.f, e);
            double d = fabs(ew[0] - e[0]) + fabs(ew[1] - e[1]) + fabs(ew[2] - e[2]);
            CHECK(d > 1e-3, "%s: orders x-y-z and z-y-x agree (%g): test not discriminating",
                  u_ctx, d);
        }
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        /* nb_rotate_xyz itself: Rz Ry Rx v */
        double v[3] = {0.3, -0.5, 0.8}, got[3];
        nb_rotate_xyz(v, got, ax, ay, az);
        u_matvec(M, v, e);
        CHECK_VECV(got, e, 1e-15);
        nb_scene_fini(&sc);
    }
    /* all three plus two-theta: f <- R(t, 2theta) Rxyz f */
    u_ctx = "§7 -mosflm rotx/y/z + twotheta 15";
    struct nb_scene sc;
    if (!u_geometry("-detpixels 64 -distance 100 -detector_rotx 10 -detector_roty 20 "
                    "-detector_rotz 30 -twotheta 15",
                    &sc)) {
        struct rconv c;
        struct rgeo g;
        ref_conv(NB_CONV_MOSFLM, 64, 64, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 15 * U_DEG, &g);
        check_against_ref(&sc, &g, 1e-12);
    } else
        CHECK(0, "rotations + twotheta set-up failed");
    nb_scene_fini(&sc);
}

/* ---------------------------------------- AT-GEO-003 distance ratio, beam-centre property */

static void distance_ratio(void)
{
    const double ax = 5 * U_DEG, ay = 3 * U_DEG, az = 2 * U_DEG;
    const char *rot = "-detector_rotx 5 -detector_roty 3 -detector_rotz 2";
    char line[512];
    struct nb_scene sc;
    struct rconv c;
    struct rgeo g;

    /* MOSFLM, BEAM pivot: Fbeam/Sbeam are the mapped input; distance preserved */
    u_ctx = "AT-GEO-003 MOSFLM -distance 100 + rotations";
    snprintf(line, sizeof line, "-mosflm -detpixels 256 -distance 100 -Xbeam 12.3 -Ybeam 14.5 %s",
             rot);
    if (!u_geometry(line, &sc)) {
        ref_conv(NB_CONV_MOSFLM, 256, 256, 1e-4, 0.0123, 0.0145, NAN, NAN, NAN, NAN,
                 NB_PIVOT_BEAM, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK_ABS(sc.Fbeam, 0.0145 + 0.5e-4, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.0123 + 0.5e-4, 1e-12);
        CHECK_ABS(sc.distance, 0.1, 1e-12);
        double M[9], o[3];
        u_Rxyz(ax, ay, az, M);
        u_matvec(M, c.o, o);
        double r = u_dot(c.b, o);
        CHECK_ABS(sc.ratio, r, 1e-15);
        CHECK_ABS(sc.close_distance, fabs(r * 0.1), 1e-12);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* MOSFLM with -close_distance 95 instead: close_distance kept, distance = close/r */
    u_ctx = "AT-GEO-003 MOSFLM -close_distance 95 + rotations";
    snprintf(line, sizeof line, "-mosflm -detpixels 256 -close_distance 95 %s", rot);
    if (!u_geometry(line, &sc)) {
        ref_conv(NB_CONV_MOSFLM, 256, 256, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        ref_orient(&c, 1e-4, 0.1, 0.095, ax, ay, az, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK_ABS(sc.close_distance, 0.095, 1e-12);
        CHECK_ABS(sc.Fbeam, c.Fbeam, 1e-12);
        CHECK_ABS(sc.Sbeam, c.Sbeam, 1e-12);
        CHECK_ABS(sc.distance, 0.095 / g.ratio, 1e-12);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* XDS, SAMPLE pivot: Fclose/Sclose are preserved */
    u_ctx = "AT-GEO-003 XDS + rotations";
    snprintf(line, sizeof line, "-xds -detpixels 256 -distance 100 %s", rot);
    if (!u_geometry(line, &sc)) {
        ref_conv(NB_CONV_XDS, 256, 256, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_SAMPLE, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK_ABS(sc.Fclose, 0.0128, 1e-12);
        CHECK_ABS(sc.Sclose, 0.0128, 1e-12);
        CHECK_ABS(sc.close_distance, fabs(g.ratio * 0.1), 1e-12);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* CUSTOM -beam_vector 1 0 0 -pivot sample */
    u_ctx = "AT-GEO-003 CUSTOM sample pivot + rotations";
    snprintf(line, sizeof line, "-detpixels 256 -distance 100 %s -beam_vector 1 0 0 -pivot sample",
             rot);
    if (!u_geometry(line, &sc)) {
        CHECK(sc.pivot == NB_PIVOT_SAMPLE, "%s: pivot %d, expected SAMPLE", u_ctx, sc.pivot);
        ref_conv(NB_CONV_CUSTOM, 256, 256, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_SAMPLE, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* with two-theta the recomputed beam centre is NOT the input (Q24) */
    u_ctx = "AT-GEO-003 MOSFLM + rotations + twotheta 10";
    snprintf(line, sizeof line, "-mosflm -detpixels 256 -distance 100 %s -twotheta 10", rot);
    if (!u_geometry(line, &sc)) {
        ref_conv(NB_CONV_MOSFLM, 256, 256, 1e-4, NAN, NAN, NAN, NAN, NAN, NAN, NB_PIVOT_BEAM, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, ax, ay, az, 10 * U_DEG, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK(fabs(sc.Sbeam - c.Sbeam) > 1e-6 || fabs(sc.Fbeam - c.Fbeam) > 1e-6,
              "%s: beam centre preserved (%.15g %.15g) although two-theta is set", u_ctx,
              sc.Fbeam, sc.Sbeam);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);
}

/* ------------------------------------------------- §4 ORGX/ORGY, Xclose, §5 normalisation */

static void beam_centre_inputs(void)
{
    struct nb_scene sc;
    struct rconv c;
    struct rgeo g;

    /* XDS: detector position depends only on ORGX/ORGY; -Xbeam only changes Xbeam (Q23) */
    u_ctx = "§4 XDS -ORGX 10 -ORGY 20 -Xbeam 3";
    if (!u_geometry("-xds -detpixels 64 -distance 100 -ORGX 10 -ORGY 20 -Xbeam 3", &sc)) {
        ref_conv(NB_CONV_XDS, 64, 64, 1e-4, 0.003, NAN, NAN, NAN, 10, 20, NB_PIVOT_SAMPLE, &c);
        ref_orient(&c, 1e-4, 0.1, NAN, 0, 0, 0, 0, &g);
        check_against_ref(&sc, &g, 1e-12);
        CHECK_ABS(sc.Fclose, 9.5e-4, 1e-12);
        CHECK_ABS(sc.Sclose, 19.5e-4, 1e-12);
        CHECK_ABS(sc.ORGX, 10, 1e-9);
        CHECK_ABS(sc.ORGY, 20, 1e-9);
        CHECK_ABS(sc.Xbeam, 0.003, 1e-15);
        CHECK_VEC(sc.pix0, -9.5e-4, -19.5e-4, 0.1, 1e-12);
    } else
        CHECK(0, "ORGX set-up failed");
    nb_scene_fini(&sc);

    /* -Xclose/-Yclose do not set Fclose/Sclose (§4 step 3) */
    u_ctx = "§4 XDS -Xclose 1 -Yclose 2";
    if (!u_geometry("-xds -detpixels 64 -distance 100 -Xclose 1 -Yclose 2", &sc)) {
        CHECK_ABS(sc.Fclose, 0.0032, 1e-12);
        CHECK_ABS(sc.Sclose, 0.0032, 1e-12);
        CHECK_ABS(sc.Xclose, 0.001, 1e-15);
        CHECK_ABS(sc.Yclose, 0.002, 1e-15);
        CHECK_ABS(sc.Xbeam, 0.001, 1e-15); /* XDS default Xbeam = Xclose */
        CHECK_ABS(sc.Ybeam, 0.002, 1e-15);
        CHECK_VEC(sc.pix0, -0.0032, -0.0032, 0.1, 1e-12);
    } else
        CHECK(0, "Xclose set-up failed");
    nb_scene_fini(&sc);

    /* CUSTOM: Fclose := Xbeam, Sclose := Ybeam; both pivots use the same plane coordinates */
    u_ctx = "§2 CUSTOM -Xbeam 1 -Ybeam 2 -pivot sample";
    if (!u_geometry("-beam_vector 1 0 0 -detpixels 64 -distance 100 -Xbeam 1 -Ybeam 2 "
                    "-pivot sample",
                    &sc)) {
        CHECK(sc.pivot == NB_PIVOT_SAMPLE, "%s: pivot %d", u_ctx, sc.pivot);
        CHECK_ABS(sc.Fclose, 0.001, 1e-12);
        CHECK_ABS(sc.Sclose, 0.002, 1e-12);
        CHECK_ABS(sc.Fbeam, 0.001, 1e-12);
        CHECK_ABS(sc.Sbeam, 0.002, 1e-12);
        CHECK_VEC(sc.pix0, 0.1, 0.002, -0.001, 1e-12);
    } else
        CHECK(0, "CUSTOM Xbeam set-up failed");
    nb_scene_fini(&sc);

    /* §5: o with norm != 1 is regenerated as unit(f x s); p, u normalised; t is not */
    u_ctx = "§5 -odet_vector 0 0 2";
    if (!u_geometry("-fdet_vector 1 0 0 -sdet_vector 0 1 0 -odet_vector 0 0 2 -polar_vector 0 0 3 "
                    "-spindle_axis 0 2 0 -detpixels 64 -distance 100",
                    &sc)) {
        CHECK_VEC(sc.odet, 0, 0, 1, 1e-15);
        CHECK_VEC(sc.polar, 0, 0, 1, 1e-15);
        CHECK_VEC(sc.spindle, 0, 1, 0, 1e-15);
    } else
        CHECK(0, "odet regeneration set-up failed");
    nb_scene_fini(&sc);
    u_ctx = "§5 -fdet_vector 0 3 4 (normalised)";
    if (!u_geometry("-fdet_vector 0 3 4 -sdet_vector 0 -4 3 -detpixels 64 -distance 100", &sc)) {
        CHECK_VEC(sc.fdet, 0, 0.6, 0.8, 1e-15);
        CHECK_VEC(sc.sdet, 0, -0.8, 0.6, 1e-15);
        /* not supplied: keeps the CUSTOM default (1,0,0), no regeneration */
        CHECK_VEC(sc.odet, 1, 0, 0, 0);
    } else
        CHECK(0, "fdet normalisation set-up failed");
    nb_scene_fini(&sc);
    u_ctx = "§5 -twotheta_axis 0 0 -2 (not normalised, Q28)";
    if (!u_geometry("-detpixels 64 -distance 100 -twotheta_axis 0 0 -2", &sc)) {
        CHECK_VEC(sc.twotheta_axis, 0, 0, -2, 0);
        CHECK(sc.convention == NB_CONV_CUSTOM, "%s: convention %d", u_ctx, sc.convention);
        CHECK(sc.pivot == NB_PIVOT_SAMPLE, "%s: pivot %d, expected SAMPLE (-twotheta substring)",
              u_ctx, sc.pivot);
    } else
        CHECK(0, "twotheta_axis set-up failed");
    nb_scene_fini(&sc);
}

/* ------------------------------- Q05 -twotheta_axis side effect; §9 --honor-pix0 [new] */

static void twotheta_axis_quirk_and_honor_pix0(void)
{
    static const struct {
        const char *args;
        double tt_deg;
        int conv, pivot;
    } q[] = {
        {"-twotheta 20 -twotheta_axis 0 0 -1", 0, NB_CONV_CUSTOM, NB_PIVOT_SAMPLE},
        {"-twotheta_axis 0 0 -1 -twotheta 20", 20, NB_CONV_CUSTOM, NB_PIVOT_SAMPLE},
        {"-twotheta_axis 1 0 0", 1, NB_CONV_CUSTOM, NB_PIVOT_SAMPLE},
    };
    static char ctx[3][128];
    for (int k = 0; k < 3; k++) {
        char line[256];
        snprintf(line, sizeof line, "-detpixels 128 -distance 100 %s", q[k].args);
        snprintf(ctx[k], sizeof ctx[k], "AT-GEO-004 quirk '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (u_geometry(line, &sc)) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        CHECK_ABS(sc.twotheta * 180 / U_PI, q[k].tt_deg, 1e-12);
        CHECK(sc.convention == q[k].conv, "%s: convention %d", u_ctx, sc.convention);
        CHECK(sc.pivot == q[k].pivot, "%s: pivot %d", u_ctx, sc.pivot);
        nb_scene_fini(&sc);
    }

    struct nb_scene sc;
    u_ctx = "geometry.md §9 --honor-pix0 -pix0_vector";
    if (!u_geometry("-detpixels 64 -distance 100 --honor-pix0 -pix0_vector 0.11 0.002 -0.003",
                    &sc)) {
        CHECK_VEC(sc.pix0, 0.11, 0.002, -0.003, 0);
        CHECK_ABS(sc.Fclose, 0.003, 1e-15);
        CHECK_ABS(sc.Sclose, 0.002, 1e-15);
        CHECK_ABS(sc.close_distance, 0.11, 1e-15);
        CHECK_ABS(sc.distance, 0.11, 1e-15);
        CHECK_ABS(sc.Fbeam, 0.003, 1e-15);
        CHECK_ABS(sc.Sbeam, 0.002, 1e-15);
    } else
        CHECK(0, "--honor-pix0 set-up failed");
    nb_scene_fini(&sc);
    u_ctx = "geometry.md §9 --honor-pix0 -pix0_vector_mm + -twotheta 10";
    if (!u_geometry("-detpixels 64 -distance 100 --honor-pix0 -pix0_vector_mm 110 2 -3 "
                    "-twotheta 10",
                    &sc)) {
        double R[9], t[3] = {0, 1, 0}, v[3] = {0.11, 0.002, -0.003}, e[3];
        u_rodrigues(t, 10 * U_DEG, R); /* CUSTOM default two-theta axis */
        u_matvec(R, v, e);
        CHECK_VECV(sc.pix0, e, 1e-15);
    } else
        CHECK(0, "--honor-pix0 _mm set-up failed");
    nb_scene_fini(&sc);
}

int main(void)
{
    twotheta_axis_quirk_and_honor_pix0();
    worked_examples();
    convention_table();
    pivots();
    twotheta_axes();
    detector_rotations();
    distance_ratio();
    beam_centre_inputs();
    return u_summary("test_geometry");
}
