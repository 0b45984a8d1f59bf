/* nb_physics.h -- the per-pixel physics of nanoBragg, written once for every back-end.
 *
 * Everything here is a static inline function qualified with NB_HD, which expands to
 * `__host__ __device__` under nvcc and to nothing in C, so the CPU back-end and the CUDA
 * kernel compile the very same code (CrystFEL's two simulators drifted apart; ours cannot).
 * Includes only <math.h>/<stdint.h>/<string.h>; no engine, I/O, MPI or CUDA headers.
 *
 * Arithmetic follows the reference's association order term by term (spec/physics.md §6-§14).
 * Three modes (K->math_fast, K->single): --math=exact must be bit-identical to nanoBragg built
 * with -ffp-contract=off; --math=fast replaces libm's sine in the lattice factor and the
 * polarization's atan2/cos by deterministic explicit-fma forms (nb_sin_det_core, nb_latt_det,
 * nb_polarization_fast), within 1e-9 of exact; --precision=single computes the gratings in
 * float (nb_latt_single).  Helpers used by the SIMD lanes (nb_lanes_block.h) are branch-free.
 *
 * Entry points: nb_pixel() renders one pixel; nb_pixel_has_execution() is the cheap carry
 * pre-pass test (spec/carryover.md §4.1); vector helpers nb_v_*; nb_rotate_axis(); nb_sincg().
 */
#ifndef NB_PHYSICS_H
#define NB_PHYSICS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define NB_HD __host__ __device__
#else
#define NB_HD
#endif
/* The helpers of the SIMD lanes must be inlined into the lane loops, whatever the compiler's
 * size heuristics decide (a call leaves the loop scalar). */
#if defined(__CUDACC__)
#define NB_ALWAYS_INLINE /* nvcc inlines device functions by itself */
#elif defined(__GNUC__)
#define NB_ALWAYS_INLINE __attribute__((always_inline))
#else
#define NB_ALWAYS_INLINE
#endif

#define NB_PI 3.14159265358979323846   /* the same double as glibc's M_PI   */
#define NB_1_PI 0.31830988618379067154 /* the same double as glibc's M_1_PI */
#define NB_RTD (180.0 * NB_1_PI)       /* degrees per radian, as nanoBragg computes it */

enum nb_shape { NB_SHAPE_SQUARE = 0, NB_SHAPE_ROUND, NB_SHAPE_GAUSS, NB_SHAPE_TOPHAT };

/* Everything the pixel loop reads.  Plain data; every pointer must be valid on the device that
 * runs nb_pixel().  Units: metres, radians, photons/m^2; reciprocal vectors in 1/Angstrom. */
struct nb_kparams {
    /* detector */
    int fpixels, spixels;                             /* pixels along fast / slow        */
    int roi_xmin, roi_xmax, roi_ymin, roi_ymax;       /* inclusive ROI, pixel indices    */
    const unsigned short *mask;                       /* fpixels*spixels, 0 = skip; NULL */
    int oversample;                                   /* subpixels per axis (>= 1)       */
    double pixel_size;                                /* m                               */
    double subpixel_size;                             /* m, pixel_size/oversample        */
    int n_layers;                                     /* sensor layers (>= 1)            */
    double layer_step;                                /* m, depth step between layers    */
    double detector_thick;                            /* m, 0 = thin sensor              */
    double detector_mu;                               /* 1/m attenuation coefficient     */
    double fdet[3], sdet[3], odet[3];                 /* final unit axes                 */
    double pix0[3];                                   /* m, sample -> corner of pixel 0  */
    double beam[3];                                   /* unit propagation direction      */
    double close_distance;                            /* m, used by the solid angle      */
    double distance;                                  /* m, used by the curved detector  */
    int curved, point_pixel;                          /* -curved_det, -point_pixel       */
    /* beam */
    int n_sources;
    const double *src;                                /* n_sources x 5: unit sample->source
                                                         direction x y z, lambda (m), weight */
    double polar_axis[3];                             /* E-vector axis as used in the loop */
    double kahn;                                      /* Kahn polarization factor        */
    int nopolar;                                      /* -nopolar                        */
    int oversample_thick, oversample_polar, oversample_omega;
    int factors_per_term;                             /* --factors=per-term              */
    int apply_weights;                                /* --source-weights=apply          */
    double dmin;                                      /* m, 0 = no resolution cut        */
    /* crystal: rotated cell vectors per (phi step, domain), 9 doubles a b c in m.
     * lat_first is used by the very first execution of the run (carry UNROTATED),
     * lat_rest by every other one; they differ only in leading phi == 0 steps. */
    int phisteps, n_domains;
    const double *phi;                                /* phisteps angles (rad), for traces */
    const double *lat_first, *lat_rest;
    int shape;                                        /* enum nb_shape                   */
    double fudge, Na, Nb, Nc;
    double a_star[3], b_star[3], c_star[3];           /* 1/Angstrom, set-up orientation  */
    /* structure factors */
    int hkls;                                         /* > 0: a grid is loaded           */
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range;                    /* max - min + 1                   */
    const double *Fhkl;                               /* (h_range+1)(k_range+1)(l_range+1) */
    double default_F;
    int interpolate;                                  /* tricubic on at the run's start  */
    int fallback_default_F;                           /* --interp-fallback=default_F     */
    double water_size;                                /* m                               */
    double I_bg;                                      /* initial accumulator value       */
    double r_e_sqr, fluence;                          /* m^2, photons/m^2                */
    int steps;                                        /* normalisation divisor           */
    /* arithmetic of the lattice factor (spec/cli.md §8, docs/performance.md) */
    int math_fast;                                    /* --math=fast: nb_sin_det_core, not libm */
    int single;                                       /* --precision=single: nb_latt_single */
};

/* What one pixel produced. */
struct nb_pixel_result {
    float value;     /* the pixel; with interpolation: accumulator A (on at pixel start) */
    float value_nn;  /* with interpolation only: accumulator B (nearest neighbour)        */
    int executed;    /* at least one (layer, subpixel, source) passed the dmin cut        */
    int trig;        /* A met the first out-of-range interpolation term in this pixel     */
    double trig_h, trig_k, trig_l; /* fractional indices of that term                     */
    int trig_h0, trig_k0, trig_l0; /* its rounded indices                                 */
    double omega_sum;              /* sum of the solid angle over (layer, subpixel)       */
};

struct nb_trace; /* nb_trace.h: -trace_pixel and -printout, host only */

/* ---------------------------------------------------------------- vectors (0-based xyz) */

NB_HD NB_ALWAYS_INLINE static inline double nb_v_dot(const double *x, const double *y)
{
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
}

NB_HD NB_ALWAYS_INLINE static inline void nb_v_cross(const double *x, const double *y, double *z)
{
    double t0 = x[1] * y[2] - x[2] * y[1];
    double t1 = x[2] * y[0] - x[0] * y[2];
    double t2 = x[0] * y[1] - x[1] * y[0];
    z[0] = t0;
    z[1] = t1;
    z[2] = t2;
}

NB_HD NB_ALWAYS_INLINE static inline double nb_v_mag(const double *v)
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/* out = v/|v|, or the zero vector when |v| == 0; returns |v|.  out may alias v. */
NB_HD NB_ALWAYS_INLINE static inline double nb_v_unitize(const double *v, double *out)
{
    double mag = nb_v_mag(v);
    /* selects, not a branch (the same values): loops over SIMD lanes vectorise */
    double x = v[0] / mag, y = v[1] / mag, z = v[2] / mag;
    out[0] = mag != 0.0 ? x : 0.0;
    out[1] = mag != 0.0 ? y : 0.0;
    out[2] = mag != 0.0 ? z : 0.0;
    return mag;
}

/* Rodrigues rotation about a (nominally unit) axis: x' = k(k.x)(1-cos) + x cos + (k x x) sin.
 * newv may alias v. */
NB_HD static inline void nb_rotate_axis(const double *v, double *newv, const double *axis,
                                        double phi)
{
    double sinphi = sin(phi);
    double cosphi = cos(phi);
    double dot = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (1.0 - cosphi);
    double t0 = axis[0] * dot + v[0] * cosphi + (-axis[2] * v[1] + axis[1] * v[2]) * sinphi;
    double t1 = axis[1] * dot + v[1] * cosphi + (+axis[2] * v[0] - axis[0] * v[2]) * sinphi;
    double t2 = axis[2] * dot + v[2] * cosphi + (-axis[1] * v[0] + axis[0] * v[1]) * sinphi;
    newv[0] = t0;
    newv[1] = t1;
    newv[2] = t2;
}

/* Row-major 3x3 matrix times vector (nanoBragg rotate_umat).  newv must not alias v. */
NB_HD static inline void nb_rotate_umat(const double *v, double *newv, const double *u)
{
    newv[0] = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    newv[1] = u[3] * v[0] + u[4] * v[1] + u[5] * v[2];
    newv[2] = u[6] * v[0] + u[7] * v[1] + u[8] * v[2];
}

/* ------------------------------------------------------------------- lattice transforms */

/* Fourier transform of a grating: N at x == 0 exactly, else sin(Nx)/sin(x) in double. */
NB_HD static inline double nb_sincg(double x, double N)
{
    if (x == 0.0)
        return N;
    return sin(x * N) / sin(x);
}

/* ---- deterministic sine (--math=fast) ----
 * sin(x) from explicit fma() calls and IEEE + - * / only, so every compiler, every SIMD width
 * and the GPU compute the same bits (the build turns contraction off; fma() is exact-rounded
 * everywhere).  Reduction by pi: t = x/pi + 1.5*2^52 rounds x/pi to the nearest integer n,
 * whose parity is the last bit of t; r = x - n*pi with pi split in three doubles, the first
 * fma exact (x and n*P1 are multiples of 2^-52, or of 2^-53 below 2, and |r| <= pi/2), so r
 * carries a relative error of about 1e-16; sin(x) = (-1)^n sin(r).  Kernel: the odd Taylor
 * polynomial to r^21, whose truncation error on |r| <= pi/2 (1e-18) is far below an ulp, in
 * Horner form with fma.  Accuracy: within 2 ulp of glibc's correctly rounded sin of the same
 * argument (tests/unit/test_lanes.c).  The lattice factor's budget is 1e-9 (acceptance.md
 * T1c).  Branch-free, so loops over SIMD lanes vectorise; about 20 operations.
 * It needs |x| < 2^49 (nb_latt_det guards the six sines of a term at once); NaN and Inf
 * give NaN. */
NB_HD NB_ALWAYS_INLINE static inline double nb_sin_det_core(double x)
{
    const double one_over_pi = 0x1.45f306dc9c883p-2;
    const double P1 = 0x1.921fb54442d18p+1, P2 = 0x1.1a62633145c07p-53,
                 P3 = -0x1.f1976b7ed8fbcp-109;
    const double shifter = 0x1.8p52;
    double t = fma(x, one_over_pi, shifter);
    double n = t - shifter;
    double r = fma(-n, P1, x);
    r = fma(-n, P2, r);
    r = fma(-n, P3, r);
    double z = r * r;
    double p = fma(z, 0x1.71b8ef6dcf572p-66, -0x1.2f49b46814157p-57);  /* 1/21!, 1/19! */
    p = fma(z, p, 0x1.952c77030ad4ap-49);                             /* 1/17! */
    p = fma(z, p, -0x1.ae7f3e733b81fp-41);                            /* 1/15! */
    p = fma(z, p, 0x1.6124613a86d09p-33);                             /* 1/13! */
    p = fma(z, p, -0x1.ae64567f544e4p-26);                            /* 1/11! */
    p = fma(z, p, 0x1.71de3a556c734p-19);                             /* 1/9!  */
    p = fma(z, p, -0x1.a01a01a01a01ap-13);                            /* 1/7!  */
    p = fma(z, p, 0x1.1111111111111p-7);                              /* 1/5!  */
    p = fma(z, p, -0x1.5555555555555p-3);                             /* 1/3!  */
    double v = fma(z * r, p, r);
    /* (-1)^n: the last bit of t moved into the sign bit */
    uint64_t tb, vb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&vb, &v, sizeof vb);
    vb ^= tb << 63;
    memcpy(&v, &vb, sizeof v);
    return v;
}

/* The square-shape lattice factor of --math=fast: the product of the three gratings
 * sin(N x)/sin(x) on the reference's own arguments x = pi*h and x*N, through nb_sin_det_core, with
 * the reference's x == 0 rule (the factor N), taken as one quotient of two products: one
 * division instead of three (the divisions bound the SIMD loop), a few ulp from the product
 * of three quotients.  Axes with use_* == 0 (N <= 1) are skipped as in the reference. */
NB_HD NB_ALWAYS_INLINE static inline double nb_latt_det(double h, double k, double l,
                                                        double Na, double Nb, double Nc,
                                                        int use_a, int use_b, int use_c)
{
    double num = 1.0, den = 1.0, big = 0.0;
    if (use_a) {
        double x = NB_PI * h, xN = x * Na;
        num *= x == 0.0 ? Na : nb_sin_det_core(xN);
        den *= x == 0.0 ? 1.0 : nb_sin_det_core(x);
        big += fabs(xN) + fabs(x);
    }
    if (use_b) {
        double x = NB_PI * k, xN = x * Nb;
        num *= x == 0.0 ? Nb : nb_sin_det_core(xN);
        den *= x == 0.0 ? 1.0 : nb_sin_det_core(x);
        big += fabs(xN) + fabs(x);
    }
    if (use_c) {
        double x = NB_PI * l, xN = x * Nc;
        num *= x == 0.0 ? Nc : nb_sin_det_core(xN);
        den *= x == 0.0 ? 1.0 : nb_sin_det_core(x);
        big += fabs(xN) + fabs(x);
    }
    /* one guard for the six sines (never met: an index beyond 10^14); NaN stays NaN */
    return big < 0x1p49 ? num / den : 0.0 * big;
}

/* ---- single precision (--precision=single) ----
 * sin(pi*d) for |d| <= 1/2 in float: d*P(d^2), a degree-9 odd polynomial fitted for relative
 * error (4.4e-8 with these float coefficients), fmaf throughout. */
NB_HD NB_ALWAYS_INLINE static inline float nb_sinpi_f(float d)
{
    const float c0 = 0x1.921fb6p+1f, c1 = -0x1.4abbbep+2f, c2 = 0x1.46681ep+1f,
                c3 = -0x1.323f2ep-1f, c4 = 0x1.3ce0f2p-4f;
    float z = d * d;
    float p = fmaf(z, fmaf(z, fmaf(z, fmaf(z, c4, c3), c2), c1), c0);
    return d * p;
}

/* sin(N*pi*h)/sin(pi*h) with the reduction in double and the sines and the quotient in float:
 * y = h and y = N*h are split as y = m + d with m = rint(y) (t = y + 1.5*2^52; its last bit is
 * the parity of m), |d| <= 1/2, exactly (Sterbenz), so sin(pi*y) = (-1)^m sin(pi*d).  At
 * integer h (d1 == 0) the limit N*(-1)^(m2 - m1) is returned: N at h == 0 as in the reference,
 * which elsewhere returns a ratio of two rounding errors, about +-N.  Error: the float sines
 * (about 1e-7 relative each) and the rounding of d to float.  Branch-free; needs |h|, |N*h|
 * below 2^50 (nb_latt_single guards). */
NB_HD NB_ALWAYS_INLINE static inline double nb_sincg_single_core(double h, double N)
{
    const double shifter = 0x1.8p52;
    double y2 = h * N;
    double t1 = h + shifter, t2 = y2 + shifter;
    double d1 = h - (t1 - shifter), d2 = y2 - (t2 - shifter);
    uint64_t b1, b2, bq, bn;
    memcpy(&b1, &t1, sizeof b1);
    memcpy(&b2, &t2, sizeof b2);
    const uint64_t flip = (b1 ^ b2) << 63; /* (-1)^(m1 + m2) in the sign bit */
    double q = (double)(nb_sinpi_f((float)d2) / nb_sinpi_f((float)d1));
    memcpy(&bq, &q, sizeof bq);
    memcpy(&bn, &N, sizeof bn);
    bq ^= flip;
    bn ^= flip;
    memcpy(&q, &bq, sizeof q);
    double lim;
    memcpy(&lim, &bn, sizeof lim);
    return d1 == 0.0 ? lim : q;
}

/* The square-shape lattice factor of --precision=single: the product of the three gratings,
 * each nb_sincg_single_core (axes with use_* == 0 skipped), with one guard for the three. */
NB_HD NB_ALWAYS_INLINE static inline double nb_latt_single(double h, double k, double l,
                                                           double Na, double Nb, double Nc,
                                                           int use_a, int use_b, int use_c)
{
    double F = 1.0, big = 0.0;
    if (use_a) {
        F *= nb_sincg_single_core(h, Na);
        big += fabs(h * Na) + fabs(h);
    }
    if (use_b) {
        F *= nb_sincg_single_core(k, Nb);
        big += fabs(k * Nb) + fabs(k);
    }
    if (use_c) {
        F *= nb_sincg_single_core(l, Nc);
        big += fabs(l * Nc) + fabs(l);
    }
    /* beyond 2^50 (never met) the reduction is void: 0, or NaN for NaN and Inf */
    return big < 0x1p50 ? F : 0.0 * big;
}

/* Fourier transform of a sphere. */
NB_HD static inline double nb_sinc3(double x)
{
    if (x == 0.0)
        return 1.0;
    return 3.0 * (sin(x) / x - cos(x)) / (x * x);
}

/* double -> int as x86-64 converts it (cvttsd2si): INT_MIN for NaN and out-of-range. */
NB_HD static inline int nb_d2i(double x)
{
    /* the select is on doubles, then one conversion: a loop over SIMD lanes vectorises */
    double c = (x >= -2147483648.0 && x < 2147483648.0) ? x : -2147483648.0;
    return (int)c;
}

/* ------------------------------------------------------------------ structure factors */

/* Cubic Lagrange through (xa[0..3], ya[0..3]) at x (nanoBragg polint). */
NB_HD static inline double nb_polint(const double *xa, const double *ya, double x)
{
    double x0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0] /
                ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    double x1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1] /
                ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    double x2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2] /
                ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    double x3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3] /
                ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    return x0 + x1 + x2 + x3;
}

/* Grid value at integer indices (no range check: callers guarantee it). */
NB_HD static inline double nb_F_at(const struct nb_kparams *K, int h, int k, int l)
{
    return K->Fhkl[((long)(h - K->h_min) * (K->k_range + 1) + (k - K->k_min)) *
                       (long)(K->l_range + 1) +
                   (l - K->l_min)];
}

/* Nearest-neighbour rule (spec/physics.md §12.2) on the rounded indices h0 = ceil(h - 0.5)
 * kept as doubles: the grid cell, or -1 when there is no grid or (h0, k0, l0) is outside it
 * (then default_F applies).  The same decision as on the int indices of the reference: an
 * index beyond int range converts to INT_MIN there, outside every grid, and is outside here.
 * All in double (exact: the readers refuse grids of 2^31 cells or more) and branch-free, so
 * a loop over SIMD lanes vectorises. */
NB_HD NB_ALWAYS_INLINE static inline double nb_F_cell(const struct nb_kparams *K, double h0,
                                                      double k0, double l0)
{
    double in = ((K->hkls != 0) & (h0 <= K->h_max) & (h0 >= K->h_min) & (k0 <= K->k_max) &
                 (k0 >= K->k_min) & (l0 <= K->l_max) & (l0 >= K->l_min))
                    ? 1.0
                    : 0.0;
    double i = ((h0 - K->h_min) * (K->k_range + 1) + (k0 - K->k_min)) * (K->l_range + 1) +
               (l0 - K->l_min);
    return in != 0.0 ? i : -1.0;
}

NB_HD static inline int nb_F_index(const struct nb_kparams *K, double h0, double k0, double l0)
{
    return (int)nb_F_cell(K, h0, k0, l0);
}

NB_HD static inline double nb_F_nearest(const struct nb_kparams *K, double h0, double k0,
                                        double l0)
{
    int i = nb_F_index(K, h0, k0, l0);
    return i >= 0 ? K->Fhkl[i] : K->default_F;
}

/* Tricubic neighbourhood range test (spec/physics.md §12.3): non-zero when out of range. */
NB_HD static inline int nb_interp_out_of_range(const struct nb_kparams *K, double h, double k,
                                               double l)
{
    return ((h - K->h_min + 3) > K->h_range) || (h - 2 < K->h_min) ||
           ((k - K->k_min + 3) > K->k_range) || (k - 2 < K->k_min) ||
           ((l - K->l_min + 3) > K->l_range) || (l - 2 < K->l_min);
}

/* Tricubic interpolation of the grid at (h, k, l); the neighbourhood must be in range. */
NB_HD static inline double nb_F_tricubic(const struct nb_kparams *K, double h, double k,
                                         double l)
{
    int hf = nb_d2i(floor(h)), kf = nb_d2i(floor(k)), lf = nb_d2i(floor(l));
    double hd[4], kd[4], ld[4], yk[4], yh[4], yl[4];
    for (int i = 0; i < 4; i++) {
        hd[i] = (double)(hf - 1 + i);
        kd[i] = (double)(kf - 1 + i);
        ld[i] = (double)(lf - 1 + i);
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            for (int n = 0; n < 4; n++)
                yl[n] = nb_F_at(K, hf - 1 + i, kf - 1 + j, lf - 1 + n);
            yk[j] = nb_polint(ld, yl, l);
        }
        yh[i] = nb_polint(kd, yk, k);
    }
    return nb_polint(hd, yh, h);
}

/* ------------------------------------------------------------------------ polarization */

/* The diffracted unit vector's components along E and B, the unit vectors of the frame that
 * the polarization axis and the (unit) incident vector span (B = axis x incident, E =
 * incident x B).  Shared by both arithmetics of the factor below. */
NB_HD NB_ALWAYS_INLINE static inline void nb_polar_projections(const double *incident,
                                                               const double *diffracted,
                                                               const double *axis, double *Eo,
                                                               double *Bo)
{
    double B[3], E[3];
    nb_v_cross(axis, incident, B);
    nb_v_unitize(B, B);
    nb_v_cross(incident, B, E);
    nb_v_unitize(E, E);
    *Eo = nb_v_dot(diffracted, E);
    *Bo = nb_v_dot(diffracted, B);
}

/* Kahn polarization factor (nanoBragg polarization_factor).  Like the reference it
 * re-normalises `incident` and `diffracted` in place; the axis is passed already
 * re-normalised by the set-up (see nb_setup.c). */
NB_HD static inline double nb_polarization(double kahn, double *incident, double *diffracted,
                                           const double *axis)
{
    double psi = 0.0;
    nb_v_unitize(incident, incident);
    nb_v_unitize(diffracted, diffracted);
    double c2 = nb_v_dot(incident, diffracted);
    double c2sq = c2 * c2;
    double s2sq = 1 - c2sq;
    if (kahn != 0.0) {
        double Eo, Bo;
        nb_polar_projections(incident, diffracted, axis, &Eo, &Bo);
        psi = -atan2(Bo, Eo);
    }
    return 0.5 * (1.0 + c2sq - kahn * cos(2 * psi) * s2sq);
}

/* --math=fast: the same factor with cos(2 psi) = (Eo^2 - Bo^2)/(Eo^2 + Bo^2), the identity for
 * psi = -atan2(Bo, Eo), instead of libm's cos and atan2 (a few ulp from nb_polarization; no
 * call, so a loop over SIMD lanes vectorises).  Eo = Bo = 0 (diffracted along the beam, or the
 * axis along it) is psi = 0 as atan2(0, 0) gives.  The same in-place re-normalisations. */
NB_HD NB_ALWAYS_INLINE static inline double nb_polarization_fast(double kahn, double *incident,
                                                                 double *diffracted,
                                                                 const double *axis)
{
    nb_v_unitize(incident, incident);
    nb_v_unitize(diffracted, diffracted);
    double c2 = nb_v_dot(incident, diffracted);
    double c2sq = c2 * c2;
    double s2sq = 1 - c2sq;
    double Eo, Bo;
    nb_polar_projections(incident, diffracted, axis, &Eo, &Bo);
    double den = Eo * Eo + Bo * Bo;
    double cos2psi = den == 0.0 ? 1.0 : (Eo * Eo - Bo * Bo) / den;
    return 0.5 * (1.0 + c2sq - kahn * cos2psi * s2sq);
}

/* The polarization factor in the run's arithmetic. */
NB_HD static inline double nb_polar(const struct nb_kparams *K, double *incident,
                                    double *diffracted)
{
    if (K->math_fast)
        return nb_polarization_fast(K->kahn, incident, diffracted, K->polar_axis);
    return nb_polarization(K->kahn, incident, diffracted, K->polar_axis);
}

/* ------------------------------------------------------------------------ pixel geometry */

/* Lab position of a subpixel (physics.md §7), curved detector included. */
NB_HD NB_ALWAYS_INLINE static inline void nb_subpixel_flat(const struct nb_kparams *K,
                                                           int spixel, int fpixel, int layer,
                                                           int subS, int subF, double *pos,
                                                           double *Fdet_out, double *Sdet_out)
{
    double Fdet = K->subpixel_size * (fpixel * K->oversample + subF) + K->subpixel_size / 2.0;
    double Sdet = K->subpixel_size * (spixel * K->oversample + subS) + K->subpixel_size / 2.0;
    double Odet = layer * K->layer_step;
    pos[0] = Fdet * K->fdet[0] + Sdet * K->sdet[0] + Odet * K->odet[0] + K->pix0[0];
    pos[1] = Fdet * K->fdet[1] + Sdet * K->sdet[1] + Odet * K->odet[1] + K->pix0[1];
    pos[2] = Fdet * K->fdet[2] + Sdet * K->sdet[2] + Odet * K->odet[2] + K->pix0[2];
    *Fdet_out = Fdet;
    *Sdet_out = Sdet;
}

NB_HD static inline void nb_subpixel_pos(const struct nb_kparams *K, int spixel, int fpixel,
                                         int layer, int subS, int subF, double *pos,
                                         double *Fdet_out, double *Sdet_out)
{
    nb_subpixel_flat(K, spixel, fpixel, layer, subS, subF, pos, Fdet_out, Sdet_out);
    if (K->curved) {
        double v[3], nv[3];
        double ang_s = pos[1] / K->distance, ang_f = pos[2] / K->distance;
        v[0] = K->distance * K->beam[0];
        v[1] = K->distance * K->beam[1];
        v[2] = K->distance * K->beam[2];
        nb_rotate_axis(v, nv, K->sdet, ang_s);
        nb_rotate_axis(nv, pos, K->fdet, ang_f);
    }
}

/* Solid angle of a pixel seen at distance `airpath` (physics.md §8); point_pixel as a
 * parameter, so that the SIMD lanes can pass it as a constant. */
NB_HD NB_ALWAYS_INLINE static inline double nb_solid_angle_pp(const struct nb_kparams *K,
                                                              double airpath, int point_pixel)
{
    if (point_pixel)
        return 1.0 / airpath / airpath;
    return K->pixel_size * K->pixel_size / airpath / airpath * K->close_distance / airpath;
}

NB_HD static inline double nb_solid_angle(const struct nb_kparams *K, double airpath)
{
    return nb_solid_angle_pp(K, airpath, K->point_pixel);
}

/* Fraction of the photons absorbed in sensor layer t along the unit direction d (§9). */
NB_HD static inline double nb_capture(const struct nb_kparams *K, int t, const double *d)
{
    double parallax = nb_v_dot(d, K->odet);
    return exp(-t * K->layer_step * K->detector_mu / parallax) -
           exp(-(t + 1) * K->layer_step * K->detector_mu / parallax);
}

/* Is the pixel rendered at all (ROI and mask)? */
NB_HD static inline int nb_pixel_rendered(const struct nb_kparams *K, int spixel, int fpixel)
{
    if (fpixel < K->roi_xmin || fpixel > K->roi_xmax || spixel < K->roi_ymin ||
        spixel > K->roi_ymax)
        return 0;
    if (K->mask && K->mask[(long)spixel * K->fpixels + fpixel] == 0)
        return 0;
    return 1;
}

/* Rendered pixels of row s (ROI and mask): the band weights and the progress meter. */
NB_HD static inline long nb_rendered_in_row(const struct nb_kparams *K, int spixel)
{
    long c = 0;
    for (int f = 0; f < K->fpixels; f++)
        c += nb_pixel_rendered(K, spixel, f);
    return c;
}

/* Scattering vector (1/m) and sin(theta)/lambda for source j; returns 1 if the dmin cut
 * keeps it.  `d` is the diffracted unit vector, `inc` receives the incident vector. */
NB_HD NB_ALWAYS_INLINE static inline int nb_scatter(const struct nb_kparams *K, int j,
                                                    const double *d,
                                   double *inc, double *q, double *stol_out)
{
    const double *s = K->src + 5 * j;
    inc[0] = -s[0];
    inc[1] = -s[1];
    inc[2] = -s[2];
    double lambda = s[3];
    q[0] = (d[0] - inc[0]) / lambda;
    q[1] = (d[1] - inc[1]) / lambda;
    q[2] = (d[2] - inc[2]) / lambda;
    double stol = 0.5 * nb_v_mag(q);
    *stol_out = stol;
    if (K->dmin > 0.0 && stol > 0.0) {
        if (K->dmin > 0.5 / stol)
            return 0;
    }
    return 1;
}

/* Cheap pre-pass (carryover.md §4.1 step 1): does this pixel run the phi loop at least once?
 * No lattice work; identical decisions to nb_pixel(). */
NB_HD static inline int nb_pixel_has_execution(const struct nb_kparams *K, int spixel,
                                               int fpixel)
{
    if (!nb_pixel_rendered(K, spixel, fpixel))
        return 0;
    if (!(K->dmin > 0.0))
        return K->n_sources > 0;
    for (int t = 0; t < K->n_layers; t++)
        for (int subS = 0; subS < K->oversample; subS++)
            for (int subF = 0; subF < K->oversample; subF++) {
                double pos[3], d[3], Fd, Sd;
                nb_subpixel_pos(K, spixel, fpixel, t, subS, subF, pos, &Fd, &Sd);
                nb_v_unitize(pos, d);
                for (int j = 0; j < K->n_sources; j++) {
                    double inc[3], q[3], stol;
                    if (nb_scatter(K, j, d, inc, q, &stol))
                        return 1;
                }
            }
    return 0;
}


/* Lattice factor F_latt for fractional (h,k,l) and rounded (h0,k0,l0) (physics.md §11). */
NB_HD static inline double nb_lattice_factor(const struct nb_kparams *K, double h, double k,
                                             double l, int h0, int k0, int l0, double *fa,
                                             double *fb, double *fc)
{
    double F_latt = 1.0;
    *fa = *fb = *fc = 1.0;
    /* fa..fc are for the trace, which runs in --math=exact */
    if (K->shape == NB_SHAPE_SQUARE && K->single)
        return nb_latt_single(h, k, l, K->Na, K->Nb, K->Nc, K->Na > 1, K->Nb > 1, K->Nc > 1);
    if (K->shape == NB_SHAPE_SQUARE && K->math_fast)
        return nb_latt_det(h, k, l, K->Na, K->Nb, K->Nc, K->Na > 1, K->Nb > 1, K->Nc > 1);
    if (K->shape == NB_SHAPE_SQUARE) {
        if (K->Na > 1) {
            *fa = nb_sincg(NB_PI * h, K->Na);
            F_latt *= *fa;
        }
        if (K->Nb > 1) {
            *fb = nb_sincg(NB_PI * k, K->Nb);
            F_latt *= *fb;
        }
        if (K->Nc > 1) {
            *fc = nb_sincg(NB_PI * l, K->Nc);
            F_latt *= *fc;
        }
        return F_latt;
    }
    if (K->shape == NB_SHAPE_ROUND) {
        double hrad_sqr = (h - h0) * (h - h0) * K->Na * K->Na + (k - k0) * (k - k0) * K->Nb * K->Nb +
                          (l - l0) * (l - l0) * K->Nc * K->Nc;
        return K->Na * K->Nb * K->Nc * 0.723601254558268 * nb_sinc3(NB_PI * sqrt(hrad_sqr * K->fudge));
    }
    double dx = (h - h0) * K->a_star[0] + (k - k0) * K->b_star[0] + (l - l0) * K->c_star[0];
    double dy = (h - h0) * K->a_star[1] + (k - k0) * K->b_star[1] + (l - l0) * K->c_star[1];
    double dz = (h - h0) * K->a_star[2] + (k - k0) * K->b_star[2] + (l - l0) * K->c_star[2];
    double rad_star_sqr = (dx * dx + dy * dy + dz * dz) * K->Na * K->Na * K->Nb * K->Nb * K->Nc * K->Nc;
    if (K->shape == NB_SHAPE_GAUSS)
        return K->Na * K->Nb * K->Nc * exp(-(rad_star_sqr / 0.63 * K->fudge));
    return K->Na * K->Nb * K->Nc * (double)(rad_star_sqr * K->fudge < 0.3969);
}

/* The sum over a pixel's (layer, subpixel) subpaths of the solid angle as nb_pixel() holds
 * it at each: computed at the first subpath and wherever it is still 0.0, or at every one with
 * -oversample_omega or --factors=per-term; carried across layers.  The console's "solid
 * angle subtended by detector" adds these up (the host computes it: no back-end returns it). */
NB_HD static inline double nb_pixel_omega_sum(const struct nb_kparams *K, int spixel, int fpixel)
{
    double omega = 0.0, sum = 0.0;
    for (int t = 0; t < K->n_layers; t++)
        for (int subS = 0; subS < K->oversample; subS++)
            for (int subF = 0; subF < K->oversample; subF++) {
                if (K->factors_per_term || omega == 0.0 || K->oversample_omega) {
                    double pos[3], d[3], Fdet, Sdet;
                    nb_subpixel_pos(K, spixel, fpixel, t, subS, subF, pos, &Fdet, &Sdet);
                    omega = nb_solid_angle(K, nb_v_unitize(pos, d));
                }
                sum += omega;
            }
    return sum;
}

#include "nb_trace.h"

/* ------------------------------------------------------------------------ the pixel */

/* Render pixel (spixel, fpixel) exactly as the reference's serial loop does (physics.md §6).
 * first_is_e1: this pixel holds the run's first execution E1 (carry token UNROTATED), so its
 * first execution uses lat_first.  The caller has checked nb_pixel_rendered().  tr: NULL, or
 * -trace_pixel / -printout on the host (nb_trace.h hooks; nothing in the device pass). */
NB_HD static inline void nb_pixel(const struct nb_kparams *K, int spixel, int fpixel,
                                  int first_is_e1, struct nb_pixel_result *R,
                                  struct nb_trace *tr)
{
    const int dual = K->interpolate; /* keep accumulators A and B (carryover.md §4.2) */
    int interp_A = K->interpolate;
    const int pt = K->factors_per_term; /* --factors=per-term: factors inside every term */
    double I_A = pt ? 0.0 : K->I_bg, I_B = pt ? 0.0 : K->I_bg;
    double polar = K->nopolar ? 1.0 : 0.0;
    double omega = 0.0, capture = 0.0;
    double omega_sum = 0.0;
    int executed = 0;
    double d[3] = {0, 0, 0}, inc[3] = {0, 0, 0};
    const int nphi = K->phisteps, ndom = K->n_domains;

    R->trig = 0;
    R->trig_h = R->trig_k = R->trig_l = 0.0;
    R->trig_h0 = R->trig_k0 = R->trig_l0 = 0;
    for (int t = 0; t < K->n_layers; t++) {
        capture = 0.0;
        if (K->detector_thick == 0.0)
            capture = 1.0;
        for (int subS = 0; subS < K->oversample; subS++) {
            for (int subF = 0; subF < K->oversample; subF++) {
                double pos[3], Fdet, Sdet;
                nb_subpixel_pos(K, spixel, fpixel, t, subS, subF, pos, &Fdet, &Sdet);
                double airpath = nb_v_unitize(pos, d);
                if (pt || omega == 0.0 || K->oversample_omega)
                    omega = nb_solid_angle(K, airpath);
                omega_sum += omega;
                if (pt ? K->detector_thick != 0.0 : (capture == 0.0 || K->oversample_thick))
                    capture = nb_capture(K, t, d);
                if (pt && t == 0 && subS == 0 && subF == 0) {
                    /* per-term mode: the background carries the first subpath's factors */
                    double P0 = 1.0;
                    if (!K->nopolar) {
                        double i0[3] = {-K->src[0], -K->src[1], -K->src[2]};
                        double d0[3] = {d[0], d[1], d[2]};
                        P0 = nb_polar(K, i0, d0);
                    }
                    I_A = I_B = K->I_bg * capture * P0 * omega;
                }
                for (int j = 0; j < K->n_sources; j++) {
                    double q[3], stol;
                    int keep = nb_scatter(K, j, d, inc, q, &stol);
                    NB_TRACE_AT(nb_trace_source(tr, K, j, pos, airpath, omega, d, inc, q, stol));
                    if (!keep)
                        continue;
                    double fac = 1.0; /* per-term mode: kappa * P * omega of this subpath */
                    if (pt) {
                        if (!K->nopolar) {
                            double ic[3] = {inc[0], inc[1], inc[2]}, dc[3] = {d[0], d[1], d[2]};
                            polar = nb_polar(K, ic, dc);
                        } else {
                            polar = 1.0;
                        }
                        fac = capture * polar * omega;
                    } else if (polar == 0.0 || K->oversample_polar) {
                        polar = nb_polar(K, inc, d);
                    }
                    const double *tab = (!executed && first_is_e1) ? K->lat_first : K->lat_rest;
                    executed = 1;
                    const double w = K->src[5 * j + 4];
                    for (int ip = 0; ip < nphi; ip++) {
                        for (int m = 0; m < ndom; m++) {
                            const double *v = tab + 9 * ((long)ip * ndom + m);
                            double h = v[0] * q[0] + v[1] * q[1] + v[2] * q[2];
                            double k = v[3] * q[0] + v[4] * q[1] + v[5] * q[2];
                            double l = v[6] * q[0] + v[7] * q[1] + v[8] * q[2];
                            int h0 = nb_d2i(ceil(h - 0.5));
                            int k0 = nb_d2i(ceil(k - 0.5));
                            int l0 = nb_d2i(ceil(l - 0.5));
                            double fa, fb, fc;
                            double F_latt = nb_lattice_factor(K, h, k, l, h0, k0, l0, &fa, &fb, &fc);
                            NB_TRACE_AT(nb_trace_term(tr, K, j, ip, m, v, h, k, l, h0, k0, l0, fa, fb, fc, F_latt));
                            if (F_latt == 0.0 && K->water_size == 0.0)
                                continue;
                            double F_B = nb_F_nearest(K, h0, k0, l0);
                            double F_A = F_B;
                            if (interp_A) {
                                if (nb_interp_out_of_range(K, h, k, l)) {
                                    interp_A = 0;
                                    R->trig = 1;
                                    R->trig_h = h; R->trig_k = k; R->trig_l = l;
                                    R->trig_h0 = h0; R->trig_k0 = k0; R->trig_l0 = l0;
                                    if (K->fallback_default_F)
                                        F_A = K->default_F;
                                } else {
                                    F_A = nb_F_tricubic(K, h, k, l);
                                }
                            }
                            NB_TRACE_AT(nb_trace_F(tr, K, j, ip, m, F_A, F_latt, polar, inc, d));
                            if (pt) {
                                const double ww = K->apply_weights ? w * fac : fac;
                                I_A += F_A * F_A * F_latt * F_latt * ww;
                                if (dual)
                                    I_B += F_B * F_B * F_latt * F_latt * ww;
                                continue;
                            }
                            if (K->apply_weights) {
                                I_A += F_A * F_A * F_latt * F_latt * w;
                                if (dual)
                                    I_B += F_B * F_B * F_latt * F_latt * w;
                            } else {
                                I_A += F_A * F_A * F_latt * F_latt;
                                if (dual)
                                    I_B += F_B * F_B * F_latt * F_latt;
                            }
                            if (K->oversample_thick) {
                                I_A *= capture;
                                I_B *= capture;
                            }
                            if (K->oversample_polar) {
                                I_A *= polar;
                                I_B *= polar;
                            }
                            if (K->oversample_omega) {
                                I_A *= omega;
                                I_B *= omega;
                            }
                        }
                    }
                }
                NB_TRACE_AT(nb_trace_subpath(tr, t, subS, subF, I_A, polar, omega, capture));
            }
        }
    }
    double test = K->r_e_sqr * K->fluence * I_A / K->steps;
    double test_B = K->r_e_sqr * K->fluence * I_B / K->steps;
    if (!pt) { /* the factors cached over the subpaths (per-term mode has none left) */
        if (!K->oversample_thick) {
            test *= capture;
            test_B *= capture;
        }
        if (!K->oversample_polar) {
            test *= polar;
            test_B *= polar;
        }
        if (!K->oversample_omega) {
            test *= omega;
            test_B *= omega;
        }
    }
    R->value = (float)(0.0 + test);
    R->value_nn = (float)(0.0 + test_B);
    R->executed = executed;
    R->omega_sum = omega_sum;
    NB_TRACE_AT(nb_trace_pixel(tr, I_A, polar, omega, capture, test, inc, d));
}

#endif
