/* nb_carry.c -- carry tokens, the cheap pre-pass and the closed-form check (nb_carry.h). */
#include "nb_carry.h"

#include <string.h>

void nb_carry_initial(const struct nb_scene *sc, struct nb_carry *c)
{
    memset(c, 0, sizeof *c);
    c->state = NB_CARRY_UNROTATED;
    memcpy(c->vec, sc->a0, sizeof sc->a0);
    memcpy(c->vec + 3, sc->b0, sizeof sc->b0);
    memcpy(c->vec + 6, sc->c0, sizeof sc->c0);
    c->last_index = -1;
}

void nb_band_prepass(const struct nb_scene *sc, const struct nb_band *b, int64_t *first,
                     int64_t *last)
{
    const struct nb_kparams *K = &sc->k;
    *first = *last = -1;
    for (int s = b->row0; s < b->row0 + b->n_rows && *first < 0; s++)
        for (int f = 0; f < K->fpixels; f++)
            if (nb_pixel_has_execution(K, s, f)) {
                *first = (int64_t)s * K->fpixels + f;
                break;
            }
    if (*first < 0)
        return;
    for (int s = b->row0 + b->n_rows - 1; s >= b->row0 && *last < 0; s--)
        for (int f = K->fpixels - 1; f >= 0; f--)
            if (nb_pixel_has_execution(K, s, f)) {
                *last = (int64_t)s * K->fpixels + f;
                break;
            }
}

void nb_carry_through(const struct nb_scene *sc, const struct nb_carry *in, int64_t band_last,
                      struct nb_carry *out)
{
    if (band_last < 0) {
        *out = *in; /* a band without an execution passes its token on */
        return;
    }
    out->state = NB_CARRY_ROTATED;
    memcpy(out->vec, sc->W_rot, sizeof out->vec);
    out->last_index = band_last;
}

nb_status nb_carry_verify(const struct nb_scene *sc, const struct nb_carry *in,
                          const struct nb_band *b, int64_t p1, struct nb_err *err)
{
    const int64_t start = (int64_t)b->row0 * sc->fpixels;
    const int want = (p1 >= 0 && p1 < start) ? NB_CARRY_ROTATED : NB_CARRY_UNROTATED;
    struct nb_carry ref;
    nb_carry_initial(sc, &ref);
    const double *vec = want == NB_CARRY_ROTATED ? sc->W_rot : ref.vec;
    if (in->state != want || memcmp(in->vec, vec, sizeof in->vec) != 0) {
        nb_err_set(err,
                   "carry token for band %d (rows %d..%d) disagrees with the closed form: "
                   "state %d, expected %d (first execution at raster index %lld)",
                   b->index, b->row0, b->row0 + b->n_rows - 1, in->state, want, (long long)p1);
        return NB_E_INTERNAL;
    }
    return NB_OK;
}

int nb_carry_active(const struct nb_scene *sc)
{
    return sc->phi_carryover == NB_CARRY_C_PARITY && sc->phi_has_zero && sc->phi_has_nonzero;
}

int64_t nb_index_min(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

void nb_carry_plan(const struct nb_scene *sc, int nbands, const struct nb_band *bands,
                   int64_t *p1, struct nb_carry *in, int64_t *last)
{
    struct nb_carry token;
    nb_carry_initial(sc, &token);
    *p1 = -1;
    for (int b = 0; b < nbands; b++) {
        int64_t first, band_last;
        nb_band_prepass(sc, &bands[b], &first, &band_last);
        *p1 = nb_index_min(*p1, first);
        in[b] = token;
        nb_carry_through(sc, &in[b], band_last, &token);
        if (last)
            last[b] = band_last;
    }
}
