/* nb_series.h -- the frames of a series (docs/batch.md): which flags each frame adds to the
 * command line, the per-frame noise seed, and the names of per-frame files.
 *
 * A frame is defined as a plain run of the command line with the frame's flags appended:
 *   --frames N        frame i adds "-phi <φ0 + i·osc> -seed <S + i>"
 *   --frames-from F   frame i adds the flags of the i-th frame line of F, and "-seed <S + i>"
 *                     unless the line gives -seed itself
 * S is the command line's -seed (or the job's default seed).  So every rank can set up any
 * frame on its own, and frame i of a series equals that plain run byte for byte.
 * Entry points: nb_series_*().
 */
#ifndef NB_SERIES_H
#define NB_SERIES_H

#include "../util/nb_status.h"

struct nb_series_frame {
    int ntok;
    char **tok;       /* the flags this frame appends (owned)                    */
    char *flags;      /* the same, joined by spaces, for provenance (owned)      */
    int line;         /* line number in the --frames-from file; 0 for --frames   */
};

struct nb_series {
    int n;
    int rotation;     /* made by --frames                                        */
    struct nb_series_frame *f;
};

/* --frames N: frame i starts at φ0 + i·osc degrees, rounded to 15 significant digits (the
 * decimal a user would type: 0.1 + 2·0.1 gives "-phi 0.3"). */
nb_status nb_series_rotation(int n, double phi0_rad, double osc_rad, struct nb_series *s,
                             struct nb_err *err);

/* --frames-from: one frame per line of `text` (the file's bytes, NUL-terminated); '#' starts
 * a comment to the end of the line; blank lines are skipped; flags are separated by blanks.
 * Errors name "<path>:<line>".  Lines starting with "--" options are refused here; what a
 * line's flags mean is checked by the caller (nb_run.c), which knows the parser. */
nb_status nb_series_from_text(const char *path, const char *text, struct nb_series *s,
                              struct nb_err *err);

/* Append two tokens (a flag and its value) to frame i. */
nb_status nb_series_append(struct nb_series *s, int i, const char *flag, const char *value,
                           struct nb_err *err);

/* The noise seed of frame i for the base seed S (the -seed value): S + i, wrapped to stay in
 * 1 ... 2147483647 for positive S (and -2147483647 ... -1 for negative S). */
long nb_series_seed(long S, int i);

/* Does a file name hold a '#' run (a per-frame template)? */
int nb_series_is_template(const char *name);
/* The name of image `number` from a template: the last run of '#' becomes the number,
 * zero-padded to the run's length (more digits when needed).  malloc'ed; NULL when out of
 * memory. */
char *nb_series_expand(const char *tmpl, long number);

void nb_series_fini(struct nb_series *s); /* NULL-safe */

#endif
