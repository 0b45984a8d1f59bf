#define _POSIX_C_SOURCE 200809L /* setenv */
/* test_carry_bands.c -- the phi carry and the interpolation latch across band boundaries.
 *
 * For scenes where the cross-pixel state matters (phi sweep starting at 0, a zero step in
 * mid-sweep, dmin culling the first rows, an ROI starting mid-detector, a mask over the first
 * rows, tricubic interpolation whose out-of-range latch fires mid-image, spec mode) the image
 * rendered as ONE band must equal, byte for byte, the image rendered band by band for many
 * splits (2, 3, 5, 8 bands, one band per row, more bands than rows, random splits), with each
 * band's incoming token taken from the previous band's outgoing token, checked against the
 * closed form, and the latch resolved from the bands' trigger indices.  A deliberately wrong
 * token must be caught by nb_carry_verify() and change the image (the test can fail).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/nb_cli.h"
#include "../../src/engine/nb_backend.h"
#include "../../src/engine/nb_carry.h"
#include "../../src/engine/nb_setup.h"
#include "../../cuda/nb_cuda.h"
#include "nb_testutil.h"

#include "carry_scenes.h"

/* Render with the given band boundaries (bands[i] = first row of band i; n bands; rows may be
 * empty).  inject_wrong >= 0: give that band a wrong (UNROTATED) token. */
static int render_split(const struct nb_backend_ops *be, const struct nb_scene *sc,
                        const int *row0, int nbands, float *img, int inject_wrong,
                        int *verify_failures, int64_t *p1_out, int64_t *pstar_out)
{
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    float *nn = sc->k.interpolate ? calloc(npix, sizeof(float)) : NULL;
    struct nb_band_out *outs = calloc((size_t)nbands, sizeof *outs);
    struct nb_band *bands = calloc((size_t)nbands, sizeof *bands);
    void *state = NULL;
    struct nb_err err;
    if (be->create(sc, &state, &err) != NB_OK)
        return -1;
    for (int b = 0; b < nbands; b++) {
        int end = b + 1 < nbands ? row0[b + 1] : sc->spixels;
        bands[b] = (struct nb_band){row0[b], end - row0[b], sc->fpixels, b};
    }
    /* p1 and every band's incoming token: the engine's serial form of the ranks' hand-off */
    int64_t p1;
    struct nb_carry *in_tok = calloc((size_t)nbands, sizeof *in_tok);
    nb_carry_plan(sc, nbands, bands, &p1, in_tok, NULL);
    struct nb_carry wrong;
    nb_carry_initial(sc, &wrong);
    int64_t pstar = -1;
    *verify_failures = 0;
    for (int b = 0; b < nbands; b++) {
        struct nb_carry in = b == inject_wrong ? wrong : in_tok[b];
        if (nb_carry_verify(sc, &in, &bands[b], p1, &err) != NB_OK)
            (*verify_failures)++;
        outs[b].value = img + (size_t)bands[b].row0 * sc->fpixels;
        outs[b].value_nn = nn ? nn + (size_t)bands[b].row0 * sc->fpixels : NULL;
        /* the band's E1 index as the driver derives it: its pre-pass and its token */
        int64_t first, last;
        nb_band_prepass(sc, &bands[b], &first, &last);
        const int64_t p_e1 = in.state == NB_CARRY_UNROTATED ? first : -1;
        if (be->render_band(state, &bands[b], p_e1, &outs[b], NULL, &err) != NB_OK) {
            printf("  %s back-end: %s\n", be->name, err.msg);
            return -1;
        }
        /* the token the band hands on must be the plan's for the next band */
        struct nb_carry next;
        nb_carry_through(sc, &in_tok[b], last, &next);
        if (b + 1 < nbands && (next.state != in_tok[b + 1].state ||
                               memcmp(next.vec, in_tok[b + 1].vec, sizeof next.vec) != 0)) {
            printf("  band %d hands on a token that differs from the plan's\n", b);
            (*verify_failures)++;
        }
        if (b + 1 < nbands && nb_carry_verify(sc, &next, &bands[b + 1], p1, &err) != NB_OK) {
            printf("  outgoing token of band %d fails the closed form: %s\n", b, err.msg);
            (*verify_failures)++;
        }
        pstar = nb_index_min(pstar, outs[b].trig_index);
    }
    for (int b = 0; b < nbands; b++)
        nb_latch_select(sc, &bands[b], pstar, &outs[b]);
    be->destroy(state);
    free(in_tok);
    free(nn);
    free(outs);
    free(bands);
    *p1_out = p1;
    *pstar_out = pstar;
    return 0;
}

static unsigned rng_state = 12345u;
static unsigned next_rand(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) & 0x7fff;
}

static int run_case(const struct nb_backend_ops *be, const struct scene_case *c)
{
    struct built B;
    if (carry_scene_build(c, &B) != 0)
        return 1;
    const struct nb_scene *sc = &B.sc;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    float *ref = calloc(npix, sizeof(float)), *img = calloc(npix, sizeof(float));
    int vf, fails = 0;
    int64_t p1, pstar, p1r, pstarr;
    int zero = 0;
    render_split(&nb_backend_cpu, sc, &zero, 1, ref, -1, &vf, &p1r, &pstarr);
    if (vf)
        fails++;
    double sum = 0;
    for (size_t i = 0; i < npix; i++)
        sum += ref[i];
    printf("%s: %dx%d, p1 = %lld, latch p* = %lld, carry %s, sum %.6g\n", c->name, sc->fpixels,
           sc->spixels, (long long)p1r, (long long)pstarr, nb_carry_active(sc) ? "active" : "inactive",
           sum);
    CHECK(sum > 0, "%s: empty reference image", c->name);
    CHECK(!(c->expect & EXPECT_CARRY) || nb_carry_active(sc), "%s: carry not active", c->name);
    CHECK(!(c->expect & EXPECT_LATE) || p1r >= sc->fpixels,
          "%s: first execution %lld is in the first row", c->name, (long long)p1r);
    CHECK(!(c->expect & EXPECT_LATCH) || pstarr > p1r,
          "%s: latch p* = %lld does not fire after the first pixel %lld", c->name,
          (long long)pstarr, (long long)p1r);
    int nsplits = 0;
    int counts[] = {2, 3, 5, 8, sc->spixels, sc->spixels + 7};
    for (int t = 0; t < 6 + 20; t++) {
        int nb = t < 6 ? counts[t] : 2 + (int)(next_rand() % 9);
        int *row0 = calloc((size_t)nb, sizeof(int));
        if (t < 6) {
            for (int b = 0; b < nb; b++)
                row0[b] = nb_band_split(sc->spixels, sc->fpixels, nb, b).row0;
        } else {
            /* random non-decreasing boundaries, empty bands allowed */
            for (int b = 1; b < nb; b++)
                row0[b] = (int)(next_rand() % (unsigned)(sc->spixels + 1));
            for (int b = 1; b < nb; b++)
                for (int q = b; q > 1 && row0[q] < row0[q - 1]; q--) {
                    int tmp = row0[q];
                    row0[q] = row0[q - 1];
                    row0[q - 1] = tmp;
                }
        }
        memset(img, 0xff, npix * sizeof(float));
        if (render_split(be, sc, row0, nb, img, -1, &vf, &p1, &pstar) != 0) {
            fails++;
        } else {
            int same = memcmp(img, ref, npix * sizeof(float)) == 0;
            CHECK(same, "%s: %d bands give a different image", c->name, nb);
            CHECK(vf == 0, "%s: %d bands: %d carry tokens fail the closed form", c->name, nb, vf);
            CHECK(p1 == p1r && pstar == pstarr, "%s: p1/p* differ with %d bands", c->name, nb);
            fails += !same || vf;
        }
        free(row0);
        nsplits++;
    }
    /* a wrong token (UNROTATED after the first execution) must be detected and matter */
    const size_t tab = sizeof(double) * 9 * (size_t)sc->phisteps * sc->mosaic_domains;
    if (memcmp(sc->lat_first, sc->lat_rest, tab) != 0) {
        int row0[2] = {0, sc->spixels - 2};
        render_split(be, sc, row0, 2, img, 1, &vf, &p1, &pstar);
        CHECK(vf > 0, "%s: a wrong token was not detected", c->name);
        CHECK(memcmp(img, ref, npix * sizeof(float)) != 0,
              "%s: a wrong token did not change the image (the test could not fail)", c->name);
    }
    printf("  %d splits compared byte for byte\n", nsplits);
    free(ref);
    free(img);
    carry_scene_free(&B);
    return fails;
}

int main(int argc, char **argv)
{
    int fails = 0;
    const int gpu = argc > 1 && !strcmp(argv[1], "--gpu");
    /* the CPU back-end, then the CUDA back-end on the CPU grid emulator with one SM of one
     * block (128 threads: every thread loops) and chunks of >= 100 pixels (several per band);
     * both against the CPU's one-band image, byte for byte.  --gpu: the CUDA back-end on a
     * real device instead (exit 77 without one; NB_REQUIRE_GPU=1: a failure) */
    if (gpu) {
        unsetenv("NB_CUDA_EMULATE");
        if (nb_cuda_device_count() == 0)
            return nb_test_no_gpu(nb_cuda_unavailable());
        printf("device: %s\n", nb_cuda_device_name(0));
    } else {
        setenv("NB_CUDA_EMULATE", "1:1:100", 1);
    }
    const struct nb_backend_ops *bes[] = {&nb_backend_cpu, &nb_backend_cuda};
    for (int k = gpu; k < 2; k++) {
        printf("== %s back-end%s\n", bes[k]->name,
               k ? (gpu ? " (GPU)" : " (CPU grid emulator 1:1:100)") : "");
        for (int i = 0; i < n_carry_cases; i++)
            fails += run_case(bes[k], &carry_cases[i]);
    }
    printf("%s\n", nb_test_failures || fails ? "FAILED" : "passed");
    return nb_test_failures || fails ? 1 : 0;
}
