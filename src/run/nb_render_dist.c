/* nb_render_dist.c -- the distributed render (see nb_render_dist.h).
 *
 * spec/carryover.md §4: pre-pass -> p1 = MIN -> exclusive scan of tokens -> closed-form check
 * -> render (chunks of rows, tokens chained locally) -> p* = MIN -> latch selection -> gather.
 * No rank waits for another rank's pixels: the only exchanges before rendering are the
 * pre-pass results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/nb_sys.h"
#include "nb_render_dist.h"

/* nanoBragg's meter: which "N% done" lines appear depends only on how many pixels have been
 * rendered, so printing them as counts arrive reproduces its output exactly. */
static void progress_lines(long from, long to, long total)
{
    if (total / 100 <= 0)
        return;
    for (long p = from; p < to; p++)
        if (p % (total / 20) == 0 ||
            ((10 * p < total || 10 * p > 9 * total) && (p % (total / 100) == 0))) {
            printf("%lu%% done\n", (unsigned long)(p * 100 / total));
            fflush(stdout);
        }
}

void nb_render_result_fini(struct nb_render_result *R)
{
    if (!R)
        return;
    if (R->band_img != R->img)
        free(R->band_img);
    free(R->img);
    free(R->bands);
    memset(R, 0, sizeof *R);
}

/* The meter's state on this rank, fed by the back-end's master thread. */
struct meter {
    struct nb_dist *d;
    long total, done_px, others_px;
    int others_done;
};

static void meter_pixels(void *ctx, long n)
{
    struct meter *m = ctx;
    if (nb_dist_rank(m->d) == 0) {
        long before = m->done_px + m->others_px;
        nb_dist_progress_poll(m->d, &m->others_px, &m->others_done, 0);
        m->done_px += n;
        progress_lines(before, m->done_px + m->others_px, m->total);
    } else {
        nb_dist_progress_send(m->d, n);
    }
}

/* Render this rank's band in one call of the back-end; report progress; fills the band
 * record.  Whatever fails, the meter is finished (rank 0 waits for every other rank's "done";
 * the others send it exactly once), so that no rank hangs. */
static nb_status render_band(struct nb_dist *d, const struct nb_scene *sc,
                             const struct nb_backend_ops *be, const struct nb_band *b,
                             int64_t p_e1, int meter, float *img, float *nn, long total,
                             struct nb_band_record *rec, double seconds[2], struct nb_err *err)
{
    void *state = NULL;
    double t0 = nb_seconds();
    nb_status st = be->create(sc, &state, err);
    seconds[0] = nb_seconds() - t0;
    struct meter m = {d, total, 0, 0, 0};
    struct nb_progress prog = {meter_pixels, &m};
    struct nb_band_out o;
    memset(&o, 0, sizeof o);
    o.value = img;
    o.value_nn = nn;
    rec->trig_index = -1;
    if (st == NB_OK) {
        t0 = nb_seconds();
        st = be->render_band(state, b, p_e1, &o, meter ? &prog : NULL, err);
        seconds[1] = nb_seconds() - t0;
        if (st == NB_OK)
            rec->trig_index = o.trig_index;
        be->destroy(state);
    }
    long done_px = m.done_px, others_px = m.others_px;
    int others_done = m.others_done;
    if (meter && nb_dist_size(d) > 1) {
        if (nb_dist_rank(d) == 0) {
            /* keep the meter going until every other rank has finished */
            while (others_done < nb_dist_size(d) - 1) {
                long before = done_px + others_px;
                nb_dist_progress_poll(d, &others_px, &others_done, 1);
                progress_lines(before, done_px + others_px, total);
            }
        } else {
            nb_dist_progress_done(d);
        }
    }
    return st;
}

nb_status nb_render_distributed(struct nb_dist *d, const struct nb_scene *sc,
                                const struct nb_backend_ops *be, int meter,
                                struct nb_render_result *R, struct nb_err *err)
{
    const int rank = nb_dist_rank(d), size = nb_dist_size(d);
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    nb_status st = NB_OK;
    float *img = NULL, *nn = NULL;
    double *row_omega = NULL, *all_omega = NULL;
    int64_t *weights = NULL;
    memset(R, 0, sizeof *R);
    R->p1 = R->p_star = -1;
    R->n_bands = size;
    R->my_band = rank;
    R->bands = calloc((size_t)size, sizeof *R->bands);
    weights = malloc(sizeof *weights * (size_t)sc->spixels);
    if (!R->bands || !weights) {
        nb_err_set(err, "out of memory for the band table");
        st = NB_E_NOMEM;
    }
    /* bands balanced by rendered pixels (every rank computes the same split) */
    if (st == NB_OK)
        for (int s = 0; s < sc->spixels; s++)
            weights[s] = nb_rendered_in_row(&sc->k, s);
    struct nb_band b = {0, 0, sc->fpixels, rank};
    if (st == NB_OK)
        b = nb_band_split_weighted(weights, sc->spixels, sc->fpixels, size, rank);
    struct nb_band_record *me = R->bands ? &R->bands[rank] : NULL;

    /* buffers: the band here; the whole image on rank 0 */
    if (st == NB_OK) {
        size_t n = (size_t)b.n_rows * sc->fpixels;
        img = calloc(n ? n : 1, sizeof(float));
        nn = sc->k.interpolate ? calloc(n ? n : 1, sizeof(float)) : NULL;
        row_omega = calloc(b.n_rows ? (size_t)b.n_rows : 1, sizeof(double));
        if (rank == 0) {
            /* one rank: its band is the image (no second copy to fill and gather) */
            R->img = size == 1 ? NULL : calloc(npix, sizeof(float));
            all_omega = calloc((size_t)sc->spixels, sizeof(double));
        }
        if (!img || (sc->k.interpolate && !nn) || !row_omega ||
            (rank == 0 && ((size > 1 && !R->img) || !all_omega))) {
            nb_err_set(err, "out of memory for a band of %d x %d pixels", b.n_rows, sc->fpixels);
            st = NB_E_NOMEM;
        }
    }
    if ((st = nb_dist_agree(d, st, err)) != NB_OK)
        goto done;

    /* pre-pass and the global first execution */
    int64_t first, last;
    nb_band_prepass(sc, &b, &first, &last);
    R->p1 = nb_dist_min_index(d, first);

    /* carry hand-off: exclusive scan, "the later non-empty token wins" */
    struct nb_carry init, in, out_tok;
    nb_carry_initial(sc, &init);
    nb_carry_through(sc, &init, last, &out_tok); /* this band's token if it has an execution */
    int have = 0;
    in = init;
    if ((st = nb_dist_scan_carry(d, last >= 0 ? &out_tok : NULL, &in, &have)) != NB_OK) {
        nb_err_set(err, "carry scan failed");
        goto agree_render;
    }
    if (!have)
        in = init;
    st = nb_carry_verify(sc, &in, &b, R->p1, err);
    /* the meter's denominator is nanoBragg's: the ROI box with its default upper bounds one
     * past the last pixel, so lines stop short of 100% as in the reference */
    const long box = ((long)sc->roi_xmax - sc->roi_xmin + 1) * ((long)sc->roi_ymax - sc->roi_ymin + 1);
    /* the band's E1 index: its first execution if the run's has not happened before it */
    const int64_t p_e1 = in.state == NB_CARRY_UNROTATED ? first : -1;
    if (st == NB_OK) {
        /* render_band() tells rank 0's meter "done" whatever happens */
        st = render_band(d, sc, be, &b, p_e1, meter, img, nn, box, me, R->seconds, err);
        if (st == NB_OK)
            nb_band_omega(sc, &b, row_omega); /* the console's solid angle, on the host */
    } else if (meter && size > 1 && rank != 0) {
        nb_dist_progress_done(d); /* keep rank 0's meter from waiting for us */
    }
agree_render:
    if ((st = nb_dist_agree(d, st, err)) != NB_OK)
        goto done;

    /* the band record, on every rank */
    {
        struct nb_carry out;
        nb_carry_through(sc, &in, last, &out);
        me->row0 = b.row0;
        me->n_rows = b.n_rows;
        me->in_state = in.state;
        me->out_state = out.state;
        memcpy(me->in_vec, in.vec, sizeof me->in_vec);
        memcpy(me->out_vec, out.vec, sizeof me->out_vec);
        me->in_last = in.last_index;
        me->out_last = out.last_index;
        me->first_exec = first;
        me->last_exec = last;
        me->rendered = 0;
        for (int s = b.row0; s < b.row0 + b.n_rows; s++)
            me->rendered += (long)weights[s];
        struct nb_band_record mine = *me;
        if ((st = nb_dist_allgather(d, &mine, sizeof mine, R->bands)) != NB_OK) {
            nb_err_set(err, "exchange of band records failed");
            goto done;
        }
    }

    /* the latch: first latching pixel of the run, then A before it and B after it */
    for (int r = 0; r < size; r++) {
        const struct nb_band_record *x = &R->bands[r];
        if (x->trig_index >= 0 && nb_index_min(R->p_star, x->trig_index) == x->trig_index)
            R->p_star = x->trig_index;
    }
    if (R->p_star >= 0) /* the latching term for the warning: one pixel again, on the CPU */
        nb_latch_term(sc, R->p_star, R->p1, R->trig_hkl, R->trig_hkl0);
    {
        struct nb_band_out o;
        memset(&o, 0, sizeof o);
        o.value = img;
        o.value_nn = nn;
        nb_latch_select(sc, &b, R->p_star, &o);
    }

    /* gather the image and the solid-angle row sums on rank 0, in raster order */
    if (size == 1)
        R->img = img; /* the band is every row; R->band_img below is the same buffer */
    else
        st = nb_dist_gather(d, img, (size_t)b.n_rows * sc->fpixels,
                            (size_t)b.row0 * sc->fpixels, sizeof(float), R->img, 0);
    if (st == NB_OK)
        st = nb_dist_gather(d, row_omega, (size_t)b.n_rows, (size_t)b.row0, sizeof(double),
                            all_omega, 0);
    if (st != NB_OK)
        nb_err_set(err, "gathering the image on rank 0 failed");
    if ((st = nb_dist_agree(d, st, err)) != NB_OK)
        goto done;
    if (rank == 0) {
        R->omega_sum = 0.0;
        for (int s = 0; s < sc->spixels; s++)
            R->omega_sum += all_omega[s];
    }
    R->band_img = img; /* kept for the parallel HDF5 writer */
    R->band_row0 = b.row0;
    R->band_rows = b.n_rows;
    img = NULL;
    goto done;
done:
    if (img == R->img)
        img = NULL; /* one rank: R owns the image */
    free(img);
    free(nn);
    free(row_omega);
    free(all_omega);
    free(weights);
    return st;
}
