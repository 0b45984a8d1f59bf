/* fuzz_hkl.c -- libFuzzer target: the HKL text reader nb_hkl_read() (spec/formats.md §1).
 *
 * The input is the file.  It is read in both column modes (stream4 without default_F, first4
 * with default_F, which fills the whole grid), and every accepted grid must be well formed
 * (ranges >= 1 matching the index bounds, every value finite) and survive a round trip
 * through Fdump.bin bytes: nb_fdump_bytes() then nb_fdump_read() give the same grid.  A file
 * holding a NUL byte is never accepted (what follows it would be dropped silently).
 * Rejected input must fail with one line naming the file.  Grids above 2 MB, this target's
 * memory ceiling (fuzz_common.h), are refused by the reader's own memory check.
 * Entry point: LLVMFuzzerTestOneInput().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/nb_io.h"

#define PATH "in.hkl"

static size_t grid_cells(const struct nb_hkl_grid *g)
{
    return (size_t)(g->h_range + 1) * (size_t)(g->k_range + 1) * (size_t)(g->l_range + 1);
}

static void check_grid(const struct nb_hkl_grid *g)
{
    NB_FUZZ_CHECK(g->F && g->hkls > 0, "accepted grid without data");
    NB_FUZZ_CHECK(g->h_range == g->h_max - g->h_min + 1 && g->h_range >= 1 &&
                      g->k_range == g->k_max - g->k_min + 1 && g->k_range >= 1 &&
                      g->l_range == g->l_max - g->l_min + 1 && g->l_range >= 1,
                  "inconsistent ranges h %d..%d (%d) k %d..%d (%d) l %d..%d (%d)", g->h_min,
                  g->h_max, g->h_range, g->k_min, g->k_max, g->k_range, g->l_min, g->l_max,
                  g->l_range);
    const size_t n = grid_cells(g);
    for (size_t i = 0; i < n; i++)
        NB_FUZZ_CHECK(isfinite(g->F[i]), "non-finite F at cell %zu", i);
}

/* nb_fdump_bytes() then nb_fdump_read(): the same grid. */
static void round_trip(const struct nb_hkl_grid *g)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    struct nb_err err = {{0}};
    nb_status st = nb_fdump_bytes(g, &bytes, &len, &err);
    NB_FUZZ_CHECK(st == NB_OK, "nb_fdump_bytes: %s", err.msg);
    nb_fuzz_unserve();
    const struct nb_fuzz_file f = {"Fdump.bin", bytes, len};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve Fdump.bin");
    free(bytes);
    struct nb_hkl_grid d;
    st = nb_fdump_read("Fdump.bin", &d, &err);
    NB_FUZZ_CHECK(st == NB_OK, "the dump of an accepted grid is refused: %s", err.msg);
    NB_FUZZ_CHECK(d.h_min == g->h_min && d.h_max == g->h_max && d.k_min == g->k_min &&
                      d.k_max == g->k_max && d.l_min == g->l_min && d.l_max == g->l_max &&
                      d.h_range == g->h_range && d.k_range == g->k_range &&
                      d.l_range == g->l_range,
                  "Fdump.bin round trip changed the index ranges");
    NB_FUZZ_CHECK(memcmp(d.F, g->F, grid_cells(g) * sizeof(double)) == 0,
                  "Fdump.bin round trip changed the structure factors");
    nb_hkl_free(&d);
}

static void read_one(const unsigned char *data, size_t size, int columns, double default_F)
{
    const struct nb_fuzz_file f = {PATH, data, size};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve the input");
    struct nb_hkl_grid g;
    struct nb_err err = {{0}};
    nb_status st = nb_hkl_read(PATH, columns, default_F, &g, &nb_fuzz_sink, &err);
    if (st == NB_OK) {
        /* text after a NUL byte cannot have been read: accepting it drops it silently */
        NB_FUZZ_CHECK(!memchr(data, 0, size), "accepted a file with a NUL byte");
        check_grid(&g);
        round_trip(&g);
        nb_hkl_free(&g);
    } else {
        nb_fuzz_check_error(st, &err, PATH);
        NB_FUZZ_CHECK(g.F == NULL, "a failed read left a grid allocated");
    }
    nb_fuzz_unserve();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_fuzz_memory_cap = 2.0 * 1024 * 1024; /* grids up to 256K cells: fast, and enough */
    read_one(data, size, NB_HKL_STREAM4, 0.0);
    read_one(data, size, NB_HKL_FIRST4, 1.5);
    return 0;
}
