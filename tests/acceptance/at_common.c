/* at_common.c -- see at_common.h.  POSIX. */
#define _POSIX_C_SOURCE 200809L
#include "at_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *at_prog = NULL;
static char at_test_name[256];

int at_init(int argc, char **argv, const char *test_name)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <path of nanobragg>\n", argv[0]);
        return 1;
    }
    at_prog = argv[1];
    snprintf(at_test_name, sizeof at_test_name, "%s", test_name);
    if (!nb_test_exists(at_prog)) {
        fprintf(stderr, "program %s not found\n", at_prog);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return 0;
}

static char *ring_next(void)
{
    static char ring[16][4096];
    static int k = 0;
    char *b = ring[k];
    k = (k + 1) % 16;
    return b;
}

const char *at_dir_keep(const char *sub)
{
    char *b = ring_next();
    snprintf(b, 4096, "%s/%s/%s", NB_TEST_SCRATCH, at_test_name, sub);
    return b;
}

const char *at_dir(const char *sub)
{
    const char *b = at_dir_keep(sub);
    if (nb_test_fresh_dir(b) != 0)
        fprintf(stderr, "cannot create scratch folder %s\n", b);
    return b;
}

static int run_v(const char *dir, int noprogress, const char *fmt, va_list ap)
{
    char line[8192];
    vsnprintf(line, sizeof line, fmt, ap);
    char *argv[512];
    int n = 0;
    argv[n++] = (char *)at_prog;
    for (char *tok = strtok(line, " \t\n"); tok && n < 509; tok = strtok(NULL, " \t\n"))
        argv[n++] = tok;
    if (noprogress)
        argv[n++] = "-noprogress";
    argv[n] = NULL;
    char out[4200], err[4200];
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    /* record the command for the failure evidence */
    char cmdp[4200];
    snprintf(cmdp, sizeof cmdp, "%s/command.txt", dir);
    FILE *fp = fopen(cmdp, "a");
    if (fp) {
        for (int i = 0; i < n; i++)
            fprintf(fp, "%s%s", i ? " " : "", argv[i]);
        fputc('\n', fp);
        fclose(fp);
    }
    int rc = nb_test_run(dir, argv, out, err);
    return rc;
}

int at_run(const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = run_v(dir, 1, fmt, ap);
    va_end(ap);
    return rc;
}

int at_run_raw(const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = run_v(dir, 0, fmt, ap);
    va_end(ap);
    return rc;
}

unsigned char *at_file(const char *dir, const char *name, size_t *len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!nb_test_exists(p))
        return NULL;
    return nb_test_read_file(p, len);
}

static char *text_or_empty(const char *dir, const char *name)
{
    char *t = (char *)at_file(dir, name, NULL);
    if (!t)
        t = calloc(1, 1);
    return t;
}

char *at_stdout(const char *dir)
{
    return text_or_empty(dir, "stdout.txt");
}
char *at_stderr(const char *dir)
{
    return text_or_empty(dir, "stderr.txt");
}

int at_exists(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return nb_test_exists(p);
}

long at_size(const char *dir, const char *name)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (stat(p, &st) != 0)
        return -1;
    return (long)st.st_size;
}

int at_write(const char *dir, const char *name, const void *data, size_t len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return nb_test_write_file(p, data, len);
}

int at_write_text(const char *dir, const char *name, const char *text)
{
    return at_write(dir, name, text, strlen(text));
}

float *at_floats(const char *dir, const char *name, size_t n)
{
    size_t len = 0;
    unsigned char *b = at_file(dir, name, &len);
    CHECK(b != NULL, "%s/%s missing", dir, name);
    if (!b)
        return NULL;
    CHECK(len == 4 * n, "%s/%s has %zu bytes, expected %zu", dir, name, len, 4 * n);
    if (len != 4 * n) {
        free(b);
        return NULL;
    }
    float *f = malloc(4 * n);
    memcpy(f, b, 4 * n);
    free(b);
    return f;
}

uint16_t *at_smv(const char *dir, const char *name, size_t n, char **header)
{
    size_t len = 0;
    unsigned char *b = at_file(dir, name, &len);
    CHECK(b != NULL, "%s/%s missing", dir, name);
    if (!b)
        return NULL;
    CHECK(len == 512 + 2 * n, "%s/%s has %zu bytes, expected 512 + 2*%zu", dir, name, len, n);
    if (len != 512 + 2 * n) {
        free(b);
        return NULL;
    }
    uint16_t *v = malloc(2 * n + 2);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint16_t)(b[512 + 2 * i] | (b[512 + 2 * i + 1] << 8));
    if (header) {
        *header = malloc(513);
        memcpy(*header, b, 512);
        (*header)[512] = '\0';
    }
    free(b);
    return v;
}

const char *at_line(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, prefix, pl) == 0)
            return p;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

int at_count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

int at_nums(const char *text, const char *prefix, double *v, int n)
{
    const char *l = at_line(text, prefix);
    if (!l)
        return 0;
    const char *p = l + strlen(prefix);
    int k = 0;
    while (k < n) {
        while (*p && *p != '\n' &&
               !(*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9') || *p == 'n' ||
                 *p == 'i'))
            p++;
        if (!*p || *p == '\n')
            break;
        char *end;
        double x = strtod(p, &end);
        if (end == p) {
            p++;
            continue;
        }
        v[k++] = x;
        p = end;
    }
    return k;
}

const char *at_hdr(const char *header, const char *key, char *buf, size_t bufsz)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\n%s=", key);
    const char *p = strstr(header, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    size_t k = 0;
    while (p[k] && p[k] != ';' && p[k] != '\n' && k + 1 < bufsz) {
        buf[k] = p[k];
        k++;
    }
    buf[k] = '\0';
    return buf;
}

int at_f32_ok(float got, double expect)
{
    if (got == (float)expect)
        return 1;
    return fabs((double)got - expect) <= 2e-7 * fabs(expect);
}

int at_ratio_ok(double a, double b, double r)
{
    if (b == 0.0)
        return 0;
    return fabs(a / b - r) <= 3e-7 * fabs(r);
}

int at_same_files(const char *p1, const char *p2)
{
    size_t l1 = 0, l2 = 0;
    unsigned char *a = nb_test_exists(p1) ? nb_test_read_file(p1, &l1) : NULL;
    unsigned char *b = nb_test_exists(p2) ? nb_test_read_file(p2, &l2) : NULL;
    int same = a && b && l1 == l2 && memcmp(a, b, l1) == 0;
    free(a);
    free(b);
    return same;
}

int at_same_file(const char *dir1, const char *dir2, const char *name)
{
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s/%s", dir1, name);
    snprintf(p2, sizeof p2, "%s/%s", dir2, name);
    return at_same_files(p1, p2);
}

/* ---- vectors ---- */
v3 v3_make(double x, double y, double z)
{
    v3 r = {x, y, z};
    return r;
}
v3 v3_add(v3 a, v3 b)
{
    return v3_make(a.x + b.x, a.y + b.y, a.z + b.z);
}
v3 v3_sub(v3 a, v3 b)
{
    return v3_make(a.x - b.x, a.y - b.y, a.z - b.z);
}
v3 v3_scale(v3 a, double s)
{
    return v3_make(a.x * s, a.y * s, a.z * s);
}
double v3_dot(v3 a, v3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
v3 v3_cross(v3 a, v3 b)
{
    return v3_make(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
double v3_norm(v3 a)
{
    return sqrt(v3_dot(a, a));
}
v3 v3_unit(v3 a)
{
    double n = v3_norm(a);
    return n > 0.0 ? v3_scale(a, 1.0 / n) : a;
}
v3 v3_rot(v3 x, v3 k, double phi)
{
    double c = cos(phi), s = sin(phi);
    v3 r = v3_scale(k, v3_dot(k, x) * (1.0 - c));
    r = v3_add(r, v3_scale(x, c));
    return v3_add(r, v3_scale(v3_cross(k, x), s));
}

/* ---- detector (geometry.md §2, §4, §8; untilted, no rotations) ---- */
void at_det_init(at_det *d, int conv, int fp, int sp, double pixel_mm, double distance_mm,
                 double xbeam_mm, double ybeam_mm)
{
    memset(d, 0, sizeof *d);
    d->conv = conv;
    d->fp = fp;
    d->sp = sp;
    d->pixel = pixel_mm / 1000.0;
    d->distance = distance_mm / 1000.0;
    d->close = d->distance; /* r = b.o = 1 */
    double detf = d->pixel * fp, dets = d->pixel * sp;
    if (conv == AT_MOSFLM) {
        d->b = v3_make(1, 0, 0);
        d->f = v3_make(0, 0, 1);
        d->s = v3_make(0, -1, 0);
        d->o = v3_make(1, 0, 0);
        d->p = v3_make(0, 0, 1);
        double xb = isnan(xbeam_mm) ? (dets + d->pixel) / 2 : xbeam_mm / 1000.0;
        double yb = isnan(ybeam_mm) ? (detf + d->pixel) / 2 : ybeam_mm / 1000.0;
        d->Fbeam = yb + 0.5 * d->pixel;
        d->Sbeam = xb + 0.5 * d->pixel;
        /* BEAM pivot */
        d->pix0 = v3_add(v3_add(v3_scale(d->f, -d->Fbeam), v3_scale(d->s, -d->Sbeam)),
                         v3_scale(d->b, d->distance));
    } else {
        d->b = v3_make(0, 0, 1);
        d->f = v3_make(1, 0, 0);
        d->s = v3_make(0, 1, 0);
        d->o = v3_make(0, 0, 1);
        d->p = conv == AT_XDS ? v3_make(1, 0, 0) : v3_make(0, 1, 0);
        /* SAMPLE pivot, Fclose/Sclose = detector centre (no ORGX/ORGY) */
        double Fc = detf / 2, Sc = dets / 2;
        d->pix0 =
            v3_add(v3_add(v3_scale(d->f, -Fc), v3_scale(d->s, -Sc)), v3_scale(d->o, d->close));
        d->Fbeam = Fc;
        d->Sbeam = Sc;
    }
}

v3 at_subpixel_pos(const at_det *d, int spix, int fpix, int os, int subS, int subF, double odet)
{
    double D = d->pixel / os;
    double Fdet = D * (fpix * os + subF) + D / 2.0;
    double Sdet = D * (spix * os + subS) + D / 2.0;
    v3 P = v3_add(v3_scale(d->f, Fdet), v3_scale(d->s, Sdet));
    P = v3_add(P, v3_scale(d->o, odet));
    return v3_add(P, d->pix0);
}

double at_omega(const at_det *d, v3 P, int point_pixel)
{
    double R = v3_norm(P);
    if (point_pixel)
        return 1.0 / R / R;
    return d->pixel * d->pixel / R / R * d->close / R;
}

double at_polar(v3 i, v3 dv, v3 p, double K)
{
    double c2 = v3_dot(i, dv);
    double c2sq = c2 * c2, s2sq = 1.0 - c2sq;
    double psi = 0.0;
    if (K != 0.0) {
        v3 B = v3_unit(v3_cross(p, i));
        v3 E = v3_unit(v3_cross(i, B));
        psi = -atan2(v3_dot(dv, B), v3_dot(dv, E));
    }
    return 0.5 * (1.0 + c2sq - K * cos(2.0 * psi) * s2sq);
}

int at_write_mask(const char *dir, const char *name, int fp, int sp, double pixel_mm,
                  const uint16_t *data)
{
    size_t n = (size_t)fp * sp;
    unsigned char *b = malloc(512 + 2 * n);
    if (!b)
        return -1;
    memset(b, ' ', 512);
    char h[512];
    int hl = snprintf(h, sizeof h,
                      "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                      "TYPE=unsigned_short;\nSIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\n}\f",
                      fp, sp, pixel_mm);
    memcpy(b, h, (size_t)hl);
    for (size_t i = 0; i < n; i++) {
        b[512 + 2 * i] = (unsigned char)(data[i] & 0xff);
        b[512 + 2 * i + 1] = (unsigned char)(data[i] >> 8);
    }
    int rc = at_write(dir, name, b, 512 + 2 * n);
    free(b);
    return rc;
}

int at_finish(void)
{
    if (nb_test_failures) {
        printf("FAIL: %d check(s) failed\n", nb_test_failures);
        return 1;
    }
    printf("PASS\n");
    return 0;
}
