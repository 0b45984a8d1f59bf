/* fuzz_fdump.c -- libFuzzer target: the Fdump.bin reader nb_fdump_read() (spec/formats.md §2).
 *
 * The input is the file: a text header of six index bounds, a newline and a form feed, then
 * the doubles of the grid.  An accepted grid must be well formed (ranges >= 1, every value
 * finite, the body as long as the header says) and read back identically after
 * nb_fdump_bytes(); a rejected file fails with one line naming it.  A header asking for more
 * than the file holds must be refused before the grid is allocated (libFuzzer's malloc limit
 * reports one that claims gigabytes).
 * Entry point: LLVMFuzzerTestOneInput().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/nb_io.h"

static size_t grid_cells(const struct nb_hkl_grid *g)
{
    return (size_t)(g->h_range + 1) * (size_t)(g->k_range + 1) * (size_t)(g->l_range + 1);
}

static void check_grid(const struct nb_hkl_grid *g, size_t file_len)
{
    NB_FUZZ_CHECK(g->F != NULL, "accepted grid without data");
    NB_FUZZ_CHECK(g->h_range == g->h_max - g->h_min + 1 && g->h_range >= 1 &&
                      g->k_range == g->k_max - g->k_min + 1 && g->k_range >= 1 &&
                      g->l_range == g->l_max - g->l_min + 1 && g->l_range >= 1,
                  "inconsistent ranges");
    const size_t n = grid_cells(g);
    NB_FUZZ_CHECK(n * sizeof(double) < file_len, "a %zu-cell grid from a %zu-byte file", n,
                  file_len);
    for (size_t i = 0; i < n; i++)
        NB_FUZZ_CHECK(isfinite(g->F[i]), "non-finite F at cell %zu", i);
}

static void reread(const struct nb_hkl_grid *g)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    struct nb_err err = {{0}};
    NB_FUZZ_CHECK(nb_fdump_bytes(g, &bytes, &len, &err) == NB_OK, "nb_fdump_bytes: %s",
                  err.msg);
    nb_fuzz_unserve();
    const struct nb_fuzz_file f = {"again.bin", bytes, len};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve again.bin");
    free(bytes);
    struct nb_hkl_grid d;
    NB_FUZZ_CHECK(nb_fdump_read("again.bin", &d, &err) == NB_OK, "re-read refused: %s",
                  err.msg);
    NB_FUZZ_CHECK(d.h_min == g->h_min && d.h_max == g->h_max && d.k_min == g->k_min &&
                      d.k_max == g->k_max && d.l_min == g->l_min && d.l_max == g->l_max,
                  "re-read changed the index ranges");
    NB_FUZZ_CHECK(memcmp(d.F, g->F, grid_cells(g) * sizeof(double)) == 0,
                  "re-read changed the structure factors");
    nb_hkl_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct nb_fuzz_file f = {"Fdump.bin", data, size};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve the input");
    struct nb_hkl_grid g;
    struct nb_err err = {{0}};
    nb_status st = nb_fdump_read("Fdump.bin", &g, &err);
    if (st == NB_OK) {
        check_grid(&g, size);
        reread(&g);
        nb_hkl_free(&g);
    } else {
        nb_fuzz_check_error(st, &err, "Fdump.bin");
        NB_FUZZ_CHECK(g.F == NULL, "a failed read left a grid allocated");
    }
    nb_fuzz_unserve();
    return 0;
}
