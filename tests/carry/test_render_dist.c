/* test_render_dist.c -- the distributed driver (src/run/nb_render_dist.c) through the serial
 * twin of the process group (mpi/dist_serial.c), so that it is covered without an MPI
 * launcher: for every carry scene and both back-ends (the CPU, and CUDA on the CPU grid
 * emulator), nb_render_distributed() must give the image that the CPU back-end renders as one
 * band with the engine's own hand-off (nb_carry_plan), byte for byte, with the same first
 * execution p1, latch pixel p*, band record, and the solid-angle sum that nb_pixel()
 * accumulates pixel by pixel (the host recomputes it: no back-end returns it), with and
 * without the progress meter.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cuda/nb_cuda.h"
#include "../../src/engine/nb_backend.h"
#include "../../src/engine/nb_carry.h"
#include "../../src/run/nb_render_dist.h"
#include "carry_scenes.h"
#include "nb_testutil.h"

/* The reference: one band, rendered by the CPU back-end directly; the solid-angle sum as
 * nb_pixel() accumulates it, row by row in raster order. */
static int render_whole(const struct nb_scene *sc, float *img, int64_t *p1, int64_t *pstar,
                        double *omega_sum)
{
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    struct nb_band band = {0, sc->spixels, sc->fpixels, 0};
    struct nb_carry in;
    struct nb_band_out o;
    struct nb_err err;
    void *state = NULL;
    float *nn = sc->k.interpolate ? calloc(npix, sizeof(float)) : NULL;
    memset(&o, 0, sizeof o);
    o.value = img;
    o.value_nn = nn;
    nb_carry_plan(sc, 1, &band, p1, &in, NULL);
    if (nb_backend_cpu.create(sc, &state, &err) != NB_OK ||
        nb_backend_cpu.render_band(state, &band, *p1, &o, NULL, &err) != NB_OK)
        return -1;
    nb_backend_cpu.destroy(state);
    *pstar = o.trig_index;
    nb_latch_select(sc, &band, *pstar, &o);
    *omega_sum = 0;
    for (int s = 0; s < sc->spixels; s++) {
        double row = 0.0;
        for (int f = 0; f < sc->fpixels; f++)
            if (nb_pixel_rendered(&sc->k, s, f)) {
                struct nb_pixel_result res;
                nb_pixel(&sc->k, s, f, (int64_t)s * sc->fpixels + f == *p1, &res, NULL);
                row += res.omega_sum;
            }
        *omega_sum += row;
    }
    free(nn);
    return 0;
}

static int run_case(const struct nb_backend_ops *be, const struct scene_case *c,
                    struct nb_dist *d)
{
    struct built B;
    if (carry_scene_build(c, &B) != 0)
        return 1;
    const struct nb_scene *sc = &B.sc;
    const size_t npix = (size_t)sc->fpixels * sc->spixels;
    float *ref = calloc(npix, sizeof(float));
    int64_t p1, pstar;
    double omega;
    int fails = 0;
    if (render_whole(sc, ref, &p1, &pstar, &omega) != 0) {
        printf("%s: reference render failed\n", c->name);
        return 1;
    }
    for (int meter = 0; meter <= 1; meter++) {
        struct nb_render_result R;
        struct nb_err err;
        nb_status st = nb_render_distributed(d, sc, be, meter, &R, &err);
        CHECK(st == NB_OK, "%s (meter %d): nb_render_distributed failed: %s", c->name, meter,
              err.msg);
        if (st != NB_OK) {
            fails++;
            continue;
        }
        int same = memcmp(R.img, ref, npix * sizeof(float)) == 0;
        CHECK(same, "%s (meter %d): the image differs from the one-band render", c->name, meter);
        CHECK(R.p1 == p1 && R.p_star == pstar, "%s (meter %d): p1 %lld/%lld, p* %lld/%lld",
              c->name, meter, (long long)R.p1, (long long)p1, (long long)R.p_star,
              (long long)pstar);
        CHECK(R.omega_sum == omega, "%s (meter %d): solid-angle sum %.17g, expected %.17g",
              c->name, meter, R.omega_sum, omega);
        CHECK(R.n_bands == 1 && R.bands[0].row0 == 0 && R.bands[0].n_rows == sc->spixels &&
                  R.band_rows == sc->spixels && R.bands[0].in_state == NB_CARRY_UNROTATED,
              "%s (meter %d): band record", c->name, meter);
        CHECK(memcmp(R.band_img, ref, npix * sizeof(float)) == 0,
              "%s (meter %d): the band image kept for HDF5 differs", c->name, meter);
        fails += !same;
        nb_render_result_fini(&R);
    }
    printf("%s (%s): %dx%d, p1 %lld, p* %lld: %s\n", c->name, be->name, sc->fpixels, sc->spixels,
           (long long)p1, (long long)pstar, fails ? "DIFFERS" : "identical");
    free(ref);
    carry_scene_free(&B);
    return fails;
}

int main(void)
{
    struct nb_dist *d = NULL;
    int argc = 1;
    char *args[] = {"test_render_dist", NULL}, **argv = args;
    if (nb_dist_init(&argc, &argv, &d) != NB_OK || nb_dist_size(d) != 1) {
        printf("FAILED: the serial process group did not start\n");
        return 1;
    }
    int fails = 0;
    setenv("NB_CUDA_EMULATE", "2:1:200", 1); /* 256 threads, chunks of >= 200 pixels */
    const struct nb_backend_ops *bes[] = {&nb_backend_cpu, &nb_backend_cuda};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n_carry_cases; i++)
            fails += run_case(bes[k], &carry_cases[i], d);
    nb_dist_fini(d);
    printf("%s\n", nb_test_failures || fails ? "FAILED" : "passed");
    return nb_test_failures || fails ? 1 : 0;
}
