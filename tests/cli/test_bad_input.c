/* test_bad_input.c -- the bad-input contract of spec/cli.md §6.1 (and §6, formats.md §1-§5),
 * run through the real program: every malformed, missing or unreadable input must give exit
 * status 9, exactly one stderr line "error: <flag or file>: ...", and leave no output file
 * (no image, no Fdump.bin, no *.tmp.*) in the working directory.
 *
 * Usage: test_bad_input <path to nanobragg>.  Each invocation runs in its own fresh directory
 * under NB_TEST_SCRATCH/bad_input/ holding only the fixtures written below, with a 20 s limit
 * (a hang is a failure, not a stuck CI job).  Positive controls prove the harness can pass.
 * Evidence of a failure (stdout, stderr, the directory) stays in the scratch folder.
 * POSIX only; no MPI, HDF5 or CUDA.
 */
#define _XOPEN_SOURCE 700 /* realpath, setpgid, kill */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nb_testutil.h"

#define TIMEOUT_S 20.0

/* A valid command (with and without a unit cell) to which each row adds its bad part. */
static const char BASE[] =
    "-default_F 100 -cell 100 100 100 90 90 90 -detpixels 32 -distance 100 -noprogress";
static const char BASE_NOCELL[] = "-default_F 100 -detpixels 32 -distance 100 -noprogress";

/* ------------------------------------------------------------------ fixtures */

struct fixture {
    const char *name;
    unsigned char *data; /* NULL: a directory */
    size_t len;
};

static struct fixture fx[64];
static int nfx;

static void add_fx(const char *name, const void *data, size_t len)
{
    fx[nfx].name = name;
    if (data) {
        fx[nfx].data = malloc(len ? len : 1);
        memcpy(fx[nfx].data, data, len);
    } else {
        fx[nfx].data = NULL;
    }
    fx[nfx].len = len;
    nfx++;
}

static void add_text(const char *name, const char *text)
{
    add_fx(name, text, strlen(text));
}

/* An SMV file: header keys after HEADER_BYTES, padded to 512 bytes, then npix pixels of 1. */
static void add_smv(const char *name, const char *keys, long npix, int good_magic)
{
    size_t n = 512 + (size_t)npix * 2;
    unsigned char *b = calloc(n, 1);
    memset(b, ' ', 512);
    int l = snprintf((char *)b, 512,
                     "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                     "TYPE=unsigned_short;\n%s}\f",
                     keys);
    if (l > 0 && l < 512)
        b[l] = ' ';
    if (!good_magic)
        b[0] = 'X';
    for (size_t i = 512; i < n; i += 2)
        b[i] = 1;
    add_fx(name, b, n);
    free(b);
}

/* Fdump.bin variants (placed only in rows that ask for one). */
struct fdump {
    const char *what;
    unsigned char bytes[128];
    size_t len;
};
static struct fdump fdumps[6];

static void make_fixtures(void)
{
    add_text("good.hkl", "0 0 0 100\n1 0 0 50\n0 1 0 40\n0 0 1 30\n");
    add_text("empty.hkl", "");
    add_text("text.hkl", "h k l F\n");
    add_text("midtok.hkl", "0 0 0 100\n1 0 0 50\n0 x 0 40\n0 0 1 30\n");
    add_text("incomplete.hkl", "0 0 0 100\n1 0 0 50\n0 1 0\n");
    add_text("nan.hkl", "0 0 0 100\n1 0 0 nan\n");
    add_text("inf.hkl", "0 0 0 100\n1 0 0 inf\n");
    add_text("huge.hkl", "0 0 0 1\n1000000 1000000 1000000 1\n");
    add_text("bigF.hkl", "0 0 0 1e30\n1 0 0 1e30\n0 1 0 1e30\n0 0 1 1e30\n");

    add_text("good.mat", "0.01 0 0\n0 0.01 0\n0 0 0.01\n");
    add_text("zero.mat", "0 0 0\n0 0 0\n0 0 0\n");
    add_text("short.mat", "0.01 0 0\n0 0.01 0\n0 0\n");
    add_text("text.mat", "0.01 0 0\n0 abc 0\n0 0 0.01\n");
    add_text("nan.mat", "0.01 0 0\n0 nan 0\n0 0 0.01\n");

    add_text("good.src", "-10 0 0 1 1e-10\n-10 0.01 0 1 1.01e-10\n");
    add_text("empty.src", "");
    add_text("lam0.src", "-10 0 0 1 1e-10\n-10 0 0 1 0\n");
    add_text("comment.src", "# X Y Z weight lambda\n-10 0 0 1 1e-10\n");
    add_text("nonl.src", "-10 0 0 1 1e-10\n-10 0 0"); /* last line: no newline, 3 columns */
    add_text("inf.src", "-10 0 0 1 inf\n");
    add_text("crlf.src", "-10 0 0\r\n"); /* CRLF, 3 columns: zero-filled, lambda 0 */

    add_text("empty.stol", "");

    add_smv("good32.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\n", 32 * 32, 1);
    add_smv("mask32.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\n", 32 * 32, 1);
    add_smv("mask16.img", "SIZE1=16;\nSIZE2=16;\nPIXEL_SIZE=0.1;\n", 16 * 16, 1);
    add_smv("trunc.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\n", 100, 1);
    add_smv("notsmv.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\n", 32 * 32, 0);
    add_smv("size0.img", "SIZE1=0;\nSIZE2=0;\n", 64, 1);
    add_smv("wlnan.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\nWAVELENGTH=nan;\n", 32 * 32, 1);
    add_smv("distinf.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0.1;\nDISTANCE=inf;\n", 32 * 32, 1);
    add_smv("pix0.img", "SIZE1=32;\nSIZE2=32;\nPIXEL_SIZE=0;\n", 32 * 32, 1);
    add_smv("nosize1.img", "SIZE2=32;\nPIXEL_SIZE=0.1;\n", 32 * 32, 1);
    add_smv("nosize2.img", "SIZE1=32;\nPIXEL_SIZE=0.1;\n", 32 * 32, 1);
    add_text("short.img", "{\nHEADER_BYTES=512;\nSIZE1=32;\nSIZE2=32;\n}\f");
    {   /* HEADER_BYTES=1024 in a 600-byte file */
        unsigned char b[600];
        memset(b, ' ', sizeof b);
        const char *h = "{\nHEADER_BYTES=1024;\nSIZE1=4;\nSIZE2=4;\n}\f";
        memcpy(b, h, strlen(h));
        add_fx("hb1024.img", b, sizeof b);
    }
    add_fx("outdir", NULL, 0); /* an existing directory */

    /* Fdump.bin variants: index 0 = none */
    fdumps[1].what = "garbage";
    fdumps[1].len = (size_t)snprintf((char *)fdumps[1].bytes, 128, "garbage, not a cache\n");
    fdumps[2].what = "truncated body";
    fdumps[2].len = (size_t)snprintf((char *)fdumps[2].bytes, 128, "0 0 0 0 0 0\n\f");
    memset(fdumps[2].bytes + fdumps[2].len, 0, 24);
    fdumps[2].len += 24; /* needs 8 doubles = 64 bytes */
    fdumps[3].what = "empty";
    fdumps[3].len = 0;
    fdumps[4].what = "huge index range";
    fdumps[4].len =
        (size_t)snprintf((char *)fdumps[4].bytes, 128, "0 100000 0 100000 0 100000\n\f");
    fdumps[5].what = "NaN body";
    {
        size_t l = (size_t)snprintf((char *)fdumps[5].bytes, 128, "0 0 0 0 0 0\n\f");
        double v[8] = {100, 0, 0, 0, 0, 0, 0, 0};
        v[0] = strtod("nan", NULL);
        memcpy(fdumps[5].bytes + l, v, sizeof v);
        fdumps[5].len = l + sizeof v;
    }
}

static int write_fixtures(const char *dir, int fdump)
{
    char path[4200];
    for (int i = 0; i < nfx; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fx[i].name);
        if (!fx[i].data) {
            if (mkdir(path, 0755) != 0)
                return -1;
        } else if (nb_test_write_file(path, fx[i].data, fx[i].len) != 0) {
            return -1;
        }
    }
    if (fdump) {
        snprintf(path, sizeof path, "%s/Fdump.bin", dir);
        if (nb_test_write_file(path, fdumps[fdump].bytes, fdumps[fdump].len) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ running with a limit */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Like nb_test_run, plus a wall-clock limit: the child gets its own process group, which is
 * killed (SIGKILL) when the limit passes.  Returns the exit status, 128+signal, or -1. */
static int run_limited(const char *dir, char *const argv[], const char *out_path,
                       const char *err_path, double limit_s, int *timed_out, double *elapsed)
{
    *timed_out = 0;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(dir) != 0)
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
    setpgid(pid, pid); /* also here: no race with the kill below */
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_s() - t0 > limit_s) {
            *timed_out = 1;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    *elapsed = now_s() - t0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ------------------------------------------------------------------ the table */

enum { B_NONE = 0, B_CELL, B_NOCELL };

struct row {
    const char *name;   /* scratch folder name */
    int base;           /* which valid command precedes the bad part */
    const char *bad;    /* the bad part, space-separated; "<empty>" is an empty argument */
    const char *expect; /* the stderr line must contain this (the flag or file) */
    int fdump;          /* Fdump.bin fixture variant (0 none) */
    int quiet;          /* discard stdout (huge listings) */
};

static const struct row rows[] = {
    /* values that are not entirely a finite number */
    {"seed_abc", B_CELL, "-seed abc", "-seed", 0, 0},
    {"detpixels_12x", B_CELL, "-detpixels 12x", "-detpixels", 0, 0},
    {"distance_nan", B_CELL, "-distance nan", "-distance", 0, 0},
    {"lambda_inf", B_CELL, "-lambda inf", "-lambda", 0, 0},
    {"pixel_1e500", B_CELL, "-pixel 1e500", "-pixel", 0, 0},
    {"distance_100mm", B_CELL, "-distance 100mm", "-distance", 0, 0},
    {"default_F_abc", B_CELL, "-default_F abc", "-default_F", 0, 0},
    {"N_abc", B_CELL, "-N abc", "-N", 0, 0},
    {"misset_abc", B_CELL, "-misset 10 abc 30", "-misset", 0, 0},
    {"cell_gamma_abc", B_NOCELL, "-cell 100 100 100 90 90 abc", "-cell", 0, 0},
    {"beam_vector_x", B_CELL, "-beam_vector 1 x 0", "-beam_vector", 0, 0},
    {"roi_1_5x", B_CELL, "-roi 0 10 0 1.5x", "-roi", 0, 0},
    {"Xbeam_empty", B_CELL, "-Xbeam <empty>", "-Xbeam", 0, 0},
    {"mosaic_nan", B_CELL, "-mosaic nan", "-mosaic", 0, 0},
    {"detector_abs_xyz", B_CELL, "-detector_abs xyz", "-detector_abs", 0, 0},
    /* a flag lacking its value(s), mostly as the last token */
    {"distance_last", B_CELL, "-distance", "-distance", 0, 0},
    {"detector_abs_last", B_CELL, "-detector_abs", "-detector_abs", 0, 0},
    {"detector_thick_last", B_CELL, "-detector_thick", "-detector_thick", 0, 0},
    {"thicksteps_last", B_CELL, "-thicksteps", "-thicksteps", 0, 0},
    {"detector_thicksteps_last", B_CELL, "-detector_thicksteps", "-detector_thicksteps", 0, 0},
    {"hkl_last", B_CELL, "-hkl", "-hkl", 0, 0},
    {"mat_last", B_CELL, "-mat", "-mat", 0, 0},
    {"sourcefile_last", B_CELL, "-sourcefile", "-sourcefile", 0, 0},
    {"img_last", B_CELL, "-img", "-img", 0, 0},
    {"mask_last", B_CELL, "-mask", "-mask", 0, 0},
    {"misset_two", B_CELL, "-misset 10 20", "-misset", 0, 0},
    {"twotheta_axis_two", B_CELL, "-twotheta_axis 0 0", "-twotheta_axis", 0, 0},
    {"roi_three", B_CELL, "-roi 1 2 3", "-roi", 0, 0},
    {"seed_last", B_CELL, "-seed", "-seed", 0, 0},
    {"N_last", B_CELL, "-N", "-N", 0, 0},
    {"printout_pixel_one", B_CELL, "-printout_pixel 3", "-printout_pixel", 0, 0},
    {"fdet_vector_two", B_CELL, "-fdet_vector 1 0", "-fdet_vector", 0, 0},
    {"cell_last", B_NOCELL, "-cell", "-cell", 0, 0},
    {"cell_no_numbers", B_NOCELL, "-cell -N 1", "-cell", 0, 0},
    {"strict_distance_last", B_CELL, "--strict-cli -distance", "-distance", 0, 0},
    /* zero or negative sizes, distances, wavelengths, pixel counts */
    {"detpixels_0", B_CELL, "-detpixels 0", "-detpixels", 0, 0},
    {"detpixels_neg", B_CELL, "-detpixels -5", "-detpixels", 0, 0},
    {"detpixels_x_0", B_CELL, "-detpixels_x 0", "-detpixels_x", 0, 0},
    {"detpixels_y_0", B_CELL, "-detpixels_y 0", "-detpixels_y", 0, 0},
    {"detpixels_f_0", B_CELL, "-detpixels_f 0", "-detpixels_f", 0, 0},
    {"detpixels_s_neg", B_CELL, "-detpixels_s -2", "-detpixels_s", 0, 0},
    {"pixel_0", B_CELL, "-pixel 0", "-pixel", 0, 0},
    {"pixel_neg", B_CELL, "-pixel -0.1", "-pixel", 0, 0},
    {"distance_0", B_CELL, "-distance 0", "-distance", 0, 0},
    {"distance_neg", B_CELL, "-distance -5", "-distance", 0, 0},
    {"close_distance_0", B_CELL, "-close_distance 0", "-close_distance", 0, 0},
    {"lambda_0", B_CELL, "-lambda 0", "-lambda", 0, 0},
    {"wavelength_neg", B_CELL, "-wavelength -1", "-wavelength", 0, 0},
    {"energy_0", B_CELL, "-energy 0", "-energy", 0, 0},
    {"energy_neg", B_CELL, "-energy -5", "-energy", 0, 0},
    {"detsize_0", B_CELL, "-detsize 0", "-detsize", 0, 0},
    {"detsize_f_0", B_CELL, "-detsize_f 0", "-detsize_f", 0, 0},
    {"detsize_s_neg", B_CELL, "-detsize_s -1", "-detsize_s", 0, 0},
    {"cell_a_0", B_NOCELL, "-cell 0 100 100 90 90 90", "-cell", 0, 0},
    {"cell_b_0", B_NOCELL, "-cell 100 0 100 90 90 90", "-cell", 0, 0},
    {"cell_a_neg", B_NOCELL, "-cell -100 100 100 90 90 90", "-cell", 0, 0},
    /* non-positive counts, negative oversampling */
    {"phisteps_0", B_CELL, "-phisteps 0", "-phisteps", 0, 0},
    {"mosaic_dom_0", B_CELL, "-mosaic_dom 0", "-mosaic_dom", 0, 0},
    {"mosaic_domains_neg", B_CELL, "-mosaic_domains -1", "-mosaic_domains", 0, 0},
    {"dispsteps_0", B_CELL, "-dispsteps 0", "-dispsteps", 0, 0},
    {"divsteps_neg", B_CELL, "-divsteps -1", "-divsteps", 0, 0},
    {"hdivsteps_0", B_CELL, "-hdivsteps 0", "-hdivsteps", 0, 0},
    {"vdivsteps_neg", B_CELL, "-vdivsteps -3", "-vdivsteps", 0, 0},
    {"thicksteps_0", B_CELL, "-thicksteps 0", "-thicksteps", 0, 0},
    {"detector_thicksteps_0", B_CELL, "-detector_thicksteps 0", "-detector_thicksteps", 0, 0},
    {"oversample_neg", B_CELL, "-oversample -1", "-oversample", 0, 0},
    /* zero direction vectors */
    {"fdet_vector_0", B_CELL, "-fdet_vector 0 0 0", "-fdet_vector", 0, 0},
    {"sdet_vector_0", B_CELL, "-sdet_vector 0 0 0", "-sdet_vector", 0, 0},
    {"odet_vector_0", B_CELL, "-odet_vector 0 0 0", "-odet_vector", 0, 0},
    {"beam_vector_0", B_CELL, "-beam_vector 0 0 0", "-beam_vector", 0, 0},
    {"polar_vector_0", B_CELL, "-polar_vector 0 0 0", "-polar_vector", 0, 0},
    {"spindle_axis_0", B_CELL, "-spindle_axis 0 0 0", "-spindle_axis", 0, 0},
    {"twotheta_axis_0", B_CELL, "-twotheta_axis 0 0 0", "-twotheta_axis", 0, 0},
    /* degenerate cells */
    {"cell_gamma_200", B_NOCELL, "-cell 100 100 100 90 90 200", "-cell", 0, 0},
    {"cell_170_170_170", B_NOCELL, "-cell 100 100 100 170 170 170", "-cell", 0, 0},
    {"cell_120_120_120", B_NOCELL, "-cell 100 100 100 120 120 120", "-cell", 0, 0},
    {"cell_flat_60_60_120", B_NOCELL, "-cell 100 100 100 60 60 120", "-cell", 0, 0},
    /* -mat */
    {"mat_missing", B_CELL, "-mat missing.mat", "missing.mat", 0, 0},
    {"mat_zero_nocell", B_NOCELL, "-mat zero.mat", "-mat", 0, 0},
    {"mat_zero_with_cell", B_CELL, "-mat zero.mat", "-mat", 0, 0},
    {"mat_short", B_CELL, "-mat short.mat", "short.mat", 0, 0},
    {"mat_text", B_CELL, "-mat text.mat", "text.mat", 0, 0},
    {"mat_nan", B_CELL, "-mat nan.mat", "nan.mat", 0, 0},
    {"mat_directory", B_CELL, "-mat outdir", "outdir", 0, 0},
    /* -hkl */
    {"hkl_missing", B_CELL, "-hkl missing.hkl", "missing.hkl", 0, 0},
    {"hkl_empty", B_CELL, "-hkl empty.hkl", "empty.hkl", 0, 0},
    {"hkl_text_only", B_CELL, "-hkl text.hkl", "text.hkl", 0, 0},
    {"hkl_token_mid_file", B_CELL, "-hkl midtok.hkl", "midtok.hkl", 0, 0},
    {"hkl_incomplete_record", B_CELL, "-hkl incomplete.hkl", "incomplete.hkl", 0, 0},
    {"hkl_nan", B_CELL, "-hkl nan.hkl", "nan.hkl", 0, 0},
    {"hkl_inf", B_CELL, "-hkl inf.hkl", "inf.hkl", 0, 0},
    {"hkl_huge_grid", B_CELL, "-hkl huge.hkl", "huge.hkl", 0, 0},
    {"hkl_directory", B_CELL, "-hkl outdir", "outdir", 0, 0},
    /* Fdump.bin in the working directory, no -hkl */
    {"fdump_garbage", B_CELL, "", "Fdump.bin", 1, 0},
    {"fdump_truncated", B_CELL, "", "Fdump.bin", 2, 0},
    {"fdump_empty", B_CELL, "", "Fdump.bin", 3, 0},
    {"fdump_huge", B_CELL, "", "Fdump.bin", 4, 0},
    {"fdump_nan", B_CELL, "", "Fdump.bin", 5, 0},
    /* -sourcefile */
    {"source_missing", B_CELL, "-sourcefile missing.src", "missing.src", 0, 0},
    {"source_empty", B_CELL, "-sourcefile empty.src", "empty.src", 0, 0},
    {"source_lambda_0", B_CELL, "-sourcefile lam0.src", "lam0.src", 0, 0},
    {"source_comment", B_CELL, "-sourcefile comment.src", "comment.src", 0, 0},
    {"source_no_newline", B_CELL, "-sourcefile nonl.src", "nonl.src", 0, 0},
    {"source_inf", B_CELL, "-sourcefile inf.src", "inf.src", 0, 0},
    {"source_crlf", B_CELL, "-sourcefile crlf.src", "crlf.src", 0, 0},
    {"source_directory", B_CELL, "-sourcefile outdir", "outdir", 0, 0},
    /* S(Q) tables */
    {"stol_missing", B_CELL, "-stol missing.stol", "missing.stol", 0, 0},
    {"stol_empty", B_CELL, "-stol empty.stol", "empty.stol", 0, 0},
    /* -img / -mask */
    {"img_missing", B_CELL, "-img missing.img", "missing.img", 0, 0},
    {"img_short", B_CELL, "-img short.img", "short.img", 0, 0},
    {"img_not_smv", B_CELL, "-img notsmv.img", "notsmv.img", 0, 0},
    {"img_truncated", B_CELL, "-img trunc.img", "trunc.img", 0, 0},
    {"img_size0", B_CELL, "-img size0.img", "size0.img", 0, 0},
    {"img_header_bytes", B_CELL, "-img hb1024.img", "hb1024.img", 0, 0},
    {"img_directory", B_CELL, "-img outdir", "outdir", 0, 0},
    {"img_wavelength_nan", B_CELL, "-img wlnan.img", "wlnan.img", 0, 0},
    {"img_distance_inf", B_CELL, "-img distinf.img", "distinf.img", 0, 0},
    {"img_pixel_size_0", B_CELL, "-img pix0.img", "pix0.img", 0, 0},
    {"img_no_size1", B_CELL, "-img nosize1.img", "nosize1.img: SMV header lacks the SIZE1 key", 0,
     0},
    {"img_no_size2", B_CELL, "-img nosize2.img", "nosize2.img: SMV header lacks the SIZE2 key", 0,
     0},
    {"mask_missing", B_CELL, "-mask missing.img", "missing.img", 0, 0},
    {"mask_short", B_CELL, "-mask short.img", "short.img", 0, 0},
    {"mask_not_smv", B_CELL, "-mask notsmv.img", "notsmv.img", 0, 0},
    {"mask_truncated", B_CELL, "-mask trunc.img", "trunc.img", 0, 0},
    {"mask_size_mismatch", B_CELL, "-mask mask16.img", "-mask", 0, 0},
    {"mask_no_size1", B_CELL, "-mask nosize1.img", "nosize1.img: SMV header lacks the SIZE1 key",
     0, 0},
    /* inverted ROI */
    {"roi_inverted_x", B_CELL, "-roi 10 5 0 10", "-roi", 0, 0},
    {"roi_inverted_y", B_CELL, "-roi 0 10 20 5", "-roi", 0, 0},
    /* -- options */
    {"unknown_option", B_CELL, "--bogus-option", "--bogus-option", 0, 0},
    {"phi_carryover_foo", B_CELL, "--phi-carryover=foo", "--phi-carryover", 0, 0},
    {"device_gpu", B_CELL, "--device=gpu", "--device", 0, 0},
    {"hdf5_empty", B_CELL, "--hdf5=", "--hdf5", 0, 0},
    {"strict_unknown_flag", B_CELL, "--strict-cli -bogus", "-bogus", 0, 0},
    {"strict_stray_token", B_CELL, "--strict-cli stray", "stray", 0, 0},
    /* output paths that cannot be created */
    {"floatfile_nodir", B_CELL, "-floatfile /nonexistent_dir/x.bin", "/nonexistent_dir/x.bin", 0,
     0},
    {"intfile_nodir", B_CELL, "-intfile /nonexistent_dir/x.img", "/nonexistent_dir/x.img", 0, 0},
    {"pgmfile_nodir", B_CELL, "-pgmfile /nonexistent_dir/x.pgm", "/nonexistent_dir/x.pgm", 0, 0},
    {"noisefile_nodir", B_CELL, "-noisefile /nonexistent_dir/x.img", "/nonexistent_dir/x.img", 0,
     0},
    {"hkl_then_floatfile_nodir", B_CELL, "-hkl good.hkl -floatfile /nonexistent_dir/x.bin",
     "/nonexistent_dir/x.bin", 0, 0},
    {"floatfile_is_dir", B_CELL, "-floatfile outdir", "outdir", 0, 0},
    {"intfile_is_dir", B_CELL, "-intfile outdir", "outdir", 0, 0},
    {"noisefile_is_dir", B_CELL, "-noisefile outdir", "outdir", 0, 0},
    {"intfile_empty_name", B_CELL, "-intfile <empty>", "-intfile", 0, 0},
    /* a late error after a good -hkl: no Fdump.bin either */
    {"hkl_then_roi_inverted", B_CELL, "-hkl good.hkl -roi 10 5 0 10", "-roi", 0, 0},
    {"hkl_then_bad_cell", B_NOCELL, "-hkl good.hkl -cell 100 100 100 90 90 200", "-cell", 0, 0},
    /* absurd sizes: fail fast with an error, never hang or get killed */
    {"detpixels_2e6", B_CELL, "-detpixels 2000000", "-detpixels", 0, 0},
    {"mosaic_dom_2e9", B_CELL, "-N 1 -mosaic 1 -mosaic_dom 2000000000", "-mosaic_dom", 0, 0},
    {"phisteps_2e9", B_CELL, "-phisteps 2000000000 -osc 1", "-phisteps", 0, 1},
    {"dispsteps_2e9", B_CELL, "-dispsteps 2000000000 -dispersion 10", "-dispsteps", 0, 1},
    {"divsteps_1e5_squared", B_CELL, "-hdivsteps 100000 -vdivsteps 100000 -divergence 1",
     "divsteps", 0, 1},
    /* finite values that overflow: refused before rendering where every pixel would be inf or
     * NaN, otherwise by the scan of the rendered image; never an inf/NaN image with exit 0 */
    {"default_F_1e308", B_CELL, "-default_F 1e308", "-default_F", 0, 0},
    {"default_F_1e30", B_CELL, "-default_F 1e30", "-default_F", 0, 0},
    {"hkl_F_1e30", B_CELL, "-hkl bigF.hkl", "-hkl", 0, 0},
    {"fluence_1e308", B_CELL, "-fluence 1e308", "-fluence", 0, 0},
    {"flux_fluence_inf", B_CELL, "-flux 1e300 -exposure 1e10 -beamsize 1e-5", "-flux", 0, 0},
    {"flux_beamsize_0", B_CELL, "-flux 1e12 -exposure 1 -beamsize 0", "-beamsize", 0, 0},
    {"flux_1e200", B_CELL, "-flux 1e200 -exposure 1 -beamsize 0.1", "-flux", 0, 0},
    {"water_1e120", B_CELL, "-water 1e120", "-water", 0, 0},
    {"water_1e30", B_CELL, "-water 1e30", "-water", 0, 0},
    {"polar_1e308", B_CELL, "-polar 1e308", "-polar", 0, 0},
    {"polar_neg_1e308", B_CELL, "-polar -1e308", "-polar", 0, 0},
    {"mosaic_1e41_2_domains", B_CELL, "-N 5 -mosaic 1e41 -mosaic_dom 2", "-mosaic", 0, 0},
    {"N_2e9_on_bragg", B_CELL, "-N 2000000000 -oversample 1 -Xbeam 1.6 -Ybeam 1.6", "-N", 0, 0},
    {"xtalsize_1e100_round", B_CELL, "-xtalsize 1e100 -beamsize 1e100 -oversample 1 -round_xtal",
     "-xtalsize", 0, 0},
    /* the automatic oversampling estimate with the beam spot behind the sample: beyond an int,
     * the reference's conversion is undefined behaviour */
    {"twotheta_90_auto_oversample", B_CELL, "-twotheta 90.0000000001", "-oversample", 0, 0},
    {"close_distance_behind_auto_oversample", B_CELL,
     "-close_distance 1e-12 -detector_roty 179 -pivot beam", "-oversample", 0, 0},
    /* step counts ceil(range/step) beyond an int (an undefined conversion in the reference) */
    {"osc_phistep_1e600", B_CELL, "-osc 1e300 -phistep 1e-300", "-phistep", 0, 0},
    {"osc_phistep_1e13", B_CELL, "-osc 1e10 -phistep 1e-3", "-osc", 0, 0},
    {"divergence_hdivstep_inf", B_CELL, "-divergence 1e300 -hdivstep 1e-300", "-hdivstep", 0, 0},
    {"vdivrange_vdivstep_1e20", B_CELL, "-vdivrange 1e10 -vdivstep 1e-10", "-vdivstep", 0, 0},
};

/* Positive controls: valid invocations that must succeed and write their files. */
struct control {
    const char *name;
    int base;
    const char *extra;
    int fdump;
    const char *must_exist[6];
};

static const struct control controls[] = {
    {"ok_base", B_CELL, "", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_hkl", B_CELL, "-hkl good.hkl", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", "Fdump.bin", NULL}},
    {"ok_mask_source_img", B_CELL, "-mask mask32.img -img good32.img -sourcefile good.src", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_mat_no_cell", B_NOCELL, "-mat good.mat", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_N0_no_fdump", B_CELL, "-N 0 --no-fdump", 1, /* corrupt Fdump.bin is not read */
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_nonoise_nopgm", B_CELL, "-nonoise -nopgm -floatfile f.bin -intfile i.img", 0,
     {"f.bin", "i.img", NULL}},
    /* large but finite: the reference's image is finite, so these run (docs/cli.md §1.2) */
    {"ok_N_2e9_explicit_oversample", B_CELL, "-N 2000000000 -oversample 1", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_mosaic_1e41_one_domain", B_CELL, "-N 5 -mosaic 1e41 -mosaic_dom 1", 0,
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
    {"ok_twotheta_120_behind", B_CELL, "-twotheta 120", 0, /* a negative but finite image */
     {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img", NULL}},
};

/* ------------------------------------------------------------------ checks */

static char scratch[4096];

static int build_argv(const char *exe, int base, const char *bad, char *buf, size_t bufsize,
                      char **argv, int maxargs)
{
    snprintf(buf, bufsize, "%s %s", base == B_CELL ? BASE : base == B_NOCELL ? BASE_NOCELL : "",
             bad);
    int argc = 0;
    argv[argc++] = (char *)exe;
    for (char *t = strtok(buf, " "); t && argc < maxargs - 1; t = strtok(NULL, " "))
        argv[argc++] = strcmp(t, "<empty>") == 0 ? t + strlen(t) : t;
    argv[argc] = NULL;
    return argc;
}

static int is_fixture(const char *name, int fdump)
{
    for (int i = 0; i < nfx; i++)
        if (!strcmp(fx[i].name, name))
            return 1;
    return fdump && !strcmp(name, "Fdump.bin");
}

/* Everything in dir must be an unchanged fixture; outdir must stay empty.  Prints what is
 * wrong and returns the number of problems. */
static int check_dir(const char *name, const char *dir, int fdump)
{
    int bad = 0;
    DIR *d = opendir(dir);
    if (!d) {
        printf("FAIL %s: cannot list %s\n", name, dir);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!is_fixture(e->d_name, fdump)) {
            printf("FAIL %s: output file left in the working directory: %s%s\n", name,
                   e->d_name, strstr(e->d_name, ".tmp.") ? " (temporary file)" : "");
            bad++;
        }
    }
    closedir(d);
    char path[4200];
    for (int i = 0; i < nfx; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fx[i].name);
        if (!fx[i].data) {
            DIR *sd = opendir(path);
            int n = 0;
            if (sd) {
                while ((e = readdir(sd)) != NULL)
                    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        n++;
                closedir(sd);
            }
            if (!sd || n) {
                printf("FAIL %s: fixture directory %s missing or written into (%d entries)\n",
                       name, fx[i].name, n);
                bad++;
            }
            continue;
        }
        size_t len = 0;
        unsigned char *b = nb_test_read_file(path, &len);
        if (!b || len != fx[i].len || memcmp(b, fx[i].data, len) != 0) {
            printf("FAIL %s: fixture %s removed or changed\n", name, fx[i].name);
            bad++;
        }
        free(b);
    }
    if (fdump) {
        snprintf(path, sizeof path, "%s/Fdump.bin", dir);
        size_t len = 0;
        unsigned char *b = nb_test_read_file(path, &len);
        if (!b || len != fdumps[fdump].len || memcmp(b, fdumps[fdump].bytes, len) != 0) {
            printf("FAIL %s: the Fdump.bin fixture was removed or overwritten\n", name);
            bad++;
        }
        free(b);
    }
    return bad;
}

static void show_cmd(char *const argv[])
{
    printf("     command:");
    for (int i = 1; argv[i]; i++)
        printf(" %s", argv[i][0] ? argv[i] : "''");
    printf("\n");
}

static int run_row(const char *exe, const struct row *r)
{
    char dir[4300], out[4400], err[4400], buf[2048];
    char *argv[128];
    snprintf(dir, sizeof dir, "%s/%s", scratch, r->name);
    snprintf(out, sizeof out, "%s/%s.stdout", scratch, r->name);
    snprintf(err, sizeof err, "%s/%s.stderr", scratch, r->name);
    if (nb_test_fresh_dir(dir) != 0 || write_fixtures(dir, r->fdump) != 0) {
        printf("FAIL %s: cannot prepare %s\n", r->name, dir);
        return 1;
    }
    build_argv(exe, r->base, r->bad, buf, sizeof buf, argv, 128);
    int timed_out;
    double el;
    int rc = run_limited(dir, argv, r->quiet ? NULL : out, err, TIMEOUT_S, &timed_out, &el);
    int bad = 0;
    if (timed_out) {
        printf("FAIL %s: still running after %.0f s (killed); an error was due at once\n",
               r->name, TIMEOUT_S);
        bad++;
    } else if (rc != 9) {
        printf("FAIL %s: exit status %d, expected 9\n", r->name, rc);
        bad++;
    }
    size_t elen = 0;
    char *etext = (char *)nb_test_read_file(err, &elen);
    if (!etext) {
        printf("FAIL %s: no stderr captured\n", r->name);
        bad++;
    } else {
        int lines = 0;
        for (size_t i = 0; i < elen; i++)
            lines += etext[i] == '\n';
        if (elen == 0 || lines != 1 || etext[elen - 1] != '\n') {
            printf("FAIL %s: stderr must be exactly one line, got %d line(s), %zu bytes: %.300s\n",
                   r->name, lines, elen, etext);
            bad++;
        } else if (strncmp(etext, "error: ", 7) != 0) {
            printf("FAIL %s: stderr line does not start with 'error: ': %s", r->name, etext);
            bad++;
        } else if (!strstr(etext, r->expect)) {
            printf("FAIL %s: stderr line does not name '%s': %s", r->name, r->expect, etext);
            bad++;
        }
    }
    bad += check_dir(r->name, dir, r->fdump);
    if (bad) {
        show_cmd(argv);
        if (etext && elen)
            printf("     stderr: %.300s%s", etext, etext[elen - 1] == '\n' ? "" : "\n");
    } else {
        printf("ok   %-28s %5.2f s  %s", r->name, el, etext);
    }
    free(etext);
    return bad ? 1 : 0;
}

static int run_control(const char *exe, const struct control *c)
{
    char dir[4300], out[4400], err[4400], buf[2048], path[4500];
    char *argv[128];
    snprintf(dir, sizeof dir, "%s/%s", scratch, c->name);
    snprintf(out, sizeof out, "%s/%s.stdout", scratch, c->name);
    snprintf(err, sizeof err, "%s/%s.stderr", scratch, c->name);
    if (nb_test_fresh_dir(dir) != 0 || write_fixtures(dir, c->fdump) != 0) {
        printf("FAIL %s: cannot prepare %s\n", c->name, dir);
        return 1;
    }
    build_argv(exe, c->base, c->extra, buf, sizeof buf, argv, 128);
    int timed_out;
    double el;
    int rc = run_limited(dir, argv, out, err, TIMEOUT_S, &timed_out, &el);
    int bad = 0;
    if (timed_out || rc != 0) {
        printf("FAIL %s (positive control): exit status %d%s, expected 0\n", c->name, rc,
               timed_out ? " (timed out)" : "");
        bad++;
    }
    size_t elen = 0;
    char *etext = (char *)nb_test_read_file(err, &elen);
    if (etext && strstr(etext, "error")) {
        printf("FAIL %s (positive control): stderr has an error: %.300s\n", c->name, etext);
        bad++;
    }
    free(etext);
    for (int i = 0; c->must_exist[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, c->must_exist[i]);
        struct stat st;
        if (stat(path, &st) != 0 || st.st_size == 0) {
            printf("FAIL %s (positive control): %s not written\n", c->name, c->must_exist[i]);
            bad++;
        }
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) {
            printf("FAIL %s (positive control): temporary file left: %s\n", c->name, e->d_name);
            bad++;
        }
    if (d)
        closedir(d);
    if (c->fdump) { /* --no-fdump: the cache is neither read nor rewritten */
        snprintf(path, sizeof path, "%s/Fdump.bin", dir);
        size_t len = 0;
        unsigned char *b = nb_test_read_file(path, &len);
        if (!b || len != fdumps[c->fdump].len ||
            memcmp(b, fdumps[c->fdump].bytes, len) != 0) {
            printf("FAIL %s (positive control): Fdump.bin changed under --no-fdump\n", c->name);
            bad++;
        }
        free(b);
    }
    if (bad)
        show_cmd(argv);
    else
        printf("ok   %-28s %5.2f s  (positive control, exit 0)\n", c->name, el);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <path to nanobragg>\n", argv[0]);
        return 2;
    }
    /* absolute: each run changes into its own directory first */
    static char exe_abs[4096];
    const char *exe = realpath(argv[1], exe_abs) ? exe_abs : argv[1];
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "%s: not an executable\n", exe);
        return 1;
    }
    snprintf(scratch, sizeof scratch, "%s/bad_input", NB_TEST_SCRATCH);
    if (nb_test_fresh_dir(scratch) != 0) {
        fprintf(stderr, "cannot create %s\n", scratch);
        return 1;
    }
    make_fixtures();
    setvbuf(stdout, NULL, _IOLBF, 0);

    const int nrows = (int)(sizeof rows / sizeof rows[0]);
    const int nctl = (int)(sizeof controls / sizeof controls[0]);
    int failed = 0, cfailed = 0;
    static char failed_names[8192];
    for (int i = 0; i < nctl; i++)
        if (run_control(exe, &controls[i])) {
            cfailed++;
            strncat(failed_names, " ", sizeof failed_names - strlen(failed_names) - 1);
            strncat(failed_names, controls[i].name,
                    sizeof failed_names - strlen(failed_names) - 1);
        }
    for (int i = 0; i < nrows; i++)
        if (run_row(exe, &rows[i])) {
            failed++;
            strncat(failed_names, " ", sizeof failed_names - strlen(failed_names) - 1);
            strncat(failed_names, rows[i].name, sizeof failed_names - strlen(failed_names) - 1);
        }

    printf("\ntest_bad_input: %d bad-input invocations, %d failed; %d positive controls, "
           "%d failed\n",
           nrows, failed, nctl, cfailed);
    if (failed || cfailed)
        printf("failed:%s\nevidence (stdout, stderr, working directory) in %s\n", failed_names,
               scratch);
    for (int i = 0; i < nfx; i++)
        free(fx[i].data);
    return failed || cfailed ? 1 : 0;
}
