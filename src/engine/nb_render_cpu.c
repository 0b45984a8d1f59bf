/* nb_render_cpu.c -- the CPU back-end: OpenMP threads over the rows of a band.
 *
 * Every pixel is computed by nb_pixel() (nb_physics.h) with an explicit "this pixel holds the
 * run's first execution" flag derived from the band's incoming carry token and its pre-pass,
 * so the output is bit-identical for any thread count and any band split.  The interpolation
 * latch is resolved per band here and globally by nb_latch_select().  libc/libm/OpenMP only.
 */
#include <stdlib.h>
#include <string.h>

#include "nb_backend.h"

struct cpu_state {
    const struct nb_scene *sc;
};

static nb_status cpu_create(const struct nb_scene *sc, void **state, struct nb_err *err)
{
    struct cpu_state *s = malloc(sizeof *s);
    if (!s) {
        nb_err_set(err, "out of memory creating the CPU back-end");
        return NB_E_NOMEM;
    }
    s->sc = sc;
    *state = s;
    return NB_OK;
}

static void cpu_destroy(void *state)
{
    free(state);
}

struct row_trig {
    int64_t index;
    double hkl[3];
    int hkl0[3];
};

static nb_status cpu_render_band(void *state, const struct nb_band *b, const struct nb_carry *in,
                                 struct nb_band_out *out, struct nb_err *err)
{
    const struct nb_scene *sc = ((struct cpu_state *)state)->sc;
    const struct nb_kparams *K = &sc->k;
    const int ncol = K->fpixels;
    nb_band_prepass(sc, b, &out->first_exec, &out->last_exec);
    out->trig_index = -1;
    if (b->n_rows <= 0)
        return NB_OK;
    const int64_t p_e1 = in->state == NB_CARRY_UNROTATED ? out->first_exec : -1;
    struct row_trig *trig = malloc(sizeof *trig * (size_t)b->n_rows);
    if (!trig) {
        nb_err_set(err, "out of memory for %d row records", b->n_rows);
        return NB_E_NOMEM;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int r = 0; r < b->n_rows; r++) {
        const int s = b->row0 + r;
        double omega = 0.0;
        trig[r].index = -1;
        for (int f = 0; f < ncol; f++) {
            const size_t o = (size_t)r * ncol + f;
            out->value[o] = 0.0f;
            if (out->value_nn)
                out->value_nn[o] = 0.0f;
            if (!nb_pixel_rendered(K, s, f))
                continue;
            const int64_t idx = (int64_t)s * ncol + f;
            struct nb_pixel_result res;
            nb_pixel(K, s, f, idx == p_e1, &res, NULL);
            out->value[o] = res.value;
            if (out->value_nn)
                out->value_nn[o] = res.value_nn;
            omega += res.omega_sum;
            if (res.trig && trig[r].index < 0) {
                trig[r].index = idx;
                trig[r].hkl[0] = res.trig_h;
                trig[r].hkl[1] = res.trig_k;
                trig[r].hkl[2] = res.trig_l;
                trig[r].hkl0[0] = res.trig_h0;
                trig[r].hkl0[1] = res.trig_k0;
                trig[r].hkl0[2] = res.trig_l0;
            }
        }
        if (out->row_omega)
            out->row_omega[r] = omega;
    }
    for (int r = 0; r < b->n_rows; r++)
        if (trig[r].index >= 0) {
            out->trig_index = trig[r].index;
            memcpy(out->trig_hkl, trig[r].hkl, sizeof out->trig_hkl);
            memcpy(out->trig_hkl0, trig[r].hkl0, sizeof out->trig_hkl0);
            break;
        }
    free(trig);
    return NB_OK;
}

const struct nb_backend_ops nb_backend_cpu = {"cpu", NB_CAP_DOUBLE, cpu_create, cpu_render_band,
                                              cpu_destroy};

void nb_latch_select(const struct nb_scene *sc, const struct nb_band *b, int64_t p_star,
                     struct nb_band_out *out)
{
    if (!sc->k.interpolate || !out->value_nn || p_star < 0)
        return;
    const int ncol = sc->k.fpixels;
    for (int r = 0; r < b->n_rows; r++)
        for (int f = 0; f < ncol; f++) {
            int64_t idx = (int64_t)(b->row0 + r) * ncol + f;
            if (idx > p_star)
                out->value[(size_t)r * ncol + f] = out->value_nn[(size_t)r * ncol + f];
        }
}
