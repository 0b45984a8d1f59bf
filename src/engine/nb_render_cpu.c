/* nb_render_cpu.c -- the CPU back-end: OpenMP threads over the rows of a band.
 *
 * One parallel region per band; threads take rows dynamically (one at a time: rows cost
 * unequal amounts where the ROI, mask or dmin cut skip pixels), and each row is rendered by
 * the row renderer of this CPU's instruction set (nb_cpu_isa.h: SIMD lanes, nb_pixel() where
 * lanes do not apply).  Every pixel gets an explicit "holds the run's first execution" flag
 * derived from the band's incoming carry token and its pre-pass, so the output is
 * bit-identical for any thread count, band split and instruction set.  The progress meter is
 * fed from an atomic row counter by the master thread, between its own rows.  The
 * interpolation latch is resolved per band here and globally by nb_latch_select().  Also the
 * host bookkeeping every back-end relies on: nb_band_omega(), nb_latch_term().
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

static nb_status cpu_render_band(void *state, const struct nb_band *b, int64_t p_e1,
                                 struct nb_band_out *out, const struct nb_progress *progress,
                                 struct nb_err *err)
{
    const struct cpu_state *cs = state;
    const struct nb_kparams *K = &cs->sc->k;
    const int ncol = K->fpixels;
    out->trig_index = -1;
    if (b->n_rows <= 0)
        return NB_OK;
    int64_t *trig = malloc(sizeof *trig * (size_t)b->n_rows);
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
            row(K, s, p_e1, use_lanes, out->value + o, out->value_nn ? out->value_nn + o : NULL,
                &trig[r]);
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
        if (trig[r] >= 0) {
            out->trig_index = trig[r];
            break;
        }
    free(trig);
    return NB_OK;
}

const struct nb_backend_ops nb_backend_cpu = {
    "cpu", NB_CAP_DOUBLE | NB_CAP_SINGLE | NB_CAP_GLIBC | NB_CAP_PROGRESS, cpu_create,
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

void nb_band_omega(const struct nb_scene *sc, const struct nb_band *b, double *row_omega)
{
    const struct nb_kparams *K = &sc->k;
#pragma omp parallel for schedule(dynamic, 8)
    for (int r = 0; r < b->n_rows; r++) {
        const int s = b->row0 + r;
        double sum = 0.0;
        for (int f = 0; f < K->fpixels; f++)
            if (nb_pixel_rendered(K, s, f))
                sum += nb_pixel_omega_sum(K, s, f);
        row_omega[r] = sum;
    }
}

void nb_latch_term(const struct nb_scene *sc, int64_t p_star, int64_t p1, double hkl[3],
                   int hkl0[3])
{
    const struct nb_kparams *K = &sc->k;
    struct nb_pixel_result res;
    memset(&res, 0, sizeof res);
    if (p_star >= 0) {
        const int s = (int)(p_star / K->fpixels), f = (int)(p_star % K->fpixels);
        nb_pixel(K, s, f, p_star == p1, &res, NULL);
    }
    hkl[0] = res.trig_h, hkl[1] = res.trig_k, hkl[2] = res.trig_l;
    hkl0[0] = res.trig_h0, hkl0[1] = res.trig_k0, hkl0[2] = res.trig_l0;
}
