/* test_at_hkl.c -- AT-IO-003 (Fdump round trip, layout, Q22, --no-fdump), AT-IO-004 (HKL
 * column variants: --hkl-columns=first4 and the stream4 misread), AT-HKL-002 (default_F
 * prefill property).  spec/acceptance.md §3; formats.md §1, §2; physics.md §11, §12.2. */
#include "at_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *grid_hkl(void)
{
    size_t cap = 729 * 32, n = 0;
    char *t = malloc(cap);
    for (int h = -4; h <= 4; h++)
        for (int k = -4; k <= 4; k++)
            for (int l = -4; l <= 4; l++)
                n += (size_t)snprintf(t + n, cap - n, "%d %d %d %d\n", h, k, l,
                                      10 + h + 2 * k + 3 * l);
    return t;
}

#define IO003 "-cell 30 30 30 90 90 90 -N 5 -lambda 1 -detpixels 64 -distance 100 -nonoise -nopgm"

/* AT-IO-003 */
static void io003(void)
{
    const size_t n = 64 * 64;
    const char *d = at_dir("io003");
    char *g = grid_hkl();
    at_write_text(d, "grid.hkl", g);
    free(g);
    int rc = at_run(d, "-hkl grid.hkl " IO003 " -floatfile f1.bin");
    CHECK(rc == 0, "run with -hkl: exit status %d", rc);
    char *o1 = at_stdout(d);
    CHECK(at_line(o1, "  729 initialized hkls") != NULL, "no '  729 initialized hkls' line");
    free(o1);
    /* Fdump.bin layout (formats.md §2) */
    size_t len = 0;
    unsigned char *fd = at_file(d, "Fdump.bin", &len);
    CHECK(fd != NULL, "Fdump.bin not written");
    if (fd) {
        const char *hdr = "-4 4 -4 4 -4 4\n\f";
        size_t hl = strlen(hdr);
        CHECK(len == hl + 1000 * 8, "Fdump.bin: %zu bytes, expected %zu", len, hl + 8000);
        CHECK(len >= hl && memcmp(fd, hdr, hl) == 0, "Fdump.bin header \"%.20s\"", (char *)fd);
        if (len == hl + 8000) {
            int bad = 0;
            for (int ih = 0; ih < 10; ih++)
                for (int ik = 0; ik < 10; ik++)
                    for (int il = 0; il < 10; il++) {
                        double v;
                        memcpy(&v, fd + hl + 8 * (size_t)((ih * 10 + ik) * 10 + il), 8);
                        double want = (ih < 9 && ik < 9 && il < 9)
                                          ? 10 + (ih - 4) + 2 * (ik - 4) + 3 * (il - 4)
                                          : 0.0;
                        if (v != want && bad++ < 5)
                            fprintf(stderr, "Fdump [%d][%d][%d] = %g, expected %g\n", ih, ik, il, v,
                                    want);
                    }
            CHECK(bad == 0, "Fdump.bin body: %d values differ", bad);
        }
    }
    free(fd);
    rc = at_run(d, IO003 " -floatfile f2.bin");
    CHECK(rc == 0, "run without -hkl (Fdump.bin present): exit status %d", rc);
    char *o = at_stdout(d);
    int announced = 0;
    for (const char *p = o; (p = strstr(p, "Fdump.bin")); p++) {
        const char *ls = p;
        while (ls > o && ls[-1] != '\n')
            ls--;
        size_t l = strcspn(ls, "\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(l < 500 ? l : 500), ls);
        if (strstr(line, "read") || strstr(line, "Read") || strstr(line, "READ"))
            announced = 1;
    }
    CHECK(announced, "second run: no line announcing that Fdump.bin was read");
    CHECK(at_line(o, "  729 initialized hkls") != NULL,
          "second run: no '  729 initialized hkls' line (hkls = h_range*k_range*l_range)");
    free(o);
    float *a = at_floats(d, "f1.bin", n), *b = at_floats(d, "f2.bin", n);
    CHECK(a && b && memcmp(a, b, n * 4) == 0, "image from Fdump.bin differs from the -hkl run");
    double sum = 0;
    for (size_t i = 0; a && i < n; i++)
        sum += a[i];
    CHECK(sum > 0, "image is empty");
    free(b);
    /* Q22: the dump is read even when -default_F is given */
    rc = at_run(d, IO003 " -default_F 100 -floatfile f3.bin");
    CHECK(rc == 0, "run with -default_F and Fdump.bin: exit status %d", rc);
    b = at_floats(d, "f3.bin", n);
    CHECK(a && b && memcmp(a, b, n * 4) == 0,
          "-default_F 100 with Fdump.bin present: image differs from the -hkl run (Q22)");
    free(a);
    free(b);
    /* --no-fdump: neither read nor written -> usage, exit 9 */
    rc = at_run(d, IO003 " --no-fdump -floatfile f4.bin");
    CHECK(rc == 9, "--no-fdump without -hkl/-default_F: exit status %d, expected 9", rc);
    CHECK(!at_exists(d, "f4.bin"), "--no-fdump failure wrote an image");
    o = at_stdout(d);
    CHECK(strstr(o, "-hkl") != NULL, "--no-fdump failure: no usage text");
    free(o);
    /* --no-fdump with -hkl does not write Fdump.bin */
    const char *d2 = at_dir("io003_nofdump");
    g = grid_hkl();
    at_write_text(d2, "grid.hkl", g);
    free(g);
    rc = at_run(d2, "-hkl grid.hkl " IO003 " --no-fdump");
    CHECK(rc == 0 && !at_exists(d2, "Fdump.bin"), "--no-fdump -hkl: rc %d, Fdump.bin %s", rc,
          at_exists(d2, "Fdump.bin") ? "written" : "absent");
}

/* AT-IO-004 */
static const int refl[8][4] = {{0, 0, 0, 100}, {0, 1, 0, 50}, {0, -1, 0, 40},  {0, 0, 1, 30},
                               {0, 0, -1, 20}, {0, 1, 1, 25}, {0, -1, -1, 15}, {1, 1, -1, 12}};
static const int phase[8] = {0, 1, 2, 0, 1, 2, 0, 1};
static const int sigma[8] = {1, 2, 1, 3, 1, 2, 2, 1};

#define IO004 "-cell 30 30 30 90 90 90 -N 5 -lambda 1 -detpixels 64 -distance 50 -nonoise -nopgm"

static float *run_hkl(const char *sub, const char *text, const char *mode)
{
    const char *d = at_dir(sub);
    at_write_text(d, "in.hkl", text);
    int rc = at_run(d, "-hkl in.hkl " IO004 " %s", mode);
    CHECK(rc == 0, "%s: exit status %d", sub, rc);
    if (rc != 0) {
        char *e = at_stderr(d);
        fprintf(stderr, "%s: %s", sub, e);
        free(e);
        return NULL;
    }
    return at_floats(d, "floatimage.bin", 64 * 64);
}

/* the numbers of a file re-chunked into records of four, one per line */
static void rechunk(const int *nums, int cnt, char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i + 3 < cnt; i += 4)
        n += (size_t)snprintf(out + n, cap - n, "%d %d %d %d\n", nums[i], nums[i + 1], nums[i + 2],
                              nums[i + 3]);
}

static void io004(void)
{
    char f4[1024] = "", f5[1024] = "", f6[1024] = "", fc[1024] = "";
    int s5[40], s6[48], n4 = 0, n5 = 0, n6 = 0, nc = 0;
    nc += snprintf(fc + nc, sizeof fc - (size_t)nc, "# h k l F phase\n\n");
    for (int r = 0; r < 8; r++) {
        const int *x = refl[r];
        n4 += snprintf(f4 + n4, sizeof f4 - (size_t)n4, "%d %d %d %d\n", x[0], x[1], x[2], x[3]);
        n5 += snprintf(f5 + n5, sizeof f5 - (size_t)n5, "%d %d %d %d %d\n", x[0], x[1], x[2], x[3],
                       phase[r]);
        n6 += snprintf(f6 + n6, sizeof f6 - (size_t)n6, "%d %d %d %d %d %d\n", x[0], x[1], x[2],
                       x[3], phase[r], sigma[r]);
        nc += snprintf(fc + nc, sizeof fc - (size_t)nc, "  %d %d %d %d %d\n", x[0], x[1], x[2],
                       x[3], phase[r]);
        for (int c = 0; c < 4; c++) {
            s5[5 * r + c] = x[c];
            s6[6 * r + c] = x[c];
        }
        s5[5 * r + 4] = phase[r];
        s6[6 * r + 4] = phase[r];
        s6[6 * r + 5] = sigma[r];
    }
    float *ref = run_hkl("io004_4col", f4, "");
    float *a = run_hkl("io004_4col_first4", f4, "--hkl-columns=first4");
    float *b = run_hkl("io004_5col_first4", f5, "--hkl-columns=first4");
    float *c = run_hkl("io004_6col_first4", f6, "--hkl-columns=first4");
    float *e = run_hkl("io004_comment_first4", fc, "--hkl-columns=first4");
    const size_t nb = 64 * 64 * sizeof(float);
    CHECK(ref && a && memcmp(ref, a, nb) == 0, "first4 on the 4-column file differs from stream4");
    CHECK(ref && b && memcmp(ref, b, nb) == 0, "first4: 5-column file differs from 4-column");
    CHECK(ref && c && memcmp(ref, c, nb) == 0, "first4: 6-column file differs from 4-column");
    CHECK(ref && e && memcmp(ref, e, nb) == 0,
          "first4: file with '#' comment and blank line differs from 4-column");
    /* the reflections with negative indices matter: dropping them changes the image */
    char fpos[1024] = "";
    int np = 0;
    for (int r = 0; r < 8; r++)
        if (refl[r][1] >= 0 && refl[r][2] >= 0)
            np += snprintf(fpos + np, sizeof fpos - (size_t)np, "%d %d %d %d\n", refl[r][0],
                           refl[r][1], refl[r][2], refl[r][3]);
    float *pos = run_hkl("io004_nonneg", fpos, "");
    CHECK(ref && pos && memcmp(ref, pos, nb) != 0, "negative-index reflections have no effect");
    /* default stream4: extra columns are misread as the next record's numbers (Q18) */
    char r5[2048], r6[2048];
    rechunk(s5, 40, r5, sizeof r5);
    rechunk(s6, 48, r6, sizeof r6);
    float *m5 = run_hkl("io004_5col_stream", f5, ""), *q5 = run_hkl("io004_5col_rechunk", r5, "");
    float *m6 = run_hkl("io004_6col_stream", f6, ""), *q6 = run_hkl("io004_6col_rechunk", r6, "");
    CHECK(m5 && q5 && memcmp(m5, q5, nb) == 0,
          "stream4: 5-column file not read as a stream of 4-number records");
    CHECK(m6 && q6 && memcmp(m6, q6, nb) == 0,
          "stream4: 6-column file not read as a stream of 4-number records");
    float *all[] = {ref, a, b, c, e, pos, m5, q5, m6, q6};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

/* AT-HKL-002 default_F prefill: value = r_e^2 fluence F(h0,k0,l0)^2 P w */
static void hkl002_case(double defF)
{
    const int n = 64;
    char sub[32];
    snprintf(sub, sizeof sub, "hkl002_F%g", defF);
    const char *d = at_dir(sub);
    at_write_text(d, "sparse.hkl", "0 0 0 100\n2 0 0 80\n0 2 0 60\n");
    int rc = at_run(d,
                    "-hkl sparse.hkl -default_F %g -N 1 -nointerpolate -cell 100 100 100 90 90 "
                    "90 -lambda 1 -detpixels 64 -distance 100 -oversample 1 -nonoise -nopgm",
                    defF);
    CHECK(rc == 0, "%s: exit status %d", sub, rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    const double lambda = 1e-10, cell = 100e-10;
    int bad = 0, seen[4] = {0, 0, 0, 0}, skipped = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            v3 dv = v3_unit(P);
            v3 q = v3_scale(v3_sub(dv, g.b), 1.0 / lambda);
            double hkl[3] = {cell * q.x, cell * q.y, cell * q.z};
            int i0[3], edge = 0;
            for (int c = 0; c < 3; c++) {
                i0[c] = (int)ceil(hkl[c] - 0.5);
                double fr = hkl[c] - floor(hkl[c]);
                if (fabs(fr - 0.5) < 1e-6)
                    edge = 1;
            }
            if (edge) {
                skipped++;
                continue;
            }
            double F;
            int kind;
            if (i0[0] >= 0 && i0[0] <= 2 && i0[1] >= 0 && i0[1] <= 2 && i0[2] == 0) {
                if (i0[0] == 0 && i0[1] == 0)
                    F = 100, kind = 0;
                else if (i0[0] == 2 && i0[1] == 0)
                    F = 80, kind = 0;
                else if (i0[0] == 0 && i0[1] == 2)
                    F = 60, kind = 1;
                else
                    F = defF, kind = 2; /* in-grid missing point: prefill */
            } else {
                F = defF, kind = 3; /* out of grid */
            }
            seen[kind]++;
            double want =
                AT_RE2 * AT_FLUENCE * F * F * at_polar(g.b, dv, g.p, 0.0) * at_omega(&g, P, 0);
            float got = img[s * n + f];
            if (!at_f32_ok(got, want) && bad++ < 5)
                fprintf(stderr, "%s: pixel s %d f %d (hkl0 %d %d %d): %.9g, expected %.9g\n", sub,
                        s, f, i0[0], i0[1], i0[2], got, want);
        }
    printf("%s: pixels with F(000)=100 %d, F(020)=60 %d, prefilled %d, out of grid %d, "
           "skipped %d\n",
           sub, seen[0], seen[1], seen[2], seen[3], skipped);
    CHECK(seen[0] && seen[1] && seen[2] && seen[3], "%s: not all cases covered", sub);
    CHECK(bad == 0, "%s: %d pixels differ from r_e^2 fluence F^2 P w", sub, bad);
    free(img);
}

/* formats.md §2: reading Fdump.bin performs no default_F prefill (the stored grid keeps the
 * prefill made when it was written), reflections outside the stored range use the current
 * default_F.  Write the dump from sparse.hkl with -default_F 0, then render from the dump with
 * -default_F 10: in-grid missing points stay 0, out-of-grid points use 10. */
static void fdump_default_F(void)
{
    const int n = 64;
    const char *d = at_dir("fdump_defF");
    at_write_text(d, "sparse.hkl", "0 0 0 100\n2 0 0 80\n0 2 0 60\n");
    const char *cmd = "-N 1 -nointerpolate -cell 100 100 100 90 90 90 -lambda 1 -detpixels 64 "
                      "-distance 100 -oversample 1 -nonoise -nopgm";
    int rc = at_run(d, "-hkl sparse.hkl -default_F 0 %s -floatfile w.bin", cmd);
    CHECK(rc == 0, "fdump_defF: first run exit status %d", rc);
    rc = at_run(d, "-default_F 10 %s", cmd);
    CHECK(rc == 0, "fdump_defF: second run exit status %d", rc);
    float *img = at_floats(d, "floatimage.bin", (size_t)n * n);
    if (!img)
        return;
    at_det g;
    at_det_init(&g, AT_MOSFLM, n, n, 0.1, 100, NAN, NAN);
    int bad = 0, nmiss = 0, nout = 0;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < n; f++) {
            v3 P = at_subpixel_pos(&g, s, f, 1, 0, 0, 0.0);
            v3 dv = v3_unit(P);
            v3 q = v3_scale(v3_sub(dv, g.b), 1e10);
            double x[3] = {100e-10 * q.x, 100e-10 * q.y, 100e-10 * q.z};
            int i0[3], edge = 0;
            for (int c = 0; c < 3; c++) {
                i0[c] = (int)ceil(x[c] - 0.5);
                if (fabs(x[c] - floor(x[c]) - 0.5) < 1e-6)
                    edge = 1;
            }
            if (edge)
                continue;
            double F;
            if (i0[0] >= 0 && i0[0] <= 2 && i0[1] >= 0 && i0[1] <= 2 && i0[2] == 0) {
                F = (i0[0] == 0 && i0[1] == 0) ? 100 : (i0[0] == 0 && i0[1] == 2) ? 60 : 0;
                if (F == 0)
                    nmiss++;
            } else {
                F = 10;
                nout++;
            }
            double want =
                AT_RE2 * AT_FLUENCE * F * F * at_polar(g.b, dv, g.p, 0.0) * at_omega(&g, P, 0);
            float got = img[s * n + f];
            if ((want == 0 ? got != 0.0f : !at_f32_ok(got, want)) && bad++ < 5)
                fprintf(stderr,
                        "fdump_defF: pixel s %d f %d (hkl0 %d %d %d) = %.9g, expected "
                        "%.9g\n",
                        s, f, i0[0], i0[1], i0[2], got, want);
        }
    CHECK(nmiss > 0 && nout > 0, "fdump_defF: case does not cover both kinds of pixel");
    CHECK(bad == 0,
          "fdump_defF: %d pixels differ (dump read must not prefill; out-of-range "
          "reflections use the current default_F)",
          bad);
    free(img);
}

/* AT-HKL-001 loader cases without a reference: text-only file -> exit 9; '#' comments and
 * blank lines skipped (formats.md §1 [new]); a non-numeric token or a final incomplete record
 * -> exit 9 naming the file and line, no output at all (not even Fdump.bin); a non-integer
 * index is reported with its value. */
static int no_output(const char *d)
{
    return !at_exists(d, "Fdump.bin") && !at_exists(d, "floatimage.bin") &&
           !at_exists(d, "intimage.img");
}

static void hkl_loader(void)
{
    const char *d = at_dir("hkl_text");
    at_write_text(d, "t.hkl", "h k l F\n");
    int rc = at_run(d, "-hkl t.hkl " IO004);
    CHECK(rc == 9, "HKL file with only a text line: exit status %d, expected 9", rc);
    CHECK(no_output(d), "HKL file with only a text line: output written");

    const char *plain = "0 0 0 100\n0 1 0 50\n0 -1 0 40\n0 0 1 30\n";
    const char *commented = "# h k l F\n\n0 0 0 100\n   # another comment\n0 1 0 50\n\n"
                            "0 -1 0 40\n0 0 1 30\n";
    float *a = run_hkl("hkl_plain", plain, ""), *b = run_hkl("hkl_commented", commented, "");
    CHECK(a && b && memcmp(a, b, 64 * 64 * sizeof(float)) == 0,
          "default mode: '#' comment and blank lines are not skipped (formats.md §1)");
    free(a);
    free(b);

    d = at_dir("hkl_badtoken");
    at_write_text(d, "bad.hkl", "0 0 0 100\n0 1 0 abc\n0 0 1 30\n");
    rc = at_run(d, "-hkl bad.hkl " IO004);
    char *e = at_stderr(d);
    CHECK(rc == 9, "non-numeric token: exit status %d, expected 9", rc);
    CHECK(strstr(e, "bad.hkl") && strstr(e, "2"),
          "non-numeric token: error does not name file "
          "and line: %s",
          e);
    CHECK(no_output(d), "non-numeric token: output written");
    free(e);

    d = at_dir("hkl_incomplete");
    at_write_text(d, "inc.hkl", "0 0 0 100\n0 1 0 50\n0 0 1\n");
    rc = at_run(d, "-hkl inc.hkl " IO004);
    e = at_stderr(d);
    CHECK(rc == 9, "final incomplete record: exit status %d, expected 9", rc);
    CHECK(strstr(e, "inc.hkl") != NULL, "final incomplete record: error does not name the file");
    CHECK(no_output(d), "final incomplete record: output written");
    free(e);

    /* non-integer index: the value is reported (exit status not asserted, see report) */
    d = at_dir("hkl_nonint");
    at_write_text(d, "ni.hkl", "0 0 0 100\n0 1.5 0 50\n");
    rc = at_run(d, "-hkl ni.hkl " IO004);
    char *o = at_stdout(d);
    e = at_stderr(d);
    CHECK(strstr(o, "1.5") || strstr(e, "1.5"),
          "non-integer index: no message with the value 1.5 (rc %d)", rc);
    printf("non-integer index: exit status %d; %s", rc, e);
    free(o);
    free(e);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_hkl"))
        return 2;
    io003();
    io004();
    hkl002_case(10);
    hkl002_case(0);
    hkl_loader();
    fdump_default_F();
    return at_finish();
}
