/* test_golden.c -- one golden case: run its cmd.txt with our program and compare every file.
 *
 * usage: test_golden <nanobragg binary> <case> [--trace] [--extra "<flags>"] [--tier T0|T1c|T2]
 *                    [--same-as "<flags>"] [--count-only] [--tag <name>] [--gpu]
 * Runs in a scratch folder (build/tests/scratch/run_<case>[_<tier>]) with `inputs` pointing at
 * the golden inputs.  The golden folder is $NB_GOLDEN_DIR, else the build's unpacked copy of
 * the vendored tests/golden/data; no folder, no case or no meta.json is a failure, never a skip.
 * --extra: flags appended to cmd.txt (split at blanks), e.g. "--math=exact".
 * Files: the case's meta.json lists the files stored in the case folder ("files") and the
 * files the reference run wrote ("files_created").  Every listed file must be there, every
 * file there must be listed; our run must write exactly "files_created" (Fdump.bin included,
 * though the reference's copy was deleted and is not compared), and each written image must
 * have its reference copy (X or X.gz).  A file missing on either side is a failure.
 * Verdicts (--tier, spec/acceptance.md "Tolerance tiers"; default T0):
 *   T0  (--math=exact): float image bit-identical; SMV int and noise images: pixels identical,
 *       header key by key (HEADER_BYTES may differ where the reference's header overran 512
 *       bytes: supervisor_roi); PGM identical; stdout identical line by line apart from the
 *       banner, nanoBragg's pointer line "mmap(...)", TRACE lines and our NOTE: lines.
 *   T1c (the default, fast math): float image rel-Linf <= 1e-9; everything else as T0 (the
 *       spec allows 0.01 % of int pixels off by 1; in double we require identical images).
 *   T2  (--precision=single): float image corr, sum ratio and brightest 1 %
 *       (nb_test_compare_floats_t2); int image within max(1, 1e-3 x value) counts; noise image
 *       size and header only; PGM not compared; stdout as T0 but with the numbers of the image
 *       statistics lines masked (stat_line()).
 * --same-as: also run cmd.txt with these flags instead of --extra's and require every file
 * both runs wrote to be byte-identical (e.g. the CUDA back-end on the CPU grid emulator
 * against the CPU back-end, in single precision where the golden verdict is statistical).
 * --count-only: report --same-as's differences (files, float pixels) without failing (the GPU's
 * libm against glibc's: T1c is the verdict, the count is the record).
 * --gpu: the run needs a real CUDA device: where it fails for want of one ("no usable CUDA
 * device"), the test is skipped (exit 77), or fails when NB_REQUIRE_GPU=1.
 * --tag: the scratch folder's suffix (default: the tier's), for tests that run side by side.
 * --trace: for each trace_<s>_<f>.txt listed in meta.json, rerun with -trace_pixel s f and
 * require our per-pixel TRACE_C lines to equal the reference's (the program traces the
 * reference arithmetic in every mode, so no tier applies).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nb_testutil.h"

#define MAXARGS 256
#define PATHLEN 4096
#define MAXFILES 64
#define NAMELEN 256

static char golden[PATHLEN], casedir[PATHLEN], scratch[PATHLEN];

/* The verdict sets of --tier (spec/acceptance.md "Tolerance tiers"). */
enum tier {
    TIER_T0,  /* --math=exact: every file identical                                 */
    TIER_T1C, /* default mode: float rel-Linf <= T1C_REL, every other file identical */
    TIER_T2   /* --precision=single: statistical float verdict, tolerant int image   */
};
/* rel = max|ours - ref| / max(ref), as the spec's metrics define it; nb_test_compare_floats
 * divides by max|ref|, the same for these images (intensities, never negative). */
#define T1C_REL 1e-9
/* T2 int image: pixels within max(1, T2_INT_REL x value) counts of the reference.  The int
 * image is the float image times a scale (55000/max_I unless -scale is given), rounded: a
 * float image within T2 moves a pixel by a rounding flip (1 count) and by its own relative
 * error times the scale's, which T2 bounds by 1e-3 for the brightest pixels. */
#define T2_INT_REL 1e-3

/* Flags appended to cmd.txt (--extra), split at blanks. */
struct extra_args {
    int n;
    char *arg[MAXARGS / 2];
};

/* meta.json's file lists */
struct name_list {
    int n;
    char name[MAXFILES][NAMELEN];
};
static struct name_list stored, created;

static int in_list(const struct name_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name))
            return 1;
    return 0;
}

/* The array of strings under "key" in a JSON text (flat string arrays only: file names
 * without escapes).  0 on success, -1 when the key is absent or the array is malformed. */
static int json_names(const char *json, const char *key, struct name_list *out)
{
    char pat[NAMELEN + 2];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    p += strspn(p, " \t\r\n");
    if (*p++ != ':')
        return -1;
    p += strspn(p, " \t\r\n");
    if (*p++ != '[')
        return -1;
    out->n = 0;
    for (;;) {
        p += strspn(p, " \t\r\n,");
        if (*p == ']')
            return 0;
        if (*p != '"' || out->n == MAXFILES)
            return -1;
        const char *e = strchr(++p, '"');
        if (!e || e - p >= NAMELEN || memchr(p, '\\', (size_t)(e - p)))
            return -1;
        memcpy(out->name[out->n], p, (size_t)(e - p));
        out->name[out->n++][e - p] = '\0';
        p = e + 1;
    }
}

static int read_meta(void)
{
    char p[PATHLEN];
    snprintf(p, sizeof p, "%s/meta.json", casedir);
    char *json = (char *)nb_test_read_file(p, NULL);
    if (!json) {
        printf("FAIL: %s missing: the case's list of files is unknown\n", p);
        return 1;
    }
    int bad = 0;
    if (json_names(json, "files", &stored) != 0 ||
        json_names(json, "files_created", &created) != 0) {
        printf("FAIL: %s: no readable \"files\" / \"files_created\" lists\n", p);
        bad = 1;
    }
    free(json);
    return bad;
}

/* Every file meta.json lists is in the case folder, and every file there is listed. */
static int check_case_folder(void)
{
    char p[PATHLEN];
    int bad = 0;
    for (int i = 0; i < stored.n; i++) {
        snprintf(p, sizeof p, "%s/%s", casedir, stored.name[i]);
        if (!nb_test_exists(p)) {
            printf("FAIL: reference file %s is listed in meta.json but missing\n", p);
            bad = 1;
        }
    }
    DIR *d = opendir(casedir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "meta.json") && !in_list(&stored, e->d_name)) {
            printf("FAIL: %s/%s is not listed in meta.json (it would go uncompared)\n", casedir,
                   e->d_name);
            bad = 1;
        }
    if (d)
        closedir(d);
    return bad;
}

/* Our run wrote exactly the files the reference wrote (besides its console captures). */
static int check_written(void)
{
    char p[PATHLEN];
    int bad = 0;
    for (int i = 0; i < created.n; i++) {
        snprintf(p, sizeof p, "%s/%s", scratch, created.name[i]);
        if (!nb_test_exists(p)) {
            printf("FAIL: the reference wrote %s, this run did not\n", created.name[i]);
            bad = 1;
        }
    }
    DIR *d = opendir(scratch);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        const char *n = e->d_name;
        if (n[0] == '.' || !strcmp(n, "inputs") || !strcmp(n, "stdout.txt") ||
            !strcmp(n, "stderr.txt") || in_list(&created, n))
            continue;
        printf("FAIL: this run wrote %s, the reference did not\n", n);
        bad = 1;
    }
    if (d)
        closedir(d);
    return bad;
}

static int split_cmd(char *text, char **argv, int max)
{
    int n = 0;
    for (char *t = strtok(text, " \t\r\n"); t && n < max - 1; t = strtok(NULL, " \t\r\n"))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

/* nanoBragg's console lines that print statistics of the rendered image: max_I and its
 * position, mean/rms/rmsd, intfile_scale and pgm_scale (55000/max_I and a function of rmsd
 * unless given), the noise photon count.  Every other line printed after the render ("solid
 * angle", "writing ...") and every set-up line before it comes from the command line alone
 * (read from the stdout.txt of all 36 cases). */
static int stat_line(const char *l)
{
    static const char *const prefix[] = {"max_I = ", "mean= ", "intfile_scale = ",
                                         "pgm_scale = "};
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
        if (!strncmp(l, prefix[i], strlen(prefix[i])))
            return 1;
    return strstr(l, " photons on noise image (") != NULL;
}

/* Replace in place every number (a run of digits, '.', '+', '-', 'e', 'E' holding a digit)
 * by '#', so that the text of the line is still compared. */
static void mask_numbers(char *l)
{
    const char *set = "0123456789.+-eE";
    char *w = l;
    for (const char *r = l; *r;) {
        size_t k = strspn(r, set);
        if (k == 0) {
            *w++ = *r++;
            continue;
        }
        if (strcspn(r, "0123456789") < k) { /* a digit inside the run: a number */
            *w++ = '#';
        } else {
            memmove(w, r, k); /* "e" of "mean", "-" of a word: kept */
            w += k;
        }
        r += k;
    }
    *w = '\0';
}

/* Lines of a text with the ones we do not compare removed; with mask_stats, the numbers of
 * the image statistics lines masked (T2: they follow the single-precision image). */
static char **filtered_lines(char *text, int *n, int trace_mode, int mask_stats)
{
    char **v = malloc(sizeof(char *) * (strlen(text) / 2 + 2));
    int k = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (trace_mode) {
            if (!strncmp(l, "TRACE_C: ", 9) || !strncmp(l, "TRACE_C_PHI", 11) ||
                !strncmp(l, "TRACE_C_SOURCE2", 15))
                v[k++] = l;
            continue;
        }
        if (!strncmp(l, "TRACE", 5) || !strncmp(l, "mmap(", 5) || !strncmp(l, "NOTE:", 5) ||
            !strncmp(l, "nanoBragg nanocrystal", 21) || !strncmp(l, "nanobragg-hpc", 13))
            continue;
        if (mask_stats && stat_line(l))
            mask_numbers(l);
        v[k++] = l;
    }
    *n = k;
    return v;
}

static int compare_text(const char *what, char *ref, char *got, int trace_mode, int mask_stats)
{
    int nr, ng, bad = 0;
    char **r = filtered_lines(ref, &nr, trace_mode, mask_stats);
    char **g = filtered_lines(got, &ng, trace_mode, mask_stats);
    int n = nr < ng ? nr : ng;
    for (int i = 0; i < n && bad < 5; i++)
        if (strcmp(r[i], g[i]) != 0) {
            printf("%s line %d differs:\n  ref: %s\n  got: %s\n", what, i + 1, r[i], g[i]);
            bad++;
        }
    if (nr != ng) {
        printf("%s: %d lines in the reference, %d in ours\n", what, nr, ng);
        bad++;
    }
    free(r);
    free(g);
    return bad ? 1 : 0;
}

/* Path of a reference file the case lists in meta.json, as X or X.gz; NULL if not listed. */
static const char *stored_path(const char *name, char *p, size_t size)
{
    char gz[NAMELEN + 4];
    snprintf(gz, sizeof gz, "%s.gz", name);
    const char *n = in_list(&stored, name) ? name : in_list(&stored, gz) ? gz : NULL;
    if (!n)
        return NULL;
    snprintf(p, size, "%s/%s", casedir, n);
    return p;
}

/* That file's contents (.gz decompressed); NULL with a FAIL line when it is not listed, is
 * missing or cannot be read. */
static char *case_file(const char *name, size_t *len)
{
    char p[PATHLEN];
    if (!stored_path(name, p, sizeof p)) {
        printf("FAIL: reference file %s (or %s.gz) is not listed in the case's meta.json\n", name,
               name);
        return NULL;
    }
    char *b = nb_test_exists(p) ? (char *)nb_test_read_file(p, len) : NULL;
    if (!b)
        printf("FAIL: reference file %s is missing or unreadable\n", p);
    return b;
}

/* Run cmd.txt plus the extra flags (then more: -trace_pixel s f, or none) in a fresh dir. */
static int run_case(const char *bin, const char *dir, const struct extra_args *extra,
                    char *const *more, int n_more, const char *out_name)
{
    char cmd[PATHLEN], *argv[MAXARGS], p[PATHLEN], outp[PATHLEN], errp[PATHLEN];
    snprintf(p, sizeof p, "%s/cmd.txt", casedir);
    char *text = (char *)nb_test_read_file(p, NULL);
    if (!text)
        return -1;
    argv[0] = (char *)bin;
    int n = split_cmd(text, argv + 1, MAXARGS / 2 - 1) + 1;
    for (int i = 0; i < extra->n; i++)
        argv[n++] = extra->arg[i];
    for (int i = 0; i < n_more && n < MAXARGS - 1; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    if (nb_test_fresh_dir(dir) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "%s/inputs", golden);
    snprintf(p, sizeof p, "%s/inputs", dir);
    if (symlink(cmd, p) != 0)
        return -1;
    snprintf(outp, sizeof outp, "%s/%s", dir, out_name);
    snprintf(errp, sizeof errp, "%s/stderr.txt", dir);
    int rc = nb_test_run(dir, argv, outp, errp);
    free(text);
    return rc;
}

/* Header "KEY=value" items of an SMV header, compared as text; HEADER_BYTES may differ when
 * the reference's header overran 512 bytes (we write a correct 1024-byte header). */
static int compare_smv_headers(const char *what, const char *ref, size_t rl, const char *got,
                               size_t gl)
{
    char *a = strndup(ref, rl), *b = strndup(got, gl);
    char *ea = strchr(a, '}'), *eb = strchr(b, '}');
    int bad = 0;
    if (!ea || !eb) {
        printf("%s: header has no closing brace\n", what);
        free(a);
        free(b);
        return 1;
    }
    *ea = *eb = '\0';
    int ref_long = (int)(ea - a) + 2 > 512;
    char *sa = NULL, *sb = NULL;
    char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
    while (la || lb) {
        if (!la || !lb) {
            printf("%s: header item counts differ\n", what);
            bad = 1;
            break;
        }
        int skip = ref_long && !strncmp(la, "HEADER_BYTES=", 13) && !strncmp(lb, "HEADER_BYTES=", 13);
        if (!skip && strcmp(la, lb) != 0) {
            printf("%s header: ref '%s' got '%s'\n", what, la, lb);
            bad = 1;
        }
        la = strtok_r(NULL, "\n", &sa);
        lb = strtok_r(NULL, "\n", &sb);
    }
    free(a);
    free(b);
    return bad;
}

/* How compare_u16_images judges the pixels of an SMV image. */
enum u16_check {
    U16_EXACT,  /* every pixel identical (T0, T1c)                                        */
    U16_COUNTS, /* within max(1, T2_INT_REL x value) counts (T2 int image)                 */
    U16_HEADER  /* pixels not compared, the file's size checked (T2 noise image: Poisson
                 * draws from a different float image; comparing their statistics is
                 * AT-NOISE-001's job, out of scope here) */
};

/* The file's size is HEADER_BYTES + 2 x npix: every pixel written, though none is compared. */
static int check_smv_size(const char *name, const char *got, size_t gl, size_t npix)
{
    const char *h = strstr(got, "HEADER_BYTES=");
    long hb = h ? atol(h + 13) : -1;
    int ok = hb > 0 && (size_t)hb + 2 * npix == gl;
    printf("%s: %zu bytes, HEADER_BYTES %ld + %zu pixels x 2: %s\n", name, gl, hb, npix,
           ok ? "size right" : "WRONG SIZE");
    return !ok;
}

/* SMV image: header key by key, then the pixels as `how` says. */
static int compare_u16_images(const char *name, size_t npix, enum u16_check how)
{
    size_t rl, gl;
    char p[PATHLEN];
    char *ref = case_file(name, &rl);
    snprintf(p, sizeof p, "%s/%s", scratch, name);
    char *got = (char *)nb_test_read_file(p, &gl);
    int bad = 0;
    if (!ref || !got) {
        if (!got)
            printf("FAIL: %s: not written by this run\n", name);
        free(ref);
        free(got);
        return 1;
    }
    if (rl < 2 * npix || gl < 2 * npix) {
        printf("%s: too short (ref %zu, got %zu bytes)\n", name, rl, gl);
        free(ref);
        free(got);
        return 1;
    }
    bad |= compare_smv_headers(name, ref, rl - 2 * npix, got, gl - 2 * npix);
    if (how == U16_HEADER) {
        bad |= check_smv_size(name, got, gl, npix);
        printf("%s: pixels not compared (noise drawn from a single-precision image)\n", name);
        free(ref);
        free(got);
        return bad;
    }
    const unsigned char *r = (const unsigned char *)ref + rl - 2 * npix;
    const unsigned char *g = (const unsigned char *)got + gl - 2 * npix;
    size_t ndiff = 0, nbeyond = 0;
    int maxd = 0;
    for (size_t i = 0; i < npix; i++) {
        int a = r[2 * i] | r[2 * i + 1] << 8, b = g[2 * i] | g[2 * i + 1] << 8;
        int d = abs(a - b);
        double tol = how == U16_EXACT ? 0.0 : fmax(1.0, T2_INT_REL * a);
        ndiff += d != 0;
        maxd = d > maxd ? d : maxd;
        if (d > tol && ++nbeyond <= 5)
            printf("  %s pixel %zu: ref %d got %d\n", name, i, a, b);
    }
    if (how == U16_EXACT)
        printf("%s: %zu of %zu pixels differ (exact comparison)\n", name, ndiff, npix);
    else
        printf("%s: %zu of %zu pixels differ, max |d| %d counts, %zu beyond max(1, %g x value)\n",
               name, ndiff, npix, maxd, nbeyond, T2_INT_REL);
    bad |= nbeyond != 0;
    free(ref);
    free(got);
    return bad;
}

static int compare_bytes(const char *name)
{
    size_t rl, gl;
    char p[PATHLEN];
    char *ref = case_file(name, &rl);
    snprintf(p, sizeof p, "%s/%s", scratch, name);
    char *got = (char *)nb_test_read_file(p, &gl);
    int same = ref && got && gl == rl && memcmp(ref, got, rl) == 0;
    printf("%s: %s\n", name, same ? "identical" : "DIFFERS");
    free(ref);
    free(got);
    return !same;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The noise image's name: the value of nanoBragg's -noisefile (-noiseimage; matched inside a
 * token, as nanoBragg's strstr does) in cmd.txt, else its default noiseimage.img. */
static void noise_file_name(char *out, size_t size)
{
    char p[PATHLEN], *argv[MAXARGS];
    snprintf(out, size, "noiseimage.img");
    snprintf(p, sizeof p, "%s/cmd.txt", casedir);
    char *text = (char *)nb_test_read_file(p, NULL);
    if (!text)
        return;
    int n = split_cmd(text, argv, MAXARGS);
    for (int i = 0; i + 1 < n; i++)
        if (strstr(argv[i], "-noisefile") || strstr(argv[i], "-noiseimage"))
            snprintf(out, size, "%s", argv[i + 1]);
    free(text);
}

/* The float image by the tier's verdict; the numbers are printed whether it passes or not. */
static int compare_float_image(const float *got, const float *ref, size_t npix, int fpixels,
                               enum tier tier)
{
    char prefix[PATHLEN];
    snprintf(prefix, sizeof prefix, "%s/float", scratch);
    if (tier == TIER_T0)
        return nb_test_compare_floats_exact(got, ref, npix, fpixels, prefix);
    if (tier == TIER_T2)
        return nb_test_compare_floats_t2(got, ref, npix, fpixels, prefix, NULL);
    /* T1c: "max|d| ... rel ... N pixels differ" from nb_test_compare_floats */
    return nb_test_compare_floats(got, ref, npix, fpixels, T1C_REL, prefix, NULL);
}

/* Every file the reference wrote besides float.bin, by kind; one we cannot compare fails. */
static int compare_other_files(size_t npix, enum tier tier)
{
    char noise[NAMELEN];
    int fails = 0;
    noise_file_name(noise, sizeof noise);
    for (int i = 0; i < created.n; i++) {
        const char *f = created.name[i];
        if (!strcmp(f, "float.bin") || !strcmp(f, "Fdump.bin"))
            continue; /* compared before; Fdump.bin: the reference's copy was deleted */
        if (ends_with(f, ".img")) {
            enum u16_check how = tier != TIER_T2    ? U16_EXACT
                                 : !strcmp(f, noise) ? U16_HEADER
                                                     : U16_COUNTS;
            fails += compare_u16_images(f, npix, how);
        } else if (ends_with(f, ".pgm") && tier == TIER_T2) {
            /* its pixels and its header's "pixels scaled by" follow the image's rmsd; that it
             * was written is checked (check_written) */
            printf("%s: not compared (single precision)\n", f);
        } else if (ends_with(f, ".pgm")) {
            fails += compare_bytes(f);
        } else {
            printf("FAIL: no comparison defined for %s\n", f);
            fails++;
        }
    }
    return fails;
}

/* stdout line by line; T2 masks the numbers of the image statistics lines (stat_line()). */
static int compare_stdout(enum tier tier)
{
    size_t rl, gl;
    char p[PATHLEN];
    char *so_ref = case_file("stdout.txt", &rl);
    snprintf(p, sizeof p, "%s/stdout.txt", scratch);
    char *so_got = (char *)nb_test_read_file(p, &gl);
    int bad = 1;
    if (!so_ref || !so_got) {
        printf("stdout missing\n");
    } else {
        bad = compare_text("stdout", so_ref, so_got, 0, tier == TIER_T2);
        printf("stdout: %s\n", bad                ? "DIFFERS"
                               : tier == TIER_T2 ? "identical (banner, NOTE, TRACE, mmap lines "
                                                   "excluded; image statistics numbers masked)"
                                                 : "identical (banner, NOTE, TRACE, mmap lines "
                                                   "excluded)");
    }
    free(so_ref);
    free(so_got);
    return bad;
}

/* Every file of "files_created" in two run folders, byte for byte (float images: the number
 * of differing pixels). */
static int compare_runs(const char *dir_a, const char *dir_b, int count_only)
{
    int bad = 0;
    for (int i = 0; i < created.n; i++) {
        char pa[PATHLEN], pb[PATHLEN];
        size_t la = 0, lb = 0;
        snprintf(pa, sizeof pa, "%s/%s", dir_a, created.name[i]);
        snprintf(pb, sizeof pb, "%s/%s", dir_b, created.name[i]);
        unsigned char *a = nb_test_read_file(pa, &la), *b = nb_test_read_file(pb, &lb);
        int same = a && b && la == lb && memcmp(a, b, la) == 0;
        if (!same && a && b && la == lb && ends_with(created.name[i], ".bin")) {
            size_t n = 0;
            for (size_t k = 0; k + 4 <= la; k += 4)
                n += memcmp(a + k, b + k, 4) != 0;
            printf("%s: %zu of %zu pixels differ from the --same-as run\n", created.name[i], n,
                   la / 4);
        } else {
            printf("%s: %s\n", created.name[i],
                   same ? "byte-identical to the --same-as run" : "DIFFERS from the --same-as run");
        }
        bad += !same;
        free(a);
        free(b);
    }
    return count_only ? 0 : bad;
}

static int golden_case(const char *bin, const char *name, const struct extra_args *extra,
                       enum tier tier, const struct extra_args *same_as, int count_only,
                       const char *tag, int gpu)
{
    static const char *const suffix[] = {"", "_t1c", "_t2"}; /* by tier: tests run in parallel */
    int fails = check_case_folder();
    char p[PATHLEN];
    snprintf(scratch, sizeof scratch, "%s/run_%s%s%s", NB_TEST_SCRATCH, name,
             tag ? "_" : suffix[tier], tag ? tag : "");
    int rc = run_case(bin, scratch, extra, NULL, 0, "stdout.txt");
    if (rc != 0) {
        snprintf(p, sizeof p, "%s/stderr.txt", scratch);
        char *e = (char *)nb_test_read_file(p, NULL);
        if (gpu && rc == 9 && e && strstr(e, "no usable CUDA device")) {
            e[strcspn(e, "\n")] = '\0';
            int verdict = nb_test_no_gpu(e);
            free(e);
            return verdict;
        }
        printf("FAIL: exit status %d: %s\n", rc, e ? e : "");
        free(e);
        return 1;
    }
    fails += check_written();
    size_t rl, gl;
    float *ref = (float *)case_file("float.bin", &rl);
    snprintf(p, sizeof p, "%s/float.bin", scratch);
    float *got = (float *)nb_test_read_file(p, &gl);
    if (!ref || !got || rl != gl || rl % sizeof(float) != 0) {
        printf("FAIL: float image missing or of different size (ref %zu, got %zu bytes)\n",
               ref ? rl : 0, got ? gl : 0);
        free(ref);
        free(got);
        return 1;
    }
    size_t npix = rl / sizeof(float);
    /* fpixels from the int image header, for pixel coordinates in the report */
    int fpixels = 1;
    char *ih = stored_path("int.img", p, sizeof p) && nb_test_exists(p)
                   ? (char *)nb_test_read_file(p, NULL)
                   : NULL;
    if (ih) {
        char *s1 = strstr(ih, "SIZE1=");
        if (s1 && atoi(s1 + 6) > 0)
            fpixels = atoi(s1 + 6);
        free(ih);
    }
    fails += compare_float_image(got, ref, npix, fpixels, tier);
    free(ref);
    free(got);
    fails += compare_other_files(npix, tier);
    fails += compare_stdout(tier);
    if (same_as) {
        char other[PATHLEN + 8];
        snprintf(other, sizeof other, "%s_same", scratch);
        if (run_case(bin, other, same_as, NULL, 0, "stdout.txt") != 0) {
            printf("FAIL: the --same-as run failed\n");
            return 1;
        }
        fails += compare_runs(scratch, other, count_only);
    }
    return fails ? 1 : 0;
}

static int golden_traces(const char *bin, const char *name, const struct extra_args *extra)
{
    int fails = 0, n = 0;
    for (int i = 0; i < stored.n; i++) {
        int s, f;
        if (!ends_with(stored.name[i], ".txt") ||
            sscanf(stored.name[i], "trace_%d_%d", &s, &f) != 2)
            continue;
        char ss[32], fs[32], dir[PATHLEN], p[PATHLEN];
        snprintf(ss, sizeof ss, "%d", s);
        snprintf(fs, sizeof fs, "%d", f);
        snprintf(dir, sizeof dir, "%s/trace_%s_%d_%d", NB_TEST_SCRATCH, name, s, f);
        n++;
        char *trace_args[] = {"-trace_pixel", ss, fs};
        int rc = run_case(bin, dir, extra, trace_args, 3, "stdout.txt");
        if (rc != 0) {
            printf("FAIL: trace run exit status %d\n", rc);
            fails++;
            continue;
        }
        char *ref = case_file(stored.name[i], NULL);
        snprintf(p, sizeof p, "%s/stdout.txt", dir);
        char *got = (char *)nb_test_read_file(p, NULL);
        int bad = (!ref || !got) ? 1 : compare_text(stored.name[i], ref, got, 1, 0);
        printf("%s: %s\n", stored.name[i], bad ? "DIFFERS" : "identical per-pixel TRACE_C lines");
        fails += bad;
        free(ref);
        free(got);
    }
    if (n == 0) {
        printf("FAIL: meta.json lists no trace files\n");
        return 1;
    }
    return fails ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: test_golden <nanobragg> <case> [--trace] [--extra \"<flags>\"] "
                    "[--tier T0|T1c|T2] [--same-as \"<flags>\"] [--count-only] [--tag <name>] "
                    "[--gpu]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static struct extra_args extra, same;
    enum tier tier = TIER_T0;
    int trace = 0, have_same = 0, count_only = 0, gpu = 0;
    const char *tag = NULL;
    if (argc < 3)
        return usage();
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--trace")) {
            trace = 1;
        } else if (!strcmp(argv[i], "--extra") && i + 1 < argc) {
            /* argv's own storage, split in place */
            extra.n += split_cmd(argv[++i], extra.arg + extra.n, MAXARGS / 2 - extra.n);
        } else if (!strcmp(argv[i], "--same-as") && i + 1 < argc) {
            same.n += split_cmd(argv[++i], same.arg + same.n, MAXARGS / 2 - same.n);
            have_same = 1;
        } else if (!strcmp(argv[i], "--count-only")) {
            count_only = 1;
        } else if (!strcmp(argv[i], "--gpu")) {
            gpu = 1;
        } else if (!strcmp(argv[i], "--tag") && i + 1 < argc) {
            tag = argv[++i];
        } else if (!strcmp(argv[i], "--tier") && i + 1 < argc) {
            const char *t = argv[++i];
            if (!strcmp(t, "T0"))
                tier = TIER_T0;
            else if (!strcmp(t, "T1c"))
                tier = TIER_T1C;
            else if (!strcmp(t, "T2"))
                tier = TIER_T2;
            else
                return usage();
        } else {
            return usage();
        }
    }
    const char *g = nb_test_golden_dir();
    if (!g) {
        printf("FAIL: golden data not found at '%s' (NB_GOLDEN_DIR, or the build's unpacked "
               "copy of tests/golden/data: run cmake --build)\n",
               getenv("NB_GOLDEN_DIR") && *getenv("NB_GOLDEN_DIR") ? getenv("NB_GOLDEN_DIR")
                                                                   : NB_GOLDEN_DEFAULT);
        return 1;
    }
    snprintf(golden, sizeof golden, "%s", g);
    snprintf(casedir, sizeof casedir, "%s/cases/%s", golden, argv[2]);
    if (!nb_test_exists(casedir)) {
        printf("FAIL: no golden case %s\n", casedir);
        return 1;
    }
    if (read_meta() != 0) {
        printf("%s FAILED\n", argv[2]);
        return 1;
    }
    static const char *const tier_name[] = {"T0", "T1c", "T2"};
    printf("%s: %s%s%s", argv[2], trace ? "per-pixel traces" : "tier ",
           trace ? "" : tier_name[tier], extra.n ? ", extra flags:" : "");
    for (int i = 0; i < extra.n; i++)
        printf(" %s", extra.arg[i]);
    printf("\n");
    int rc = trace ? golden_traces(argv[1], argv[2], &extra)
                   : golden_case(argv[1], argv[2], &extra, tier, have_same ? &same : NULL,
                                 count_only, tag, gpu);
    printf("%s %s\n", argv[2], rc == 77 ? "skipped" : rc ? "FAILED" : "passed");
    return rc;
}
