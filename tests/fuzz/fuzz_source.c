/* fuzz_source.c -- libFuzzer target: the source-file reader nb_source_read()
 * (spec/formats.md §4; quirks of the reference's read_text_file kept on purpose).
 *
 * The input is the file.  An accepted list has n >= 1 sources, each column finite or NaN
 * ("not given"), a wavelength that is neither 0 nor infinite, and line numbers from 1 that
 * never decrease (a line longer than the reference's 10240-byte buffer is several sources, as
 * there); a rejected file fails with one line naming it.  Entry point: LLVMFuzzerTestOneInput().
 */
#include <math.h>

#include "fuzz_common.h"
#include "io/nb_io.h"

static void check_list(const struct nb_source_list *L)
{
    NB_FUZZ_CHECK(L->n >= 1, "accepted an empty source list");
    long prev = 0;
    for (int i = 0; i < L->n; i++) {
        const double v[5] = {L->x[i], L->y[i], L->z[i], L->weight[i], L->lambda[i]};
        for (int c = 0; c < 5; c++)
            NB_FUZZ_CHECK(!isinf(v[c]), "source %d column %d is infinite", i, c + 1);
        NB_FUZZ_CHECK(L->lambda[i] != 0.0, "source %d has wavelength 0", i);
        NB_FUZZ_CHECK(L->line[i] >= 1 && L->line[i] >= prev, "source %d: line %ld after %ld", i,
                      L->line[i], prev);
        prev = L->line[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct nb_fuzz_file f = {"in.src", data, size};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve the input");
    struct nb_source_list L;
    struct nb_err err = {{0}};
    nb_status st = nb_source_read("in.src", &L, &err);
    if (st == NB_OK) {
        check_list(&L);
        nb_source_free(&L);
    } else {
        nb_fuzz_check_error(st, &err, "in.src");
        NB_FUZZ_CHECK(L.n == 0 && !L.x && !L.lambda, "a failed read left a list allocated");
    }
    nb_fuzz_unserve();
    return 0;
}
