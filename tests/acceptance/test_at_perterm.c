/* test_at_perterm.c -- AT-SAM-002 [new] part: --factors=per-term gives
 * r_e^2 fluence 100^2 mean over subpixels of P w (float32 tolerance).
 * spec/acceptance.md §2; physics.md §13; cli.md §8. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_perterm"))
        return 2;
    const int n = 16, os = 2, fp = 12, sp = 3;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 50, NAN, NAN);
    const char *d = at_dir("sam002_perterm");
    int rc = at_run(d, "-default_F 100 -cell 100 100 100 90 90 90 -N 1 -lambda 1 -detpixels 16 "
                       "-distance 50 -oversample 2 -roi 12 12 3 3 -nonoise -nopgm "
                       "--factors=per-term");
    CHECK(rc == 0, "--factors=per-term: exit status %d", rc);
    if (rc != 0) {
        char *err = at_stderr(d);
        fprintf(stderr, "stderr: %s", err);
        free(err);
    }
    double mean = 0;
    for (int sS = 0; sS < os; sS++)
        for (int sF = 0; sF < os; sF++) {
            v3 Q = at_subpixel_pos(&g, sp, fp, os, sS, sF, 0.0);
            mean += at_polar(g.b, v3_unit(Q), g.p, 0.0) * at_omega(&g, Q, 0);
        }
    mean /= os * os;
    double want = AT_RE2 * AT_FLUENCE * 100.0 * 100.0 * mean;
    float *img = rc == 0 ? at_floats(d, "floatimage.bin", (size_t)n * n) : NULL;
    if (img) {
        float got = img[sp * n + fp];
        CHECK(at_f32_ok(got, want),
              "--factors=per-term: pixel = %.9g, expected r_e^2 fluence 100^2 mean(P w) = %.9g "
              "(rel %.3g)",
              got, want, (got - want) / want);
    }
    free(img);
    return at_finish();
}
