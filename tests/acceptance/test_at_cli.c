/* test_at_cli.c -- AT-CLI-001 (help), AT-CLI-002 (minimal render), AT-CLI-007 (noise
 * determinism), AT-CLI-009 (errors), AT-CLI-010 (legacy matching: aliases, unknown flags,
 * order dependence, --strict-cli).  spec/acceptance.md §11; cli.md §1-§6, §8;
 * formats.md §5, §8, §9; geometry.md §3. */
#define _POSIX_C_SOURCE 200809L
#include "at_common.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define B "-default_F 100 -cell 100 100 100 90 90 90"

/* flag appears as a word: preceded by start/space/punctuation, followed by a non-word char */
static int has_flag(const char *text, const char *flag)
{
    size_t fl = strlen(flag);
    for (const char *p = strstr(text, flag); p; p = strstr(p + 1, flag)) {
        int pre_ok = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-');
        int post_ok = !(isalnum((unsigned char)p[fl]) || p[fl] == '_');
        if (pre_ok && post_ok)
            return 1;
    }
    return 0;
}

static const char *usage_flags[] = {"-hkl",       "-mat",     "-cell",   "-pixel",     "-detpixels",
                                    "-distance",  "-lambda",  "-energy", "-floatfile", "-intfile",
                                    "-noisefile", "-pgmfile", "-scale",  "-adc",       "-mosflm",
                                    "-xds",       "-roi"};

static void check_usage(const char *tag, const char *text)
{
    int missing = 0;
    for (size_t k = 0; k < sizeof usage_flags / sizeof usage_flags[0]; k++)
        if (!has_flag(text, usage_flags[k])) {
            missing++;
            fprintf(stderr, "%s: usage text lacks %s\n", tag, usage_flags[k]);
        }
    CHECK(missing == 0, "%s: %d required flags missing from the usage text", tag, missing);
}

static char *out_and_err(const char *d)
{
    char *o = at_stdout(d), *e = at_stderr(d);
    size_t lo = strlen(o), le = strlen(e);
    char *r = malloc(lo + le + 2);
    memcpy(r, o, lo);
    r[lo] = '\n';
    memcpy(r + lo + 1, e, le + 1);
    free(o);
    free(e);
    return r;
}

static int no_outputs(const char *d)
{
    static const char *names[] = {"floatimage.bin", "intimage.img", "noiseimage.img", "image.pgm",
                                  "Fdump.bin"};
    int n = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (at_exists(d, names[k])) {
            fprintf(stderr, "%s: unexpected output file %s\n", d, names[k]);
            n++;
        }
    return n == 0;
}

/* AT-CLI-001 */
static void cli001(void)
{
    const char *forms[2] = {"-h", "--help"};
    for (int k = 0; k < 2; k++) {
        char sub[32];
        snprintf(sub, sizeof sub, "cli001_%d", k);
        const char *d = at_dir(sub);
        int rc = at_run_raw(d, "%s", forms[k]);
        CHECK(rc == 0, "%s: exit status %d, expected 0", forms[k], rc);
        char *o = at_stdout(d);
        check_usage(forms[k], o);
        free(o);
    }
    const char *d = at_dir("cli001_noargs");
    int rc = at_run_raw(d, "%s", "");
    CHECK(rc == 9, "no arguments: exit status %d, expected 9", rc);
    char *t = out_and_err(d);
    check_usage("no arguments", t);
    free(t);
    CHECK(no_outputs(d), "no arguments: output files written");
}

/* header key order of formats.md §5 */
static void check_header_layout(const char *tag, const char *h)
{
    static const char *keys[] = {"HEADER_BYTES",    "DIM",
                                 "BYTE_ORDER",      "TYPE",
                                 "SIZE1",           "SIZE2",
                                 "PIXEL_SIZE",      "DISTANCE",
                                 "WAVELENGTH",      "BEAM_CENTER_X",
                                 "BEAM_CENTER_Y",   "ADXV_CENTER_X",
                                 "ADXV_CENTER_Y",   "MOSFLM_CENTER_X",
                                 "MOSFLM_CENTER_Y", "DENZO_X_BEAM",
                                 "DENZO_Y_BEAM",    "DIALS_ORIGIN",
                                 "XDS_ORGX",        "XDS_ORGY",
                                 "CLOSE_DISTANCE",  "PHI",
                                 "OSC_START",       "OSC_RANGE",
                                 "TWOTHETA",        "DETECTOR_SN",
                                 "BEAMLINE"};
    CHECK(strncmp(h, "{\n", 2) == 0, "%s: header does not start with {\\n", tag);
    const char *p = h + 2;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k]);
        if (!(strncmp(p, keys[k], kl) == 0 && p[kl] == '=')) {
            CHECK(0, "%s: header line %zu is \"%.30s\", expected key %s", tag, k + 2, p, keys[k]);
            return;
        }
        const char *nl = strchr(p, '\n');
        if (!nl) {
            CHECK(0, "%s: header line of %s not terminated", tag, keys[k]);
            return;
        }
        int semi = nl[-1] == ';';
        if (strcmp(keys[k], "DIALS_ORIGIN") == 0)
            CHECK(!semi, "%s: DIALS_ORIGIN line ends with ';'", tag);
        else
            CHECK(semi, "%s: %s line lacks the trailing ';'", tag, keys[k]);
        p = nl + 1;
    }
    CHECK(p[0] == '}' && p[1] == '\f', "%s: '}' + form feed expected after BEAMLINE", tag);
    size_t off = (size_t)(p - h) + 2;
    int pad_ok = 1;
    for (size_t i = off; i < 512; i++)
        if (h[i] != ' ')
            pad_ok = 0;
    CHECK(pad_ok, "%s: header not padded with spaces to 512 bytes", tag);
}

/* AT-CLI-002 minimal render */
static void cli002(void)
{
    const char *d = at_dir("cli002");
    int rc = at_run(d, "-default_F 1 -cell 100 100 100 90 90 90 -detpixels 32 -pixel 0.1 "
                       "-distance 100 -floatfile f.bin -intfile i.img");
    CHECK(rc == 0, "exit status %d", rc);
    CHECK(at_size(d, "f.bin") == 32 * 32 * 4, "f.bin size %ld", at_size(d, "f.bin"));
    CHECK(at_size(d, "i.img") == 512 + 32 * 32 * 2, "i.img size %ld", at_size(d, "i.img"));
    CHECK(at_size(d, "noiseimage.img") == 512 + 32 * 32 * 2, "noiseimage.img size %ld",
          at_size(d, "noiseimage.img"));
    size_t len = 0;
    unsigned char *pg = at_file(d, "image.pgm", &len);
    CHECK(pg != NULL, "image.pgm not written by default (Q33)");
    if (pg) {
        /* P5\n32 32\n# pixels scaled by <s>\n255\n + 1024 bytes */
        const char *q = (const char *)pg;
        const char *c = strstr(q, "\n255\n");
        CHECK(strncmp(q, "P5\n32 32\n# pixels scaled by ", 28) == 0 && c &&
                  len == (size_t)(c + 5 - q) + 1024,
              "image.pgm: header/size wrong (%zu bytes)", len);
    }
    free(pg);
    CHECK(!at_exists(d, "floatimage.bin") && !at_exists(d, "intimage.img"),
          "default-named float/int files written although -floatfile/-intfile were given");
    char *h = NULL;
    uint16_t *v = at_smv(d, "i.img", 32 * 32, &h);
    if (h)
        check_header_layout("i.img", h);
    free(h);
    free(v);
    v = at_smv(d, "noiseimage.img", 32 * 32, &h);
    if (h)
        check_header_layout("noiseimage.img", h);
    free(h);
    free(v);
}

/* AT-CLI-007 noise determinism */
static void cli007(void)
{
    const char *cmd = B " -N 5 -lambda 6.2 -detpixels 64 -distance 100 -oversample 1 -nopgm "
                        "-fluence 1e33";
    const char *d1 = at_dir("cli007_s5a"), *d2 = at_dir("cli007_s5b"), *d3 = at_dir("cli007_s6");
    int r1 = at_run(d1, "%s -seed 5", cmd), r2 = at_run(d2, "%s -seed 5", cmd),
        r3 = at_run(d3, "%s -seed 6", cmd);
    CHECK(r1 == 0 && r2 == 0 && r3 == 0, "exit status %d %d %d", r1, r2, r3);
    CHECK(at_same_file(d1, d2, "noiseimage.img"), "-seed 5 twice: noise files differ");
    CHECK(!at_same_file(d1, d3, "noiseimage.img"), "-seed 5 vs -seed 6: noise files identical");
    char *o1 = at_stdout(d1), *o2 = at_stdout(d2);
    const char *l1 = strstr(o1, " photons on noise image ("),
               *l2 = strstr(o2, " photons on noise image (");
    CHECK(l1 && l2, "no photon/overload line");
    if (l1 && l2) {
        while (l1 > o1 && l1[-1] != '\n')
            l1--;
        while (l2 > o2 && l2[-1] != '\n')
            l2--;
        size_t n1 = strcspn(l1, "\n"), n2 = strcspn(l2, "\n");
        CHECK(n1 == n2 && strncmp(l1, l2, n1) == 0, "photon/overload lines differ: %.*s / %.*s",
              (int)n1, l1, (int)n2, l2);
        printf("cli007: %.*s\n", (int)n1, l1);
        CHECK(strstr(l1, "(0 overloads)") == NULL, "no overloads: the case does not exercise them");
    }
    free(o1);
    free(o2);
    /* without -seed: the default seed (nb_default_seed: clock in ns, pid, counter) differs
     * between two runs started back to back, usually in the same second (nanoBragg's time in
     * seconds gave them the same noise) */
    const char *d4 = at_dir("cli007_t1"), *d5 = at_dir("cli007_t2");
    int r4 = at_run(d4, "%s", cmd);
    int r5 = at_run(d5, "%s", cmd);
    CHECK(r4 == 0 && r5 == 0, "exit status %d %d", r4, r5);
    char *o4 = at_stdout(d4), *o5 = at_stdout(d5);
    const char *s4 = strstr(o4, "  seed: "), *s5 = strstr(o5, "  seed: ");
    CHECK(s4 && s5 && strcspn(s4, "\n") > 8, "no seed line");
    if (s4 && s5)
        CHECK(strncmp(s4, s5, strcspn(s4, "\n") + 1) != 0, "same default seed twice: %.*s",
              (int)strcspn(s4, "\n"), s4);
    free(o4);
    free(o5);
    CHECK(!at_same_file(d4, d5, "noiseimage.img"),
          "two runs without -seed, started back to back: identical noise files");
}

/* AT-CLI-009 errors */
static void cli009(void)
{
    const char *d = at_dir("cli009_noinput");
    int rc = at_run(d, "-cell 100 100 100 90 90 90 -detpixels 16");
    CHECK(rc == 9, "no -hkl, no -default_F: exit status %d, expected 9", rc);
    char *t = out_and_err(d);
    check_usage("no -hkl/-default_F", t);
    free(t);
    CHECK(no_outputs(d), "no -hkl/-default_F: output files written");

    d = at_dir("cli009_missing");
    rc = at_run(d, "-hkl missing.hkl -cell 100 100 100 90 90 90 -detpixels 16");
    CHECK(rc == 9, "-hkl missing.hkl: exit status %d, expected 9", rc);
    t = out_and_err(d);
    CHECK(strstr(t, "missing.hkl") != NULL, "-hkl missing.hkl: message does not name the file");
    free(t);
    CHECK(no_outputs(d), "-hkl missing.hkl: output files written");

    d = at_dir("cli009_emptysrc");
    at_write_text(d, "empty.txt", "");
    rc = at_run(d, B " -detpixels 16 -sourcefile empty.txt");
    CHECK(rc == 9, "-sourcefile empty.txt: exit status %d, expected 9", rc);
    CHECK(no_outputs(d), "-sourcefile empty.txt: output files written");
}

/* render base + flags; returns the float image (64x64) or NULL */
#define ALIAS_BASE "-N 5 -detpixels 64 -distance 100 -oversample 1 -nonoise -nopgm"
static float *render(const char *sub, const char *flags, char **out)
{
    const char *d = at_dir(sub);
    at_write_text(d, "m.mat",
                  /* columns a*, b*, c* (1/A, times lambda = 1 A): cubic 100 A cell rotated
                   * by 20 deg about z then 10 deg about x */
                  "0.0093969262 -0.0034202014 0.0000000000\n"
                  "0.0033682409  0.0092541658 -0.0017364818\n"
                  "0.0005939117  0.0016317591  0.0098480775\n");
    int rc = at_run(d, "%s", flags);
    CHECK(rc == 0, "%s: exit status %d", flags, rc);
    if (out)
        *out = at_stdout(d);
    return rc == 0 ? at_floats(d, "floatimage.bin", 64 * 64) : NULL;
}

static int same_img(const float *a, const float *b)
{
    return a && b && memcmp(a, b, 64 * 64 * sizeof(float)) == 0;
}

static void alias_pair(const char *tag, const char *common, const char *fa, const char *fb,
                       const char *f0)
{
    char la[1024], lb[1024], l0[1024], s1[64], s2[64], s0[64];
    snprintf(la, sizeof la, "%s %s %s", common, ALIAS_BASE, fa);
    snprintf(lb, sizeof lb, "%s %s %s", common, ALIAS_BASE, fb);
    snprintf(l0, sizeof l0, "%s %s %s", common, ALIAS_BASE, f0);
    snprintf(s1, sizeof s1, "%s_a", tag);
    snprintf(s2, sizeof s2, "%s_b", tag);
    snprintf(s0, sizeof s0, "%s_0", tag);
    float *a = render(s1, la, NULL), *b = render(s2, lb, NULL), *z = render(s0, l0, NULL);
    CHECK(same_img(a, b), "%s: '%s' and '%s' give different images", tag, fa, fb);
    CHECK(a && z && !same_img(a, z), "%s: '%s' has no effect (alias test is vacuous)", tag, fa);
    free(a);
    free(b);
    free(z);
}

static void unknown_flag(const char *tag, const char *flag)
{
    char l0[512], l1[512], s1[64], s0[64];
    snprintf(l0, sizeof l0, B " -lambda 6.2 %s", ALIAS_BASE);
    snprintf(l1, sizeof l1, B " -lambda 6.2 %s %s", ALIAS_BASE, flag);
    snprintf(s0, sizeof s0, "%s_0", tag);
    snprintf(s1, sizeof s1, "%s_1", tag);
    char *o1 = NULL;
    float *z = render(s0, l0, NULL), *a = render(s1, l1, &o1);
    CHECK(same_img(a, z), "unknown flag '%s' changed the image", flag);
    char name[64];
    snprintf(name, sizeof name, "%s", flag);
    *strchr(name, ' ') = '\0';
    int noted = 0;
    for (const char *p = o1; p && (p = strstr(p, "NOTE:")); p++) {
        size_t l = strcspn(p, "\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(l < 500 ? l : 500), p);
        if (strstr(line, name))
            noted = 1;
    }
    CHECK(noted, "unknown flag '%s': no NOTE: line naming it", flag);
    free(o1);
    free(a);
    free(z);
}

/* -nonoise/-noisefile and -nopgm/-pgmfile: last wins (cli.md §4.9) */
static void order_dependence(void)
{
    const char *d = at_dir("order_noise1");
    int rc = at_run(d, B " -detpixels 16 -seed 1 -nonoise -noisefile n.img");
    CHECK(rc == 0 && at_size(d, "n.img") == 512 + 2 * 256,
          "-nonoise -noisefile n.img: noise image not written");
    d = at_dir("order_noise2");
    rc = at_run(d, B " -detpixels 16 -seed 1 -noisefile n.img -nonoise");
    CHECK(rc == 0 && !at_exists(d, "n.img") && !at_exists(d, "noiseimage.img"),
          "-noisefile n.img -nonoise: a noise image was written");
    d = at_dir("order_pgm1");
    rc = at_run(d, B " -detpixels 16 -nonoise -nopgm -pgmfile p.pgm");
    CHECK(rc == 0 && at_exists(d, "p.pgm"), "-nopgm -pgmfile p.pgm: PGM not written");
    d = at_dir("order_pgm2");
    rc = at_run(d, B " -detpixels 16 -nonoise -pgmfile p.pgm -nopgm");
    CHECK(rc == 0 && !at_exists(d, "p.pgm") && !at_exists(d, "image.pgm"),
          "-pgmfile p.pgm -nopgm: a PGM was written");

    /* convention: the last convention/vector flag wins (geometry.md §3) */
    d = at_dir("order_conv1");
    rc = at_run(d, B " -detpixels 16 -nonoise -nopgm -xds -fdet_vector 0 0 1");
    char *o = at_stdout(d);
    double v[3] = {NAN, NAN, NAN}, w[3] = {NAN, NAN, NAN};
    CHECK(rc == 0 && at_line(o, "custom convention selected") != NULL,
          "-xds -fdet_vector: custom convention not selected");
    at_nums(o, "DETECTOR_SLOW_AXIS ", v, 3);
    at_nums(o, "DETECTOR_NORMAL_AXIS ", w, 3);
    CHECK(v[0] == 0 && v[1] == -1 && v[2] == 0 && w[0] == 1 && w[1] == 0 && w[2] == 0,
          "-xds -fdet_vector 0 0 1: slow (%g %g %g) normal (%g %g %g), expected the CUSTOM "
          "defaults (0 -1 0), (1 0 0)",
          v[0], v[1], v[2], w[0], w[1], w[2]);
    free(o);
    d = at_dir("order_conv2");
    rc = at_run(d, B " -detpixels 16 -nonoise -nopgm -fdet_vector 1 0 0 -mosflm");
    o = at_stdout(d);
    CHECK(rc == 0 && at_line(o, "mosflm convention selected") != NULL,
          "-fdet_vector -mosflm: mosflm convention not selected");
    at_nums(o, "DETECTOR_FAST_AXIS ", v, 3);
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 1,
          "-fdet_vector 1 0 0 -mosflm: fast axis (%g %g %g), expected (0 0 1)", v[0], v[1], v[2]);
    free(o);
}

static void cli010(void)
{
    alias_pair("mat", "-default_F 100 -lambda 1", "-mat m.mat", "-matrix m.mat",
               "-cell 100 100 100 90 90 90");
    alias_pair("mosaic", B " -lambda 6.2", "-mosaic 0.5 -mosaic_dom 4",
               "-mosaic_spread 0.5 -mosaic_domains 4", "");
    alias_pair("detabs", B " -lambda 6.2 -detector_thick 100 -thicksteps 2", "-detector_abs 50",
               "-detector_absorb 50", "");
    alias_pair("lambda", B, "-lambda 1.5", "-wavelength 1.5", "");
    alias_pair("osc", B " -lambda 6.2", "-osc 1", "-oscillation 1", "");
    alias_pair("xtalsize", B " -lambda 6.2", "-xtalsize 0.0002", "-samplesize 0.0002", "");
    unknown_flag("hdiv", "-hdiv 0.2");
    unknown_flag("dispstep", "-dispstep 3");
    unknown_flag("dettwotheta", "-detector_twotheta 5");
    order_dependence();

    /* -misset random -misset_seed 3 keeps the random misset (exact -misset match, Q35) */
    char *o1 = NULL, *o2 = NULL;
    float *a = render("misset_a", B " -lambda 1 " ALIAS_BASE " -misset random -misset_seed 3", &o1);
    float *b = render("misset_b", B " -lambda 1 " ALIAS_BASE " -misset random -misset_seed 3", &o2);
    const char *l1 = at_line(o1, "random orientation misset angles: ");
    const char *l2 = at_line(o2, "random orientation misset angles: ");
    CHECK(l1 != NULL, "-misset random -misset_seed 3: no random misset line");
    CHECK(l1 && l2 && strcspn(l1, "\n") == strcspn(l2, "\n") &&
              strncmp(l1, l2, strcspn(l1, "\n")) == 0,
          "same -misset_seed: different misset angles");
    CHECK(same_img(a, b), "same -misset_seed: different images");
    free(o1);
    free(o2);
    free(a);
    free(b);

    /* --strict-cli: unknown flags exit 9 */
    const char *d = at_dir("strict_unknown");
    int rc = at_run(d, B " -detpixels 16 -nonoise -nopgm --strict-cli -hdiv 0.2");
    CHECK(rc == 9, "--strict-cli -hdiv 0.2: exit status %d, expected 9", rc);
    d = at_dir("strict_known");
    rc = at_run(d, B " -detpixels 16 -nonoise -nopgm --strict-cli -lambda 1.5");
    CHECK(rc == 0, "--strict-cli with known flags: exit status %d, expected 0", rc);
}

int main(int argc, char **argv)
{
    if (at_init(argc, argv, "at_cli"))
        return 2;
    cli001();
    cli002();
    cli007();
    cli009();
    cli010();
    return at_finish();
}
