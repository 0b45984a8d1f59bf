/* nb_render_cpu.c -- the CPU back-end: OpenMP threads over the rows of a band.
 *
 * One parallel region per band; threads take rows dynamically (one at a time: rows cost
 * unequal amounts where the ROI, mask or dmin cut skip pixels), and each row is rendered by
 * the row renderer of this CPU's instruction set (nb_cpu_isa.h: SIMD lanes, nb_pixel() where
 * lanes do not apply).  Every pixel gets an explicit "holds the run's first execution" flag
 * derived from the band's incoming carry token and its pre-pass, so the output is
 * bit-identical for any thread count, band split and instruction set.  The progress meter is
 * fed from an atomic row counter by the master thread, between its own rows.  The
 * interpolation latch is resolved per band here and globally by nb_latch_select().
 * libc/libm/OpenMP only.
 */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nb_backend.h"
#include "nb_cpu_isa.h"

struct cpu_state {
    const struct nb_scene *sc;
    const struct nb_cpu_isa *isa;
};

static nb_status cpu_create(const struct nb_scene *sc, void **state, struct nb_err *err)
{
    struct cpu_state *s = malloc(sizeof *s);
    if (!s) {
        nb_err_set(err, "out of memory creating the CPU back-end");
        return NB_E_NOMEM;
    }
    const char *note;
    s->sc = sc;
    s->isa = nb_cpu_isa_select(&note);
    *state = s;
    return NB_OK;
}

static void cpu_destroy(void *state)
{
    free(state);
}

const char *nb_cpu_kernel_name(void)
{
    const char *note;
    return nb_cpu_isa_select(&note)->name;
}

static nb_status cpu_render_band(void *state, const struct nb_band *b, const struct nb_carry *in,
                                 struct nb_band_out *out, const struct nb_progress *progress,
                                 struct nb_err *err)
{
    const struct cpu_state *cs = state;
    const struct nb_scene *sc = cs->sc;
    const struct nb_kparams *K = &sc->k;
    const int ncol = K->fpixels;
    nb_band_prepass(sc, b, &out->first_exec, &out->last_exec);
    out->trig_index = -1;
    if (b->n_rows <= 0)
        return NB_OK;
    const int64_t p_e1 = in->state == NB_CARRY_UNROTATED ? out->first_exec : -1;
    struct nb_row_trig *trig = malloc(sizeof *trig * (size_t)b->n_rows);
    if (!trig) {
        nb_err_set(err, "out of memory for %d row records", b->n_rows);
        return NB_E_NOMEM;
    }
    const nb_row_fn row = cs->isa->row;
    const int use_lanes = cs->isa->use_lanes;
    long px_done = 0;     /* rendered pixels of finished rows: atomic */
    long px_reported = 0; /* master thread only */
#pragma omp parallel
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int r = 0; r < b->n_rows; r++) {
            const int s = b->row0 + r;
            const size_t o = (size_t)r * ncol;
            double omega = 0.0;
            row(K, s, p_e1, use_lanes, out->value + o, out->value_nn ? out->value_nn + o : NULL,
                &omega, &trig[r]);
            if (out->row_omega)
                out->row_omega[r] = omega;
            if (progress && progress->pixels_done) {
                long n = nb_rendered_in_row(K, s);
#pragma omp atomic update
                px_done += n;
#ifdef _OPENMP
                if (omp_get_thread_num() == 0)
#endif
                {
                    long now;
#pragma omp atomic read
                    now = px_done;
                    if (now > px_reported) {
                        progress->pixels_done(progress->ctx, now - px_reported);
                        px_reported = now;
                    }
                }
            }
        }
    }
    if (progress && progress->pixels_done && px_done > px_reported)
        progress->pixels_done(progress->ctx, px_done - px_reported);
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

const struct nb_backend_ops nb_backend_cpu = {"cpu", NB_CAP_DOUBLE | NB_CAP_FLOAT, cpu_create,
                                              cpu_render_band, cpu_destroy};

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
