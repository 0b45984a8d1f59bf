/* test_io.c -- readers and writers of nanoBragg's files (spec/formats.md §1-§5, cli.md §3).
 *
 * Oracle: the format descriptions themselves.  Every input file is written by this test into
 * its scratch directory (NB_TEST_SCRATCH/unit_io) with known content, so expected grids,
 * columns and header values follow from the spec's reading rules.
 */
#include "unit_common.h"

#include <stdint.h>

#include "io/nb_files.h"
#include "io/nb_io.h"

static char g_dir[1024];

static const char *scratch(const char *name)
{
    static char path[4][1200];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/%s", g_dir, name);
    return path[slot];
}

static int put(const char *name, const char *text)
{
    int r = nb_test_write_file(scratch(name), text, strlen(text));
    if (r)
        CHECK(0, "cannot write %s", scratch(name));
    return r;
}

static double grid_at(const struct nb_hkl_grid *g, int h, int k, int l)
{
    return g->F[((size_t)(h - g->h_min) * (g->k_range + 1) + (size_t)(k - g->k_min)) *
                    (g->l_range + 1) +
                (size_t)(l - g->l_min)];
}

/* --------------------------------------------------------------------------- HKL */

static void hkl_basic(void)
{
    u_ctx = "formats.md §1 HKL read";
    if (put("basic.hkl", "# h k l F\n"
                         "1 2 3 10.5\n"
                         "\n"
                         "   \t\n"
                         "-1 0 2 7.25\n"
                         "   # indented comment\n"
                         "   0 -2 3 3\n"
                         "1 2 3 11.5\n")) /* duplicate: last wins */
        return;
    for (int pass = 0; pass < 2; pass++) {
        double dF = pass == 0 ? 0.0 : 2.5;
        struct nb_hkl_grid g;
        struct nb_err err = {{0}};
        nb_status st = nb_hkl_read(scratch("basic.hkl"), NB_HKL_STREAM4, dF, &g, NULL, &err);
        CHECK(st == NB_OK, "%s: default_F %g: %s", u_ctx, dF, err.msg);
        if (st != NB_OK)
            continue;
        CHECK(g.hkls == 4, "%s: hkls = %ld, expected 4 records", u_ctx, g.hkls);
        CHECK(g.h_min == -1 && g.h_max == 1 && g.k_min == -2 && g.k_max == 2 && g.l_min == 2 &&
                  g.l_max == 3,
              "%s: ranges h %d..%d k %d..%d l %d..%d, expected -1..1 -2..2 2..3", u_ctx, g.h_min,
              g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
        CHECK(g.h_range == 3 && g.k_range == 5 && g.l_range == 2, "%s: ranges %d %d %d", u_ctx,
              g.h_range, g.k_range, g.l_range);
        if (g.h_range != 3 || g.k_range != 5 || g.l_range != 2) {
            nb_hkl_free(&g);
            continue;
        }
        /* every grid point, padding plane included */
        int bad = 0;
        for (int ih = 0; ih <= g.h_range; ih++)
            for (int ik = 0; ik <= g.k_range; ik++)
                for (int il = 0; il <= g.l_range; il++) {
                    int h = ih + g.h_min, k = ik + g.k_min, l = il + g.l_min;
                    double e;
                    if (h == 1 && k == 2 && l == 3)
                        e = 11.5;
                    else if (h == -1 && k == 0 && l == 2)
                        e = 7.25;
                    else if (h == 0 && k == -2 && l == 3)
                        e = 3;
                    else if (ih == g.h_range || ik == g.k_range || il == g.l_range)
                        e = 0.0; /* padding: never prefilled */
                    else
                        e = dF;
                    double got = grid_at(&g, h, k, l);
                    if (got != e && bad++ < 5)
                        CHECK(0, "%s: default_F %g: F[%d][%d][%d] = %g, expected %g", u_ctx, dF,
                              ih, ik, il, got, e);
                }
        CHECK(bad == 0, "%s: default_F %g: %d grid values differ", u_ctx, dF, bad);

        /* Fdump.bin round trip (formats.md §2) */
        unsigned char *buf = NULL;
        size_t len = 0;
        st = nb_fdump_bytes(&g, &buf, &len, &err);
        CHECK(st == NB_OK, "Fdump bytes: %s", err.msg);
        if (st == NB_OK) {
            const char *head = "-1 1 -2 2 2 3\n\f";
            size_t hl = strlen(head), cells = 4 * 6 * 3;
            CHECK(len == hl + cells * sizeof(double), "Fdump: %zu bytes, expected %zu", len,
                  hl + cells * sizeof(double));
            CHECK(len >= hl && memcmp(buf, head, hl) == 0, "Fdump: header '%.*s', expected '%s'",
                  (int)hl, (const char *)buf, "-1 1 -2 2 2 3\\n\\f");
            if (len == hl + cells * sizeof(double))
                CHECK(memcmp(buf + hl, g.F, cells * sizeof(double)) == 0,
                      "Fdump: body is not the grid in [h][k][l] order");
            nb_test_write_file(scratch("Fdump.bin"), buf, len);
            struct nb_hkl_grid d;
            st = nb_fdump_read(scratch("Fdump.bin"), &d, &err);
            CHECK(st == NB_OK, "Fdump read: %s", err.msg);
            if (st == NB_OK) {
                CHECK(d.h_min == g.h_min && d.h_max == g.h_max && d.k_min == g.k_min &&
                          d.k_max == g.k_max && d.l_min == g.l_min && d.l_max == g.l_max,
                      "Fdump read: different index ranges");
                CHECK(d.h_range == 3 && d.k_range == 5 && d.l_range == 2,
                      "Fdump read: ranges %d %d %d", d.h_range, d.k_range, d.l_range);
                CHECK(d.hkls == 3 * 5 * 2, "Fdump read: hkls = %ld, expected h_range*k_range*"
                      "l_range = 30", d.hkls);
                CHECK(memcmp(d.F, g.F, cells * sizeof(double)) == 0,
                      "Fdump read: grid differs from what was written");
                nb_hkl_free(&d);
            }
            free(buf);
        }
        nb_hkl_free(&g);
    }
}

/* A body whose first byte is whitespace must not be swallowed (formats.md §2, a fix). */
static void fdump_whitespace_body(void)
{
    u_ctx = "formats.md §2 body starting with whitespace bytes";
    const uint64_t patterns[] = {0x4024000000000020ULL, 0x402400000000000aULL,
                                 0x4024000000000c09ULL};
    for (int p = 0; p < 3; p++) {
        struct nb_hkl_grid g;
        memset(&g, 0, sizeof g);
        g.h_min = 0, g.h_max = 1, g.k_min = -1, g.k_max = 0, g.l_min = 5, g.l_max = 5;
        g.h_range = 2, g.k_range = 2, g.l_range = 1;
        size_t cells = 3 * 3 * 2;
        double F[18];
        for (size_t i = 0; i < cells; i++)
            F[i] = (double)i + 0.5;
        memcpy(&F[0], &patterns[p], sizeof F[0]);
        g.F = F;
        unsigned char *buf = NULL;
        size_t len = 0;
        struct nb_err err = {{0}};
        if (nb_fdump_bytes(&g, &buf, &len, &err) != NB_OK) {
            CHECK(0, "%s: %s", u_ctx, err.msg);
            continue;
        }
        nb_test_write_file(scratch("ws.bin"), buf, len);
        free(buf);
        struct nb_hkl_grid d;
        nb_status st = nb_fdump_read(scratch("ws.bin"), &d, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        if (st == NB_OK) {
            CHECK(memcmp(d.F, F, cells * sizeof(double)) == 0,
                  "%s: pattern %d: grid misaligned after reading", u_ctx, p);
            nb_hkl_free(&d);
        }
    }
}

static void hkl_columns(void)
{
    /* Q18: a 5-column file read as a stream of 4-number records */
    if (put("five.hkl", "1 2 3 10 7\n"
                        "2 1 0 20 8\n"
                        "0 0 1 30 9\n"
                        "1 1 1 40 6\n"))
        return;
    struct nb_hkl_grid g;
    struct nb_err err = {{0}};
    u_ctx = "formats.md §1 Q18 five columns, default (stream) mode";
    nb_status st = nb_hkl_read(scratch("five.hkl"), NB_HKL_STREAM4, 0.0, &g, NULL, &err);
    CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
    if (st == NB_OK) {
        /* records: (1 2 3)10 (7 2 1)0 (20 8 0)0 (1 30 9)1 (1 1 40)6 */
        CHECK(g.hkls == 5, "%s: hkls = %ld, expected 5", u_ctx, g.hkls);
        CHECK(g.h_min == 1 && g.h_max == 20 && g.k_min == 1 && g.k_max == 30 && g.l_min == 0 &&
                  g.l_max == 40,
              "%s: ranges h %d..%d k %d..%d l %d..%d, expected 1..20 1..30 0..40", u_ctx, g.h_min,
              g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
        if (g.h_max == 20 && g.k_max == 30 && g.l_max == 40 && g.h_min == 1 && g.k_min == 1 &&
            g.l_min == 0) {
            CHECK(grid_at(&g, 1, 2, 3) == 10, "%s: F(1,2,3) = %g", u_ctx, grid_at(&g, 1, 2, 3));
            CHECK(grid_at(&g, 1, 30, 9) == 1, "%s: F(1,30,9) = %g", u_ctx, grid_at(&g, 1, 30, 9));
            CHECK(grid_at(&g, 1, 1, 40) == 6, "%s: F(1,1,40) = %g", u_ctx, grid_at(&g, 1, 1, 40));
            CHECK(grid_at(&g, 2, 1, 0) == 0, "%s: F(2,1,0) = %g (should not exist)", u_ctx,
                  grid_at(&g, 2, 1, 0));
        }
        nb_hkl_free(&g);
    }
    u_ctx = "formats.md §1 --hkl-columns=first4";
    st = nb_hkl_read(scratch("five.hkl"), NB_HKL_FIRST4, 0.0, &g, NULL, &err);
    CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
    if (st == NB_OK) {
        CHECK(g.hkls == 4, "%s: hkls = %ld, expected 4", u_ctx, g.hkls);
        CHECK(g.h_min == 0 && g.h_max == 2 && g.k_min == 0 && g.k_max == 2 && g.l_min == 0 &&
                  g.l_max == 3,
              "%s: ranges h %d..%d k %d..%d l %d..%d, expected 0..2 0..2 0..3", u_ctx, g.h_min,
              g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
        if (g.h_max == 2 && g.k_max == 2 && g.l_max == 3 && !g.h_min && !g.k_min && !g.l_min) {
            CHECK(grid_at(&g, 1, 2, 3) == 10, "%s: F(1,2,3) = %g", u_ctx, grid_at(&g, 1, 2, 3));
            CHECK(grid_at(&g, 2, 1, 0) == 20, "%s: F(2,1,0) = %g", u_ctx, grid_at(&g, 2, 1, 0));
            CHECK(grid_at(&g, 0, 0, 1) == 30, "%s: F(0,0,1) = %g", u_ctx, grid_at(&g, 0, 0, 1));
            CHECK(grid_at(&g, 1, 1, 1) == 40, "%s: F(1,1,1) = %g", u_ctx, grid_at(&g, 1, 1, 1));
        }
        nb_hkl_free(&g);
    }
    /* first4 also skips blank and comment lines */
    u_ctx = "formats.md §1 first4 with comments";
    if (!put("first4c.hkl", "# h k l F sigma\n\n1 0 0 5 0.3 extra\n  # c\n0 1 0 6 0.4\n")) {
        st = nb_hkl_read(scratch("first4c.hkl"), NB_HKL_FIRST4, 0.0, &g, NULL, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        if (st == NB_OK) {
            CHECK(g.hkls == 2, "%s: hkls %ld", u_ctx, g.hkls);
            CHECK(grid_at(&g, 1, 0, 0) == 5 && grid_at(&g, 0, 1, 0) == 6, "%s: values", u_ctx);
            nb_hkl_free(&g);
        }
    }

    /* decided deviations: non-numeric tokens and incomplete records are errors */
    static const struct {
        const char *name, *text;
    } bad[] = {{"text.hkl", "1 2 3 4\nfoo 1 2 3\n"},
               {"short.hkl", "1 2 3 4\n5 6\n"},
               {"empty.hkl", ""},
               {"header.hkl", "h k l F\n1 2 3 4\n"}};
    for (int i = 0; i < 4; i++) {
        u_ctx = "formats.md §1 malformed file is an error";
        if (put(bad[i].name, bad[i].text))
            continue;
        st = nb_hkl_read(scratch(bad[i].name), NB_HKL_STREAM4, 0.0, &g, NULL, &err);
        CHECK(st == NB_E_INPUT, "%s: %s read with status %s", u_ctx, bad[i].name,
              nb_strerror(st));
        if (st == NB_OK)
            nb_hkl_free(&g);
    }
    /* a NUL byte ended the scan and dropped the rest of the file silently (found by
     * fuzz_hkl): an error naming the line, in both column modes */
    u_ctx = "formats.md §1 deviation: NUL byte";
    static const char nul_text[] = "0 0 0 1\n1 0 0 2\n\0 1 1 1 3\n-1 -1 -1 4\n";
    if (nb_test_write_file(scratch("nul.hkl"), nul_text, sizeof nul_text - 1) == 0)
        for (int mode = 0; mode < 2; mode++) {
            memset(&err, 0, sizeof err);
            st = nb_hkl_read(scratch("nul.hkl"), mode ? NB_HKL_FIRST4 : NB_HKL_STREAM4, 0.0, &g,
                             NULL, &err);
            CHECK(st == NB_E_INPUT && strstr(err.msg, "nul.hkl:3:") != NULL,
                  "%s: mode %d: status %s, message '%s' (expected NB_E_INPUT naming line 3)",
                  u_ctx, mode, nb_strerror(st), err.msg);
            if (st == NB_OK)
                nb_hkl_free(&g);
        }
}

/* Truncated or absurd Fdump.bin headers (found by fuzz_fdump): refused before any grid is
 * allocated, ranges computed without int overflow. */
static void fdump_bad_headers(void)
{
    static const struct {
        const char *text, *expect;
    } bad[] = {{"-2147483648 2147483647 0 0 0 0\n\f", "too large"},
               {"0 1000 0 1000 0 1000\n\f12345678", "truncated"},
               {"5 4 0 0 0 0\n\f", "empty"}};
    u_ctx = "formats.md §2 bad Fdump.bin header";
    for (int i = 0; i < 3; i++) {
        struct nb_hkl_grid d;
        struct nb_err err = {{0}};
        if (put("badhead.bin", bad[i].text))
            continue;
        nb_status st = nb_fdump_read(scratch("badhead.bin"), &d, &err);
        CHECK(st == NB_E_INPUT && strstr(err.msg, bad[i].expect) && d.F == NULL,
              "%s: '%s': status %s, message '%s' (expected '%s')", u_ctx, bad[i].text,
              nb_strerror(st), err.msg, bad[i].expect);
        if (st == NB_OK)
            nb_hkl_free(&d);
    }
}

/* ------------------------------------------------------------------------ sources */

static void sources(void)
{
    struct nb_source_list L;
    struct nb_err err = {{0}};
    nb_status st;

    /* five columns; blank lines skipped; all delimiters; 3 columns leave NaN */
    u_ctx = "formats.md §4 source file";
    if (!put("src1.txt", "\n"
                         "-10 0 0 1 1e-10\n"
                         "  \t,;\n"
                         "1,2;3:4!5e-11\n"
                         "1\t2\t3\t4\t6e-11\n"
                         "0 0 10\n"
                         "0 0 10 nan 1.5e-10\n"
                         "0 0 10 2 nan\n")) {
        st = nb_source_read(scratch("src1.txt"), &L, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        if (st == NB_OK) {
            CHECK(L.n == 6, "%s: %d sources, expected 6 (blank lines not counted)", u_ctx, L.n);
            if (L.n == 6) {
                const double e[6][5] = {{-10, 0, 0, 1, 1e-10},   {1, 2, 3, 4, 5e-11},
                                        {1, 2, 3, 4, 6e-11},     {0, 0, 10, NAN, NAN},
                                        {0, 0, 10, NAN, 1.5e-10}, {0, 0, 10, 2, NAN}};
                const double *col[5] = {L.x, L.y, L.z, L.weight, L.lambda};
                for (int s = 0; s < 6; s++)
                    for (int c = 0; c < 5; c++) {
                        double g = col[c][s];
                        int ok = isnan(e[s][c]) ? isnan(g) : g == e[s][c];
                        CHECK(ok, "%s: source %d column %d = %g, expected %g", u_ctx, s, c, g,
                              e[s][c]);
                    }
                /* line numbers count physical lines */
                CHECK(L.line[0] == 2 && L.line[1] == 4 && L.line[5] == 8,
                      "%s: line numbers %ld %ld %ld, expected 2 4 8", u_ctx, L.line[0], L.line[1],
                      L.line[5]);
            }
            nb_source_free(&L);
        }
    }

    /* CRLF with five columns reads fine */
    u_ctx = "formats.md §4 CRLF, five columns";
    if (!put("crlf5.txt", "-10 0 0 1 1e-10\r\n0 -10 0 2 2e-10\r\n")) {
        st = nb_source_read(scratch("crlf5.txt"), &L, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        if (st == NB_OK) {
            CHECK(L.n == 2, "%s: %d sources", u_ctx, L.n);
            if (L.n == 2)
                CHECK(L.x[0] == -10 && L.weight[0] == 1 && L.lambda[0] == 1e-10 && L.y[1] == -10 &&
                          L.weight[1] == 2 && L.lambda[1] == 2e-10,
                      "%s: values (%g %g %g) (%g %g %g)", u_ctx, L.x[0], L.weight[0], L.lambda[0],
                      L.y[1], L.weight[1], L.lambda[1]);
            nb_source_free(&L);
        }
    }
    /* last line without newline, five columns: fine */
    u_ctx = "formats.md §4 last line without newline, five columns";
    if (!put("nonl5.txt", "0 0 10 1 1e-10\n-10 0 0 1 2e-10")) {
        st = nb_source_read(scratch("nonl5.txt"), &L, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        if (st == NB_OK) {
            CHECK(L.n == 2 && L.lambda[1] == 2e-10, "%s: n %d lambda %g", u_ctx, L.n,
                  L.n == 2 ? L.lambda[1] : 0.0);
            nb_source_free(&L);
        }
    }

    /* Q19 zero-fill -> lambda 0 -> rejected with the line named (decided deviation) */
    static const struct {
        const char *name, *text;
        const char *line_tag;
    } rej[] = {
        {"nonl3.txt", "0 0 10 1 1e-10\n-10 0 0", ":2:"},          /* no trailing newline  */
        {"crlf3.txt", "-10 0 0\r\n", ":1:"},                      /* CRLF, fewer columns  */
        {"text.txt", "0 0 10 1 1e-10\n0 0 10 abc\n", ":2:"},      /* text after a field   */
        {"header.txt", "X Y Z weight lambda\n0 0 10 1 1e-10\n", ":1:"}, /* header line    */
        {"zero.txt", "0 0 10 1 0\n", ":1:"},                      /* explicit lambda 0    */
        {"inf.txt", "0 0 10 1 inf\n", ":1:"},                     /* non-finite lambda    */
    };
    for (int i = 0; i < 6; i++) {
        static char ctx[6][96];
        snprintf(ctx[i], sizeof ctx[i], "formats.md §4 Q19/deviation %s", rej[i].name);
        u_ctx = ctx[i];
        if (put(rej[i].name, rej[i].text))
            continue;
        memset(&err, 0, sizeof err);
        st = nb_source_read(scratch(rej[i].name), &L, &err);
        CHECK(st == NB_E_INPUT, "%s: status %s, expected NB_E_INPUT", u_ctx, nb_strerror(st));
        if (st == NB_OK)
            nb_source_free(&L);
        else
            CHECK(strstr(err.msg, rej[i].line_tag) != NULL, "%s: message '%s' does not name line %s",
                  u_ctx, err.msg, rej[i].line_tag);
    }
    /* zero sources: error */
    u_ctx = "formats.md §4 empty source file";
    if (!put("blank.txt", "\n\n \n")) {
        st = nb_source_read(scratch("blank.txt"), &L, &err);
        CHECK(st == NB_E_INPUT, "%s: status %s", u_ctx, nb_strerror(st));
        if (st == NB_OK)
            nb_source_free(&L);
    }
}

/* ----------------------------------------------------------------------- matrix file */

static void matrices(void)
{
    u_ctx = "formats.md §3 -mat";
    double m[9];
    struct nb_err err = {{0}};
    if (!put("a.mat", " -0.0101 0.0202\n  0.0303\n0.0404 0.0505 0.0606 0.0707\n 0.0808 -0.0909\n"
                      " 1 2 3\n SYMM P1\n")) {
        nb_status st = nb_mat_read(scratch("a.mat"), m, &err);
        CHECK(st == NB_OK, "%s: %s", u_ctx, err.msg);
        const double e[9] = {-0.0101, 0.0202, 0.0303, 0.0404, 0.0505,
                             0.0606,  0.0707, 0.0808, -0.0909};
        if (st == NB_OK)
            for (int i = 0; i < 9; i++)
                CHECK(m[i] == e[i], "%s: number %d = %g, expected %g", u_ctx, i, m[i], e[i]);
    }
    if (!put("b.mat", "1 2 3 4 5 x 7 8 9\n"))
        CHECK(nb_mat_read(scratch("b.mat"), m, &err) == NB_E_INPUT, "%s: non-number accepted",
              u_ctx);
    CHECK(nb_mat_read(scratch("does-not-exist.mat"), m, &err) == NB_E_INPUT,
          "%s: missing file accepted", u_ctx);
}

/* -------------------------------------------------------------------------------- SMV */

static void fill_keys(struct nb_smv_keys *k, double big)
{
    memset(k, 0, sizeof *k);
    k->fpixels = 3;
    k->spixels = 2;
    k->pixel_mm = 0.1;
    k->distance_mm = 100;
    k->wavelength_A = 1.5;
    k->beam_x_mm = 51.25 * big;
    k->beam_y_mm = 51.2 * big;
    k->adxv_x = 51.3 * big;
    k->adxv_y = 51.15 * big;
    k->mosflm_x = 51.1 * big;
    k->mosflm_y = 51.05 * big;
    k->denzo_x = 51.35 * big;
    k->denzo_y = 51.45 * big;
    k->dials_origin[0] = 100 * big;
    k->dials_origin[1] = -0.2 * big;
    k->dials_origin[2] = 0.25 * big;
    k->orgx = 512.5 * big;
    k->orgy = 511.5 * big;
    k->close_distance_mm = 99.5 * big;
    k->phi_deg = 12 * big;
    k->osc_deg = 0.25 * big;
    k->twotheta_deg = 20 * big;
}

static void smv_roundtrip(double big, int expect_bytes)
{
    static char ctx[2][96];
    int slot = expect_bytes == 512 ? 0 : 1;
    snprintf(ctx[slot], sizeof ctx[slot], "formats.md §5 SMV header (%d bytes)", expect_bytes);
    u_ctx = ctx[slot];
    struct nb_smv_keys k;
    fill_keys(&k, big);
    char buf[4096];
    int hb = 0;
    size_t n = nb_smv_header_text(&k, buf, sizeof buf, &hb);
    CHECK(n == (size_t)expect_bytes && hb == expect_bytes, "%s: length %zu, HEADER_BYTES %d", u_ctx,
          n, hb);
    if (n != (size_t)expect_bytes)
        return;
    char head[64];
    snprintf(head, sizeof head, "{\nHEADER_BYTES=%d;\nDIM=2;\nBYTE_ORDER=little_endian;\n",
             expect_bytes);
    CHECK(strncmp(buf, head, strlen(head)) == 0, "%s: header starts '%.60s'", u_ctx, buf);
    /* "}" + form feed, then spaces to the end */
    const char *close = memchr(buf, '\f', n);
    CHECK(close && close > buf && close[-1] == '}' && close[-2] == '\n',
          "%s: no '\\n}\\f' terminator", u_ctx);
    if (close) {
        int pad_ok = 1;
        for (const char *c = close + 1; c < buf + n; c++)
            if (*c != ' ')
                pad_ok = 0;
        CHECK(pad_ok, "%s: padding is not all spaces", u_ctx);
    }
    /* keys in the order of the formats.md §5 table; DIALS_ORIGIN without ';' */
    static const char *const order[] = {
        "\nHEADER_BYTES=", "\nDIM=2;",         "\nBYTE_ORDER=",      "\nTYPE=unsigned_short;",
        "\nSIZE1=3;",      "\nSIZE2=2;",       "\nPIXEL_SIZE=0.1;",  "\nDISTANCE=100;",
        "\nWAVELENGTH=1.5;", "\nBEAM_CENTER_X=", "\nBEAM_CENTER_Y=", "\nADXV_CENTER_X=",
        "\nADXV_CENTER_Y=", "\nMOSFLM_CENTER_X=", "\nMOSFLM_CENTER_Y=", "\nDENZO_X_BEAM=",
        "\nDENZO_Y_BEAM=", "\nDIALS_ORIGIN=",  "\nXDS_ORGX=",        "\nXDS_ORGY=",
        "\nCLOSE_DISTANCE=", "\nPHI=",         "\nOSC_START=",       "\nOSC_RANGE=",
        "\nTWOTHETA=",     "\nDETECTOR_SN=000;", "\nBEAMLINE=fake;", "\n}\f"};
    char text[4097];
    memcpy(text, buf, n);
    text[n] = '\0';
    const char *prev = text;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *at = strstr(prev, order[i]);
        CHECK(at != NULL, "%s: '%s' missing or out of order", u_ctx, order[i] + 1);
        if (at)
            prev = at + 1;
    }
    if (big == 1.0)
        CHECK(strstr(text, "\nDIALS_ORIGIN=100,-0.2,0.25\nXDS_ORGX=") != NULL,
              "%s: DIALS_ORIGIN line is not '100,-0.2,0.25' without ';'", u_ctx);

    /* write header + data and read it back */
    unsigned short px[6] = {0, 1, 2, 65535, 40, 1000};
    char img[4096 + sizeof px];
    memcpy(img, buf, n);
    memcpy(img + n, px, sizeof px);
    const char *path = scratch(expect_bytes == 512 ? "h512.img" : "h1024.img");
    nb_test_write_file(path, img, n + sizeof px);
    struct nb_smv smv;
    struct nb_err err = {{0}};
    nb_status st = nb_smv_open(path, &smv, &err);
    CHECK(st == NB_OK, "%s: nb_smv_open: %s", u_ctx, err.msg);
    if (st != NB_OK)
        return;
    CHECK(smv.header_size == expect_bytes && smv.width == 3 && smv.height == 2,
          "%s: read header_size %d, %d x %d", u_ctx, smv.header_size, smv.width, smv.height);
    CHECK(memcmp(smv.data, px, sizeof px) == 0, "%s: pixel data differ", u_ctx);
    /* ValueOf: the last occurrence of the key; values as %g prints them */
    struct {
        const char *key;
        double value;
    } kv[] = {{"SIZE1", 3},
              {"SIZE2", 2},
              {"PIXEL_SIZE", 0.1},
              {"WAVELENGTH", 1.5},
              {"BEAM_CENTER_X", k.beam_x_mm},
              {"BEAM_CENTER_Y", k.beam_y_mm},
              {"ADXV_CENTER_X", k.adxv_x},
              {"ADXV_CENTER_Y", k.adxv_y},
              {"MOSFLM_CENTER_X", k.mosflm_x},
              {"MOSFLM_CENTER_Y", k.mosflm_y},
              {"DENZO_X_BEAM", k.denzo_x},
              {"DENZO_Y_BEAM", k.denzo_y},
              {"DIALS_ORIGIN", k.dials_origin[0]},
              {"XDS_ORGX", k.orgx},
              {"ORGX", k.orgx},
              {"ORGY", k.orgy},
              {"CLOSE_DISTANCE", k.close_distance_mm},
              {"DISTANCE", k.close_distance_mm}, /* substring: CLOSE_DISTANCE comes later */
              {"PHI", k.phi_deg},
              {"OSC_START", k.phi_deg},
              {"OSC_RANGE", k.osc_deg},
              {"TWOTHETA", k.twotheta_deg},
              {"HEADER_BYTES", expect_bytes},
              {"CENTER_X", k.mosflm_x}}; /* last of BEAM_/ADXV_/MOSFLM_CENTER_X */
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%g", kv[i].value); /* what %g keeps */
        double e = atof(tmp), g = nb_smv_value(&smv, kv[i].key);
        CHECK(g == e, "%s: ValueOf(%s) = %.17g, expected %.17g", u_ctx, kv[i].key, g, e);
    }
    CHECK(isnan(nb_smv_value(&smv, "NO_SUCH_KEY")), "%s: missing key is not NaN", u_ctx);
    nb_smv_free(&smv);
}

/* A 512-byte SMV header with these keys, then npix pixels. */
static int put_smv(const char *name, const char *keys, size_t npix)
{
    char b[512 + 64];
    memset(b, 0, sizeof b);
    memset(b, ' ', 512);
    int l = snprintf(b, 512, "{\nHEADER_BYTES=512;\nTYPE=unsigned_short;\n%s}\f", keys);
    b[l] = ' ';
    return nb_test_write_file(scratch(name), b, 512 + 2 * npix);
}

/* SIZE1/SIZE2 missing: one error naming the key; before, a missing SIZE1 was converted from
 * NaN to int (undefined behaviour) and SIZE1 = 3e9 overflowed an int. */
static void smv_size_keys(void)
{
    static const struct {
        const char *name, *keys, *expect;
    } bad[] = {{"nosize1.img", "SIZE2=4;\n", "nosize1.img: SMV header lacks the SIZE1 key"},
               {"nosize2.img", "SIZE1=4;\n", "nosize2.img: SMV header lacks the SIZE2 key"},
               {"size1zero.img", "SIZE1=0;\nSIZE2=4;\n", "lacks the DETECTOR_DIMENSIONS key"},
               {"size1huge.img", "SIZE1=3e9;\nSIZE2=1;\n", "bad image size"}};
    struct nb_smv s;
    struct nb_err err = {{0}};
    u_ctx = "cli.md §3/§6.1 SMV size keys";
    for (int i = 0; i < 4; i++) {
        if (put_smv(bad[i].name, bad[i].keys, 16))
            continue;
        memset(&err, 0, sizeof err);
        nb_status st = nb_smv_open(scratch(bad[i].name), &s, &err);
        CHECK(st == NB_E_INPUT && strstr(err.msg, bad[i].expect),
              "%s: status %s, message '%s' (expected NB_E_INPUT, '%s')", u_ctx, nb_strerror(st),
              err.msg, bad[i].expect);
        if (st == NB_OK)
            nb_smv_free(&s);
    }
    /* SIZE1 reading as 0: DETECTOR_DIMENSIONS gives both sizes (as nanoBragg) */
    if (put_smv("detdim.img", "SIZE1=0;\nDETECTOR_DIMENSIONS=2;\n", 4))
        return;
    nb_status st = nb_smv_open(scratch("detdim.img"), &s, &err);
    CHECK(st == NB_OK && s.width == 2 && s.height == 2, "%s: DETECTOR_DIMENSIONS: %s %d x %d",
          u_ctx, err.msg, st == NB_OK ? s.width : 0, st == NB_OK ? s.height : 0);
    if (st == NB_OK)
        nb_smv_free(&s);
}

static void smv(void)
{
    smv_roundtrip(1.0, 512);
    /* values whose %g text is long push the header past 512 bytes: written as 1024 */
    smv_roundtrip(-1.234567e98, 1024);
    /* files that are not SMV are errors */
    u_ctx = "cli.md §3 SMV reading errors";
    struct nb_smv s;
    struct nb_err err = {{0}};
    if (!put("notsmv.img", "hello, this is not an image\n"))
        CHECK(nb_smv_open(scratch("notsmv.img"), &s, &err) == NB_E_INPUT, "%s: text accepted",
              u_ctx);
    char hdr[600];
    memset(hdr, ' ', sizeof hdr);
    int l = snprintf(hdr, sizeof hdr, "{\nHEADER_BYTES=512;\nSIZE1=4;\nSIZE2=4;\n}\f");
    hdr[l] = ' ';
    nb_test_write_file(scratch("trunc.img"), hdr, 512 + 10); /* needs 32 data bytes */
    CHECK(nb_smv_open(scratch("trunc.img"), &s, &err) == NB_E_INPUT, "%s: truncated accepted",
          u_ctx);
    smv_size_keys();
}

/* ------------------------------------------------------------------ file cache (MPI) */

static size_t pack_entry(unsigned char *p, uint64_t nl, uint64_t dl, const char *name,
                         const char *data, size_t have)
{
    const uint64_t head[4] = {nl, dl, 0, 0};
    memcpy(p, head, sizeof head);
    memcpy(p + sizeof head, name, strlen(name));
    memcpy(p + sizeof head + strlen(name), data, have);
    return sizeof head + strlen(name) + have;
}

/* A damaged pack (rank 0's copy of the input files) must be refused with the buffer left to
 * the caller; before the fix, nb_files_reset() then freed pointers into it, and a name length
 * near 2^64 wrapped the bounds check (found by fuzz_files). */
static void file_cache_replay(void)
{
    u_ctx = "nb_files_replay of a damaged pack";
    struct {
        const char *what;
        int n, cut;         /* entries; bytes removed from the end */
        uint64_t second_nl; /* name length written for the second entry */
    } cases[] = {{"second entry truncated", 2, 4, 1},
                 {"name length wraps around", 2, 0, UINT64_MAX},
                 {"trailing bytes", 1, -3, 1},
                 {"intact", 2, 0, 1}};
    for (int c = 0; c < 4; c++) {
        unsigned char *b = calloc(1, 256);
        if (!b)
            return;
        uint64_t n = (uint64_t)cases[c].n;
        memcpy(b, &n, sizeof n);
        size_t len = sizeof n + pack_entry(b + sizeof n, 1, 5, "a", "hello", 5);
        if (cases[c].n == 2)
            len += pack_entry(b + len, cases[c].second_nl, 10, "b", "0123456789", 10);
        len = (size_t)((long)len - cases[c].cut);
        int rc = nb_files_replay(b, len);
        int intact = c == 3;
        CHECK(rc == (intact ? 0 : -1), "%s: %s: returned %d", u_ctx, cases[c].what, rc);
        if (rc == 0) {
            FILE *fp = nb_files_fopen("a", "rb");
            char got[8] = {0};
            CHECK(fp && fread(got, 1, sizeof got, fp) == 5 && !memcmp(got, "hello", 5),
                  "%s: %s: file a not served", u_ctx, cases[c].what);
            if (fp)
                fclose(fp);
            nb_files_reset(); /* frees b */
        } else {
            nb_files_reset(); /* must not touch b */
            free(b);
        }
    }
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/unit_io", NB_TEST_SCRATCH);
    if (nb_test_fresh_dir(g_dir)) {
        fprintf(stderr, "cannot create %s\n", g_dir);
        return 1;
    }
    hkl_basic();
    fdump_whitespace_body();
    hkl_columns();
    fdump_bad_headers();
    sources();
    matrices();
    smv();
    file_cache_replay();
    return u_summary("test_io");
}
