/* fuzz_smv.c -- libFuzzer target: the SMV reader nb_smv_open() and the header look-ups
 * nb_smv_value() / nb_smv_lookup() (spec/cli.md §3, §6.1), as -img and -mask use them.
 *
 * The input is the file.  An accepted image has a header of HEADER_BYTES >= 512 bytes,
 * NUL-terminated within it, a size of at least 1 x 1 and width*height pixels that can all be
 * read; every header key the program looks up is then looked up both ways, and the two must
 * agree.  A rejected file fails with one line naming it.  The reader must not allocate for
 * pixels the file does not hold: libFuzzer's malloc limit reports a header that claims
 * gigabytes.
 * Entry point: LLVMFuzzerTestOneInput().
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <math.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/nb_io.h"

static const char *const keys[] = {"HEADER_BYTES", "SIZE1", "SIZE2", "DETECTOR_DIMENSIONS",
                                   "PIXEL_SIZE", "DISTANCE", "CLOSE_DISTANCE", "WAVELENGTH",
                                   "BEAM_CENTER_X", "BEAM_CENTER_Y", "ORGX", "ORGY", "PHI",
                                   "OSC_RANGE", "TWOTHETA", "=", ";"};

static void check_image(const struct nb_smv *s, size_t file_len)
{
    NB_FUZZ_CHECK(s->header && s->data, "accepted image without header or data");
    NB_FUZZ_CHECK(s->header_size >= 512 && (size_t)s->header_size <= file_len,
                  "header of %d bytes in a %zu-byte file", s->header_size, file_len);
    NB_FUZZ_CHECK(strnlen(s->header, (size_t)s->header_size + 1) <= (size_t)s->header_size,
                  "header text runs past HEADER_BYTES");
    NB_FUZZ_CHECK(s->width >= 1 && s->height >= 1, "image of %d x %d pixels", s->width,
                  s->height);
    const size_t n = (size_t)s->width * (size_t)s->height;
    NB_FUZZ_CHECK(n * 2 <= file_len - (size_t)s->header_size,
                  "%zu pixels from %zu bytes after the header", n,
                  file_len - (size_t)s->header_size);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s->data[i]; /* ASan: every pixel must be inside the allocation */
    (void)sum;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double a = nb_smv_value(s, keys[i]), b = NAN;
        int present = nb_smv_lookup(s, keys[i], &b);
        NB_FUZZ_CHECK(present ? (a == b || (isnan(a) && isnan(b))) : isnan(a),
                      "nb_smv_lookup and nb_smv_value disagree on %s", keys[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct nb_fuzz_file f = {"in.img", data, size};
    NB_FUZZ_CHECK(nb_fuzz_serve(&f, 1) == 0, "cannot serve the input");
    struct nb_smv s;
    struct nb_err err = {{0}};
    nb_status st = nb_smv_open("in.img", &s, &err);
    if (st == NB_OK) {
        check_image(&s, size);
        nb_smv_free(&s);
    } else {
        nb_fuzz_check_error(st, &err, "in.img");
        NB_FUZZ_CHECK(!s.header && !s.data, "a failed read left buffers allocated");
    }
    nb_fuzz_unserve();
    return 0;
}
