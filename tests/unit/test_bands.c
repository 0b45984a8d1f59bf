/* test_bands.c -- row bands (src/engine/nb_band.h; style.md §2.4, §3.3).
 *
 * nb_band_split: exhaustive over n_rows 0..40 and n_parts 1..50 -- contiguous bands in
 * order covering every row once, sizes differing by at most one, the first n_rows % n_parts
 * bands holding the extra row.  nb_band_split_weighted: random weights (zeros, all zero, one
 * heavy row) -- contiguous tiling in order, each row exactly once, and the largest band
 * weight at most total/n_parts + the largest row weight.
 */
#include "unit_common.h"

#include <stdint.h>

#include "engine/nb_band.h"

/* Checks that bands 0..n_parts-1 tile rows 0..n_rows-1 in order; returns 0 if so. */
static int check_tiling(const struct nb_band *b, int n_rows, int n_cols, int n_parts,
                        const char *what)
{
    int next = 0, bad = 0;
    u_nchecks++; /* the tiling is one check; CHECK below only reports failures */
    for (int i = 0; i < n_parts; i++) {
        if (b[i].index != i || b[i].n_cols != n_cols || b[i].n_rows < 0 || b[i].row0 != next) {
            if (!bad)
                CHECK(0, "%s: band %d = {row0 %d, n_rows %d, n_cols %d, index %d}, expected row0 "
                      "%d, n_cols %d, index %d, n_rows >= 0",
                      what, i, b[i].row0, b[i].n_rows, b[i].n_cols, b[i].index, next, n_cols, i);
            bad = 1;
        }
        next = b[i].row0 + b[i].n_rows;
    }
    if (next != n_rows && !bad) {
        CHECK(0, "%s: bands end at row %d, expected %d", what, next, n_rows);
        bad = 1;
    }
    return bad;
}

static void equal_split(void)
{
    int failures = 0;
    for (int n_rows = 0; n_rows <= 40; n_rows++)
        for (int n_parts = 1; n_parts <= 50; n_parts++) {
            char what[96];
            snprintf(what, sizeof what, "nb_band_split(n_rows %d, n_parts %d)", n_rows, n_parts);
            struct nb_band b[50];
            for (int i = 0; i < n_parts; i++)
                b[i] = nb_band_split(n_rows, 17, n_parts, i);
            int bad = check_tiling(b, n_rows, 17, n_parts, what);
            int extra = n_rows % n_parts, base = n_rows / n_parts;
            int minr = n_rows, maxr = 0;
            u_nchecks++; /* band sizes: one check per combination */
            for (int i = 0; i < n_parts && !bad; i++) {
                int expect = base + (i < extra ? 1 : 0);
                if (b[i].n_rows != expect) {
                    CHECK(0, "%s: band %d has %d rows, expected %d", what, i, b[i].n_rows, expect);
                    bad = 1;
                }
                if (b[i].n_rows < minr)
                    minr = b[i].n_rows;
                if (b[i].n_rows > maxr)
                    maxr = b[i].n_rows;
            }
            if (!bad && maxr - minr > 1) {
                CHECK(0, "%s: sizes %d..%d differ by more than one", what, minr, maxr);
                bad = 1;
            }
            failures += bad;
        }
    CHECK(failures == 0, "nb_band_split: %d (n_rows, n_parts) combinations failed", failures);
}

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t xorshift(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void weighted_case(const int64_t *w, int n_rows, int n_parts, const char *kind)
{
    char what[160];
    snprintf(what, sizeof what, "nb_band_split_weighted(%s, n_rows %d, n_parts %d)", kind, n_rows,
             n_parts);
    struct nb_band b[64];
    for (int i = 0; i < n_parts; i++)
        b[i] = nb_band_split_weighted(w, n_rows, 9, n_parts, i);
    if (check_tiling(b, n_rows, 9, n_parts, what))
        return;
    int64_t total = 0, maxw = 0, maxband = 0;
    for (int r = 0; r < n_rows; r++) {
        total += w[r];
        if (w[r] > maxw)
            maxw = w[r];
    }
    for (int i = 0; i < n_parts; i++) {
        int64_t s = 0;
        for (int r = b[i].row0; r < b[i].row0 + b[i].n_rows; r++)
            s += w[r];
        if (s > maxband)
            maxband = s;
    }
    /* max band weight <= total/n_parts + max row weight (exact rational comparison) */
    CHECK(maxband * n_parts <= total + maxw * n_parts,
          "%s: heaviest band %lld > total/n_parts %g + max row %lld", what, (long long)maxband,
          (double)total / n_parts, (long long)maxw);
    /* all weights zero: the plain equal split */
    if (total == 0)
        for (int i = 0; i < n_parts; i++) {
            struct nb_band e = nb_band_split(n_rows, 9, n_parts, i);
            CHECK(b[i].row0 == e.row0 && b[i].n_rows == e.n_rows,
                  "%s: all-zero weights: band %d = (%d, %d), equal split gives (%d, %d)", what, i,
                  b[i].row0, b[i].n_rows, e.row0, e.n_rows);
        }
}

static void weighted_split(void)
{
    int64_t w[200];
    int before = nb_test_failures;
    for (int trial = 0; trial < 400; trial++) {
        int n_rows = 1 + (int)(xorshift() % 200);
        int n_parts = 1 + (int)(xorshift() % 64);
        int mode = trial % 5;
        const char *kind = "random";
        for (int r = 0; r < n_rows; r++) {
            switch (mode) {
            case 0: /* random pixel counts */
                w[r] = (int64_t)(xorshift() % 1025);
                break;
            case 1: /* random with many zero rows (ROI / mask) */
                kind = "zeros";
                w[r] = (xorshift() % 3 == 0) ? (int64_t)(xorshift() % 1025) : 0;
                break;
            case 2: /* all zero */
                kind = "all-zero";
                w[r] = 0;
                break;
            case 3: /* one heavy row among light ones */
                kind = "one-heavy";
                w[r] = (int64_t)(xorshift() % 4);
                break;
            default: /* a full ROI band in the middle */
                kind = "roi";
                w[r] = (r > n_rows / 3 && r < 2 * n_rows / 3) ? 512 : 0;
                break;
            }
        }
        if (mode == 3)
            w[xorshift() % (uint64_t)n_rows] = 1000000;
        weighted_case(w, n_rows, n_parts, kind);
    }
    /* a few fixed ones */
    int64_t one[1] = {5};
    weighted_case(one, 1, 7, "single row");
    int64_t heavy_first[10] = {1000, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    weighted_case(heavy_first, 10, 3, "heavy first");
    int64_t heavy_last[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1000};
    weighted_case(heavy_last, 10, 3, "heavy last");
    int64_t uniform[12] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
    weighted_case(uniform, 12, 4, "uniform");
    CHECK(nb_test_failures == before, "nb_band_split_weighted: failures above");
}

int main(void)
{
    equal_split();
    weighted_split();
    return u_summary("test_bands");
}
