/* test_image.c -- finite inputs that overflow (docs/cli.md §1.2): the scan of a rendered float
 * image for inf/NaN, and the set-up's refusals of inputs that make every pixel inf/NaN or an
 * (int) conversion undefined.
 *
 * Oracle: IEEE 754 (which floats are finite), the intensity formula of spec/physics.md §6/§14
 * (which inputs make every term inf or NaN), C17 6.3.1.4 (a double converts to int only when
 * its integral part fits) and x86-64's conversion of the rest to INT_MIN.  Images and kernel
 * blocks are built by hand; scenes come from command lines through the real set-up stages.
 */
#include "unit_common.h"

#include <float.h>

#include "engine/nb_image.h"

/* ------------------------------------------------------------------- the scan itself */

static void count_nonfinite(void)
{
    u_ctx = "nb_image_count_nonfinite";
    size_t first = 77;
    CHECK(nb_image_count_nonfinite(NULL, 0, &first) == 0 && first == 77,
          "%s: an empty image has no bad pixel and leaves *first alone", u_ctx);

    /* finite extremes: largest, smallest normal and subnormal, signed zero, negatives */
    const float ok[] = {0.0f, -0.0f, 1.0f, -1.0f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, -1e-45f};
    const size_t nok = sizeof ok / sizeof ok[0];
    first = 77;
    CHECK(nb_image_count_nonfinite(ok, nok, &first) == 0 && first == 77,
          "%s: finite extremes counted as bad (first %zu)", u_ctx, first);

    float img[12];
    for (int i = 0; i < 12; i++)
        img[i] = (float)i;
    img[5] = NAN;
    img[7] = INFINITY;
    img[9] = -INFINITY;
    size_t n = nb_image_count_nonfinite(img, 12, &first);
    CHECK(n == 3 && first == 5, "%s: NaN, +inf, -inf at 5, 7, 9: got %zu bad, first %zu", u_ctx,
          n, first);

    for (int i = 0; i < 12; i++)
        img[i] = 1.0f;
    img[11] = INFINITY; /* only the last pixel */
    n = nb_image_count_nonfinite(img, 12, &first);
    CHECK(n == 1 && first == 11, "%s: last pixel inf: got %zu bad, first %zu", u_ctx, n, first);

    /* a double beyond FLT_MAX stored as float is +inf: what the pixel loop's cast produces */
    volatile double big = 1e39;
    img[0] = (float)big;
    n = nb_image_count_nonfinite(img, 1, &first);
    CHECK(n == 1 && first == 0, "%s: (float)1e39 not seen as non-finite", u_ctx);
}

static void check_finite(void)
{
    u_ctx = "nb_image_check_finite";
    struct nb_scene sc;
    memset(&sc, 0, sizeof sc);
    sc.fpixels = 4;
    sc.spixels = 3;
    sc.k.fpixels = 4;
    sc.k.spixels = 3;
    sc.k.default_F = 1e30;
    sc.k.Na = sc.k.Nb = sc.k.Nc = 5;
    sc.k.fluence = 1e24;
    sc.k.kahn = 0.5;
    float img[12];
    for (int i = 0; i < 12; i++)
        img[i] = FLT_MAX;
    struct nb_err err = {{0}};
    CHECK(nb_image_check_finite(&sc, img, &err) == NB_OK && err.msg[0] == '\0',
          "%s: an all-FLT_MAX image is finite, got '%s'", u_ctx, err.msg);

    img[6] = NAN; /* slow 1, fast 2 of a 4-wide image */
    img[10] = INFINITY;
    nb_status st = nb_image_check_finite(&sc, img, &err);
    CHECK(st == NB_E_USAGE, "%s: status %s, expected NB_E_USAGE", u_ctx, nb_strerror(st));
    static const char *const names[] = {"-default_F", "-hkl",   "-N",   "-fluence",
                                        "-flux",      "-water", "-polar"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(strstr(err.msg, names[i]) != NULL, "%s: message does not name %s: %s", u_ctx,
              names[i], err.msg);
    CHECK(strstr(err.msg, "2 of 12 pixels") && strstr(err.msg, "slow 1 fast 2"),
          "%s: message does not count 2 of 12 and locate slow 1 fast 2: %s", u_ctx, err.msg);
    CHECK(strstr(err.msg, "default_F 1e+30") && strstr(err.msg, "fluence 1e+24"),
          "%s: message does not give the values in effect: %s", u_ctx, err.msg);
    CHECK(strchr(err.msg, '\n') == NULL, "%s: the message must be one line: %s", u_ctx, err.msg);

    /* with a grid, the largest |F| of the grid is named too */
    double F[8] = {1, -3e20, 2, 0, 0, 0, 0, 0};
    sc.k.hkls = 1;
    sc.k.h_range = 1; /* a 2 x 1 x 1 grid: F[0], F[1] */
    sc.k.Fhkl = F;
    st = nb_image_check_finite(&sc, img, &err);
    CHECK(st == NB_E_USAGE && strstr(err.msg, "-hkl |F| 3e+20"),
          "%s: the grid's largest |F| (3e+20) is not reported: %s", u_ctx, err.msg);
}

/* ------------------------------------------------- the set-up's checks, stage by stage */

#define SMALL "-cell 100 100 100 90 90 90 -detpixels 8 -distance 100 "

/* All four set-up stages without structure-factor grid; the message goes to err. */
static nb_status setup_all(const char *line, struct nb_scene *sc, struct nb_err *err)
{
    struct nb_cli cli;
    struct nb_msg_sink sink = {NULL, NULL};
    memset(sc, 0, sizeof *sc);
    err->msg[0] = '\0';
    if (u_parse(line, &cli))
        return NB_E_INTERNAL;
    nb_status st = nb_setup_begin(&cli.cfg, sc, &sink, err);
    if (st == NB_OK)
        st = nb_setup_geometry(&cli.cfg, sc, &sink, err);
    if (st == NB_OK)
        st = nb_setup_crystal(&cli.cfg, sc, &sink, err);
    if (st == NB_OK)
        st = nb_setup_finish(&cli.cfg, sc, NULL, &sink, err);
    nb_cli_fini(&cli);
    return st;
}

static void setup_refusals(void)
{
    static const struct {
        const char *args;
        nb_status status;  /* NB_OK: not certainly inf/NaN, so the set-up must succeed */
        const char *names; /* what the message must name */
    } cases[] = {
        /* F^2 overflows and every term uses default_F (no grid): every pixel inf/NaN */
        {"-default_F 1e308", NB_E_USAGE, "-default_F"},
        {"-default_F 1e154", NB_OK, NULL},             /* F^2 = 1e308: still finite */
        {"-default_F 1e308 -dmin 2", NB_OK, NULL},     /* -dmin may cut every term (Q14) */
        {"-default_F 1e308 -gauss_xtal", NB_OK, NULL}, /* F_latt may underflow to 0: skipped */
        {"-default_F 1e308 -gauss_xtal -water 1", NB_E_USAGE, "-default_F"}, /* never skipped */
        /* fluence from flux x exposure / beamsize^2 */
        {"-default_F 1 -flux 1e300 -exposure 1e10 -beamsize 1e-5", NB_E_USAGE, "-flux"},
        {"-default_F 1 -flux 1 -exposure 1 -beamsize 0", NB_E_USAGE, "-beamsize"},
        {"-default_F 1 -flux 1e300 -exposure 1 -beamsize 1", NB_OK, NULL},
        {"-default_F 1 -fluence 1e308", NB_OK, NULL}, /* finite: left to the image scan */
        /* ...but nothing is refused when no pixel is rendered (an all-zero image) */
        {"-default_F 1 -flux 1 -exposure 1 -beamsize 0 -roi 20 30 20 30", NB_OK, NULL},
        /* the water background */
        {"-default_F 1 -water 1e120", NB_E_USAGE, "-water"},
        {"-default_F 1 -water 1e30", NB_OK, NULL},
        /* lattice factor: N non-finite, or N^3 non-finite for a non-square shape */
        {"-default_F 1 -xtalsize 1e100 -beamsize 1e100 -oversample 1 -round_xtal", NB_E_USAGE,
         "-N"},
        {"-default_F 1 -xtalsize 1e100 -beamsize 1e100 -oversample 1 -tophat_spots",
         NB_E_USAGE, "-xtalsize"},
        {"-default_F 1 -xtalsize 1e100 -beamsize 1e100 -oversample 1", NB_OK, NULL}, /* square */
        {"-default_F 1 -xtalsize 1e305 -beamsize 1e305 -oversample 1", NB_E_USAGE,
         "-xtalsize"}, /* N = 1e302 m / 1e-8 m = inf */
        /* mosaic spread beyond the float range: NaN domains when there are two or more */
        {"-default_F 1 -N 5 -mosaic 1e41 -mosaic_dom 2", NB_E_USAGE, "-mosaic"},
        {"-default_F 1 -N 5 -mosaic 1e41 -mosaic_dom 1", NB_OK, NULL},
        {"-default_F 1 -N 5 -mosaic 1e40 -mosaic_dom 3", NB_OK, NULL}, /* 1.7e38 rad: a float */
        /* step counts ceil(range/step) beyond an int */
        {"-default_F 1 -osc 1e300 -phistep 1e-300", NB_E_USAGE, "-phistep"},
        {"-default_F 1 -osc 1e10 -phistep 1e-3", NB_E_USAGE, "-osc"},
        /* 2147483000 steps fit an int: past the conversion, the memory check answers */
        {"-default_F 1 -osc 2147483 -phistep 1e-3", NB_E_NOMEM, "-phisteps"},
        {"-default_F 1 -hdivrange 1e300 -hdivstep 1e-300", NB_E_USAGE, "-hdivstep"},
        {"-default_F 1 -divergence 1e10 -vdivstep 1e-10 -hdivstep 1e6", NB_E_USAGE,
         "-vdivstep"},
        /* automatic oversampling with the beam spot behind the sample */
        {"-default_F 1 -twotheta 90.0000000001", NB_E_USAGE, "-oversample"},
        {"-default_F 1 -close_distance 1e-12 -detector_roty 179 -pivot beam", NB_E_USAGE,
         "-oversample"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, SMALL "%s", cases[i].args);
        u_ctx = line;
        struct nb_scene sc;
        struct nb_err err;
        nb_status st = setup_all(line, &sc, &err);
        if (cases[i].status != NB_OK) {
            CHECK(st == cases[i].status, "%s: status %s, expected %s", line, nb_strerror(st),
                  nb_strerror(cases[i].status));
            CHECK(strstr(err.msg, cases[i].names) != NULL, "%s: message does not name %s: %s",
                  line, cases[i].names, err.msg);
        } else {
            CHECK(st == NB_OK, "%s: refused (%s: %s), but the result is not certainly inf/NaN",
                  line, nb_strerror(st), err.msg);
        }
        nb_scene_fini(&sc);
    }
}

/* The oversampling estimate ceil(3 xmax / (lambda distance / pixel)) with -oversample given:
 * C17 6.3.1.4 defines (int) only when the value fits; x86-64 gives INT_MIN otherwise, which
 * the reference's "<= 0 -> 1" rule turns into 1. */
static void recommended_oversample(void)
{
    static const struct {
        const char *args;
        int oversample, recommended;
    } cases[] = {
        /* xmax = 2e9 x 100 A = 20 m; rps = 1e-10 x 0.1 / 1e-4 = 1e-7 m: 6e8 */
        {"-N 2000000000 -oversample 1", 1, 600000000},
        /* xmax = 1e297 m: beyond an int */
        {"-xtalsize 1e300 -beamsize 1e300 -oversample 2", 2, 1},
        /* distance -1.745e-13 m: the estimate is -1.7e11, beyond an int */
        {"-twotheta 90.0000000001 -oversample 3", 3, 1},
        /* distance -0.05 m: ceil(3e-8 / -5e-8) = -0 -> 1 (the reference's own result) */
        {"-twotheta 120", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, SMALL "-default_F 1 %s", cases[i].args);
        u_ctx = line;
        struct nb_scene sc;
        struct nb_err err;
        nb_status st = setup_all(line, &sc, &err);
        CHECK(st == NB_OK, "%s: set-up failed: %s: %s", line, nb_strerror(st), err.msg);
        CHECK(sc.oversample == cases[i].oversample, "%s: oversample %d, expected %d", line,
              sc.oversample, cases[i].oversample);
        CHECK(sc.recommended_oversample == cases[i].recommended,
              "%s: recommended oversample %d, expected %d", line, sc.recommended_oversample,
              cases[i].recommended);
        nb_scene_fini(&sc);
    }
}

int main(void)
{
    count_nonfinite();
    check_finite();
    setup_refusals();
    recommended_oversample();
    return u_summary("test_image");
}
