/* nb_setup_internal.h -- small helpers shared by the set-up stages (engine-private). */
#ifndef NB_SETUP_INTERNAL_H
#define NB_SETUP_INTERNAL_H

#define AVOGADRO 6.02214179e23
#define SOURCE_DISTANCE 10.0 /* m, generated and default source position */

static inline void set3(double *v, double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

static inline void copy3(double *dst, const double *src)
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
}

static inline void scale3(const double *v, double *out, double s)
{
    for (int i = 0; i < 3; i++)
        out[i] = s * v[i];
}

#endif
