/* nb_testutil.c -- see nb_testutil.h.  POSIX. */
#define _POSIX_C_SOURCE 200809L
#include "nb_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int nb_test_failures = 0;

int nb_test_near(double a, double b, double tol)
{
    double s = fabs(b) > 1.0 ? fabs(b) : 1.0;
    return fabs(a - b) <= tol * s;
}

const char *nb_test_golden_dir(void)
{
    const char *e = getenv("NB_GOLDEN_DIR");
    if (e && *e)
        return nb_test_exists(e) ? e : NULL;
#ifdef NB_GOLDEN_DEFAULT
    if (nb_test_exists(NB_GOLDEN_DEFAULT))
        return NB_GOLDEN_DEFAULT;
#endif
    return NULL;
}

int nb_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int nb_test_no_gpu(const char *why)
{
    const char *req = getenv("NB_REQUIRE_GPU");
    const int required = req && !strcmp(req, "1");
    printf("%s: no usable CUDA device: %s\n", required ? "FAIL (NB_REQUIRE_GPU=1)" : "SKIP",
           why ? why : "");
    return required ? 1 : 77;
}

unsigned char *nb_test_read_file(const char *path, size_t *len)
{
    FILE *fp;
    int is_gz = strlen(path) > 3 && !strcmp(path + strlen(path) - 3, ".gz");
    if (is_gz) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
        fp = popen(cmd, "r");
    } else {
        fp = fopen(path, "rb");
    }
    if (!fp)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (!b)
            break;
        if (n + 1 >= cap) {
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (is_gz)
        pclose(fp);
    else
        fclose(fp);
    if (b)
        b[n] = '\0'; /* text files can be used as strings */
    if (len)
        *len = n;
    return b;
}

int nb_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(data, 1, len, fp);
    fclose(fp);
    return w == len ? 0 : -1;
}

int nb_test_fresh_dir(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    return system(cmd) == 0 ? 0 : -1;
}

int nb_test_run(const char *dir, char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (dir && chdir(dir) != 0)
            _exit(126);
        int fo = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Prints max|d|, its pixel, rel and the count of differing pixels; returns rel. */
static double float_stats(const float *got, const float *ref, size_t n, int fpixels,
                          const char *tol_text)
{
    double max_ref = 0.0, max_abs = 0.0;
    size_t worst = 0, ndiff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (fabs((double)ref[i]) > max_ref)
            max_ref = fabs((double)ref[i]);
        if (d > max_abs || isnan(d)) {
            max_abs = isnan(d) ? INFINITY : d;
            worst = i;
        }
        if (memcmp(&got[i], &ref[i], sizeof(float)) != 0)
            ndiff++;
    }
    double rel = max_ref > 0.0 ? max_abs / max_ref : max_abs;
    printf("float image: max|d| %.3e at pixel %zu (slow %zu fast %zu), rel %.3e (%s), "
           "%zu pixels differ\n",
           max_abs, worst, worst / (size_t)fpixels, worst % (size_t)fpixels, rel, tol_text, ndiff);
    return rel;
}

/* Writes <prefix>_got.bin and <prefix>_ref.bin and prints the first differing pixels. */
static void float_evidence(const float *got, const float *ref, size_t n, int fpixels,
                           const char *prefix)
{
    char path[4200];
    snprintf(path, sizeof path, "%s_got.bin", prefix);
    nb_test_write_file(path, got, n * sizeof(float));
    snprintf(path, sizeof path, "%s_ref.bin", prefix);
    nb_test_write_file(path, ref, n * sizeof(float));
    int shown = 0;
    for (size_t i = 0; i < n && shown < 10; i++)
        if (memcmp(&got[i], &ref[i], sizeof(float)) != 0) {
            printf("  pixel slow %zu fast %zu: got %.9g ref %.9g\n", i / (size_t)fpixels,
                   i % (size_t)fpixels, (double)got[i], (double)ref[i]);
            shown++;
        }
    printf("  both images written as %s_got.bin / %s_ref.bin\n", prefix, prefix);
}

int nb_test_compare_floats(const float *got, const float *ref, size_t n, int fpixels,
                           double rel_tol, const char *prefix, double *rel_out)
{
    char tol_text[64];
    snprintf(tol_text, sizeof tol_text, "tol %.1e", rel_tol);
    double rel = float_stats(got, ref, n, fpixels, tol_text);
    if (rel_out)
        *rel_out = rel;
    if (rel <= rel_tol)
        return 0;
    float_evidence(got, ref, n, fpixels, prefix);
    return 1;
}

int nb_test_compare_floats_exact(const float *got, const float *ref, size_t n, int fpixels,
                                 const char *prefix)
{
    if (memcmp(got, ref, n * sizeof(float)) == 0) {
        printf("float image: bit-identical (%zu pixels)\n", n);
        return 0;
    }
    float_stats(got, ref, n, fpixels, "bit-exact comparison");
    float_evidence(got, ref, n, fpixels, prefix);
    return 1;
}

/* Descending order, NaN first (so a NaN reference pixel is among those checked). */
static int brighter_first(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    if (isnan(x) || isnan(y))
        return isnan(y) - isnan(x);
    return (x < y) - (x > y);
}

/* Pearson correlation, two-pass; two constant images correlate (1), one alone does not (0). */
static double pearson(const float *got, const float *ref, size_t n)
{
    double mg = 0.0, mr = 0.0, sgr = 0.0, sgg = 0.0, srr = 0.0;
    for (size_t i = 0; i < n; i++) {
        mg += got[i];
        mr += ref[i];
    }
    mg /= (double)n;
    mr /= (double)n;
    for (size_t i = 0; i < n; i++) {
        const double dg = (double)got[i] - mg, dr = (double)ref[i] - mr;
        sgr += dg * dr;
        sgg += dg * dg;
        srr += dr * dr;
    }
    if (sgg == 0.0 || srr == 0.0)
        return sgg == srr ? 1.0 : 0.0;
    return sgr / sqrt(sgg * srr);
}

/* Worst relative error over the k brightest reference pixels: those above the k-th largest
 * value, then pixels equal to it in index order until there are k.  0 when ref and got are
 * both 0; NaN (sticky) fails.  Returns the count beyond tol; *worst_rel, *worst_i the worst. */
static size_t brightest_check(const float *got, const float *ref, size_t n, size_t k, double tol,
                              double *worst_rel, size_t *worst_i)
{
    float *v = malloc(n * sizeof *v);
    *worst_rel = 0.0;
    *worst_i = 0;
    if (!v) {
        *worst_rel = NAN;
        return k;
    }
    memcpy(v, ref, n * sizeof *v);
    qsort(v, n, sizeof *v, brighter_first);
    const float t = v[k - 1];
    size_t above = 0, ties = 0, bad = 0;
    for (size_t i = 0; i < k; i++)
        above += brighter_first(&v[i], &t) < 0;
    free(v);
    for (size_t i = 0; i < n; i++) {
        int take = brighter_first(&ref[i], &t) < 0;
        if (!take && brighter_first(&ref[i], &t) == 0 && ties < k - above) {
            ties++;
            take = 1;
        }
        if (!take)
            continue;
        const double d = fabs((double)got[i] - (double)ref[i]);
        const double rel = ref[i] != 0.0f ? d / fabs((double)ref[i]) : d > 0.0 ? INFINITY : d;
        if (!(rel <= tol))
            bad++;
        if (rel > *worst_rel || (isnan(rel) && !isnan(*worst_rel))) {
            *worst_rel = rel;
            *worst_i = i;
        }
    }
    return bad;
}

int nb_test_compare_floats_t2(const float *got, const float *ref, size_t n, int fpixels,
                              const char *prefix, struct nb_t2_result *out)
{
    struct nb_t2_result r = {0};
    double sg = 0.0, sr = 0.0;
    size_t worst = 0;
    if (n == 0)
        return 1;
    float_stats(got, ref, n, fpixels, "T2: for information");
    for (size_t i = 0; i < n; i++) {
        sg += got[i];
        sr += ref[i];
    }
    r.corr = pearson(got, ref, n);
    r.sum_ratio = sr != 0.0 ? sg / sr : sg == 0.0 ? 1.0 : INFINITY;
    r.top_n = n / 100 > 0 ? n / 100 : 1;
    r.top_bad = brightest_check(got, ref, n, r.top_n, NB_T2_TOP_REL, &r.top_rel, &worst);
    const int ok_corr = r.corr >= NB_T2_CORR_MIN;
    const int ok_sum = fabs(r.sum_ratio - 1.0) <= NB_T2_SUM_TOL;
    printf("float image (T2): corr %.9f, 1-corr %.2e (need corr >= %g)%s\n", r.corr,
           1.0 - r.corr, NB_T2_CORR_MIN, ok_corr ? "" : " FAILS");
    printf("float image (T2): sum ratio %.9f, |ratio-1| %.2e (need <= %g)%s\n", r.sum_ratio,
           fabs(r.sum_ratio - 1.0), NB_T2_SUM_TOL, ok_sum ? "" : " FAILS");
    printf("float image (T2): brightest %zu pixels: worst rel %.3e at slow %zu fast %zu (got %.9g "
           "ref %.9g), %zu beyond %g%s\n",
           r.top_n, r.top_rel, worst / (size_t)fpixels, worst % (size_t)fpixels,
           (double)got[worst], (double)ref[worst], r.top_bad, NB_T2_TOP_REL,
           r.top_bad ? " FAILS" : "");
    if (out)
        *out = r;
    if (ok_corr && ok_sum && r.top_bad == 0)
        return 0;
    float_evidence(got, ref, n, fpixels, prefix);
    return 1;
}
