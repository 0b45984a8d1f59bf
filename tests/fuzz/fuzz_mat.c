/* fuzz_mat.c -- libFuzzer target: the orientation-matrix reader nb_mat_read()
 * (spec/formats.md §3).  The input is the file; an accepted matrix is nine finite numbers, a
 * rejected one fails with one line naming the file.  Entry point: LLVMFuzzerTestOneInput().
 */
#include <math.h>

#include "fuzz_common.h"
#include "io/nb_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct nb_fuzz_file f = {"in.mat", data, size};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve the input");
    double m[9];
    struct nb_err err = {{0}};
    nb_status st = nb_mat_read("in.mat", m, &err);
    if (st == NB_OK)
        for (int i = 0; i < 9; i++)
            NB_FUZZ_CHECK(isfinite(m[i]), "matrix element %d is not finite", i);
    else
        nb_fuzz_check_error(st, &err, "in.mat");
    nb_fuzz_unserve();
    return 0;
}
