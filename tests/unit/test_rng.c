/* test_rng.c -- nanoBragg's random numbers (spec/physics.md §5, §16; geometry.md §12).
 *
 * Oracles: the published MINSTD check value (Park & Miller 1988: x_10000 = 1043618065 from
 * x_0 = 1), exact modular arithmetic for single LCG steps, the reference's printed random
 * misset angles for -misset_seed 12345 (golden case misset_random_seeded), properties of
 * rotation matrices, and statistics of the Poisson and normal distributions.
 */
#include "unit_common.h"

#include "engine/nb_rng.h"

#define IM 2147483647L
#define AM (1.0 / IM)

/* One Park-Miller step by exact 64-bit modular multiplication (not Schrage). */
static long lcg_exact(long x)
{
    return (long)((16807LL * (long long)x) % IM);
}

static void minstd(void)
{
    /* (a) the published check value through the shuffle generator's seed variable */
    u_ctx = "physics.md §16 MINSTD check";
    {
        long x = 1;
        for (int i = 0; i < 10000; i++)
            x = lcg_exact(x);
        CHECK(x == 1043618065L, "%s: own exact LCG gives %ld after 10000 steps", u_ctx, x);
    }
    struct nb_rng rng;
    nb_rng_init(&rng);
    long idum = -1;
    nb_ran1(&rng, &idum); /* 40 table steps + 1 */
    {
        long x = 1;
        for (int i = 0; i < 41; i++)
            x = lcg_exact(x);
        CHECK(idum == x, "%s: after the first call idum = %ld, expected x_41 = %ld", u_ctx, idum,
              x);
    }
    for (int i = 1; i < 9960; i++)
        nb_ran1(&rng, &idum);
    CHECK(idum == 1043618065L, "%s: idum = %ld after 9960 calls from -1, expected 1043618065",
          u_ctx, idum);

    /* every call is exactly one LCG step once the table is loaded */
    for (int i = 0; i < 1000; i++) {
        long before = idum;
        nb_ran1(&rng, &idum);
        if (idum != lcg_exact(before)) {
            CHECK(0, "%s: call %d: idum %ld -> %ld, expected %ld", u_ctx, i, before, idum,
                  lcg_exact(before));
            break;
        }
    }
    u_nchecks++;

    /* the shuffle output: first value = AM * iv[j] of the table built from x_9..x_40 */
    u_ctx = "physics.md §16 Bays-Durham shuffle, first output";
    {
        long iv[32], x = 1, iy;
        for (int j = 39; j >= 0; j--) {
            x = lcg_exact(x);
            if (j < 32)
                iv[j] = x;
        }
        iy = iv[0];
        x = lcg_exact(x);
        int j = (int)(iy / (1 + (IM - 1) / 32));
        iy = iv[j];
        float expect = (float)(AM * (double)iy);
        struct nb_rng r2;
        nb_rng_init(&r2);
        long s = -1;
        float got = nb_ran1(&r2, &s);
        CHECK(got == expect, "%s: first ran1 from -1 = %.9g, expected %.9g", u_ctx, got, expect);
    }
}

static void ran1_range_and_seeds(void)
{
    /* (b) outputs are floats in (0, 1 - 1.2e-7] */
    u_ctx = "physics.md §16 ran1 range";
    struct nb_rng rng;
    nb_rng_init(&rng);
    long idum = -7;
    const float rnmx = (float)(1.0 - 1.2e-7);
    float lo = 2, hi = -1;
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = nb_ran1(&rng, &idum);
        if (u < lo)
            lo = u;
        if (u > hi)
            hi = u;
        sum += u;
    }
    CHECK(lo > 0.0f, "%s: minimum %.9g is not > 0", u_ctx, lo);
    CHECK(hi <= rnmx, "%s: maximum %.9g exceeds RNMX %.9g", u_ctx, hi, rnmx);
    CHECK(fabs(sum / n - 0.5) < 4 * sqrt(1.0 / 12 / n), "%s: mean %.6f of %d uniforms", u_ctx,
          sum / n, n);

    /* Q30: a positive seed at first use behaves like seed -1 */
    u_ctx = "physics.md §16 Q30 positive first seed";
    {
        struct nb_rng r1, r2;
        nb_rng_init(&r1);
        nb_rng_init(&r2);
        long s1 = 12345, s2 = -1;
        int same = 1;
        for (int i = 0; i < 100; i++)
            if (nb_ran1(&r1, &s1) != nb_ran1(&r2, &s2))
                same = 0;
        CHECK(same && s1 == s2, "%s: seed 12345 on a fresh generator differs from seed -1", u_ctx);
        /* seed 0 also collapses to 1 */
        struct nb_rng r3;
        nb_rng_init(&r3);
        long s3 = 0;
        float a = nb_ran1(&r3, &s3);
        nb_rng_init(&r2);
        s2 = -1;
        CHECK(a == nb_ran1(&r2, &s2), "%s: seed 0 differs from seed -1", u_ctx);
    }
    /* a positive seed on an initialised table continues it: one step from that seed */
    u_ctx = "physics.md §16 positive seed, table already loaded";
    {
        struct nb_rng r;
        nb_rng_init(&r);
        long s = -5;
        nb_ran1(&r, &s);
        long other = 12345;
        nb_ran1(&r, &other);
        CHECK(other == lcg_exact(12345), "%s: idum %ld, expected one step from 12345 = %ld",
              u_ctx, other, lcg_exact(12345));
        /* a negative seed reloads the shared table: same as a fresh generator */
        struct nb_rng fresh;
        nb_rng_init(&fresh);
        long a = -99, b = -99;
        float x = nb_ran1(&r, &a), y = nb_ran1(&fresh, &b);
        CHECK(x == y && a == b, "%s: negative seed did not re-initialise (%.9g vs %.9g)", u_ctx,
              x, y);
    }
}

static void mosaic_and_misset(void)
{
    /* (c) the reference printed these for -misset random -misset_seed 12345 */
    u_ctx = "geometry.md §12 random misset, seed 12345 (reference output)";
    {
        struct nb_rng rng;
        nb_rng_init(&rng);
        long seed = -12345;
        double u[9], m[3];
        nb_mosaic_umat(&rng, 90.0f, u, &seed);
        nb_umat2misset(u, m);
        const double rtd = 180.0 * (1.0 / U_PI);
        char got[128];
        snprintf(got, sizeof got, "%f %f %f", m[0] * rtd, m[1] * rtd, m[2] * rtd);
        CHECK(strcmp(got, "105.720755 -34.951318 -97.823571") == 0,
              "%s: got '%s', reference printed '105.720755 -34.951318 -97.823571'", u_ctx, got);
        /* the angles reproduce the matrix: Rxyz(mx, my, mz) == U */
        double R[9];
        u_Rxyz(m[0], m[1], m[2], R);
        for (int i = 0; i < 9; i++)
            CHECK_ABS(R[i], u[i], 1e-12);
    }

    /* (d) orthonormal, det +1, rotation angle <= cap */
    u_ctx = "physics.md §5 mosaic_rotation_umat";
    struct nb_rng rng;
    nb_rng_init(&rng);
    long seed = -12345678;
    const float caps[] = {0.001f, 0.01f, 0.3f, 1.0f, 3.0f};
    for (int c = 0; c < 5; c++) {
        double worst_orth = 0, worst_det = 0, max_angle = 0;
        for (int n = 0; n < 2000; n++) {
            double u[9], t[9], ut[9];
            nb_mosaic_umat(&rng, caps[c], u, &seed);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    ut[3 * i + j] = u[3 * j + i];
            u_matmul(u, ut, t);
            for (int i = 0; i < 9; i++) {
                double d = fabs(t[i] - (i % 4 == 0 ? 1.0 : 0.0));
                if (d > worst_orth)
                    worst_orth = d;
            }
            double det = u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6]) +
                         u[2] * (u[3] * u[7] - u[4] * u[6]);
            if (fabs(det - 1) > worst_det)
                worst_det = fabs(det - 1);
            double tr = (u[0] + u[4] + u[8] - 1) / 2;
            if (tr > 1)
                tr = 1;
            if (tr < -1)
                tr = -1;
            double ang = acos(tr);
            if (ang > max_angle)
                max_angle = ang;
        }
        CHECK(worst_orth < 1e-12, "%s cap %g: U U^T differs from I by %g", u_ctx, caps[c],
              worst_orth);
        CHECK(worst_det < 1e-12, "%s cap %g: |det - 1| = %g", u_ctx, caps[c], worst_det);
        /* acos loses accuracy near 0: allow 1e-6 rad absolute beyond the cap */
        CHECK(max_angle <= (double)caps[c] + 1e-6, "%s cap %g: rotation angle %.9g beyond the cap",
              u_ctx, caps[c], max_angle);
        CHECK(max_angle > 0.5 * (double)caps[c], "%s cap %g: largest angle %.9g suspiciously small",
              u_ctx, caps[c], max_angle);
    }
    /* umat2misset round trip on known angles */
    u_ctx = "geometry.md §12 umat2misset";
    const double ang[][3] = {{0.1, 0.2, 0.3}, {-1.0, 0.5, 2.5}, {3.0, -1.2, -3.0}};
    for (int k = 0; k < 3; k++) {
        double R[9], m[3];
        u_Rxyz(ang[k][0], ang[k][1], ang[k][2], R);
        nb_umat2misset(R, m);
        CHECK_VEC(m, ang[k][0], ang[k][1], ang[k][2], 1e-12);
    }
    /* the gimbal branch: U31^2 >= 1 gives mx = pi, my = pi/2 */
    {
        double R[9], m[3];
        u_Ry(-U_PI / 2, R); /* U31 = -sin(-pi/2) = 1 */
        R[6] = 1.0;
        nb_umat2misset(R, m);
        CHECK_ABS(m[0], U_PI, 1e-15);
        CHECK_ABS(m[1], U_PI / 2, 1e-15);
        CHECK_ABS(m[2], atan2(R[1], -R[4]), 1e-15);
    }
}

/* sample mean and variance within 4 sigma of the distribution's */
static void check_moments(const char *what, double mean, double var, const double *x, int n,
                          double kurt_excess)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    double m = s / n;
    for (int i = 0; i < n; i++)
        s2 += (x[i] - m) * (x[i] - m);
    double v = s2 / (n - 1);
    double se_mean = sqrt(var / n);
    /* var of the sample variance: (mu4 - sigma^4 (n-3)/(n-1))/n, mu4 = (kurt+3) sigma^4 */
    double se_var = sqrt(((kurt_excess + 3) * var * var - var * var * (n - 3.0) / (n - 1)) / n);
    CHECK(fabs(m - mean) <= 4 * se_mean, "%s: sample mean %.6g, expected %.6g +- %.3g (4 sigma)",
          what, m, mean, 4 * se_mean);
    CHECK(fabs(v - var) <= 4 * se_var,
          "%s: sample variance %.6g, expected %.6g +- %.3g (4 sigma)", what, v, var, 4 * se_var);
}

static void deviates(void)
{
    enum { N = 20000 };
    static double x[N];
    struct nb_rng rng;
    nb_rng_init(&rng);
    long seed = -4242;
    static const double means[] = {0.5, 5, 50, 5000, 2e6};
    static char what[5][64];
    for (int k = 0; k < 5; k++) {
        int nonint = 0, neg = 0;
        for (int i = 0; i < N; i++) {
            x[i] = nb_poidev(&rng, (float)means[k], &seed);
            if (x[i] < 0)
                neg++;
            if (means[k] <= 1e6 && x[i] != floor(x[i]))
                nonint++;
        }
        snprintf(what[k], sizeof what[k], "physics.md §16 poidev(%g)", means[k]);
        /* Poisson: variance = mean, excess kurtosis 1/mean */
        check_moments(what[k], means[k], means[k], x, N, 1.0 / means[k]);
        CHECK(neg == 0, "%s: %d negative deviates", what[k], neg);
        CHECK(nonint == 0, "%s: %d non-integer deviates", what[k], nonint);
    }
    /* poidev(0) is 0 and consumes exactly one uniform */
    {
        u_ctx = "physics.md §16 poidev(0)";
        struct nb_rng a, b;
        nb_rng_init(&a);
        nb_rng_init(&b);
        long sa = -3, sb = -3;
        float z = nb_poidev(&a, 0.0f, &sa);
        nb_ran1(&b, &sb);
        CHECK(z == 0.0f, "%s: %g", u_ctx, z);
        CHECK(sa == sb, "%s: consumed a different number of uniforms", u_ctx);
    }
    /* gaussdev: mean 0, variance 1, excess kurtosis 0; and the cached spare */
    for (int i = 0; i < N; i++)
        x[i] = nb_gaussdev(&rng, &seed);
    check_moments("physics.md §16 gaussdev", 0, 1, x, N, 0);
    {
        u_ctx = "physics.md §16 gaussdev spare";
        struct nb_rng r;
        nb_rng_init(&r);
        long s = -11;
        long before = s;
        (void)before;
        nb_gaussdev(&r, &s); /* draws pairs until accepted, caches one */
        long after_first = s;
        nb_gaussdev(&r, &s); /* returns the spare: no uniform consumed */
        CHECK(s == after_first, "%s: second call consumed uniforms", u_ctx);
    }
    /* gammln against ln Gamma (libm lgamma), float result */
    u_ctx = "physics.md §16 gammln";
    const float xs[] = {0.5f, 1.0f, 2.0f, 3.5f, 10.0f, 51.0f, 5001.0f};
    for (int i = 0; i < 7; i++)
        CHECK_ABS(nb_gammln(xs[i]), lgamma((double)xs[i]), 1e-6 * fmax(1.0, fabs(lgamma(xs[i]))));
}

int main(void)
{
    minstd();
    ran1_range_and_seeds();
    mosaic_and_misset();
    deviates();
    return u_summary("test_rng");
}
