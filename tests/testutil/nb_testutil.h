/* nb_testutil.h -- helpers shared by the test executables.
 *
 * Verdict conventions: a test returns 0 (pass), 1 (fail) or NB_TEST_SKIP (77, shown as
 * skipped by CTest).  Failures print what differed; image comparisons leave both images
 * beside the test.  No MPI, HDF5 or CUDA here.
 */
#ifndef NB_TESTUTIL_H
#define NB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#define NB_TEST_SKIP 77

/* Count of failed checks in this process; CHECK prints file:line and the message. */
extern int nb_test_failures;
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            nb_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)
/* |a-b| <= tol*max(1,|b|) */
#define CHECK_NEAR(a, b, tol)                                                                  \
    CHECK(nb_test_near((a), (b), (tol)), "%s = %.17g, expected %.17g (tol %g)", #a,            \
          (double)(a), (double)(b), (double)(tol))
int nb_test_near(double a, double b, double tol);

/* The golden folder: $NB_GOLDEN_DIR, else the build's unpacked copy of tests/golden/data
 * (NB_GOLDEN_DEFAULT); NULL when that folder does not exist (callers fail and say so). */
const char *nb_test_golden_dir(void);

/* Read a whole file (".gz" files are decompressed with gzip -dc), NUL-terminated.  NULL on
 * failure. */
unsigned char *nb_test_read_file(const char *path, size_t *len);
int nb_test_write_file(const char *path, const void *data, size_t len);
int nb_test_exists(const char *path);

/* A GPU test found no usable device (why: the reason, one line): prints the verdict and
 * returns the exit status -- 77 (CTest SKIP), or 1 when NB_REQUIRE_GPU=1. */
int nb_test_no_gpu(const char *why);

/* Make an empty scratch directory (removing an old one).  0 on success. */
int nb_test_fresh_dir(const char *path);

/* Run argv[0] with argv in directory dir; stdout and stderr captured into the given files
 * (may be NULL for /dev/null).  Returns the exit status, or -1 if it could not run. */
int nb_test_run(const char *dir, char *const argv[], const char *out_path, const char *err_path);

/* Compare float images: rel = max|got-ref|/max|ref|.  On failure writes
 * <prefix>_got.bin and <prefix>_ref.bin and prints the first differing pixels. */
int nb_test_compare_floats(const float *got, const float *ref, size_t n, int fpixels,
                           double rel_tol, const char *prefix, double *rel_out);

/* The same report, but the verdict is bit equality (memcmp): a -0/+0 or NaN-payload
 * difference fails too.  Evidence as above on failure. */
int nb_test_compare_floats_exact(const float *got, const float *ref, size_t n, int fpixels,
                                 const char *prefix);

/* Tier T2 of spec/acceptance.md (single precision against a double reference): Pearson
 * correlation of the flattened images >= NB_T2_CORR_MIN, |sum ratio - 1| <= NB_T2_SUM_TOL
 * (sum ratio = sum(got)/sum(ref)), and each of the brightest 1 % of pixels by the reference
 * value (at least one; ties by pixel index) within NB_T2_TOP_REL relative of the reference.
 * Prints the three measures (and max|d|, rel, count of differing pixels for information);
 * returns 0 when all three hold, else 1 with evidence as above.  NaN fails every measure. */
#define NB_T2_CORR_MIN 0.99999
#define NB_T2_SUM_TOL 1e-5
#define NB_T2_TOP_REL 1e-3
struct nb_t2_result {
    double corr;      /* Pearson correlation                                     */
    double sum_ratio; /* sum(got) / sum(ref)                                     */
    double top_rel;   /* worst |got-ref|/|ref| over the brightest pixels         */
    size_t top_n;     /* how many pixels "the brightest 1 %" is                  */
    size_t top_bad;   /* how many of them are beyond NB_T2_TOP_REL               */
};
int nb_test_compare_floats_t2(const float *got, const float *ref, size_t n, int fpixels,
                              const char *prefix, struct nb_t2_result *out);

#endif
