/* test_at_noise.c -- AT-NOISE-001 properties (no reference binary): for pixel means below 12,
 * between 12 and 1e6 and above 1e6 (fluence 1e27, 1e30, 1e33):
 *   - zero-float pixels read exactly adc (poidev(0) = 0), every pixel >= adc;
 *   - the mean of (noise - adc) over unclipped pixels with float > 0 is within 3 sigma of
 *     the float mean (Poisson);
 *   - the printed photon count equals the sum of all deviates: within 5 sigma of the float
 *     sum, and at least the unclipped counts plus 65495 per overload;
 *   - the printed overload count equals the number of clipped (65535) pixels (+-1%).
 * spec/acceptance.md §5; formats.md §8; physics.md §16. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void noise_case(const char *tag, const char *fluence)
{
    const int n = 128;
    const size_t np = (size_t)n * n;
    const char *d = at_dir(tag);
    int rc = at_run(d,
                    "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -lambda 6.2 "
                    "-detpixels 128 -distance 100 -seed 7 -noisefile n.img -nopgm "
                    "-fluence %s",
                    fluence);
    CHECK(rc == 0, "%s: exit status %d", tag, rc);
    float *f = at_floats(d, "floatimage.bin", np);
    uint16_t *v = at_smv(d, "n.img", np, NULL);
    char *o = at_stdout(d);
    if (!f || !v)
        goto done;
    double sf = 0, sn = 0, fmaxv = 0, sum_all_f = 0, unclipped = 0;
    long cnt = 0, nclip = 0, zero_bad = 0, below = 0;
    for (size_t i = 0; i < np; i++) {
        sum_all_f += f[i];
        fmaxv = fmax(fmaxv, f[i]);
        if (v[i] < 40)
            below++;
        if (f[i] == 0.0f && v[i] != 40)
            zero_bad++;
        if (v[i] == 65535) {
            nclip++;
            continue;
        }
        unclipped += v[i] - 40.0;
        if (f[i] > 0 && f[i] < 60000) {
            sf += f[i];
            sn += v[i] - 40.0;
            cnt++;
        }
    }
    CHECK(below == 0, "%s: %ld noise pixels below the ADC offset", tag, below);
    CHECK(zero_bad == 0, "%s: %ld zero-float pixels are not exactly adc", tag, zero_bad);
    double sigma = sqrt(sf);
    printf("%s: max mean %.4g; %ld unclipped pixels: sum(noise-adc) %.6g vs sum(float) %.6g "
           "(%.2f sigma); %ld clipped\n",
           tag, fmaxv, cnt, sn, sf, sigma > 0 ? (sn - sf) / sigma : 0.0, nclip);
    CHECK(cnt > 0 && fabs(sn - sf) <= 3 * sigma + 1e-9,
          "%s: mean of noise-adc %.9g differs from the float mean %.9g by more than 3 sigma", tag,
          sn / (double)cnt, sf / (double)cnt);
    double pv[2] = {NAN, NAN};
    const char *l = strstr(o, " photons on noise image (");
    if (l) {
        while (l > o && l[-1] != '\n')
            l--;
        at_nums(l, "", pv, 2);
    }
    CHECK(l != NULL, "%s: no photon/overload line", tag);
    if (l) {
        CHECK(fabs(pv[0] - sum_all_f) <= 5 * sqrt(sum_all_f) + 1,
              "%s: %.0f photons printed, expected the sum of deviates ~ %.0f (+-5 sigma)", tag,
              pv[0], sum_all_f);
        CHECK(pv[0] + 0.5 >= unclipped + 65495.0 * pv[1],
              "%s: %.0f photons printed < unclipped counts %.0f + 65495 per overload", tag, pv[0],
              unclipped);
        CHECK(fabs(pv[1] - (double)nclip) <= 0.01 * (double)nclip + 1,
              "%s: %g overloads printed, %ld pixels clipped at 65535", tag, pv[1], nclip);
    }
done:
    free(f);
    free(v);
    free(o);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_noise"))
        return 2;
    noise_case("noise_1e27", "1e27");
    noise_case("noise_1e30", "1e30");
    noise_case("noise_1e33", "1e33");
    return at_finish();
}
