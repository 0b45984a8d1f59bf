/* nb_rng.c -- nanoBragg's ran1/gaussdev/poidev/gammln and the mosaic rotation draw.
 * Written from spec/physics.md §5, §16 and geometry.md §12; see nb_rng.h. */
#include "nb_rng.h"

#include <math.h>
#include <string.h>

#include "nb_physics.h"

#define RNG_IA 16807
#define RNG_IM 2147483647
#define RNG_AM (1.0 / RNG_IM)
#define RNG_IQ 127773
#define RNG_IR 2836
#define RNG_NTAB 32
#define RNG_NDIV (1 + (RNG_IM - 1) / RNG_NTAB)
#define RNG_EPS 1.2e-7
#define RNG_RNMX (1.0 - RNG_EPS)

void nb_rng_init(struct nb_rng *r)
{
    memset(r, 0, sizeof *r);
}

static void lcg_step(long *idum)
{
    long k = (*idum) / RNG_IQ;
    *idum = RNG_IA * (*idum - k * RNG_IQ) - RNG_IR * k;
    if (*idum < 0)
        *idum += RNG_IM;
}

float nb_ran1(struct nb_rng *r, long *idum)
{
    if (*idum <= 0 || !r->iy) {
        /* (re)load the shared shuffle table; a positive seed here collapses to 1 (Q30) */
        if (-(*idum) < 1)
            *idum = 1;
        else
            *idum = -(*idum);
        for (int j = RNG_NTAB + 7; j >= 0; j--) {
            lcg_step(idum);
            if (j < RNG_NTAB)
                r->iv[j] = *idum;
        }
        r->iy = r->iv[0];
    }
    lcg_step(idum);
    int j = (int)(r->iy / RNG_NDIV);
    r->iy = r->iv[j];
    r->iv[j] = *idum;
    float temp = (float)(RNG_AM * (double)r->iy);
    if (temp > RNG_RNMX)
        return (float)RNG_RNMX;
    return temp;
}

float nb_gaussdev(struct nb_rng *r, long *idum)
{
    if (r->iset == 0) {
        float v1, v2, rsq, fac;
        do {
            v1 = (float)(2.0 * nb_ran1(r, idum) - 1.0);
            v2 = (float)(2.0 * nb_ran1(r, idum) - 1.0);
            rsq = v1 * v1 + v2 * v2;
        } while (rsq >= 1.0 || rsq == 0);
        fac = (float)sqrt(-2.0 * log(rsq) / rsq);
        r->gset = v1 * fac;
        r->iset = 1;
        return v2 * fac;
    }
    r->iset = 0;
    return r->gset;
}

float nb_gammln(float xx)
{
    static const double cof[6] = {76.18009172947146,     -86.50532032941677,
                                  24.01409824083091,     -1.231739572450155,
                                  0.1208650973866179e-2, -0.5395239384953e-5};
    double x, y, tmp, ser;
    y = x = xx;
    tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    ser = 1.000000000190015;
    for (int j = 0; j <= 5; ++j)
        ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

float nb_poidev(struct nb_rng *r, float xm, long *idum)
{
    float em, t, y, g;
    if (xm > 1.0e6)
        return (float)(xm + sqrt(xm) * nb_gaussdev(r, idum));
    if (xm < 12.0) {
        g = (float)exp(-xm);
        em = -1;
        t = 1.0;
        do {
            ++em;
            t *= nb_ran1(r, idum);
        } while (t > g);
        return em;
    }
    float sq = (float)sqrt(2.0 * xm);
    float alxm = (float)log(xm);
    g = xm * alxm - nb_gammln((float)(xm + 1.0));
    do {
        do {
            y = (float)tan(NB_PI * nb_ran1(r, idum));
            em = sq * y + xm;
        } while (em < 0.0);
        em = (float)floor(em);
        t = (float)(0.9 * (1.0 + y * y) * exp(em * alxm - nb_gammln((float)(em + 1.0)) - g));
    } while (nb_ran1(r, idum) > t);
    return em;
}

void nb_mosaic_umat(struct nb_rng *r, float mosaicity, double umat[9], long *idum)
{
    double r1 = (double)2.0 * nb_ran1(r, idum) - 1.0;
    double r2 = (double)2.0 * nb_ran1(r, idum) - 1.0;
    double r3 = (double)2.0 * nb_ran1(r, idum) - 1.0;
    double xyrad = sqrt(1.0 - r2 * r2);
    /* single precision, as the reference: float * powf(float, float) */
    float rotf = mosaicity * powf((float)(1.0 - r3 * r3), (float)(1.0 / 3.0));
    double rot = rotf;
    double v1 = xyrad * sin(NB_PI * r1);
    double v2 = xyrad * cos(NB_PI * r1);
    double v3 = r2;
    double t1 = cos(rot);
    double t2 = 1.0 - t1;
    double t3 = v1 * v1;
    double t6 = t2 * v1;
    double t7 = t6 * v2;
    double t8 = sin(rot);
    double t9 = t8 * v3;
    double t11 = t6 * v3;
    double t12 = t8 * v2;
    double t15 = v2 * v2;
    double t19 = t2 * v2 * v3;
    double t20 = t8 * v1;
    double t24 = v3 * v3;
    umat[0] = t1 + t2 * t3;
    umat[1] = t7 - t9;
    umat[2] = t11 + t12;
    umat[3] = t7 + t9;
    umat[4] = t1 + t2 * t15;
    umat[5] = t19 - t20;
    umat[6] = t11 - t12;
    umat[7] = t19 + t20;
    umat[8] = t1 + t2 * t24;
}

static void normalise_rows(double u[9])
{
    for (int r = 0; r < 3; r++) {
        double m = sqrt(u[3 * r] * u[3 * r] + u[3 * r + 1] * u[3 * r + 1] + u[3 * r + 2] * u[3 * r + 2]);
        if (m > 0) {
            u[3 * r] /= m;
            u[3 * r + 1] /= m;
            u[3 * r + 2] /= m;
        }
    }
}

void nb_umat2misset(const double umat[9], double missets[3])
{
    double u[9];
    memcpy(u, umat, sizeof u);
    /* normalise each row twice, as the reference does (its repair of zero rows never
     * triggers for a rotation, and rows of a rotation are never zero) */
    normalise_rows(u);
    normalise_rows(u);
    double uxx = u[0], uxy = u[1], uyx = u[3], uyy = u[4];
    double uzx = u[6], uzy = u[7], uzz = u[8];
    if (uzx * uzx < 1.0) {
        missets[0] = atan2(uzy, uzz);
        missets[1] = atan2(-uzx, sqrt(uzy * uzy + uzz * uzz));
        missets[2] = atan2(uyx, uxx);
    } else {
        missets[0] = atan2(1, 1) * 4;
        missets[1] = atan2(1, 1) * 2;
        missets[2] = atan2(uxy, -uyy);
    }
}
