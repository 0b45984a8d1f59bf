/* at_common.h -- helpers for the acceptance property tests (spec/acceptance.md).
 *
 * Every test executable receives the program under test as argv[1], runs it in fresh
 * scratch directories (always with -noprogress) and checks properties whose expected
 * values are computed here from the formulas of the specification, never from another
 * run of the program (except where a test is explicitly a self-consistency relation).
 */
#ifndef AT_COMMON_H
#define AT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nb_testutil.h"

/* physics.md §0 */
#define AT_RE2 7.94079248018965e-30
#define AT_FLUENCE 125932015286227086360700780544.0
#define AT_AVOGADRO 6.02214179e23

/* Set the program path (argv[1]) and the test name (scratch folder).  Returns 0, or
 * prints a usage line and returns non-zero. */
int at_init(int argc, char **argv, const char *test_name);
extern const char *at_prog;

/* A fresh empty directory NB_TEST_SCRATCH/<test>/<sub>; the returned string is owned by
 * the helper (a small ring of buffers, valid for the next 16 calls). */
const char *at_dir(const char *sub);
/* Same directory name, not emptied (for a second run in the same folder). */
const char *at_dir_keep(const char *sub);

/* Run the program in dir with the whitespace-separated arguments (printf format);
 * "-noprogress" is appended.  stdout goes to dir/stdout.txt, stderr to dir/stderr.txt.
 * Returns the exit status (-1 if it could not run). */
int at_run(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same without the implicit -noprogress (for -h and the no-argument case). */
int at_run_raw(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dir/stdout.txt (malloc'd, NUL-terminated; "" if missing) */
char *at_stdout(const char *dir);
char *at_stderr(const char *dir);
/* Whole file dir/name (malloc'd, NUL-terminated) or NULL. */
unsigned char *at_file(const char *dir, const char *name, size_t *len);
int at_exists(const char *dir, const char *name);
long at_size(const char *dir, const char *name);
int at_write(const char *dir, const char *name, const void *data, size_t len);
int at_write_text(const char *dir, const char *name, const char *text);
/* Float image of exactly n pixels (NULL and a CHECK failure otherwise). */
float *at_floats(const char *dir, const char *name, size_t n);
/* SMV image: checks the 512-byte header and the data length; returns the n uint16
 * pixel values (malloc'd) and optionally the header text (malloc'd, 512 bytes + NUL). */
uint16_t *at_smv(const char *dir, const char *name, size_t n, char **header);

/* First line of text that starts with prefix (exactly, at the start of a line), or
 * NULL. */
const char *at_line(const char *text, const char *prefix);
/* Parse up to n numbers following prefix on that line; returns how many were read. */
int at_nums(const char *text, const char *prefix, double *v, int n);
/* Number of lines that start with prefix. */
int at_count_lines(const char *text, const char *prefix);

/* SMV header value of key (text after "key=" up to ';' or newline), or NULL. */
const char *at_hdr(const char *header, const char *key, char *buf, size_t bufsz);

/* float32 property tolerance (acceptance.md §0): got == (float)expect, or within 2e-7
 * relative of expect. */
int at_f32_ok(float got, double expect);
/* Relation between two float pixels: |a/b - r| <= 3e-7 |r|. */
int at_ratio_ok(double a, double b, double r);

/* Byte-identical files (both must exist). */
int at_same_file(const char *dir1, const char *dir2, const char *name);
int at_same_files(const char *path1, const char *path2);

/* ---- vectors and detector geometry (geometry.md, physics.md §7) ---- */
typedef struct {
    double x, y, z;
} v3;
v3 v3_make(double x, double y, double z);
v3 v3_add(v3 a, v3 b);
v3 v3_sub(v3 a, v3 b);
v3 v3_scale(v3 a, double s);
double v3_dot(v3 a, v3 b);
v3 v3_cross(v3 a, v3 b);
double v3_norm(v3 a);
v3 v3_unit(v3 a);
/* Rodrigues rotation of x about unit axis k by phi (physics.md §10). */
v3 v3_rot(v3 x, v3 k, double phi);

enum { AT_MOSFLM, AT_XDS, AT_DIALS };
typedef struct {
    int conv;
    int fp, sp;       /* fast/slow pixel counts */
    double pixel;     /* m */
    double distance;  /* m, flag value */
    double close;     /* m, close distance (= distance, untilted) */
    v3 f, s, o, b, p; /* axes, beam, polarization axis */
    double Fbeam, Sbeam;
    v3 pix0;
} at_det;
/* Untilted detector of the given convention with default beam centre (NaN Xbeam/Ybeam
 * means "default"; Xbeam/Ybeam in metres, MOSFLM meaning). */
void at_det_init(at_det *d, int conv, int fp, int sp, double pixel_mm, double distance_mm,
                 double xbeam_mm, double ybeam_mm);
/* Position of the centre of subpixel (subS, subF) of pixel (spix, fpix) at layer depth odet
 * (physics.md §7: Fdet = D*(fpix*os+subF)+D/2, P = Fdet f + Sdet s + Odet o + pix0). */
v3 at_subpixel_pos(const at_det *d, int spix, int fpix, int os, int subS, int subF, double odet);
/* Solid angle of a pixel whose (sub)position is P (full pixel area). */
double at_omega(const at_det *d, v3 P, int point_pixel);
/* Kahn polarization factor (physics.md §9) for incident unit vector i, diffracted unit
 * vector dvec, polarization axis p and Kahn factor K. */
double at_polar(v3 i, v3 dvec, v3 p, double K);

/* Write a SMV mask (512-byte header of the test brief, uint16 little-endian data). */
int at_write_mask(const char *dir, const char *name, int fp, int sp, double pixel_mm,
                  const uint16_t *data);

/* Finish: print the verdict and return the exit status. */
int at_finish(void);

#endif
