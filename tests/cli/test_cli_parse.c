/* test_cli_parse.c -- nb_cli_parse() against spec/cli.md §1-§3, §5, §8: every flag sets the
 * right nb_config / nb_cli field with the conversion the spec names; aliases; order effects;
 * header ingestion from -img/-mask.  Nothing is rendered.
 *
 * Oracle: the spec text only.  Expected values are written here with the spec's operations
 * (mm/1000.0, Angstrom/1.0e10, deg/RTD with RTD = 180*(1/pi) built from our own constant,
 * mrad/1000.0, um*1e-6, seeds negated) and compared EXACTLY, because parity with nanoBragg is
 * bit for bit.  Where the code disagrees with the spec the check asserts the spec.
 * No MPI, HDF5 or CUDA; fixtures (small SMV files) are written under NB_TEST_SCRATCH.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/nb_cli.h"
#include "engine/nb_physics.h"
#include "nb_testutil.h"

/* 1/pi as glibc's M_1_PI (not taken from the product) */
#define T_1_PI 0.318309886183790671537767526745028724
#define RTD (180.0 * T_1_PI)

static int nchecks;
#undef CHECK
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        nchecks++;                                                                             \
        if (!(cond)) {                                                                         \
            nb_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

/* exact comparison (NaN equals NaN: "not given") */
static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}
#define CHECK_D(got, want)                                                                     \
    CHECK(same((got), (want)), "[%s] %s = %.17g, expected %.17g (%s)", cur, #got,              \
          (double)(got), (double)(want), #want)
#define CHECK_I(got, want)                                                                     \
    CHECK((long)(got) == (long)(want), "[%s] %s = %ld, expected %ld", cur, #got, (long)(got), \
          (long)(want))
#define CHECK_S(got, want)                                                                     \
    CHECK((got) && !strcmp((got), (want)), "[%s] %s = '%s', expected '%s'", cur, #got,         \
          (got) ? (got) : "(null)", (want))

/* ------------------------------------------------------------------ parsing helper */

static struct nb_cli C;
static struct nb_err E;
static nb_status S;
static int have_cli;
static const char *cur = ""; /* the command line being checked */
static char tokbuf[4096];
static char *targv[256];

/* Parse "nanobragg <line>" (tokens separated by single spaces). */
static nb_status parse(const char *line)
{
    if (have_cli)
        nb_cli_fini(&C);
    cur = line;
    int argc = 0;
    targv[argc++] = "nanobragg";
    snprintf(tokbuf, sizeof tokbuf, "%s", line);
    for (char *t = strtok(tokbuf, " "); t && argc < 255; t = strtok(NULL, " "))
        targv[argc++] = t;
    targv[argc] = NULL;
    memset(&E, 0, sizeof E);
    struct nb_msg_sink quiet = {NULL, NULL};
    S = nb_cli_parse(argc, targv, &C, &quiet, &E);
    have_cli = 1;
    return S;
}

static int notes_have(const char *s)
{
    return C.notes && strstr(C.notes, s) != NULL;
}

/* parse must succeed, and no token may be reported as an unknown flag */
static void parse_ok(const char *line)
{
    parse(line);
    CHECK(S == NB_OK, "[%s] status %d, message '%s'", line, (int)S, E.msg);
    CHECK(!notes_have("unknown"), "[%s] a known flag was reported as unknown: %s", line,
          C.notes);
}

/* ------------------------------------------------------------------ §2: one field per flag */

#define OFF(field) offsetof(struct nb_config, field)

struct dcase {
    const char *args;
    size_t off;
    double want;
};

static const struct dcase dcases[] = {
    /* §2.1 */
    {"-cell 50 60 70 80 95 100", OFF(cell_a), 50},
    {"-cell 50 60 70 80 95 100", OFF(cell_b), 60},
    {"-cell 50 60 70 80 95 100", OFF(cell_c), 70},
    {"-cell 50 60 70 80 95 100", OFF(cell_alpha), 80 / RTD},
    {"-cell 50 60 70 80 95 100", OFF(cell_beta), 95 / RTD},
    {"-cell 50 60 70 80 95 100", OFF(cell_gamma), 100 / RTD},
    {"-cell 50 60 70 -N 3", OFF(cell_gamma), 0}, /* stops at a token starting with '-' */
    {"-cell 50 -N 3", OFF(cell_b), 0},
    {"-misset 10 -20 30.5", OFF(misset[0]), 10 / RTD},
    {"-misset 10 -20 30.5", OFF(misset[1]), -20 / RTD},
    {"-misset 10 -20 30.5", OFF(misset[2]), 30.5 / RTD},
    {"-default_F 42.5", OFF(default_F), 42.5},
    /* §2.2 */
    {"-pixel 0.172", OFF(pixel_size), 0.172 / 1000.0},
    {"-detsize 51.2", OFF(detsize_f), 51.2 / 1000.0},
    {"-detsize 51.2", OFF(detsize_s), 51.2 / 1000.0},
    {"-detsize_f 30.3", OFF(detsize_f), 30.3 / 1000.0},
    {"-detsize_s 40.7", OFF(detsize_s), 40.7 / 1000.0},
    {"-distance 123.4", OFF(distance), 123.4 / 1000.0},
    {"-close_distance 95.3", OFF(close_distance), 95.3 / 1000.0},
    {"-detector_rotx 3.3", OFF(rotx), 3.3 / RTD},
    {"-detector_roty -4.1", OFF(roty), -4.1 / RTD},
    {"-detector_rotz 5.9", OFF(rotz), 5.9 / RTD},
    {"-twotheta 20.5", OFF(twotheta), 20.5 / RTD},
    {"-detector_abs 250", OFF(detector_mu), 1.0 / (250 * 1e-6)},
    {"-detector_absorb 333", OFF(detector_mu), 1.0 / (333 * 1e-6)},
    {"-detector_abs inf", OFF(detector_mu), 0.0},
    {"-detector_abs 0", OFF(detector_mu), 0.0},
    {"-detector_thick 450", OFF(detector_thick), 450 * 1e-6},
    {"-Xbeam 12.3", OFF(Xbeam), 12.3 / 1000.0},
    {"-Ybeam 45.6", OFF(Ybeam), 45.6 / 1000.0},
    {"-Xclose 7.7", OFF(Xclose), 7.7 / 1000.0},
    {"-Yclose 8.8", OFF(Yclose), 8.8 / 1000.0},
    {"-ORGX 17.5", OFF(ORGX), 17.5},
    {"-ORGY 18.25", OFF(ORGY), 18.25},
    {"-fdet_vector 1 2 2", OFF(fdet[1]), 2}, /* stored as given, not normalised */
    {"-sdet_vector 0 -3 0", OFF(sdet[1]), -3},
    {"-odet_vector 0.5 0 0", OFF(odet[0]), 0.5},
    {"-beam_vector 0 0 7", OFF(beam[2]), 7},
    {"-polar_vector 0 9 0", OFF(polar[1]), 9},
    {"-spindle_axis 0 -1 0", OFF(spindle[1]), -1},
    {"-twotheta_axis 0 0 -1", OFF(twotheta_axis[2]), -1},
    {"-pix0_vector 0.1 0.2 0.3", OFF(pix0[2]), 0.3},
    {"-pix0_vector_mm 0.5 0.1 120", OFF(pix0[2]), 120}, /* no unit conversion (Q06) */
    /* §2.3 */
    {"-lambda 1.54", OFF(lambda0), 1.54 / 1.0e10},
    {"-wavelength 0.9", OFF(lambda0), 0.9 / 1.0e10},
    {"-wave 1.1", OFF(lambda0), 1.1 / 1.0e10},
    {"-energy 8000", OFF(lambda0), (12398.42 / 8000) / 1.0e10},
    {"-dispersion 0.5", OFF(dispersion), 0.5 / 100.0},
    {"-divergence 2.2", OFF(hdivrange), 2.2 / 1000.0},
    {"-divergence 2.2", OFF(vdivrange), 2.2 / 1000.0},
    {"-hdivrange 1.3", OFF(hdivrange), 1.3 / 1000.0},
    {"-vdivrange 1.7", OFF(vdivrange), 1.7 / 1000.0},
    {"-hdivstep 0.11", OFF(hdivstep), 0.11 / 1000.0},
    {"-vdivstep 0.13", OFF(vdivstep), 0.13 / 1000.0},
    {"-polar 0.9", OFF(polarization), 0.9},
    {"-fluence 1e24", OFF(fluence), 1e24},
    {"-flux 1e12", OFF(flux), 1e12},
    {"-exposure 2.5", OFF(exposure), 2.5},
    {"-beamsize 0.05", OFF(beamsize), 0.05 / 1000},
    /* §2.4 */
    {"-Na 3", OFF(Na), 3},
    {"-Nb 4", OFF(Nb), 4},
    {"-Nc 5", OFF(Nc), 5},
    {"-Na 2.9", OFF(Na), 2}, /* atoi truncates */
    {"-N 7", OFF(Na), 7},
    {"-N 7", OFF(Nb), 7},
    {"-N 7", OFF(Nc), 7},
    {"-N 0", OFF(Na), 0}, /* not an error (§6.1) */
    {"-samplesize 0.2", OFF(sample_x), 0.2 / 1000},
    {"-samplesize 0.2", OFF(sample_y), 0.2 / 1000},
    {"-samplesize 0.2", OFF(sample_z), 0.2 / 1000},
    {"-sample_size 0.21", OFF(sample_z), 0.21 / 1000},
    {"-xtalsize 0.22", OFF(sample_y), 0.22 / 1000},
    {"-xtal_size 0.23", OFF(sample_x), 0.23 / 1000},
    {"-sample_thick 0.1", OFF(sample_x), 0.1 / 1000},
    {"-sample_x 0.11", OFF(sample_x), 0.11 / 1000},
    {"-xtal_thick 0.12", OFF(sample_x), 0.12 / 1000},
    {"-xtal_x 0.13", OFF(sample_x), 0.13 / 1000},
    {"-sample_width 0.3", OFF(sample_y), 0.3 / 1000},
    {"-sample_y 0.31", OFF(sample_y), 0.31 / 1000},
    {"-xtal_width 0.32", OFF(sample_y), 0.32 / 1000},
    {"-xtal_y 0.33", OFF(sample_y), 0.33 / 1000},
    {"-width 0.34", OFF(sample_y), 0.34 / 1000},
    {"-sample_height 0.4", OFF(sample_z), 0.4 / 1000},
    {"-sample_z 0.41", OFF(sample_z), 0.41 / 1000},
    {"-xtal_height 0.42", OFF(sample_z), 0.42 / 1000},
    {"-xtal_z 0.43", OFF(sample_z), 0.43 / 1000},
    {"-height 0.44", OFF(sample_z), 0.44 / 1000},
    {"-fudge 0.7", OFF(fudge), 0.7},
    {"-mosaic 0.5", OFF(mosaic_spread), 0.5 / RTD},
    {"-mosaic_spread 0.3", OFF(mosaic_spread), 0.3 / RTD},
    {"-mosaicity 0.25", OFF(mosaic_spread), 0.25 / RTD},
    /* §2.5 */
    {"-phi 10.5", OFF(phi0), 10.5 / RTD},
    {"-osc 0.5", OFF(osc), 0.5 / RTD},
    {"-oscillation 0.25", OFF(osc), 0.25 / RTD},
    {"-phistep 0.1", OFF(phistep), 0.1 / RTD},
    {"-dmin 2.5", OFF(dmin), 2.5 * 1e-10},
    {"-water 100", OFF(water_size), 100 / 1e6},
};

struct icase {
    const char *args;
    size_t off;
    int want;
};

static const struct icase icases[] = {
    {"-detpixels 64", OFF(fpixels), 64},
    {"-detpixels 64", OFF(spixels), 64},
    {"-detpixels 5.7", OFF(fpixels), 5}, /* atoi */
    {"-detpixels_f 40", OFF(fpixels), 40},
    {"-detpixels_x 41", OFF(fpixels), 41},
    {"-detpixels_s 30", OFF(spixels), 30},
    {"-detpixels_y 31", OFF(spixels), 31},
    {"-detector_thicksteps 4", OFF(detector_thicksteps), 4},
    {"-thicksteps 5", OFF(detector_thicksteps), 5},
    {"-point_pixel", OFF(point_pixel), 1},
    {"-curved_det -point_pixel", OFF(curved_det), 1},
    {"-roi 1 20 3 25", OFF(roi_xmin), 1},
    {"-roi 1 20 3 25", OFF(roi_xmax), 20},
    {"-roi 1 20 3 25", OFF(roi_ymin), 3},
    {"-roi 1 20 3 25", OFF(roi_ymax), 25},
    {"-roi -1 20 -1 25", OFF(roi_xmin), -1}, /* negative = default */
    {"-dispsteps 6", OFF(dispsteps), 6},
    {"-hdivsteps 7", OFF(hdivsteps), 7},
    {"-vdivsteps 8", OFF(vdivsteps), 8},
    {"-divsteps 9", OFF(hdivsteps), 9},
    {"-divsteps 9", OFF(vdivsteps), 9},
    {"-square_div", OFF(round_div), 0},
    {"-square_div -round_div", OFF(round_div), 1},
    {"-nopolar", OFF(nopolar), 1},
    {"-nopolar -polar 0.5", OFF(nopolar), 0}, /* -polar also clears -nopolar */
    {"-polar 0.5 -nopolar", OFF(nopolar), 1},
    {"-mosaic_dom 12", OFF(mosaic_domains), 12},
    {"-mosaic_domains 13", OFF(mosaic_domains), 13},
    {"-round_xtal", OFF(shape), NB_SHAPE_ROUND},
    {"-gauss_xtal", OFF(shape), NB_SHAPE_GAUSS},
    {"-tophat_spots", OFF(shape), NB_SHAPE_TOPHAT},
    {"-binary_spots", OFF(shape), NB_SHAPE_TOPHAT},
    {"-round_xtal -square_xtal", OFF(shape), NB_SHAPE_SQUARE},
    {"-interpolate", OFF(interpolate), 1},
    {"-nointerpolate", OFF(interpolate), 0},
    {"-nointerpolate -interpolate", OFF(interpolate), 1},
    {"-phisteps 11", OFF(phisteps), 11},
    {"-oversample 3", OFF(oversample), 3},
    {"-oversample 0", OFF(oversample), 0}, /* <= 0: automatic, not an error */
    {"-oversample_thick", OFF(oversample_thick), 1},
    {"-oversample_polar", OFF(oversample_polar), 1},
    {"-oversample_omega", OFF(oversample_omega), 1},
    {"-oversample_thick -oversample 2", OFF(oversample), 2},
    {"-cell 100", OFF(user_cell), 1},
    {"-misset 1 2 3", OFF(misset_mode), NB_MISSET_ANGLES},
    {"-misset random", OFF(misset_mode), NB_MISSET_RANDOM},
    {"-misset randomize", OFF(misset_mode), NB_MISSET_RANDOM}, /* value contains "rand" */
    {"-pix0_vector 1 2 3", OFF(pix0_given), 1},
    {"-pix0_vector_mm 1 2 3", OFF(pix0_given), 2},
    /* conventions: the last convention/vector flag wins (geometry.md §3) */
    {"-mosflm", OFF(convention), NB_CONV_MOSFLM},
    {"-denzo", OFF(convention), NB_CONV_DENZO},
    {"-adxv", OFF(convention), NB_CONV_ADXV},
    {"-xds", OFF(convention), NB_CONV_XDS},
    {"-dials", OFF(convention), NB_CONV_DIALS},
    {"-xds -fdet_vector 1 0 0", OFF(convention), NB_CONV_CUSTOM},
    {"-fdet_vector 1 0 0 -mosflm", OFF(convention), NB_CONV_MOSFLM},
    {"-mosflm -xds", OFF(convention), NB_CONV_XDS},
    {"-beam_vector 0 0 1 -adxv", OFF(convention), NB_CONV_ADXV},
    {"-denzo -spindle_axis 0 1 0", OFF(convention), NB_CONV_CUSTOM},
    {"-dials -sdet_vector 0 1 0", OFF(convention), NB_CONV_CUSTOM},
    {"-adxv -odet_vector 0 0 1", OFF(convention), NB_CONV_CUSTOM},
    {"-adxv -polar_vector 1 0 0", OFF(convention), NB_CONV_CUSTOM},
    {"-xds -twotheta_axis 1 0 0", OFF(convention), NB_CONV_CUSTOM},
    {"-mosflm -pix0_vector 1 2 3", OFF(convention), NB_CONV_CUSTOM},
    {"-pix0_vector 1 2 3 -dials", OFF(convention), NB_CONV_DIALS},
    {"-mosflm -pix0_vector_mm 1 2 3", OFF(convention), NB_CONV_CUSTOM},
    /* pivot as parsed: the last pivot-setting flag wins (geometry.md §3) */
    {"-Xbeam 10", OFF(pivot), NB_PIVOT_BEAM},
    {"-Ybeam 10", OFF(pivot), NB_PIVOT_BEAM},
    {"-distance 100", OFF(pivot), NB_PIVOT_BEAM},
    {"-Xclose 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-Yclose 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-ORGX 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-ORGY 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-close_distance 90", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-twotheta 5", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-Xclose 10 -distance 100", OFF(pivot), NB_PIVOT_BEAM},
    {"-distance 100 -Xclose 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-twotheta 5 -Ybeam 3", OFF(pivot), NB_PIVOT_BEAM},
    {"-Ybeam 3 -twotheta 5", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-ORGX 10 -Xbeam 3", OFF(pivot), NB_PIVOT_BEAM},
    {"-Xbeam 3 -ORGY 10", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-distance 100 -close_distance 90", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-close_distance 90 -distance 100", OFF(pivot), NB_PIVOT_BEAM},
    {"-pivot sample", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-xds -pivot beam", OFF(pivot), NB_PIVOT_BEAM},
    {"-xds", OFF(pivot), NB_PIVOT_SAMPLE},
    {"-mosflm", OFF(pivot), NB_PIVOT_BEAM},
    {"-xds -dials", OFF(pivot), NB_PIVOT_BEAM}, /* DIALS forced to SAMPLE only later */
    {"-xds -adxv", OFF(pivot), NB_PIVOT_BEAM},
    {"-xds -denzo", OFF(pivot), NB_PIVOT_BEAM},
    {"-twotheta_axis 0 0 -1", OFF(pivot), NB_PIVOT_SAMPLE}, /* fires the -twotheta rule */
    {"-twotheta_axis 0 0 -1 -distance 100", OFF(pivot), NB_PIVOT_BEAM},
    /* [new] options (§8) */
    {"--phi-carryover=spec", OFF(phi_carryover), NB_CARRY_SPEC},
    {"--phi-carryover=c-parity", OFF(phi_carryover), NB_CARRY_C_PARITY},
    {"--interp-fallback=default_F", OFF(interp_fallback_default_F), 1},
    {"--source-lambda=cli", OFF(source_lambda_cli), 1},
    {"--source-weights=apply", OFF(source_weights_apply), 1},
    {"--honor-pix0", OFF(honor_pix0), 1},
    {"--thickness-step=uniform", OFF(thickness_step_uniform), 1},
    {"--random-misset=uniform", OFF(random_misset_uniform), 1},
};

static double dfield(size_t off)
{
    double v;
    memcpy(&v, (const char *)&C.cfg + off, sizeof v);
    return v;
}

static int ifield(size_t off)
{
    int v;
    memcpy(&v, (const char *)&C.cfg + off, sizeof v);
    return v;
}

static void test_field_tables(void)
{
    for (size_t k = 0; k < sizeof dcases / sizeof dcases[0]; k++) {
        parse_ok(dcases[k].args);
        double got = dfield(dcases[k].off);
        CHECK(same(got, dcases[k].want), "[%s] field at offset %zu = %.17g, expected %.17g",
              cur, dcases[k].off, got, dcases[k].want);
    }
    for (size_t k = 0; k < sizeof icases / sizeof icases[0]; k++) {
        parse_ok(icases[k].args);
        int got = ifield(icases[k].off);
        CHECK(got == icases[k].want, "[%s] field at offset %zu = %d, expected %d", cur,
              icases[k].off, got, icases[k].want);
    }
}

/* ------------------------------------------------------------------ defaults (§2 tables) */

static void test_defaults(void)
{
    parse_ok("");
    const struct nb_config *c = &C.cfg;
    CHECK_NEAR(c->pixel_size, 0.1e-3, 1e-15);
    CHECK_NEAR(c->distance, 100e-3, 1e-15);
    CHECK_NEAR(c->detsize_f, 102.4e-3, 1e-15);
    CHECK_NEAR(c->lambda0, 1e-10, 1e-20);
    CHECK_NEAR(c->fluence, 1.25932015286227e29, 1e-12);
    CHECK_D(c->exposure, 1.0);
    CHECK_NEAR(c->beamsize, 0.1e-3, 1e-15);
    CHECK_D(c->close_distance, NAN);
    CHECK_D(c->Xbeam, NAN);
    CHECK_D(c->ORGX, NAN);
    CHECK_D(c->detector_mu, -1.0);
    CHECK_D(c->detector_thick, 0.0);
    CHECK_D(c->mosaic_spread, -1.0);
    CHECK_D(c->polarization, 0.0);
    CHECK_D(c->Na, 1);
    CHECK_D(c->Nb, 1);
    CHECK_D(c->Nc, 1);
    CHECK_D(c->fudge, 1);
    CHECK_D(c->default_F, 0);
    CHECK_I(c->convention, NB_CONV_MOSFLM);
    CHECK_I(c->pivot, NB_PIVOT_BEAM);
    CHECK_I(c->shape, NB_SHAPE_SQUARE);
    CHECK_I(c->round_div, 1);
    CHECK_I(c->user_cell, 0);
    CHECK_I(c->misset_mode, NB_MISSET_NONE);
    CHECK_I(c->mosaic_seed, -12345678);
    CHECK(c->seed < 0, "[%s] default noise seed %ld is not -time", cur, c->seed);
    CHECK_I(c->misset_seed, c->seed); /* copied from the time-based default (§5, Q10) */
    CHECK_D(C.adc, 40.0);
    CHECK_I(C.write_pgm, 1);
    CHECK_I(C.write_noise, 1);
    CHECK_I(C.progress, 1);
    CHECK_I(C.printout, 0);
    CHECK_I(C.help, 0);
    CHECK_I(C.strict, 0);
    CHECK_S(C.floatfile, "floatimage.bin");
    CHECK_S(C.intfile, "intimage.img");
    CHECK_S(C.pgmfile, "image.pgm");
    CHECK_S(C.noisefile, "noiseimage.img");
    CHECK(C.hkl == NULL && C.mat == NULL && C.sourcefile == NULL && C.img == NULL &&
              C.mask == NULL,
          "[%s] an input file name is set by default", cur);
    CHECK(C.notes == NULL || C.notes[0] == '\0', "[%s] notes without flags: %s", cur, C.notes);
}

/* ------------------------------------------------------------------ program-level fields */

static void test_program_fields(void)
{
    parse_ok("-hkl P1.hkl");
    CHECK_S(C.hkl, "P1.hkl");
    parse_ok("-hklfile x.hkl");
    CHECK_S(C.hkl, "x.hkl");
    parse_ok("-mat A.mat");
    CHECK_S(C.mat, "A.mat");
    parse_ok("-matrix B.mat");
    CHECK_S(C.mat, "B.mat");
    parse_ok("-sourcefile s.txt");
    CHECK_S(C.sourcefile, "s.txt");
    parse_ok("-stol sq.txt");
    CHECK_S(C.stol, "sq.txt");
    parse_ok("-4stol sq4.txt");
    CHECK_S(C.stol, "sq4.txt");
    parse_ok("-Q q.txt");
    CHECK_S(C.stol, "q.txt");
    parse_ok("-stolout out.stol"); /* stored, never written; not an S(Q) input */
    CHECK(C.stol == NULL, "[%s] -stolout set the S(Q) input to '%s'", cur, C.stol);

    parse_ok("-floatfile f.bin");
    CHECK_S(C.floatfile, "f.bin");
    parse_ok("-floatimage g.bin");
    CHECK_S(C.floatfile, "g.bin");
    parse_ok("-intfile i.img");
    CHECK_S(C.intfile, "i.img");
    parse_ok("-intimage j.img");
    CHECK_S(C.intfile, "j.img");
    parse_ok("-pgmfile p.pgm");
    CHECK_S(C.pgmfile, "p.pgm");
    CHECK_I(C.write_pgm, 1);
    parse_ok("-pgmimage q.pgm");
    CHECK_S(C.pgmfile, "q.pgm");
    parse_ok("-noisefile n.img");
    CHECK_S(C.noisefile, "n.img");
    CHECK_I(C.write_noise, 1);
    parse_ok("-noiseimage m.img");
    CHECK_S(C.noisefile, "m.img");

    /* §2.6 / §4.9: -nonoise / -noisefile and -nopgm / -pgmfile / -pgmscale, last wins */
    parse_ok("-nonoise");
    CHECK_I(C.write_noise, 0);
    parse_ok("-nonoise -noisefile x.img");
    CHECK_I(C.write_noise, 1);
    CHECK_S(C.noisefile, "x.img");
    parse_ok("-noisefile x.img -nonoise");
    CHECK_I(C.write_noise, 0);
    parse_ok("-nonoise -noiseimage y.img");
    CHECK_I(C.write_noise, 1);
    parse_ok("-nopgm");
    CHECK_I(C.write_pgm, 0);
    parse_ok("-nopgm -pgmscale 2");
    CHECK_I(C.write_pgm, 1);
    CHECK_D(C.pgm_scale, 2.0);
    parse_ok("-nopgm -pgmfile p.pgm");
    CHECK_I(C.write_pgm, 1);
    parse_ok("-pgmfile p.pgm -nopgm");
    CHECK_I(C.write_pgm, 0);
    parse_ok("-pgmscale 2 -nopgm");
    CHECK_I(C.write_pgm, 0);

    parse_ok("-scale 3.5");
    CHECK_D(C.intfile_scale, 3.5);
    parse_ok("-pgmscale 1.5");
    CHECK_D(C.pgm_scale, 1.5);
    parse_ok("-adc 12");
    CHECK_D(C.adc, 12.0);
    parse_ok("-adc_offset 7.5");
    CHECK_D(C.adc, 7.5);

    /* §5 seeds: internal value = -atoi(v) */
    parse_ok("-seed 5");
    CHECK_I(C.cfg.seed, -5);
    CHECK(C.cfg.misset_seed != -5, "[%s] -seed changed the misset seed", cur);
    parse_ok("-mosaic_seed 7");
    CHECK_I(C.cfg.mosaic_seed, -7);
    parse_ok("-misset_seed 3");
    CHECK_I(C.cfg.misset_seed, -3);
    parse_ok("-seed -4");
    CHECK_I(C.cfg.seed, 4);
    parse_ok("-seed 12.9");
    CHECK_I(C.cfg.seed, -12);
    /* atoi semantics (§1): "1e3" is entirely a finite number, so §6.1 does not make it an
     * error, and the reference reads it as atoi("1e3") = 1 */
    parse("-seed 1e3");
    CHECK(S == NB_OK, "[%s] status %d '%s': '1e3' is a finite number; atoi semantics give 1",
          cur, (int)S, E.msg);
    if (S == NB_OK)
        CHECK_I(C.cfg.seed, -1);

    parse_ok("-printout");
    CHECK_I(C.printout, 1);
    parse_ok("-printout_pixel 3 4"); /* also fires -printout (§2.6) */
    CHECK_I(C.printout, 1);
    CHECK_I(C.printout_f, 3);
    CHECK_I(C.printout_s, 4);
    parse_ok("-trace_pixel 5 6"); /* slow first */
    CHECK_I(C.trace_s, 5);
    CHECK_I(C.trace_f, 6);
    parse_ok("-dump_pixel 7 8");
    CHECK_I(C.trace_s, 7);
    CHECK_I(C.trace_f, 8);
    parse_ok("-noprogress");
    CHECK_I(C.progress, 0);
    parse_ok("-noprogress -progress");
    CHECK_I(C.progress, 1);
    parse_ok("-coherent");
    parse_ok("-density 1.2 -sample_den 1.3 -MW 5000 -molecules 3");

    /* §8 */
    parse_ok("--strict-cli");
    CHECK_I(C.strict, 1);
    parse_ok("--no-fdump");
    CHECK_I(C.no_fdump, 1);
    parse_ok("--hkl-columns=first4");
    CHECK_I(C.hkl_columns, NB_HKL_FIRST4);
    parse_ok("--hdf5=out.h5");
    CHECK_S(C.hdf5, "out.h5");
    parse_ok("--device=cpu --precision=double");
    CHECK_I(C.device, NB_DEVICE_CPU);
    CHECK_I(C.cfg.precision_single, 0);
    CHECK_I(C.cfg.math_exact, 0);
    parse_ok("--device=auto --precision=single --math=exact");
    CHECK_I(C.device, NB_DEVICE_AUTO);
    CHECK_I(C.cfg.precision_single, 1);
    CHECK_I(C.cfg.math_exact, 1);
    parse_ok("--device=cuda");
    CHECK_I(C.device, NB_DEVICE_CUDA);
    parse_ok("--device=auto --precision=single --math=exact");
    CHECK_I(C.cfg.precision_single, 1);
    CHECK_I(C.cfg.math_exact, 1);
    parse("--math=slow");
    CHECK(S != NB_OK && strstr(E.msg, "--math"), "[%s] status %d '%s'", cur, (int)S, E.msg);
    parse("--precision=half");
    CHECK(S != NB_OK && strstr(E.msg, "--precision"), "[%s] status %d '%s'", cur, (int)S, E.msg);
    parse("--phi-carryover=foo");
    CHECK(S != NB_OK && strstr(E.msg, "--phi-carryover"), "[%s] status %d '%s'", cur, (int)S,
          E.msg);
    parse("--no-such-option");
    CHECK(S != NB_OK && strstr(E.msg, "--no-such-option"), "[%s] status %d '%s'", cur, (int)S,
          E.msg);
    /* new options never trigger legacy rules */
    parse_ok("--phi-carryover=spec");
    CHECK_D(C.cfg.phi0, 0.0);

    /* -h / --help */
    parse("-h");
    CHECK_I(C.help, 1);
    parse("--help");
    CHECK_I(C.help, 1);
    parse("-distance 100 -h");
    CHECK_I(C.help, 1);
}

/* ------------------------------------------------------------------ order effects */

static void test_order_effects(void)
{
    /* Q05: -twotheta_axis also fires the -twotheta rule with the first component */
    parse_ok("-twotheta_axis 0 0 -1");
    CHECK_D(C.cfg.twotheta, 0.0);
    CHECK_I(C.cfg.pivot, NB_PIVOT_SAMPLE);
    CHECK_I(C.cfg.convention, NB_CONV_CUSTOM);
    CHECK_D(C.cfg.twotheta_axis[0], 0.0);
    CHECK_D(C.cfg.twotheta_axis[1], 0.0);
    CHECK_D(C.cfg.twotheta_axis[2], -1.0);
    parse_ok("-twotheta 20 -twotheta_axis 0 0 -1");
    CHECK_D(C.cfg.twotheta, 0.0);
    parse_ok("-twotheta_axis 0 0 -1 -twotheta 20");
    CHECK_D(C.cfg.twotheta, 20 / RTD);
    parse_ok("-twotheta_axis 3 0 -1"); /* 2theta = first component, in degrees */
    CHECK_D(C.cfg.twotheta, 3 / RTD);
    parse_ok("--strict-cli -twotheta 20 -twotheta_axis 0 0 -1");
    CHECK_D(C.cfg.twotheta, 20 / RTD);
    CHECK_D(C.cfg.twotheta_axis[2], -1.0);
    CHECK_I(C.cfg.convention, NB_CONV_CUSTOM);
    parse_ok("-twotheta 20 -twotheta_axis 0 0 -1 --strict-cli"); /* position of -- irrelevant */
    CHECK_D(C.cfg.twotheta, 20 / RTD);

    /* -pix0_vector_mm only switches to CUSTOM (Q06): nothing else changes */
    parse_ok("");
    struct nb_config d = C.cfg;
    parse_ok("-pix0_vector_mm 0.5 0.1 120");
    CHECK_I(C.cfg.convention, NB_CONV_CUSTOM);
    CHECK_I(C.cfg.pivot, NB_PIVOT_BEAM);
    CHECK_D(C.cfg.pix0[0], 0.5);
    CHECK_D(C.cfg.pix0[1], 0.1);
    CHECK_D(C.cfg.pix0[2], 120);
    {
        struct nb_config x = C.cfg;
        x.convention = d.convention;
        memcpy(x.pix0, d.pix0, sizeof x.pix0);
        x.pix0_given = d.pix0_given;
        x.seed = d.seed;
        x.misset_seed = d.misset_seed;
        CHECK(memcmp(&x, &d, sizeof x) == 0,
              "[%s] -pix0_vector_mm changed more than convention and pix0", cur);
    }

    /* Q35: -misset is an exact match; -misset_seed does not undo -misset random */
    parse_ok("-misset random -misset_seed 3");
    CHECK_I(C.cfg.misset_mode, NB_MISSET_RANDOM);
    CHECK_I(C.cfg.misset_seed, -3);
    parse_ok("-misset_seed 3 -misset random");
    CHECK_I(C.cfg.misset_mode, NB_MISSET_RANDOM);
    parse_ok("-misset 1 2 3 -misset random");
    CHECK_I(C.cfg.misset_mode, NB_MISSET_RANDOM);
    parse_ok("-misset random -misset 1 2 3");
    CHECK_I(C.cfg.misset_mode, NB_MISSET_ANGLES);
    CHECK_D(C.cfg.misset[2], 3 / RTD);

    /* -cell stops at a token starting with '-' and still sets user-cell mode */
    parse_ok("-cell 100 110 120 -N 5");
    CHECK_I(C.cfg.user_cell, 1);
    CHECK_D(C.cfg.cell_a, 100);
    CHECK_D(C.cfg.cell_b, 110);
    CHECK_D(C.cfg.cell_c, 120);
    CHECK_D(C.cfg.cell_alpha, 0);
    CHECK_D(C.cfg.Na, 5);
    parse_ok("-cell 50 -distance 80");
    CHECK_D(C.cfg.cell_a, 50);
    CHECK_D(C.cfg.cell_b, 0);
    CHECK_D(C.cfg.distance, 80 / 1000.0);

    /* -N / -Na values <= 1 are not errors (§6.1) */
    parse_ok("-N 0");
    CHECK_D(C.cfg.Na, 0);
    parse_ok("-N -2");
    CHECK_D(C.cfg.Nb, -2);
    parse_ok("-Na 0 -Nb -1 -Nc 1");
    CHECK_D(C.cfg.Nb, -1);
    parse_ok("-N 4 -Nb 2");
    CHECK_D(C.cfg.Na, 4);
    CHECK_D(C.cfg.Nb, 2);

    /* §4.6: -detector_abs inf zeroes the thickness only after -detector_thick */
    parse_ok("-detector_thick 100 -detector_abs inf");
    CHECK_D(C.cfg.detector_thick, 0.0);
    CHECK_D(C.cfg.detector_mu, 0.0);
    parse_ok("-detector_abs inf -detector_thick 100");
    CHECK_D(C.cfg.detector_thick, 100 * 1e-6);
    CHECK_D(C.cfg.detector_mu, 0.0);
    parse_ok("-detector_thick 100 -detector_absorb 0");
    CHECK_D(C.cfg.detector_thick, 0.0);
    CHECK_D(C.cfg.detector_mu, 0.0);
    parse_ok("-detector_thick 100 -detector_abs 500");
    CHECK_D(C.cfg.detector_thick, 100 * 1e-6);
    CHECK_D(C.cfg.detector_mu, 1.0 / (500 * 1e-6));

    /* last occurrence wins */
    parse_ok("-distance 100 -distance 200");
    CHECK_D(C.cfg.distance, 200 / 1000.0);
    parse_ok("-lambda 1 -energy 12398.42");
    CHECK_D(C.cfg.lambda0, (12398.42 / 12398.42) / 1.0e10);
    parse_ok("-energy 6000 -lambda 1.5");
    CHECK_D(C.cfg.lambda0, 1.5 / 1.0e10);
    parse_ok("-detpixels 64 -detpixels_x 32");
    CHECK_I(C.cfg.fpixels, 32);
    CHECK_I(C.cfg.spixels, 64);
    parse_ok("-divergence 2 -hdivrange 1");
    CHECK_D(C.cfg.hdivrange, 1 / 1000.0);
    CHECK_D(C.cfg.vdivrange, 2 / 1000.0);
    parse_ok("-samplesize 0.2 -sample_x 0.1");
    CHECK_D(C.cfg.sample_x, 0.1 / 1000);
    CHECK_D(C.cfg.sample_y, 0.2 / 1000);
}

/* ------------------------------------------------------------------ unknown flags, negatives */

static void test_unknown_and_negative(void)
{
    parse_ok("");
    struct nb_config d = C.cfg;

    /* unknown flags: a NOTE line each, otherwise ignored (§1, §2.7) */
    static const char *const unknown[] = {"-foo_bar 3", "-dispstep 2", "-hdiv 1", "-vdiv 1",
                                          "-detector_twotheta 10", "-source_distance 5"};
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
        parse(unknown[k]);
        CHECK(S == NB_OK, "[%s] status %d '%s'", cur, (int)S, E.msg);
        char flag[64];
        snprintf(flag, sizeof flag, "%s", unknown[k]);
        *strchr(flag, ' ') = '\0';
        CHECK(C.notes && !strncmp(C.notes, "NOTE:", 5) && strstr(C.notes, flag),
              "[%s] expected a NOTE: line naming %s, notes = %s", cur, flag,
              C.notes ? C.notes : "(none)");
        struct nb_config x = C.cfg;
        x.seed = d.seed;
        x.misset_seed = d.misset_seed;
        CHECK(memcmp(&x, &d, sizeof x) == 0, "[%s] an unknown flag changed the configuration",
              cur);
    }
    parse("-foo -bar");
    CHECK(notes_have("-foo") && notes_have("-bar"), "[%s] notes = %s", cur,
          C.notes ? C.notes : "(none)");
    /* stray tokens are silently ignored */
    parse("stray 12 -distance 50 more");
    CHECK(S == NB_OK, "[%s] status %d '%s'", cur, (int)S, E.msg);
    CHECK_D(C.cfg.distance, 50 / 1000.0);

    /* negative numbers as values are not flags */
    parse_ok("-misset -10 -20 -30 -Xbeam -5 -twotheta -3 -detector_rotx -1.5 -phi -90");
    CHECK(C.notes == NULL || C.notes[0] == '\0', "[%s] negative values noted: %s", cur,
          C.notes);
    CHECK_D(C.cfg.misset[0], -10 / RTD);
    CHECK_D(C.cfg.misset[2], -30 / RTD);
    CHECK_D(C.cfg.Xbeam, -5 / 1000.0);
    CHECK_D(C.cfg.twotheta, -3 / RTD);
    CHECK_D(C.cfg.rotx, -1.5 / RTD);
    CHECK_D(C.cfg.phi0, -90 / RTD);
    /* legacy substring matching: a longer spelling still fires the rule (§1) */
    parse_ok("-distances 50 -lambdas 2 -xdsfoo");
    CHECK_D(C.cfg.distance, 50 / 1000.0);
    CHECK_D(C.cfg.lambda0, 2 / 1.0e10);
    CHECK_I(C.cfg.convention, NB_CONV_XDS);
    parse_ok("-cell 100 110");
    CHECK_D(C.cfg.cell_b, 110);
    CHECK_D(C.cfg.cell_c, 0);
    parse_ok("-beam_vector -1 0 0 -spindle_axis 0 0 -1e0");
    CHECK_D(C.cfg.beam[0], -1);
    CHECK_D(C.cfg.spindle[2], -1);
}

/* ------------------------------------------------------------------ --strict-cli */

static void test_strict(void)
{
    parse_ok("--strict-cli -mosaic_spread 0.3 -mosaic_domains 4");
    CHECK_D(C.cfg.mosaic_spread, 0.3 / RTD);
    CHECK_I(C.cfg.mosaic_domains, 4);
    parse_ok("--strict-cli -detpixels_x 40 -detpixels_y 30 -detector_absorb 200");
    CHECK_I(C.cfg.fpixels, 40);
    CHECK_I(C.cfg.spixels, 30);
    CHECK_D(C.cfg.detector_mu, 1.0 / (200 * 1e-6));
    parse_ok("--strict-cli -hklfile a.hkl -matrix b.mat -wavelength 1.2 -oscillation 0.5");
    CHECK_S(C.hkl, "a.hkl");
    CHECK_S(C.mat, "b.mat");
    CHECK_D(C.cfg.lambda0, 1.2 / 1.0e10);
    CHECK_D(C.cfg.osc, 0.5 / RTD);
    parse_ok("--strict-cli -cell 100 100 100 90 90 90 -N 3 -misset -1 -2 -3");
    CHECK_D(C.cfg.cell_gamma, 90 / RTD);
    CHECK_D(C.cfg.Nc, 3);
    CHECK_D(C.cfg.misset[1], -2 / RTD);
    parse_ok("--strict-cli -floatimage f.bin -intimage i.img -noiseimage n.img -pgmimage p.pgm");
    CHECK_S(C.floatfile, "f.bin");
    CHECK_S(C.intfile, "i.img");
    CHECK_S(C.noisefile, "n.img");
    CHECK_S(C.pgmfile, "p.pgm");
    parse_ok("--strict-cli -adc_offset 9");
    CHECK_D(C.adc, 9.0);
    /* no -twotheta_axis -> -twotheta side effect (§1) */
    parse_ok("--strict-cli -twotheta_axis 0 0 -1");
    CHECK_D(C.cfg.twotheta, 0.0);
    CHECK_I(C.cfg.pivot, NB_PIVOT_BEAM);
    CHECK_I(C.cfg.convention, NB_CONV_CUSTOM);
    parse_ok("--strict-cli -twotheta_axis 5 0 -1");
    CHECK_D(C.cfg.twotheta, 0.0);
    /* every spelling in the §2 tables (and the listed aliases) is accepted with its values */
    static const char *const spellings[] = {
        "-hkl f", "-hklfile f", "-mat f", "-matrix f", "-cell 100 100 100 90 90 90",
        "-misset 1 2 3", "-misset random", "-default_F 1", "-sourcefile f", "-stol f",
        "-4stol f", "-Q f", "-stolout f", "-pixel 0.1", "-detpixels 10", "-detpixels_f 10",
        "-detpixels_x 10", "-detpixels_s 10", "-detpixels_y 10", "-detsize 10",
        "-detsize_f 10", "-detsize_s 10", "-distance 10", "-close_distance 10",
        "-point_pixel", "-detector_rotx 1", "-detector_roty 1", "-detector_rotz 1",
        "-twotheta 1", "-twotheta_axis 0 0 1", "-detector_abs 100", "-detector_absorb 100",
        "-detector_thick 100", "-detector_thicksteps 2", "-thicksteps 2", "-Xbeam 1",
        "-Ybeam 1", "-Xclose 1", "-Yclose 1", "-ORGX 1", "-ORGY 1", "-pivot beam", "-mosflm",
        "-denzo", "-adxv", "-dials", "-xds", "-fdet_vector 0 0 1", "-sdet_vector 0 1 0",
        "-odet_vector 1 0 0", "-beam_vector 1 0 0", "-polar_vector 0 0 1",
        "-spindle_axis 0 0 1", "-pix0_vector 1 2 3", "-pix0_vector_mm 1 2 3",
        "-roi 0 5 0 5", "-lambda 1", "-wave 1", "-wavelength 1", "-energy 9000",
        "-dispersion 1", "-dispsteps 2", "-divergence 1", "-hdivrange 1", "-vdivrange 1",
        "-hdivstep 1", "-vdivstep 1", "-hdivsteps 2", "-vdivsteps 2", "-divsteps 2",
        "-round_div", "-square_div", "-polar 1", "-nopolar", "-fluence 1", "-flux 1",
        "-exposure 1", "-beamsize 1", "-Na 2", "-Nb 2", "-Nc 2", "-N 2", "-samplesize 1",
        "-sample_size 1", "-xtalsize 1", "-xtal_size 1", "-sample_thick 1", "-sample_x 1",
        "-xtal_thick 1", "-xtal_x 1", "-sample_width 1", "-sample_y 1", "-xtal_width 1",
        "-xtal_y 1", "-width 1", "-sample_z 1", "-xtal_z 1", "-density 1",
        "-MW 1", "-square_xtal", "-round_xtal", "-gauss_xtal", "-binary_spots",
        "-tophat_spots", "-fudge 1", "-mosaic 1", "-mosaic_spread 1", "-mosaic_dom 2",
        "-mosaic_domains 2", "-interpolate", "-nointerpolate", "-phi 1", "-osc 1",
        "-oscillation 1", "-phistep 1", "-phisteps 2", "-dmin 1", "-oversample_thick",
        "-oversample_polar", "-oversample_omega", "-oversample 2", "-water 1",
        "-floatfile f", "-floatimage f", "-intfile f", "-intimage f", "-noisefile f",
        "-noiseimage f", "-nonoise", "-pgmfile f", "-pgmimage f", "-nopgm", "-scale 1",
        "-pgmscale 1", "-adc 1", "-adc_offset 1", "-seed 1", "-mosaic_seed 1",
        "-misset_seed 1", "-printout", "-printout_pixel 1 2", "-trace_pixel 1 2",
        "-dump_pixel 1 2", "-noprogress", "-progress", "-coherent"};
    for (size_t k = 0; k < sizeof spellings / sizeof spellings[0]; k++) {
        char l[256];
        snprintf(l, sizeof l, "--strict-cli %s", spellings[k]);
        parse(l);
        CHECK(S == NB_OK, "[%s] a spelling of the spec tables is rejected: '%s'", cur, E.msg);
    }
    parse_ok("--strict-cli -wave 1.1");
    CHECK_D(C.cfg.lambda0, 1.1 / 1.0e10);
    /* exact names: a flag that only contains a known name is unknown -> error */
    parse("--strict-cli -distancex 100");
    CHECK(S != NB_OK && strstr(E.msg, "-distancex"), "[%s] status %d '%s'", cur, (int)S,
          E.msg);
    parse("--strict-cli -bogus");
    CHECK(S != NB_OK && strstr(E.msg, "-bogus"), "[%s] status %d '%s'", cur, (int)S, E.msg);
}

/* ------------------------------------------------------------------ bad values (§6.1) */

static void test_parse_errors(void)
{
    static const struct {
        const char *args, *flag;
    } bad[] = {
        {"-seed abc", "-seed"},           {"-detpixels 12x", "-detpixels"},
        {"-distance nan", "-distance"},   {"-lambda inf", "-lambda"},
        {"-distance", "-distance"},       {"-detector_abs", "-detector_abs"},
        {"-detpixels 0", "-detpixels"},   {"-pixel 0", "-pixel"},
        {"-pixel -0.1", "-pixel"},        {"-distance 0", "-distance"},
        {"-lambda 0", "-lambda"},         {"-energy -5", "-energy"},
        {"-detsize 0", "-detsize"},       {"-phisteps 0", "-phisteps"},
        {"-mosaic_dom 0", "-mosaic_dom"}, {"-dispsteps 0", "-dispsteps"},
        {"-divsteps -1", "-divsteps"},    {"-thicksteps 0", "-thicksteps"},
        {"-oversample -1", "-oversample"}, {"-fdet_vector 0 0 0", "-fdet_vector"},
        {"-beam_vector 0 0 0", "-beam_vector"}, {"-spindle_axis 0 0 0", "-spindle_axis"},
        {"-twotheta_axis 0 0 0", "-twotheta_axis"}, {"-polar_vector 0 0 0", "-polar_vector"},
        {"-sdet_vector 0 0 0", "-sdet_vector"}, {"-odet_vector 0 0 0", "-odet_vector"},
        {"-cell 0 100 100 90 90 90", "-cell"}, {"-misset 1 2", "-misset"},
        {"-roi 1 2 3", "-roi"},           {"-hkl", "-hkl"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        parse(bad[k].args);
        CHECK(S != NB_OK, "[%s] accepted", cur);
        CHECK(strstr(E.msg, bad[k].flag) != NULL, "[%s] message '%s' does not name %s", cur,
              E.msg, bad[k].flag);
    }
}

/* ------------------------------------------------------------------ §3 header ingestion */

static char scratch[1024];

static void write_smv(const char *name, const char *keys, int w, int h)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    size_t n = 512 + (size_t)w * (size_t)h * 2;
    char *b = calloc(n, 1);
    if (!b)
        return;
    memset(b, ' ', 512);
    int l = snprintf(b, 512, "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                             "TYPE=unsigned_short;\n%s}\f", keys);
    if (l > 0 && l < 512)
        b[l] = ' ';
    for (size_t i = 512; i < n; i += 2)
        b[i] = 1; /* every pixel 1 (little endian) */
    if (nb_test_write_file(path, b, n) != 0)
        fprintf(stderr, "cannot write %s\n", path);
    free(b);
}

static void test_headers(void)
{
    snprintf(scratch, sizeof scratch, "%s/cli_parse", NB_TEST_SCRATCH);
    if (nb_test_fresh_dir(scratch) != 0) {
        CHECK(0, "cannot create %s", scratch);
        return;
    }
    write_smv("a.img",
              "SIZE1=24;\nSIZE2=16;\nPIXEL_SIZE=0.172;\nDISTANCE=150;\nWAVELENGTH=1.3;\n"
              "BEAM_CENTER_X=2.1;\nBEAM_CENTER_Y=1.7;\nXDS_ORGX=12.5;\nXDS_ORGY=8.5;\n"
              "CLOSE_DISTANCE=140;\nPHI=5;\nOSC_START=5;\nOSC_RANGE=0.5;\nTWOTHETA=10;\n",
              24, 16);
    write_smv("m.img",
              "SIZE1=20;\nSIZE2=10;\nPIXEL_SIZE=0.1;\nBEAM_CENTER_X=0.3;\nBEAM_CENTER_Y=0.4;\n"
              "PHI=7;\n",
              20, 10);
    write_smv("dd.img", "SIZE1=0;\nSIZE2=0;\nDETECTOR_DIMENSIONS=12;\nPIXEL_SIZE=0.1;\n", 12, 12);

    char line[3000];
    snprintf(line, sizeof line, "-img %s/a.img", scratch);
    parse_ok(line);
    const struct nb_config *c = &C.cfg;
    CHECK_I(c->fpixels, 24);
    CHECK_I(c->spixels, 16);
    CHECK_D(c->pixel_size, 0.172 / 1000);
    CHECK_D(c->detsize_f, (0.172 / 1000) * 24);
    CHECK_D(c->detsize_s, (0.172 / 1000) * 16);
    /* DISTANCE matches CLOSE_DISTANCE later in the header: the close distance is read */
    CHECK_D(c->distance, 140 / 1000.0);
    CHECK_D(c->close_distance, 140 / 1000.0);
    CHECK_D(c->lambda0, 1.3 / 1e10);
    CHECK_D(c->Xbeam, 2.1 / 1000);
    CHECK_D(c->Ybeam, 1.7 / 1000);
    CHECK_D(c->ORGX, 12.5);
    CHECK_D(c->ORGY, 8.5);
    CHECK_I(c->pivot, NB_PIVOT_BEAM); /* ORGX from a header does not change the pivot */
    CHECK_D(c->phi0, 5 / RTD);
    CHECK_D(c->osc, 0.5 / RTD);
    CHECK_D(c->twotheta, 0.0); /* TWOTHETA is ignored (Q16) */
    CHECK(C.img && strstr(C.img, "a.img"), "[%s] img name not stored", cur);
    CHECK_I(C.have_mask, 0);

    /* mask: BEAM_CENTER_Y measured from the opposite edge; data kept */
    snprintf(line, sizeof line, "-mask %s/m.img", scratch);
    parse_ok(line);
    CHECK_I(c->fpixels, 20);
    CHECK_I(c->spixels, 10);
    CHECK_D(c->Xbeam, 0.3 / 1000);
    CHECK_D(c->Ybeam, (0.1 / 1000) * 10 - 0.4 / 1000);
    CHECK_D(c->phi0, 7 / RTD);
    CHECK_I(C.have_mask, 1);
    CHECK(c->mask == &C.mask_data, "[%s] cfg.mask does not point at the mask", cur);
    CHECK_I(C.mask_data.fpixels, 20);
    CHECK_I(C.mask_data.spixels, 10);
    CHECK(C.mask_data.data && C.mask_data.data[0] == 1 && C.mask_data.data[199] == 1,
          "[%s] mask pixels not read", cur);
    CHECK(!notes_have("-mask"), "[%s] -mask reported as unknown: %s", cur, C.notes);

    /* mask first, then image, whatever the order: the image wins shared keys */
    for (int order = 0; order < 2; order++) {
        if (order == 0)
            snprintf(line, sizeof line, "-img %s/a.img -mask %s/m.img", scratch, scratch);
        else
            snprintf(line, sizeof line, "-mask %s/m.img -img %s/a.img", scratch, scratch);
        parse_ok(line);
        CHECK_I(c->fpixels, 24);
        CHECK_D(c->pixel_size, 0.172 / 1000);
        CHECK_D(c->Ybeam, 1.7 / 1000);
        CHECK_D(c->phi0, 5 / RTD);
        CHECK_I(C.mask_data.fpixels, 20);
    }
    /* the command line overrides header values, whatever its position */
    snprintf(line, sizeof line, "-distance 200 -img %s/a.img -lambda 0.9 -Xbeam 3", scratch);
    parse_ok(line);
    CHECK_D(c->distance, 200 / 1000.0);
    CHECK_D(c->lambda0, 0.9 / 1.0e10);
    CHECK_D(c->Xbeam, 3 / 1000.0);
    CHECK_D(c->Ybeam, 1.7 / 1000);
    CHECK_I(c->pivot, NB_PIVOT_BEAM);
    snprintf(line, sizeof line, "-img %s/a.img -detpixels 8", scratch);
    parse_ok(line);
    CHECK_I(c->fpixels, 8);
    /* SIZE1 reading as 0: DETECTOR_DIMENSIONS for both */
    snprintf(line, sizeof line, "-img %s/dd.img", scratch);
    parse_ok(line);
    CHECK_I(c->fpixels, 12);
    CHECK_I(c->spixels, 12);
    /* unreadable header: an error naming the file */
    snprintf(line, sizeof line, "-img %s/none.img", scratch);
    parse(line);
    CHECK(S != NB_OK && strstr(E.msg, "none.img"), "[%s] status %d '%s'", cur, (int)S, E.msg);
}

int main(void)
{
    test_defaults();
    test_field_tables();
    test_program_fields();
    test_order_effects();
    test_unknown_and_negative();
    test_strict();
    test_parse_errors();
    test_headers();
    if (have_cli)
        nb_cli_fini(&C);
    printf("test_cli_parse: %d checks, %d failed\n", nchecks, nb_test_failures);
    return nb_test_failures ? 1 : 0;
}
