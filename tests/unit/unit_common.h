/* unit_common.h -- small helpers shared by the tests in tests/unit (header only).
 *
 * Builds a scene from a nanoBragg command line (nb_cli_parse + the staged set-up) and gives
 * the tests their OWN vector algebra: independent rotation matrices and a Rodrigues formula
 * written from spec/geometry.md (preamble) and spec/physics.md §10, so that expected values
 * never come from the code under test.  No MPI, HDF5 or CUDA.
 */
#ifndef NB_UNIT_COMMON_H
#define NB_UNIT_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/nb_cli.h"
#include "engine/nb_config.h"
#include "engine/nb_scene.h"
#include "engine/nb_setup.h"
#include "nb_testutil.h"

/* CHECK of nb_testutil.h, counting every evaluated check so that a test can report how many
 * it ran (a test that silently checks nothing should be visible). */
static int u_nchecks;
static const char *u_ctx = ""; /* what is being checked, printed with failures */
#undef CHECK
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        u_nchecks++;                                                                           \
        if (!(cond)) {                                                                         \
            nb_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

#define U_PI 3.14159265358979323846
#define U_DEG (U_PI / 180.0)

/* ------------------------------------------------------------ independent 3-vector algebra */

static inline void u_set3(double *v, double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

static inline double u_dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline void u_cross(const double *a, const double *b, double *c)
{
    double t[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                   a[0] * b[1] - a[1] * b[0]};
    memcpy(c, t, sizeof t);
}

static inline double u_norm(const double *a)
{
    return sqrt(u_dot(a, a));
}

/* m = a*b (row-major 3x3) */
static inline void u_matmul(const double *a, const double *b, double *m)
{
    double t[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            t[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
    memcpy(m, t, sizeof t);
}

static inline void u_matvec(const double *m, const double *v, double *out)
{
    double t[3];
    for (int i = 0; i < 3; i++)
        t[i] = m[3 * i] * v[0] + m[3 * i + 1] * v[1] + m[3 * i + 2] * v[2];
    memcpy(out, t, sizeof t);
}

/* The right-handed lab rotations of spec/geometry.md (preamble). */
static inline void u_Rx(double a, double *m)
{
    double t[9] = {1, 0, 0, 0, cos(a), -sin(a), 0, sin(a), cos(a)};
    memcpy(m, t, sizeof t);
}
static inline void u_Ry(double a, double *m)
{
    double t[9] = {cos(a), 0, sin(a), 0, 1, 0, -sin(a), 0, cos(a)};
    memcpy(m, t, sizeof t);
}
static inline void u_Rz(double a, double *m)
{
    double t[9] = {cos(a), -sin(a), 0, sin(a), cos(a), 0, 0, 0, 1};
    memcpy(m, t, sizeof t);
}

/* Rxyz(a, b, c) = Rz(c) Ry(b) Rx(a): x first, then y, then z. */
static inline void u_Rxyz(double a, double b, double c, double *m)
{
    double x[9], y[9], z[9], t[9];
    u_Rx(a, x);
    u_Ry(b, y);
    u_Rz(c, z);
    u_matmul(y, x, t);
    u_matmul(z, t, m);
}

/* Rodrigues rotation matrix about unit axis k by phi (matrix form, physics.md §10):
 * R = cos I + (1 - cos) k k^T + sin [k]x */
static inline void u_rodrigues(const double *k, double phi, double *m)
{
    double c = cos(phi), s = sin(phi), C = 1.0 - c;
    double t[9] = {c + C * k[0] * k[0],        C * k[0] * k[1] - s * k[2], C * k[0] * k[2] + s * k[1],
                   C * k[1] * k[0] + s * k[2], c + C * k[1] * k[1],        C * k[1] * k[2] - s * k[0],
                   C * k[2] * k[0] - s * k[1], C * k[2] * k[1] + s * k[0], c + C * k[2] * k[2]};
    memcpy(m, t, sizeof t);
}

/* ------------------------------------------------------------------- checks on vectors */

#define CHECK_VEC(got, e0, e1, e2, tol)                                                        \
    do {                                                                                       \
        const double *g_ = (got);                                                              \
        double ex_[3] = {(e0), (e1), (e2)};                                                    \
        for (int i_ = 0; i_ < 3; i_++)                                                         \
            CHECK(fabs(g_[i_] - ex_[i_]) <= (tol),                                             \
                  "%s: %s[%d] = %.17g, expected %.17g (|d| %.3g > tol %g); got (%.15g %.15g "  \
                  "%.15g) expected (%.15g %.15g %.15g)",                                       \
                  u_ctx, #got, i_, g_[i_], ex_[i_], fabs(g_[i_] - ex_[i_]), (double)(tol),     \
                  g_[0], g_[1], g_[2], ex_[0], ex_[1], ex_[2]);                                \
    } while (0)

#define CHECK_VECV(got, exp, tol) CHECK_VEC((got), (exp)[0], (exp)[1], (exp)[2], (tol))

/* absolute tolerance check carrying the current context string */
#define CHECK_ABS(got, exp, tol)                                                               \
    CHECK(fabs((double)(got) - (double)(exp)) <= (tol),                                        \
          "%s: %s = %.17g, expected %.17g (|d| %.3g > tol %g)", u_ctx, #got, (double)(got),   \
          (double)(exp), fabs((double)(got) - (double)(exp)), (double)(tol))

/* relative tolerance check */
#define CHECK_REL(got, exp, tol)                                                               \
    CHECK(fabs((double)(got) - (double)(exp)) <= (tol) * fabs((double)(exp)),                  \
          "%s: %s = %.17g, expected %.17g (rel %.3g > tol %g)", u_ctx, #got, (double)(got),   \
          (double)(exp), fabs((double)(got) - (double)(exp)) / fabs((double)(exp)),           \
          (double)(tol))

/* ------------------------------------------------------------ scene from a command line */

/* Split a command line on blanks into argv (argv[0] = "nanoBragg"); returns argc. */
static inline int u_split(const char *line, char *storage, size_t storage_len, char **argv,
                          int max_args)
{
    int argc = 0;
    snprintf(storage, storage_len, "%s", line);
    argv[argc++] = (char *)"nanoBragg";
    for (char *t = strtok(storage, " "); t && argc < max_args - 1; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return argc;
}

/* Parse `line` into cli (caller calls nb_cli_fini).  0 on success; prints why otherwise. */
static inline int u_parse(const char *line, struct nb_cli *cli)
{
    static char storage[4096];
    char *argv[128];
    int argc = u_split(line, storage, sizeof storage, argv, 128);
    struct nb_msg_sink sink = {NULL, NULL};
    struct nb_err err = {{0}};
    nb_status st = nb_cli_parse(argc, argv, cli, &sink, &err);
    if (st != NB_OK) {
        fprintf(stderr, "nb_cli_parse(\"%s\") failed: %s: %s\n", line, nb_strerror(st), err.msg);
        return 1;
    }
    return 0;
}

/* Detector set-up (stages 1-2) from a config.  0 on success. */
static inline int u_geometry_cfg(const struct nb_config *c, struct nb_scene *sc, const char *what)
{
    struct nb_msg_sink sink = {NULL, NULL};
    struct nb_err err = {{0}};
    nb_status st = nb_setup_begin(c, sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_geometry(c, sc, &sink, &err);
    if (st != NB_OK) {
        fprintf(stderr, "%s: set-up failed: %s: %s\n", what, nb_strerror(st), err.msg);
        return 1;
    }
    return 0;
}

/* Detector and crystal set-up (stages 1-3) from a config.  Returns the status. */
static inline nb_status u_crystal_cfg(const struct nb_config *c, struct nb_scene *sc,
                                      const char *what, int quiet)
{
    struct nb_msg_sink sink = {NULL, NULL};
    struct nb_err err = {{0}};
    nb_status st = nb_setup_begin(c, sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_geometry(c, sc, &sink, &err);
    if (st == NB_OK)
        st = nb_setup_crystal(c, sc, &sink, &err);
    if (st != NB_OK && !quiet)
        fprintf(stderr, "%s: set-up failed: %s: %s\n", what, nb_strerror(st), err.msg);
    return st;
}

/* Parse a command line and run the detector set-up.  0 on success. */
static inline int u_geometry(const char *line, struct nb_scene *sc)
{
    struct nb_cli cli;
    memset(sc, 0, sizeof *sc);
    if (u_parse(line, &cli))
        return 1;
    int r = u_geometry_cfg(&cli.cfg, sc, line);
    nb_cli_fini(&cli);
    return r;
}

static inline int u_summary(const char *name)
{
    if (nb_test_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, nb_test_failures, u_nchecks);
        printf("%s: %d of %d checks FAILED\n", name, nb_test_failures, u_nchecks);
        return 1;
    }
    if (u_nchecks == 0) {
        printf("%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, u_nchecks);
    return 0;
}

#endif
