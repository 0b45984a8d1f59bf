/* nb_hkl.c -- HKL text files and the Fdump.bin cache (spec/formats.md §1-§2).
 *
 * Default ("stream4") reading matches nanoBragg's: numbers in records of four, line breaks
 * meaningless, so extra columns are misread exactly as the reference misreads them (Q18).
 * Decided deviations: blank lines and '#' comment lines are skipped; any other non-numeric
 * token, a non-finite number, an index not written as an integer (the reference's second
 * pass would stop there), a NUL byte or a final incomplete record is an error naming file and
 * line.
 * "first4" takes the first four numbers of each line and ignores the rest.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/nb_sys.h"
#include "nb_files.h"
#include "nb_io.h"

/* Read a whole file; NUL-terminated.  Buffers start small and double: a small file costs no
 * mmap (glibc and ASan map blocks above 128 KiB anew every time). */
#define SLURP_CHUNK 16384
static nb_status slurp(const char *path, char **buf, size_t *len, struct nb_err *err)
{
    FILE *fp = nb_files_fopen(path, "rb");
    char *b = NULL;
    size_t n = 0, cap = 0;
    if (!fp) {
        nb_err_set(err, "%s: cannot open (%s)", path, strerror(errno));
        return NB_E_INPUT;
    }
    for (;;) {
        if (n + SLURP_CHUNK + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 2 * SLURP_CHUNK;
            char *nb = realloc(b, ncap);
            if (!nb) {
                free(b);
                fclose(fp);
                nb_err_set(err, "%s: out of memory reading the file", path);
                return NB_E_NOMEM;
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, SLURP_CHUNK, fp);
        n += got;
        if (got < SLURP_CHUNK)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(b);
        nb_err_set(err, "%s: read error", path);
        return NB_E_INPUT;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return NB_OK;
}

static int is_int_literal(const char *t, size_t len)
{
    size_t i = 0;
    if (i < len && (t[i] == '+' || t[i] == '-'))
        i++;
    if (i == len)
        return 0;
    for (; i < len; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    return 1;
}

/* Parse a whole token as a finite double. */
static int parse_num(const char *t, size_t len, double *v)
{
    char tmp[128];
    if (len == 0 || len >= sizeof tmp)
        return 0;
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double x = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(x))
        return 0;
    *v = x;
    return 1;
}

struct rec {
    double v[4];
    long line;
};

/* Tokenise into records of four numbers (see file comment). */
static nb_status hkl_records(const char *path, const char *buf, int columns, struct rec **out,
                             long *nrec, const struct nb_msg_sink *msgs, struct nb_err *err)
{
    struct rec *r = NULL;
    long n = 0, cap = 0, line = 0;
    int have = 0; /* values in the current (incomplete) record */
    long rec_line = 0;
    const char *p = buf;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        const char *end = eol ? eol : p + strlen(p);
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f' || *q == '\v'))
            q++;
        int col = 0;
        if (q < end && *q != '#') {
            while (q < end) {
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f' ||
                                   *q == '\v'))
                    q++;
                if (q >= end)
                    break;
                const char *t = q;
                while (q < end && !(*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f' ||
                                    *q == '\v'))
                    q++;
                size_t tl = (size_t)(q - t);
                if (columns == NB_HKL_FIRST4 && col >= 4)
                    break; /* ignore the rest of the line */
                double v;
                if (!parse_num(t, tl, &v)) {
                    nb_err_set(err, "%s:%ld: '%.*s' is not a finite number", path, line,
                               (int)(tl > 40 ? 40 : tl), t);
                    free(r);
                    return NB_E_INPUT;
                }
                if (have == 0) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        struct rec *nr = realloc(r, sizeof *r * (size_t)cap);
                        if (!nr) {
                            free(r);
                            nb_err_set(err, "%s: out of memory", path);
                            return NB_E_NOMEM;
                        }
                        r = nr;
                    }
                    rec_line = line;
                }
                if (have < 3) {
                    /* the reference's pass 1 warns about non-integer values ... */
                    if (v != ceil(v - 0.4))
                        nb_emitf(msgs, "WARNING: non-integer value for %c (%g) at line %ld\n",
                                 "hkl"[have], v, n);
                    /* ... and its pass 2 (%d) stops at anything but an integer literal */
                    if (columns == NB_HKL_STREAM4 ? !is_int_literal(t, tl) : v != rint(v)) {
                        nb_err_set(err, "%s:%ld: Miller index '%.*s' is not an integer", path,
                                   line, (int)(tl > 40 ? 40 : tl), t);
                        free(r);
                        return NB_E_INPUT;
                    }
                    if (fabs(v) > 1e6) {
                        nb_err_set(err, "%s:%ld: Miller index %g is out of range", path, line, v);
                        free(r);
                        return NB_E_INPUT;
                    }
                }
                r[n].v[have++] = v;
                r[n].line = rec_line;
                col++;
                if (have == 4) {
                    have = 0;
                    n++;
                }
            }
            if (columns == NB_HKL_FIRST4 && have != 0) {
                nb_err_set(err, "%s:%ld: expected h k l F, found only %d number%s", path, line,
                           have, have == 1 ? "" : "s");
                free(r);
                return NB_E_INPUT;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    if (have != 0) {
        nb_err_set(err, "%s:%ld: incomplete last record (%d of 4 numbers h k l F)", path,
                   rec_line, have);
        free(r);
        return NB_E_INPUT;
    }
    *out = r;
    *nrec = n;
    return NB_OK;
}

/* A NUL byte would end the scan early and drop the rest of the file silently. */
static nb_status check_text(const char *path, const char *buf, size_t len, struct nb_err *err)
{
    const char *nul = memchr(buf, '\0', len);
    if (!nul)
        return NB_OK;
    long line = 1;
    for (const char *q = buf; q < nul; q++)
        line += *q == '\n';
    nb_err_set(err, "%s:%ld: NUL byte (not a text file)", path, line);
    return NB_E_INPUT;
}

static nb_status grid_alloc(const char *path, struct nb_hkl_grid *g, struct nb_err *err)
{
    double cells = (double)(g->h_range + 1) * (g->k_range + 1) * (g->l_range + 1);
    if (cells >= 2147483648.0) { /* the pixel loop indexes the grid with int */
        nb_err_set(err, "%s: a %d x %d x %d structure-factor grid has 2^31 cells or more", path,
                   g->h_range + 1, g->k_range + 1, g->l_range + 1);
        return NB_E_INPUT;
    }
    if (!(cells > 0) || !nb_memory_allows(cells * sizeof(double))) {
        nb_err_set(err, "%s: a %d x %d x %d structure-factor grid does not fit in memory", path,
                   g->h_range + 1, g->k_range + 1, g->l_range + 1);
        return NB_E_NOMEM;
    }
    g->F = calloc((size_t)cells, sizeof(double));
    if (!g->F) {
        nb_err_set(err, "%s: out of memory for the structure-factor grid", path);
        return NB_E_NOMEM;
    }
    return NB_OK;
}

nb_status nb_hkl_read(const char *path, int columns, double default_F, struct nb_hkl_grid *g,
                      const struct nb_msg_sink *out, struct nb_err *err)
{
    char *buf = NULL;
    size_t len;
    struct rec *r = NULL;
    long n = 0;
    nb_status st;
    memset(g, 0, sizeof *g);
    if ((st = slurp(path, &buf, &len, err)) != NB_OK)
        return st;
    nb_emitf(out, "counting entries in %s\n", path);
    if ((st = check_text(path, buf, len, err)) == NB_OK)
        st = hkl_records(path, buf, columns, &r, &n, out, err);
    free(buf);
    if (st != NB_OK)
        return st;
    if (n == 0) {
        nb_err_set(err, "%s: no reflections (need lines of h k l F)", path);
        free(r);
        return NB_E_INPUT;
    }
    int hmin = 1000000000, kmin = 1000000000, lmin = 1000000000;
    int hmax = -1000000000, kmax = -1000000000, lmax = -1000000000;
    for (long i = 0; i < n; i++) {
        int h = (int)r[i].v[0], k = (int)r[i].v[1], l = (int)r[i].v[2];
        if (hmin > h) hmin = h;
        if (kmin > k) kmin = k;
        if (lmin > l) lmin = l;
        if (hmax < h) hmax = h;
        if (kmax < k) kmax = k;
        if (lmax < l) lmax = l;
    }
    g->h_min = hmin;
    g->h_max = hmax;
    g->k_min = kmin;
    g->k_max = kmax;
    g->l_min = lmin;
    g->l_max = lmax;
    g->h_range = hmax - hmin + 1;
    g->k_range = kmax - kmin + 1;
    g->l_range = lmax - lmin + 1;
    g->hkls = n;
    if ((st = grid_alloc(path, g, err)) != NB_OK) {
        free(r);
        return st;
    }
    const long sk = g->l_range + 1, sh = (long)(g->k_range + 1) * sk;
    if (default_F != 0.0) {
        nb_emitf(out, "initializing to default_F = %g:\n", default_F);
        for (int h = 0; h < g->h_range; h++)
            for (int k = 0; k < g->k_range; k++)
                for (int l = 0; l < g->l_range; l++)
                    g->F[h * sh + k * sk + l] = default_F;
        nb_emitf(out, "done initializing:\n");
    }
    nb_emitf(out, "re-reading %s\n", path);
    for (long i = 0; i < n; i++) {
        int h = (int)r[i].v[0] - hmin, k = (int)r[i].v[1] - kmin, l = (int)r[i].v[2] - lmin;
        g->F[h * sh + k * sk + l] = r[i].v[3];
    }
    free(r);
    return NB_OK;
}

void nb_hkl_free(struct nb_hkl_grid *g)
{
    if (!g)
        return;
    free(g->F);
    g->F = NULL;
}

/* The Fdump.bin header: six integers, a newline and a form feed; the body starts right after
 * the first form feed (a fix of the reference's whitespace-swallowing fscanf).  Fills the
 * bounds and ranges of *g and the body offset.  The ranges are computed in 64 bits (the file
 * may say INT_MIN and INT_MAX), and the body is checked against them before anything is
 * allocated, so a short file never asks for a large grid. */
static nb_status fdump_header(const char *path, char *buf, size_t len, struct nb_hkl_grid *g,
                              size_t *body, struct nb_err *err)
{
    char *ff = memchr(buf, '\f', len < 4096 ? len : 4096);
    int v[6];
    char tail[4];
    if (!ff || (*ff = '\0', sscanf(buf, "%d %d %d %d %d %d%1[\n]", &v[0], &v[1], &v[2], &v[3],
                                   &v[4], &v[5], tail) != 7)) {
        nb_err_set(err, "%s: not a structure-factor cache (bad header)", path);
        return NB_E_INPUT;
    }
    long long r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (long long)v[2 * i + 1] - v[2 * i] + 1;
        if (r[i] < 1 || r[i] >= INT_MAX) {
            nb_err_set(err, "%s: index range %d..%d in the header is %s", path, v[2 * i],
                       v[2 * i + 1], r[i] < 1 ? "empty" : "too large");
            return NB_E_INPUT;
        }
    }
    const size_t off = (size_t)(ff - buf) + 1;
    const double need = (double)(r[0] + 1) * (double)(r[1] + 1) * (double)(r[2] + 1) * 8.0;
    if ((double)(len - off) < need) {
        nb_err_set(err, "%s: truncated (%zu of %.0f body bytes)", path, len - off, need);
        return NB_E_INPUT;
    }
    g->h_min = v[0];
    g->h_max = v[1];
    g->k_min = v[2];
    g->k_max = v[3];
    g->l_min = v[4];
    g->l_max = v[5];
    g->h_range = (int)r[0];
    g->k_range = (int)r[1];
    g->l_range = (int)r[2];
    *body = off;
    return NB_OK;
}

nb_status nb_fdump_read(const char *path, struct nb_hkl_grid *g, struct nb_err *err)
{
    char *buf = NULL;
    size_t len, off = 0;
    nb_status st;
    memset(g, 0, sizeof *g);
    if ((st = slurp(path, &buf, &len, err)) != NB_OK)
        return st;
    if ((st = fdump_header(path, buf, len, g, &off, err)) != NB_OK ||
        (st = grid_alloc(path, g, err)) != NB_OK) {
        free(buf);
        return st;
    }
    size_t cells = (size_t)(g->h_range + 1) * (g->k_range + 1) * (g->l_range + 1);
    memcpy(g->F, buf + off, cells * sizeof(double));
    free(buf);
    for (size_t i = 0; i < cells; i++)
        if (!isfinite(g->F[i])) {
            nb_hkl_free(g);
            nb_err_set(err, "%s: holds a non-finite structure factor", path);
            return NB_E_INPUT;
        }
    g->hkls = (long)g->h_range * g->k_range * g->l_range;
    return NB_OK;
}

nb_status nb_fdump_bytes(const struct nb_hkl_grid *g, unsigned char **out, size_t *len,
                         struct nb_err *err)
{
    char head[128];
    int hl = snprintf(head, sizeof head, "%d %d %d %d %d %d\n\f", g->h_min, g->h_max, g->k_min,
                      g->k_max, g->l_min, g->l_max);
    size_t cells = (size_t)(g->h_range + 1) * (g->k_range + 1) * (g->l_range + 1);
    unsigned char *b = malloc((size_t)hl + cells * sizeof(double));
    if (!b) {
        nb_err_set(err, "Fdump.bin: out of memory");
        return NB_E_NOMEM;
    }
    memcpy(b, head, (size_t)hl);
    memcpy(b + hl, g->F, cells * sizeof(double));
    *out = b;
    *len = (size_t)hl + cells * sizeof(double);
    return NB_OK;
}
