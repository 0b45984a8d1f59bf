/* test_cell.c -- crystal set-up: -cell, -mat, explicit and random misset, crystal size.
 *
 * Oracle: spec/geometry.md §11-§13 checked against independent closed forms (edge lengths,
 * the triclinic volume formula, reciprocal-basis duality, cell angles), the reference's
 * printed output for `-misset random -misset_seed 12345` (golden case misset_random_seeded),
 * and own rotation matrices.  Scenes are built with nb_cli_parse + nb_setup_begin/geometry/
 * crystal.  Matrix files are written to the scratch directory.
 */
#include "unit_common.h"

#include "io/nb_io.h"

/* Independent real-space basis of a cell (Angstrom, radians): a along x, b in the xy plane. */
static void real_basis(const double p[6], double a[3], double b[3], double c[3])
{
    double ca = cos(p[3]), cb = cos(p[4]), cg = cos(p[5]), sg = sin(p[5]);
    u_set3(a, p[0], 0, 0);
    u_set3(b, p[1] * cg, p[1] * sg, 0);
    double cy = (ca - cb * cg) / sg;
    u_set3(c, p[2] * cb, p[2] * cy, p[2] * sqrt(1 - cb * cb - cy * cy));
}

static double closed_volume(const double p[6])
{
    double ca = cos(p[3]), cb = cos(p[4]), cg = cos(p[5]);
    return p[0] * p[1] * p[2] * sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg);
}

static double angle_deg(const double *x, const double *y)
{
    return acos(u_dot(x, y) / u_norm(x) / u_norm(y)) * 180.0 / U_PI;
}

/* Checks the closed-form properties of a scene built from a cell p (A, rad).
 * Edge lengths, the volume and (§11.4) nothing else hold for every cell; `exact_angles`
 * adds the angle/duality/reciprocal closed forms, which the spec's construction satisfies
 * only for cells with at most one non-right angle (see spec_cell below and the report). */
static void check_cell_scene(const struct nb_scene *sc, const double p[6], int exact_angles)
{
    const double *v0[3] = {sc->a0, sc->b0, sc->c0};
    const double *vs[3] = {sc->a_star, sc->b_star, sc->c_star};
    double A[3][3]; /* real vectors in Angstrom */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            A[i][j] = v0[i][j] * 1e10;
    /* edge lengths, exact to 1e-12 relative (§13.2 forces them) */
    for (int i = 0; i < 3; i++) {
        CHECK_REL(u_norm(v0[i]), p[i] * 1e-10, 1e-12);
        CHECK_REL(sc->cell[i], p[i], 1e-12);
    }
    /* volume: closed form a b c sqrt(1 - cos^2 - cos^2 - cos^2 + 2 cos cos cos) */
    double V = closed_volume(p), t[3];
    CHECK_REL(sc->V_cell, V, 1e-12);
    if (!exact_angles)
        return;
    u_cross(A[1], A[2], t);
    CHECK_REL(fabs(u_dot(A[0], t)), V, 1e-12);
    /* duality a_i . b*_j = delta_ij (dimensionless: A in Angstrom, * in 1/Angstrom) */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK_ABS(u_dot(A[i], vs[j]), i == j ? 1.0 : 0.0, 1e-12);
    /* angles between the real vectors: alpha = (b, c), beta = (a, c), gamma = (a, b) */
    CHECK_ABS(angle_deg(A[1], A[2]), p[3] * 180 / U_PI, 1e-9);
    CHECK_ABS(angle_deg(A[0], A[2]), p[4] * 180 / U_PI, 1e-9);
    CHECK_ABS(angle_deg(A[0], A[1]), p[5] * 180 / U_PI, 1e-9);
    for (int i = 0; i < 3; i++)
        CHECK_ABS(sc->cell[3 + i], p[3 + i] * 180 / U_PI, 1e-9);
    /* reciprocal lengths (§11.2) and angles (§11.3) */
    double sa = sin(p[3]), sb = sin(p[4]), sg = sin(p[5]);
    double ca = cos(p[3]), cb = cos(p[4]), cg = cos(p[5]);
    double as = p[1] * p[2] * sa / V, bs = p[2] * p[0] * sb / V, cs = p[0] * p[1] * sg / V;
    CHECK_REL(u_norm(sc->a_star), as, 1e-12);
    CHECK_REL(u_norm(sc->b_star), bs, 1e-12);
    CHECK_REL(u_norm(sc->c_star), cs, 1e-12);
    CHECK_REL(sc->rcell[0], as, 1e-12);
    CHECK_REL(sc->rcell[1], bs, 1e-12);
    CHECK_REL(sc->rcell[2], cs, 1e-12);
    double cas = (cb * cg - ca) / (sb * sg), cbs = (cg * ca - cb) / (sg * sa),
           cgs = (ca * cb - cg) / (sa * sb);
    CHECK_ABS(sc->rcell[3], acos(cas) * 180 / U_PI, 1e-9);
    CHECK_ABS(sc->rcell[4], acos(cbs) * 180 / U_PI, 1e-9);
    CHECK_ABS(sc->rcell[5], acos(cgs) * 180 / U_PI, 1e-9);
}

/* The spec's own chain, transcribed from geometry.md §11 (default orientation), §12
 * (explicit misset, M may be NULL) and §13.1-§13.4 (with -cell): real vectors a, b, c in
 * Angstrom and regenerated reciprocal vectors in 1/Angstrom. */
static void spec_cell(const double p[6], const double *M, double real[3][3], double recip[3][3])
{
    double a = p[0], b = p[1], c = p[2], al = p[3], be = p[4], ga = p[5];
    double s = (al + be + ga) / 2;
    double skew = fabs(sin(s) * sin(s - al) * sin(s - be) * sin(s - ga));
    double V = 2 * a * b * c * sqrt(skew), Vs = 1 / V;
    double asl = b * c * sin(al) * Vs, bsl = c * a * sin(be) * Vs, csl = a * b * sin(ga) * Vs;
    double sgs = c * Vs / asl / bsl;
    double cas = (cos(be) * cos(ga) - cos(al)) / (sin(be) * sin(ga));
    double cbs = (cos(ga) * cos(al) - cos(be)) / (sin(ga) * sin(al));
    double cgs = (cos(al) * cos(be) - cos(ga)) / (sin(al) * sin(be));
    double st[3][3] = {{asl, 0, 0},
                       {bsl * cgs, bsl * sgs, 0},
                       {csl * cbs, csl * (cas - cbs * cgs) / sgs, csl * V / (a * b * c * sgs)}};
    if (M)
        for (int i = 0; i < 3; i++)
            u_matvec(M, st[i], st[i]);
    double X[3][3];
    u_cross(st[1], st[2], X[0]);
    u_cross(st[2], st[0], X[1]);
    u_cross(st[0], st[1], X[2]);
    const double len[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        double old = u_norm(X[i]);
        for (int j = 0; j < 3; j++)
            real[i][j] = V * (len[i] / V / old * X[i][j]);
    }
    u_cross(real[1], real[2], recip[0]);
    u_cross(real[2], real[0], recip[1]);
    u_cross(real[0], real[1], recip[2]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            recip[i][j] *= Vs;
}

static void check_spec_chain(const struct nb_scene *sc, const double p[6], const double *M)
{
    double real[3][3], recip[3][3], e[3];
    spec_cell(p, M, real, recip);
    const double *v0[3] = {sc->a0, sc->b0, sc->c0};
    const double *vs[3] = {sc->a_star, sc->b_star, sc->c_star};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            e[j] = real[i][j] * 1e-10;
        CHECK_VECV(v0[i], e, 1e-12 * u_norm(e));
        CHECK_VECV(vs[i], recip[i], 1e-12 * u_norm(recip[i]));
    }
}

/* Build a scene from a command line, reading -mat as the program does. */
static nb_status crystal_scene(const char *line, struct nb_scene *sc, int quiet)
{
    struct nb_cli cli;
    memset(sc, 0, sizeof *sc);
    if (u_parse(line, &cli))
        return NB_E_USAGE;
    nb_status st = NB_OK;
    if (cli.mat) {
        struct nb_err err = {{0}};
        st = nb_mat_read(cli.mat, cli.cfg.mat, &err);
        if (st != NB_OK)
            fprintf(stderr, "%s: nb_mat_read: %s\n", line, err.msg);
        cli.cfg.have_mat = 1;
        cli.cfg.mat_name = cli.mat;
    }
    if (st == NB_OK)
        st = u_crystal_cfg(&cli.cfg, sc, line, quiet);
    nb_cli_fini(&cli);
    return st;
}

/* ------------------------------------------------------------------------------ -cell */

static void cells(void)
{
    /* exact: at most one non-right angle, where the §11.4 construction is the true
     * geometry; for the triclinic cells the spec (= the reference) is checked instead */
    static const struct {
        const char *args;
        double p[6]; /* A, deg */
        int exact;
    } cases[] = {
        {"-cell 100 100 100 90 90 90", {100, 100, 100, 90, 90, 90}, 1},
        {"-cell 50", {50, 50, 50, 90, 90, 90}, 1}, /* missing values: b = c = a, 90 deg */
        {"-cell 50 60 70 90 90 90", {50, 60, 70, 90, 90, 90}, 1},
        {"-cell 50 60 70 90 110 90", {50, 60, 70, 90, 110, 90}, 1},
        {"-cell 60 60 100 90 90 120", {60, 60, 100, 90, 90, 120}, 1},
        {"-cell 55 66 77 80 90 90", {55, 66, 77, 80, 90, 90}, 1},
        {"-cell 70 80 90 75 85 95", {70, 80, 90, 75, 85, 95}, 0},
        {"-cell 33 44 55 100 80 110", {33, 44, 55, 100, 80, 110}, 0},
    };
    static char ctx[sizeof cases / sizeof cases[0]][96];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double p[6];
        for (int i = 0; i < 6; i++)
            p[i] = i < 3 ? cases[k].p[i] : cases[k].p[i] * U_DEG;
        char line[256];
        snprintf(line, sizeof line, "%s -detpixels 16", cases[k].args);
        snprintf(ctx[k], sizeof ctx[k], "§11-§13 '%s'", line);
        u_ctx = ctx[k];
        struct nb_scene sc;
        if (crystal_scene(line, &sc, 0) != NB_OK) {
            CHECK(0, "%s: set-up failed", line);
            continue;
        }
        check_cell_scene(&sc, p, cases[k].exact);
        check_spec_chain(&sc, p, NULL);
        /* default orientation (§11.4): a* along x, b* in the xy plane */
        double as = u_norm(sc.a_star), bs = u_norm(sc.b_star);
        CHECK_ABS(sc.a_star[1], 0, 1e-15 * as);
        CHECK_ABS(sc.a_star[2], 0, 1e-15 * as);
        CHECK(sc.a_star[0] > 0, "%s: a*_x = %g, expected > 0", u_ctx, sc.a_star[0]);
        CHECK_ABS(sc.b_star[2], 0, 1e-15 * bs);
        CHECK(sc.b_star[1] > 0, "%s: b*_y = %g, expected > 0", u_ctx, sc.b_star[1]);
        if (!strcmp(cases[k].args, "-cell 70 80 90 75 85 95")) {
            /* what the reference printed for this cell (golden triclinic_misset_hkl, %g):
             * "Unit Cell: 70 80 90 75.0391 85.0136 95.0081",
             * "Recp Cell: 0.014437 0.0130262 0.0115784 105.535 96.5318 83.4517",
             * "volume = 481811 A^3" */
            static const double uc[6] = {70, 80, 90, 75.0391, 85.0136, 95.0081};
            static const double rc[6] = {0.014437, 0.0130262, 0.0115784, 105.535, 96.5318, 83.4517};
            static const double ucu[6] = {5e-5, 5e-5, 5e-5, 5e-5, 5e-5, 5e-5};
            static const double rcu[6] = {5e-7, 5e-8, 5e-8, 5e-4, 5e-5, 5e-5};
            for (int i = 0; i < 6; i++) {
                CHECK_ABS(sc.cell[i], uc[i], ucu[i]);
                CHECK_ABS(sc.rcell[i], rc[i], rcu[i]);
            }
            CHECK_ABS(sc.V_cell, 481811, 0.5);
        }
        nb_scene_fini(&sc);
    }
}

/* ------------------------------------------------------------------------------- -mat */

static int write_mat(const char *path, const double as[3], const double bs[3], const double cs[3],
                     double lambda_A, const char *trailer)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return 1;
    /* row n: n-th component of a*, b*, c* (times lambda): columns are the vectors */
    for (int n = 0; n < 3; n++)
        fprintf(fp, " %.17g %.17g %.17g\n", as[n] * lambda_A, bs[n] * lambda_A, cs[n] * lambda_A);
    fputs(trailer, fp);
    return fclose(fp) != 0;
}

static void matrix_files(void)
{
    const double p_deg[6] = {70, 80, 90, 75, 85, 95};
    double p[6], a[3], b[3], c[3], U[9], axis[3] = {1, 2, 3};
    for (int i = 0; i < 6; i++)
        p[i] = i < 3 ? p_deg[i] : p_deg[i] * U_DEG;
    real_basis(p, a, b, c);
    double n = u_norm(axis);
    for (int i = 0; i < 3; i++)
        axis[i] /= n;
    u_rodrigues(axis, 40 * U_DEG, U);
    u_matvec(U, a, a);
    u_matvec(U, b, b);
    u_matvec(U, c, c);
    double V = closed_volume(p), as[3], bs[3], cs[3];
    u_cross(b, c, as);
    u_cross(c, a, bs);
    u_cross(a, b, cs);
    for (int i = 0; i < 3; i++)
        as[i] /= V, bs[i] /= V, cs[i] /= V;

    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/unit_cell", NB_TEST_SCRATCH);
    if (nb_test_fresh_dir(dir)) {
        CHECK(0, "cannot create scratch directory %s", dir);
        return;
    }
    snprintf(path, sizeof path, "%s/tri.mat", dir);
    /* MOSFLM .mat files carry further lines after the nine numbers (formats.md §3) */
    if (write_mat(path, as, bs, cs, 1.5, "     0.000     0.000     0.000\n  1 0 0\n")) {
        CHECK(0, "cannot write %s", path);
        return;
    }

    /* nb_mat_read: nine numbers in file order */
    {
        u_ctx = "formats.md §3 nb_mat_read";
        double m[9];
        struct nb_err err = {{0}};
        nb_status st = nb_mat_read(path, m, &err);
        CHECK(st == NB_OK, "nb_mat_read: %s", err.msg);
        if (st == NB_OK)
            for (int r = 0; r < 3; r++) {
                CHECK_REL(m[3 * r + 0], as[r] * 1.5, 1e-15);
                CHECK_REL(m[3 * r + 1], bs[r] * 1.5, 1e-15);
                CHECK_REL(m[3 * r + 2], cs[r] * 1.5, 1e-15);
            }
    }

    /* -mat alone: a*, b*, c* = columns / lambda[A]; the derived cell is the input cell */
    char line[1400];
    struct nb_scene sc;
    snprintf(line, sizeof line, "-mat %s -lambda 1.5 -detpixels 16", path);
    u_ctx = "geometry.md §12-§13 -mat (triclinic, rotated, lambda 1.5)";
    if (crystal_scene(line, &sc, 0) == NB_OK) {
        CHECK_VECV(sc.a_star, as, 1e-12 * u_norm(as));
        CHECK_VECV(sc.b_star, bs, 1e-12 * u_norm(bs));
        CHECK_VECV(sc.c_star, cs, 1e-12 * u_norm(cs));
        double e[3];
        for (int i = 0; i < 3; i++)
            e[i] = a[i] * 1e-10;
        CHECK_VECV(sc.a0, e, 1e-12 * 70e-10);
        for (int i = 0; i < 3; i++)
            e[i] = b[i] * 1e-10;
        CHECK_VECV(sc.b0, e, 1e-12 * 80e-10);
        for (int i = 0; i < 3; i++)
            e[i] = c[i] * 1e-10;
        CHECK_VECV(sc.c0, e, 1e-12 * 90e-10);
        check_cell_scene(&sc, p, 1);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* -mat with -cell: orientation from the matrix, lengths from -cell (§12, §13.2) */
    snprintf(line, sizeof line, "-mat %s -lambda 1.5 -cell 71 81 91 75 85 95 -detpixels 16",
             path);
    u_ctx = "geometry.md §13.2 -mat + -cell 71 81 91";
    if (crystal_scene(line, &sc, 0) == NB_OK) {
        CHECK_REL(u_norm(sc.a0), 71e-10, 1e-12);
        CHECK_REL(u_norm(sc.b0), 81e-10, 1e-12);
        CHECK_REL(u_norm(sc.c0), 91e-10, 1e-12);
        double e[3];
        for (int i = 0; i < 3; i++)
            e[i] = a[i] / 70 * 71e-10;
        CHECK_VECV(sc.a0, e, 1e-12 * 71e-10);
        for (int i = 0; i < 3; i++)
            e[i] = c[i] / 90 * 91e-10;
        CHECK_VECV(sc.c0, e, 1e-12 * 91e-10);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* explicit misset applies to -mat input too: a* <- Rxyz a* */
    snprintf(line, sizeof line, "-mat %s -lambda 1.5 -misset 10 -20 30 -detpixels 16", path);
    u_ctx = "geometry.md §12 -mat + -misset 10 -20 30";
    if (crystal_scene(line, &sc, 0) == NB_OK) {
        double M[9], e[3];
        u_Rxyz(10 * U_DEG, -20 * U_DEG, 30 * U_DEG, M);
        u_matvec(M, as, e);
        CHECK_VECV(sc.a_star, e, 1e-12 * u_norm(as));
        u_matvec(M, bs, e);
        CHECK_VECV(sc.b_star, e, 1e-12 * u_norm(bs));
        u_matvec(M, cs, e);
        CHECK_VECV(sc.c_star, e, 1e-12 * u_norm(cs));
        check_cell_scene(&sc, p, 1);
    } else
        CHECK(0, "%s: set-up failed", line);
    nb_scene_fini(&sc);

    /* a matrix file with fewer than nine numbers is an error */
    snprintf(path, sizeof path, "%s/short.mat", dir);
    nb_test_write_file(path, "0.01 0 0\n0 0.01 0\n0 0\n", 22);
    {
        u_ctx = "formats.md §3 short matrix";
        double m[9];
        struct nb_err err = {{0}};
        CHECK(nb_mat_read(path, m, &err) == NB_E_INPUT, "%s: 8 numbers accepted", u_ctx);
    }
}

/* ------------------------------------------------------------------- explicit misset */

static void missets(void)
{
    const double p_deg[6] = {70, 80, 90, 75, 85, 95};
    double p[6];
    for (int i = 0; i < 6; i++)
        p[i] = i < 3 ? p_deg[i] : p_deg[i] * U_DEG;
    struct nb_scene s0, s1;
    u_ctx = "geometry.md §12 -cell triclinic -misset 10 20 30";
    if (crystal_scene("-cell 70 80 90 75 85 95 -detpixels 16", &s0, 0) != NB_OK ||
        crystal_scene("-cell 70 80 90 75 85 95 -misset 10 20 30 -detpixels 16", &s1, 0) !=
            NB_OK) {
        CHECK(0, "misset set-up failed");
        nb_scene_fini(&s0);
        nb_scene_fini(&s1);
        return;
    }
    double M[9], e[3];
    u_Rxyz(10 * U_DEG, 20 * U_DEG, 30 * U_DEG, M);
    const double *r0[6] = {s0.a_star, s0.b_star, s0.c_star, s0.a0, s0.b0, s0.c0};
    const double *r1[6] = {s1.a_star, s1.b_star, s1.c_star, s1.a0, s1.b0, s1.c0};
    for (int i = 0; i < 6; i++) {
        u_matvec(M, r0[i], e);
        CHECK_VECV(r1[i], e, 1e-12 * u_norm(r0[i]));
    }
    /* the order is x, then y, then z: z-y-x would give something else */
    {
        double x[9], y[9], z[9], t[9], w[9];
        u_Rx(10 * U_DEG, x), u_Ry(20 * U_DEG, y), u_Rz(30 * U_DEG, z);
        u_matmul(y, z, t);
        u_matmul(x, t, w);
        u_matvec(w, s0.a_star, e);
        double d = fabs(e[0] - s1.a_star[0]) + fabs(e[1] - s1.a_star[1]) + fabs(e[2] - s1.a_star[2]);
        CHECK(d > 1e-4 * u_norm(s0.a_star), "%s: z-y-x order also matches (%g)", u_ctx, d);
    }
    check_cell_scene(&s1, p, 0);
    check_spec_chain(&s1, p, M);
    nb_scene_fini(&s0);
    nb_scene_fini(&s1);

    /* random misset with a seed: the reference printed these (golden misset_random_seeded) */
    u_ctx = "geometry.md §12 -misset random -misset_seed 12345 (reference output)";
    struct nb_scene sc;
    if (crystal_scene("-cell 100 100 100 90 90 90 -misset random -misset_seed 12345 -N 5 "
                      "-lambda 6.2 -distance 100 -detpixels 96 -pixel 0.1",
                      &sc, 0) == NB_OK) {
        char got[128];
        snprintf(got, sizeof got, "%f %f %f", sc.misset_deg[0], sc.misset_deg[1],
                 sc.misset_deg[2]);
        CHECK(strcmp(got, "105.720755 -34.951318 -97.823571") == 0,
              "%s: misset angles '%s', reference printed '105.720755 -34.951318 -97.823571'",
              u_ctx, got);
        /* reference trace, %g: a_star after the misset rotation */
        CHECK_VEC(sc.a_star, -0.00111572, -0.0081201, 0.0057288, 1e-8);
        CHECK_VEC(sc.b_star, -0.00193362, 0.005832, 0.00788979, 1e-8);
        CHECK_VEC(sc.c_star, -0.00974763, -0.000227453, -0.00222081, 1e-8);
        double q[6] = {100, 100, 100, U_PI / 2, U_PI / 2, U_PI / 2};
        check_cell_scene(&sc, q, 1);
    } else
        CHECK(0, "random misset set-up failed");
    nb_scene_fini(&sc);
}

/* ---------------------------------------------------------------- crystal size (§13.7) */

static void crystal_size(void)
{
    struct nb_scene sc;
    u_ctx = "geometry.md §13.7 -xtalsize 0.05";
    if (crystal_scene("-cell 70 85 90 90 90 90 -xtalsize 0.05 -detpixels 16 -oversample 1", &sc,
                      0) == NB_OK) {
        /* ceil(50 um / 7 nm) = ceil(7142.86), ceil(50 um / 8.5 nm) = ceil(5882.35), ... */
        CHECK(sc.Na == 7143, "%s: Na = %g, expected 7143", u_ctx, sc.Na);
        CHECK(sc.Nb == 5883, "%s: Nb = %g, expected 5883", u_ctx, sc.Nb);
        CHECK(sc.Nc == 5556, "%s: Nc = %g, expected 5556", u_ctx, sc.Nc);
        CHECK_REL(sc.xtal_size[0], 7143 * 70e-10, 1e-12);
        CHECK_REL(sc.xtal_size[1], 5883 * 85e-10, 1e-12);
        CHECK_REL(sc.xtal_size[2], 5556 * 90e-10, 1e-12);
    } else
        CHECK(0, "xtalsize set-up failed");
    nb_scene_fini(&sc);

    /* the default 0.1 mm beam clips y and z (Q21, physics.md §2.6) */
    u_ctx = "geometry.md §13.7 -xtalsize 0.2 (clipped by the 0.1 mm beam)";
    if (crystal_scene("-cell 70 85 90 90 90 90 -xtalsize 0.2 -detpixels 16 -oversample 1", &sc,
                      0) == NB_OK) {
        CHECK(sc.Na == 28572, "%s: Na = %g, expected ceil(0.2 mm / 7 nm) = 28572", u_ctx, sc.Na);
        CHECK(sc.Nb == 11765, "%s: Nb = %g, expected ceil(0.1 mm / 8.5 nm) = 11765", u_ctx,
              sc.Nb);
        CHECK(sc.Nc == 11112, "%s: Nc = %g, expected ceil(0.1 mm / 9 nm) = 11112", u_ctx, sc.Nc);
    } else
        CHECK(0, "clipped xtalsize set-up failed");
    nb_scene_fini(&sc);

    /* without a size, N is used as given */
    u_ctx = "geometry.md §13.7 -N 3";
    if (crystal_scene("-cell 70 85 90 90 90 90 -N 3 -detpixels 16", &sc, 0) == NB_OK) {
        CHECK(sc.Na == 3 && sc.Nb == 3 && sc.Nc == 3, "%s: N = %g %g %g, expected 3 3 3", u_ctx,
              sc.Na, sc.Nb, sc.Nc);
    } else
        CHECK(0, "-N set-up failed");
    nb_scene_fini(&sc);
}

int main(void)
{
    cells();
    matrix_files();
    missets();
    crystal_size();
    return u_summary("test_cell");
}
