/* test_lattice.c -- lattice transforms, lattice factor shapes, interpolation, polarization.
 *
 * Oracle: spec/physics.md §9, §11, §12.3 and the closed forms they state: sincg(x, N) =
 * sin(Nx)/sin(x) (N at x == 0), sinc3 and its series, the shape formulas with their constants
 * (0.723601254558268, 0.63, 0.3969), Lagrange interpolation reproducing polynomials, and the
 * Kahn polarization factor for scattering in and perpendicular to the polarization plane.
 * Kernel parameter blocks are built by hand.
 */
#include "unit_common.h"

#include "engine/nb_physics.h"

static void sinc_functions(void)
{
    u_ctx = "physics.md §11 sincg";
    const double Ns[] = {1, 2, 3, 4, 5, 7, 8, 10, 16, 50, 64};
    for (int k = 0; k < 11; k++)
        CHECK(nb_sincg(0.0, Ns[k]) == Ns[k], "%s: sincg(0, %g) = %.17g, expected exactly N", u_ctx,
              Ns[k], nb_sincg(0.0, Ns[k]));

    /* the required method: sin(x*N)/sin(x) in double, bit for bit, everywhere but x == 0 */
    int diff = 0;
    for (int k = 0; k < 11; k++)
        for (int h = -60; h <= 60; h++) {
            if (h == 0)
                continue;
            for (int f = 0; f < 4; f++) {
                double x = U_PI * (h + 0.25 * f);
                double e = sin(x * Ns[k]) / sin(x);
                double g = nb_sincg(x, Ns[k]);
                if (!(g == e) && diff++ < 5)
                    CHECK(0, "%s: sincg(%.17g, %g) = %.17g, expected sin(xN)/sin(x) = %.17g", u_ctx,
                          x, Ns[k], g, e);
            }
        }
    CHECK(diff == 0, "%s: %d values differ from sin(xN)/sin(x)", u_ctx, diff);

    /* closed form off the peaks: sin(N pi h)/sin(pi h) */
    CHECK_ABS(nb_sincg(U_PI * 0.25, 5), -1.0, 1e-14);  /* sin(5pi/4)/sin(pi/4) */
    CHECK_ABS(nb_sincg(U_PI * 0.5, 3), -1.0, 1e-14);   /* sin(3pi/2)/sin(pi/2) */
    CHECK_ABS(nb_sincg(U_PI * 0.5, 4), 0.0, 1e-14);    /* sin(2pi) */
    CHECK_ABS(nb_sincg(U_PI / 3, 2), 1.0, 1e-14);      /* sin(2pi/3)/sin(pi/3) */
    CHECK_ABS(nb_sincg(0.1, 10), sin(1.0) / sin(0.1), 1e-14);
    CHECK_ABS(nb_sincg(1e-9, 7), 7.0, 1e-9);           /* the limit near 0 */

    /* at x = pi*h, integer h != 0: +-N with sign (-1)^(h(N-1)) -- where the two double
     * sines are consistent, i.e. when x*N is exact (N a power of two) or h, N are small */
    u_ctx = "physics.md §11 sincg at x = pi*h";
    const double pow2[] = {2, 4, 8, 16, 32, 64};
    for (int k = 0; k < 6; k++)
        for (int h = -40; h <= 40; h++) {
            if (h == 0)
                continue;
            double N = pow2[k];
            double e = ((h * ((int)N - 1)) % 2 == 0) ? N : -N;
            double g = nb_sincg(U_PI * h, N);
            CHECK(fabs(g - e) <= 1e-9 * N, "%s: sincg(pi*%d, %g) = %.17g, expected %g", u_ctx, h,
                  N, g, e);
        }
    const int small[][2] = {{1, 3}, {2, 3}, {3, 3}, {4, 3}, {1, 5}, {2, 5}, {-1, 3}, {-2, 5},
                            {1, 7}, {2, 7}, {1, 10}, {2, 10}};
    for (int k = 0; k < 12; k++) {
        int h = small[k][0], N = small[k][1];
        double e = ((h * (N - 1)) % 2 == 0) ? N : -N;
        double g = nb_sincg(U_PI * h, N);
        CHECK(fabs(g - e) <= 1e-6 * N, "%s: sincg(pi*%d, %d) = %.17g, expected %g", u_ctx, h, N,
              g, e);
    }

    u_ctx = "physics.md §11 sinc3";
    CHECK(nb_sinc3(0.0) == 1.0, "%s: sinc3(0) = %.17g, expected exactly 1", u_ctx, nb_sinc3(0.0));
    /* series 1 - x^2/10 + x^4/280 - x^6/15120; cancellation limits the accuracy near 0 */
    const double xs[] = {1e-1, 1e-2, 1e-3};
    const double tol[] = {1e-12, 1e-11, 1e-8};
    for (int i = 0; i < 3; i++) {
        double x = xs[i], x2 = x * x;
        double series = 1 - x2 / 10 + x2 * x2 / 280 - x2 * x2 * x2 / 15120;
        CHECK_ABS(nb_sinc3(x), series, tol[i]);
    }
    CHECK_ABS(nb_sinc3(U_PI), 3.0 / (U_PI * U_PI), 1e-15);
    CHECK_ABS(nb_sinc3(U_PI / 2), 3.0 * (2.0 / U_PI) / (U_PI * U_PI / 4), 1e-15);
    CHECK_ABS(nb_sinc3(4.493409457909064), 0.0, 1e-14); /* first root of tan x = x */
    CHECK_ABS(nb_sinc3(2.0), 3.0 * (sin(2.0) / 2.0 - cos(2.0)) / 4.0, 1e-15);
}

static void base_kparams(struct nb_kparams *K, int shape, double Na, double Nb, double Nc)
{
    memset(K, 0, sizeof *K);
    K->shape = shape;
    K->Na = Na;
    K->Nb = Nb;
    K->Nc = Nc;
    K->fudge = 1.0;
    u_set3(K->a_star, 0.5, 0, 0);
    u_set3(K->b_star, 0, 0.25, 0);
    u_set3(K->c_star, 0.1, 0, 0.2);
}

static void lattice_factors(void)
{
    struct nb_kparams K;
    double fa, fb, fc;

    u_ctx = "physics.md §11 SQUARE";
    base_kparams(&K, NB_SHAPE_SQUARE, 4, 8, 2);
    CHECK(nb_lattice_factor(&K, 0, 0, 0, 0, 0, 0, &fa, &fb, &fc) == 64.0,
          "%s: F_latt(0,0,0) = %.17g, expected exactly Na*Nb*Nc = 64", u_ctx,
          nb_lattice_factor(&K, 0, 0, 0, 0, 0, 0, &fa, &fb, &fc));
    for (int h = -3; h <= 3; h++)
        for (int k = -3; k <= 3; k++)
            for (int l = -3; l <= 3; l++) {
                double F = nb_lattice_factor(&K, h, k, l, h, k, l, &fa, &fb, &fc);
                /* N even: sign (-1)^h etc. */
                double sign = ((h + k + l) % 2 == 0) ? 1 : -1;
                CHECK(fabs(F - sign * 64) <= 1e-9 * 64,
                      "%s: F_latt(%d,%d,%d) = %.17g, expected %g", u_ctx, h, k, l, F, sign * 64);
            }
    /* product of the three factors, closed form off the peaks */
    {
        double h = 0.25, k = 0.1, l = 0.5;
        double e = (sin(4 * U_PI * h) / sin(U_PI * h)) * (sin(8 * U_PI * k) / sin(U_PI * k)) *
                   (sin(2 * U_PI * l) / sin(U_PI * l));
        CHECK_ABS(nb_lattice_factor(&K, h, k, l, 0, 0, 1, &fa, &fb, &fc), e, 1e-12);
        CHECK_ABS(fa, sin(4 * U_PI * h) / sin(U_PI * h), 1e-14);
    }
    /* N = 1 skips the factor */
    base_kparams(&K, NB_SHAPE_SQUARE, 1, 1, 1);
    CHECK(nb_lattice_factor(&K, 0.3, 0.7, 0.123, 0, 1, 0, &fa, &fb, &fc) == 1.0,
          "%s: N = 1: F_latt != 1", u_ctx);

    u_ctx = "physics.md §11 ROUND";
    base_kparams(&K, NB_SHAPE_ROUND, 3, 4, 5);
    for (int h = -2; h <= 2; h++)
        CHECK_REL(nb_lattice_factor(&K, h, 1, -1, h, 1, -1, &fa, &fb, &fc),
                  60 * 0.723601254558268, 1e-15);
    {
        /* hrad^2 = (0.1*3)^2 + (0.05*4)^2 + (0.02*5)^2 */
        double hr2 = 0.09 + 0.04 + 0.01;
        double x = U_PI * sqrt(hr2);
        double e = 60 * 0.723601254558268 * 3 * (sin(x) / x - cos(x)) / (x * x);
        CHECK_REL(nb_lattice_factor(&K, 1.1, -0.05, 2.02, 1, 0, 2, &fa, &fb, &fc), e, 1e-12);
        /* fudge scales hrad^2 */
        K.fudge = 2.0;
        x = U_PI * sqrt(2 * hr2);
        e = 60 * 0.723601254558268 * 3 * (sin(x) / x - cos(x)) / (x * x);
        CHECK_REL(nb_lattice_factor(&K, 1.1, -0.05, 2.02, 1, 0, 2, &fa, &fb, &fc), e, 1e-12);
        /* zero at pi*sqrt(hrad^2) = 4.4934...: hrad = 1.430296653124203 along h */
        K.fudge = 1.0;
        double dh = 4.493409457909064 / U_PI / 3;
        CHECK_ABS(nb_lattice_factor(&K, dh, 0, 0, 0, 0, 0, &fa, &fb, &fc), 0.0, 1e-12);
    }

    u_ctx = "physics.md §11 GAUSS";
    base_kparams(&K, NB_SHAPE_GAUSS, 2, 2, 2);
    CHECK(nb_lattice_factor(&K, 3, -2, 1, 3, -2, 1, &fa, &fb, &fc) == 8.0,
          "%s: F_latt at integer hkl != Na*Nb*Nc", u_ctx);
    {
        /* r*^2 = (dh*0.5)^2 * 64: half height at r*^2 = 0.63 ln 2, 1/e at r*^2 = 0.63 */
        double dh_half = sqrt(0.63 * log(2.0) / 64) / 0.5;
        double dh_e = sqrt(0.63 / 64) / 0.5;
        CHECK_REL(nb_lattice_factor(&K, 3 + dh_half, 0, 0, 3, 0, 0, &fa, &fb, &fc), 4.0, 1e-12);
        CHECK_REL(nb_lattice_factor(&K, -dh_half, 0, 0, 0, 0, 0, &fa, &fb, &fc), 4.0, 1e-12);
        CHECK_REL(nb_lattice_factor(&K, dh_e, 0, 0, 0, 0, 0, &fa, &fb, &fc), 8.0 / exp(1.0),
                  1e-12);
        /* offsets combine through the (unrotated) reciprocal vectors: c* = (0.1, 0, 0.2) */
        double d[3] = {0.1 * 0.5 + 0.2 * 0.1, 0.3 * 0.25, 0.2 * 0.2};
        double r2 = u_dot(d, d) * 64;
        CHECK_REL(nb_lattice_factor(&K, 0.1, 0.3, 1.2, 0, 0, 1, &fa, &fb, &fc), 8 * exp(-r2 / 0.63),
                  1e-12);
        K.fudge = 3.0;
        CHECK_REL(nb_lattice_factor(&K, 0.1, 0.3, 1.2, 0, 0, 1, &fa, &fb, &fc),
                  8 * exp(-(r2 / 0.63 * 3)), 1e-12);
    }

    u_ctx = "physics.md §11 TOPHAT";
    base_kparams(&K, NB_SHAPE_TOPHAT, 2, 2, 2);
    {
        /* r*^2 = (dh*0.5)^2*64 = 16 dh^2; cut at r*^2*fudge < 0.3969: dh = 0.1575 */
        double dcut = sqrt(0.3969 / 16);
        CHECK(nb_lattice_factor(&K, 0, 0, 0, 0, 0, 0, &fa, &fb, &fc) == 8.0, "%s: centre", u_ctx);
        CHECK(nb_lattice_factor(&K, dcut * (1 - 1e-9), 0, 0, 0, 0, 0, &fa, &fb, &fc) == 8.0,
              "%s: just inside the cut is not Na*Nb*Nc", u_ctx);
        CHECK(nb_lattice_factor(&K, dcut * (1 + 1e-9), 0, 0, 0, 0, 0, &fa, &fb, &fc) == 0.0,
              "%s: just outside the cut is not 0", u_ctx);
        K.fudge = 2.0; /* the cut moves to r*^2 < 0.3969/2 */
        CHECK(nb_lattice_factor(&K, dcut / sqrt(2) * (1 - 1e-9), 0, 0, 0, 0, 0, &fa, &fb, &fc) ==
                  8.0,
              "%s: fudge 2, inside", u_ctx);
        CHECK(nb_lattice_factor(&K, dcut / sqrt(2) * (1 + 1e-9), 0, 0, 0, 0, 0, &fa, &fb, &fc) ==
                  0.0,
              "%s: fudge 2, outside", u_ctx);
    }
}

static double cubic(double x)
{
    return 2.5 - 1.25 * x + 0.75 * x * x - 0.125 * x * x * x;
}

/* a polynomial of degree <= 3 in each of h, k, l */
static double tripoly(double h, double k, double l)
{
    return 1.0 + 0.5 * h - 0.25 * k * k + 0.1 * l * l * l + 0.05 * h * k * l -
           0.01 * h * h * h * k * k * l + 0.02 * h * h * l * l - 0.003 * k * k * k * l * l * l;
}

static void interpolation(void)
{
    u_ctx = "physics.md §12.3 polint";
    const double xa[4] = {-1.0, 0.5, 2.0, 3.7};
    double ya[4];
    for (int i = 0; i < 4; i++)
        ya[i] = cubic(xa[i]);
    const double xs[] = {-3, -1, -0.3, 0, 0.5, 1.1, 2.0, 2.9, 3.7, 5};
    for (int i = 0; i < 10; i++)
        CHECK_ABS(nb_polint(xa, ya, xs[i]), cubic(xs[i]), 1e-12 * fmax(1, fabs(cubic(xs[i]))));
    /* through its nodes exactly */
    for (int i = 0; i < 4; i++)
        CHECK_ABS(nb_polint(xa, ya, xa[i]), ya[i], 1e-15 * fmax(1, fabs(ya[i])));

    /* tricubic: a grid h in [-3,4], k in [-2,5], l in [-4,3] filled with tripoly */
    u_ctx = "physics.md §12.3 tricubic";
    struct nb_kparams K;
    memset(&K, 0, sizeof K);
    K.h_min = -3, K.h_max = 4, K.k_min = -2, K.k_max = 5, K.l_min = -4, K.l_max = 3;
    K.h_range = K.h_max - K.h_min + 1;
    K.k_range = K.k_max - K.k_min + 1;
    K.l_range = K.l_max - K.l_min + 1;
    K.hkls = 1;
    K.default_F = -777;
    size_t n = (size_t)(K.h_range + 1) * (K.k_range + 1) * (K.l_range + 1);
    double *F = calloc(n, sizeof *F);
    if (!F) {
        CHECK(0, "out of memory");
        return;
    }
    /* layout of formats.md §1-§2: [h - h_min][k - k_min][l - l_min], dims range + 1 */
    for (int h = K.h_min; h <= K.h_max; h++)
        for (int k = K.k_min; k <= K.k_max; k++)
            for (int l = K.l_min; l <= K.l_max; l++)
                F[((size_t)(h - K.h_min) * (K.k_range + 1) + (size_t)(k - K.k_min)) *
                      (K.l_range + 1) +
                  (size_t)(l - K.l_min)] = tripoly(h, k, l);
    K.Fhkl = F;
    double worst = 0;
    int tested = 0;
    for (double h = K.h_min + 2; h <= K.h_max - 2 + 1e-12; h += 0.37)
        for (double k = K.k_min + 2; k <= K.k_max - 2 + 1e-12; k += 0.41)
            for (double l = K.l_min + 2; l <= K.l_max - 2 + 1e-12; l += 0.29) {
                CHECK(!nb_interp_out_of_range(&K, h, k, l), "%s: (%g %g %g) reported out of range",
                      u_ctx, h, k, l);
                double d = fabs(nb_F_tricubic(&K, h, k, l) - tripoly(h, k, l));
                if (d > worst)
                    worst = d;
                tested++;
            }
    CHECK(worst <= 1e-9, "%s: max |F - P| = %.3g over %d points (tol 1e-9)", u_ctx, worst, tested);
    CHECK(tested > 50, "%s: only %d points tested", u_ctx, tested);
    /* integer points reproduce the grid; nearest neighbour reads it too */
    CHECK_ABS(nb_F_tricubic(&K, 1, 2, 0), tripoly(1, 2, 0), 1e-12);
    CHECK_ABS(nb_F_nearest(&K, 4, 5, 3), tripoly(4, 5, 3), 0);
    CHECK_ABS(nb_F_nearest(&K, -3, -2, -4), tripoly(-3, -2, -4), 0);
    CHECK_ABS(nb_F_nearest(&K, 5, 0, 0), -777, 0);  /* outside the grid: default_F */
    CHECK_ABS(nb_F_nearest(&K, 0, -3, 0), -777, 0);
    /* range test: in range iff h_min + 2 <= h <= h_max - 2 (same for k, l) */
    u_ctx = "physics.md §12.3 range test";
    CHECK(!nb_interp_out_of_range(&K, -1, 0, -2), "%s: lower corner", u_ctx);
    CHECK(!nb_interp_out_of_range(&K, 2, 3, 1), "%s: upper corner", u_ctx);
    CHECK(nb_interp_out_of_range(&K, -1.001, 1, 0), "%s: h below", u_ctx);
    CHECK(nb_interp_out_of_range(&K, 2.001, 1, 0), "%s: h above", u_ctx);
    CHECK(nb_interp_out_of_range(&K, 0, -0.001, 0), "%s: k below", u_ctx);
    CHECK(nb_interp_out_of_range(&K, 0, 3.001, 0), "%s: k above", u_ctx);
    CHECK(nb_interp_out_of_range(&K, 0, 1, -2.001), "%s: l below", u_ctx);
    CHECK(nb_interp_out_of_range(&K, 0, 1, 1.001), "%s: l above", u_ctx);
    free(F);
}

static void polarization(void)
{
    u_ctx = "physics.md §9 polarization";
    const double p[3] = {0, 0, 1}; /* E-vector axis */
    for (int a = 0; a <= 18; a++) {
        double tt = a * 10 * U_DEG, c = cos(tt), s = sin(tt);
        /* K = 0: unpolarized 1/2 (1 + cos^2 2theta), any azimuth */
        for (int az = 0; az < 4; az++) {
            double phi = az * 0.7;
            double inc[3] = {1, 0, 0}, d[3] = {c, s * cos(phi), s * sin(phi)};
            CHECK_ABS(nb_polarization(0.0, inc, d, p), 0.5 * (1 + c * c), 1e-15);
        }
        /* K = 1, scattering in the plane containing the E vector (x-z): cos^2 2theta */
        double inc[3] = {1, 0, 0}, d[3] = {c, 0, s};
        CHECK_ABS(nb_polarization(1.0, inc, d, p), c * c, 1e-14);
        /* K = 1, perpendicular to it (x-y plane): 1 */
        double inc2[3] = {1, 0, 0}, d2[3] = {c, s, 0};
        CHECK_ABS(nb_polarization(1.0, inc2, d2, p), 1.0, 1e-14);
        /* K = 0.5 in the plane: 1/2 (1 + c^2 - 0.5 s^2) */
        double inc3[3] = {1, 0, 0}, d3[3] = {c, 0, s};
        CHECK_ABS(nb_polarization(0.5, inc3, d3, p), 0.5 * (1 + c * c - 0.5 * s * s), 1e-14);
    }
    /* general azimuth: psi is the angle of d's projection from E: P = 1/2(1+c^2-K cos2psi s^2) */
    {
        double tt = 0.6, phi = 0.4, c = cos(tt), s = sin(tt), K = 0.9;
        double inc[3] = {1, 0, 0}, d[3] = {c, s * sin(phi), s * cos(phi)};
        CHECK_ABS(nb_polarization(K, inc, d, p), 0.5 * (1 + c * c - K * cos(2 * phi) * s * s),
                  1e-14);
    }
    /* inputs are normalised in place */
    {
        double inc[3] = {3, 0, 0}, d[3] = {0, 0, 2};
        double P = nb_polarization(1.0, inc, d, p);
        CHECK_ABS(P, 0.0, 1e-15); /* 2theta = 90 deg along E: fully extinguished */
        CHECK_VEC(inc, 1, 0, 0, 0);
        CHECK_VEC(d, 0, 0, 1, 0);
    }
}

int main(void)
{
    sinc_functions();
    lattice_factors();
    interpolation();
    polarization();
    return u_summary("test_lattice");
}
