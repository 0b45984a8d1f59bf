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
#include "../../src/engine/nb_setup.h"
#include "nb_testutil.h"

struct scene_case {
    const char *name;
    const char *args;
    int mask_rows_fraction_pct; /* mask the first pct % of rows (0: no mask)   */
    int hkl_grid;               /* attach a synthetic HKL grid -6..6             */
    int expect;                 /* EXPECT_* : what the scene must exercise       */
};
#define EXPECT_CARRY 1   /* c-parity changes the result                     */
#define EXPECT_LATE 2    /* the first execution is not in the first row     */
#define EXPECT_LATCH 4   /* the latch fires, after the first rendered pixel */

static const struct scene_case cases[] = {
    {"phi0_carryover", "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 "
                       "-detpixels 24 -pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 2", 0, 0, EXPECT_CARRY},
    {"phi_cross_zero", "-cell 70 80 90 85 95 105 -default_F 100 -N 12 -distance 100 "
                       "-detpixels 20 -pixel 0.3 -phi -0.2 -osc 0.5 -phisteps 5 -oversample 1", 0, 0, EXPECT_CARRY},
    {"dmin_first_rows", "-cell 70 70 70 90 90 90 -default_F 100 -N 5 -lambda 6.2 -distance 100 "
                        "-detpixels 32 -pixel 0.8 -Xbeam 24 -Ybeam 12.8 -phi 0 -osc 90 -phisteps 9 "
                        "-oversample 1 -dmin 30", 0, 0, EXPECT_CARRY | EXPECT_LATE},
    {"roi_second_half", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -distance 80 -detpixels 24 "
                        "-pixel 0.2 -phi 0 -osc 1 -phisteps 3 -oversample 1 -roi 0 23 12 23", 0, 0,
     EXPECT_CARRY | EXPECT_LATE},
    {"mask_first_rows", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -distance 80 -detpixels 24 "
                        "-pixel 0.2 -phi 0 -osc 1 -phisteps 3 -oversample 1", 40, 0, EXPECT_CARRY | EXPECT_LATE},
    {"interp_latch", "-cell 70 80 90 75 85 95 -misset 10 5 3 -N 2 -lambda 1 -distance 30 "
                     "-detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 -interpolate -oversample 1 "
                     "-phi 0 -osc 1 -phisteps 2", 0, 1, EXPECT_CARRY | EXPECT_LATCH},
    {"interp_latch_default_F", "-cell 70 80 90 75 85 95 -misset 10 5 3 -N 2 -lambda 1 "
                               "-distance 30 -detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 "
                               "-interpolate -oversample 1 --interp-fallback=default_F", 0, 1, EXPECT_LATCH},
    {"spec_mode", "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 -detpixels 16 "
                  "-pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 1 --phi-carryover=spec", 0, 0, 0},
};

static int split_args(char *s, char **argv, int max)
{
    int n = 0;
    argv[n++] = "nanobragg";
    for (char *t = strtok(s, " "); t && n < max - 1; t = strtok(NULL, " "))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

struct built {
    struct nb_cli cli;
    struct nb_scene sc;
    struct nb_hkl_grid hkl;
    struct nb_mask mask;
};

static int build(const struct scene_case *c, struct built *b)
{
    char buf[1024], *argv[128];
    struct nb_err err = {{0}};
    struct nb_msg_sink quiet = {NULL, NULL};
    snprintf(buf, sizeof buf, "%s", c->args);
    int argc = split_args(buf, argv, 128);
    memset(b, 0, sizeof *b);
    if (nb_cli_parse(argc, argv, &b->cli, &quiet, &err) != NB_OK) {
        printf("%s: parse failed: %s\n", c->name, err.msg);
        return -1;
    }
    struct nb_config *cfg = &b->cli.cfg;
    if (c->hkl_grid) {
        /* synthetic grid -6..6 with a smooth structure */
        struct nb_hkl_grid *g = &b->hkl;
        g->h_min = g->k_min = g->l_min = -6;
        g->h_max = g->k_max = g->l_max = 6;
        g->h_range = g->k_range = g->l_range = 13;
        g->hkls = 13 * 13 * 13;
        g->F = calloc(14 * 14 * 14, sizeof(double));
        for (int h = 0; h < 13; h++)
            for (int k = 0; k < 13; k++)
                for (int l = 0; l < 13; l++)
                    g->F[(h * 14 + k) * 14 + l] = 5 + 95 * fabs(sin(0.9 * h + 1.7 * k + 2.3 * l + 0.3));
    }
    if (nb_setup_begin(cfg, &b->sc, &quiet, &err) != NB_OK) {
        printf("%s: begin failed: %s\n", c->name, err.msg);
        return -1;
    }
    if (c->mask_rows_fraction_pct) {
        b->mask.fpixels = b->sc.fpixels;
        b->mask.spixels = b->sc.spixels;
        b->mask.data = malloc(sizeof(unsigned short) * (size_t)b->sc.fpixels * b->sc.spixels);
        int cut = b->sc.spixels * c->mask_rows_fraction_pct / 100;
        for (int s = 0; s < b->sc.spixels; s++)
            for (int f = 0; f < b->sc.fpixels; f++)
                b->mask.data[s * b->sc.fpixels + f] = s < cut ? 0 : 1;
        cfg->mask = &b->mask;
    }
    if (nb_setup_geometry(cfg, &b->sc, &quiet, &err) != NB_OK ||
        nb_setup_crystal(cfg, &b->sc, &quiet, &err) != NB_OK ||
        nb_setup_finish(cfg, &b->sc, c->hkl_grid ? &b->hkl : NULL, &quiet, &err) != NB_OK) {
        printf("%s: set-up failed: %s\n", c->name, err.msg);
        return -1;
    }
    return 0;
}

static void unbuild(struct built *b)
{
    nb_scene_fini(&b->sc);
    free(b->hkl.F);
    free(b->mask.data);
    nb_cli_fini(&b->cli);
}

/* Render with the given band boundaries (bands[i] = first row of band i; n bands; rows may be
 * empty).  inject_wrong >= 0: give that band a wrong (UNROTATED) token. */
static int render_split(const struct nb_scene *sc, const int *row0, int nbands, float *img,
                        int inject_wrong, int *verify_failures, int64_t *p1_out,
                        int64_t *pstar_out)
{
    const struct nb_backend_ops *be = &nb_backend_cpu;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    float *nn = sc->k.interpolate ? calloc(npix, sizeof(float)) : NULL;
    double *omega = calloc((size_t)sc->spixels + 1, sizeof(double));
    struct nb_band_out *outs = calloc((size_t)nbands, sizeof *outs);
    struct nb_band *bands = calloc((size_t)nbands, sizeof *bands);
    void *state = NULL;
    struct nb_err err;
    if (be->create(sc, &state, &err) != NB_OK)
        return -1;
    /* global first execution from the bands' pre-passes (an all-reduce MIN across ranks) */
    int64_t p1 = -1;
    for (int b = 0; b < nbands; b++) {
        int end = b + 1 < nbands ? row0[b + 1] : sc->spixels;
        bands[b] = (struct nb_band){row0[b], end - row0[b], sc->fpixels, b};
        int64_t first, last;
        nb_band_prepass(sc, &bands[b], &first, &last);
        if (first >= 0 && (p1 < 0 || first < p1))
            p1 = first;
    }
    struct nb_carry carry, wrong;
    nb_carry_initial(sc, &carry);
    nb_carry_initial(sc, &wrong);
    int64_t pstar = -1;
    *verify_failures = 0;
    for (int b = 0; b < nbands; b++) {
        struct nb_carry in = b == inject_wrong ? wrong : carry;
        if (nb_carry_verify(sc, &in, &bands[b], p1, &err) != NB_OK)
            (*verify_failures)++;
        outs[b].value = img + (size_t)bands[b].row0 * sc->fpixels;
        outs[b].value_nn = nn ? nn + (size_t)bands[b].row0 * sc->fpixels : NULL;
        outs[b].row_omega = omega + bands[b].row0;
        if (be->render_band(state, &bands[b], &in, &outs[b], &err) != NB_OK)
            return -1;
        struct nb_carry next;
        nb_carry_through(sc, &carry, outs[b].last_exec, &next);
        /* the token a band hands on must be the closed form for the next band */
        if (b + 1 < nbands && nb_carry_verify(sc, &next, &bands[b + 1], p1, &err) != NB_OK) {
            printf("  outgoing token of band %d fails the closed form: %s\n", b, err.msg);
            (*verify_failures)++;
        }
        carry = next;
        if (outs[b].trig_index >= 0 && (pstar < 0 || outs[b].trig_index < pstar))
            pstar = outs[b].trig_index;
    }
    for (int b = 0; b < nbands; b++)
        nb_latch_select(sc, &bands[b], pstar, &outs[b]);
    be->destroy(state);
    free(nn);
    free(omega);
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

static int run_case(const struct scene_case *c)
{
    struct built B;
    if (build(c, &B) != 0)
        return 1;
    const struct nb_scene *sc = &B.sc;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    float *ref = calloc(npix, sizeof(float)), *img = calloc(npix, sizeof(float));
    int vf, fails = 0;
    int64_t p1, pstar, p1r, pstarr;
    int zero = 0;
    render_split(sc, &zero, 1, ref, -1, &vf, &p1r, &pstarr);
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
        if (render_split(sc, row0, nb, img, -1, &vf, &p1, &pstar) != 0) {
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
        render_split(sc, row0, 2, img, 1, &vf, &p1, &pstar);
        CHECK(vf > 0, "%s: a wrong token was not detected", c->name);
        CHECK(memcmp(img, ref, npix * sizeof(float)) != 0,
              "%s: a wrong token did not change the image (the test could not fail)", c->name);
    }
    printf("  %d splits compared byte for byte\n", nsplits);
    free(ref);
    free(img);
    unbuild(&B);
    return fails;
}

int main(void)
{
    int fails = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails += run_case(&cases[i]);
    /* the latch case must actually latch mid-image, and not at the first rendered pixel */
    printf("%s\n", nb_test_failures || fails ? "FAILED" : "passed");
    return nb_test_failures || fails ? 1 : 0;
}
