/* nb_cli.h -- the nanoBragg-compatible command line: argv -> nb_config + program options.
 *
 * The legacy scan reproduces nanoBragg's parser (spec/cli.md §1-§2): every token that starts
 * with '-' is tested against every rule in the reference's order, by substring, exact name or
 * name-and-length; value tokens are not consumed; a rule fires only when enough tokens follow.
 * Deviations (cli.md §6.1): a flag missing its value, a value that is not a finite number, a
 * non-positive count or length, or a zero direction vector is an error naming the flag.
 * Unknown flags are ignored with a NOTE.  `--` options (cli.md §8) are removed first.
 * --strict-cli: exact names and listed aliases, values consumed, unknown flags are errors.
 *
 * Entry points: nb_cli_parse(), nb_cli_print_usage(), nb_cli_fini().
 */
#ifndef NB_CLI_H
#define NB_CLI_H

#include "../engine/nb_config.h"
#include "../io/nb_io.h"
#include "../util/nb_msg.h"
#include "../util/nb_status.h"

enum nb_device { NB_DEVICE_AUTO = 0, NB_DEVICE_CPU, NB_DEVICE_CUDA };
enum { NB_NAMED_FLOAT = 1, NB_NAMED_INT = 2, NB_NAMED_PGM = 4, NB_NAMED_NOISE = 8 };

struct nb_cli {
    struct nb_config cfg;

    /* input files */
    const char *hkl, *mat, *sourcefile, *img, *mask, *stol;
    /* outputs */
    const char *floatfile, *intfile, *pgmfile, *noisefile, *hdf5;
    int write_pgm, write_noise;
    double intfile_scale; /* <= 0: automatic */
    double pgm_scale;     /* <= 0: automatic */
    double adc;           /* counts           */
    /* console */
    int progress, printout, printout_f, printout_s, trace_s, trace_f;
    /* [new] options */
    int strict, no_fdump, help, version, hkl_columns, device;
    int physical;              /* --physical: every physically correct alternative       */
    /* series (docs/batch.md) */
    int frames;                /* --frames N; 0 when not given                          */
    const char *frames_from;   /* --frames-from FILE                                    */
    int bands_per_frame;       /* --bands-per-frame B; 0 = chosen by the program        */
    int hdf5_float;            /* --hdf5-float                                          */
    int gzip_level;            /* --hdf5-compress=gzip[:level]; -1 = none               */
    int resume;                /* --resume                                              */
    /* facts of the parse */
    unsigned named;            /* NB_NAMED_*: output names given on the command line     */
    int seed_given;            /* -seed appeared                                        */
    int unknown_flags;         /* flags ignored as unknown (each has a NOTE)            */
    const char *first_unknown; /* the first of them (points into argv), NULL none       */

    /* data read from -img / -mask (owned) */
    struct nb_mask mask_data;
    int have_mask;

    /* NOTE lines gathered while parsing (owned, '\n'-terminated lines) */
    char *notes;
    size_t notes_len;
};

/* Parse argv into *cli (which it initialises).  Reads -mask and -img headers (pre-scan) as
 * the reference does.  Returns NB_OK, or a status with "<flag or file>: <problem>" in err.
 * Lines the reference prints while reading headers go to `out`. */
nb_status nb_cli_parse(int argc, char **argv, struct nb_cli *cli, const struct nb_msg_sink *out,
                       struct nb_err *err);
/* The same with the default seed given (nb_cli_parse: nb_default_seed()): it seeds the noise
 * and misset streams when -seed / -misset_seed are not given (the reference uses the time in
 * seconds for both); MPI ranks all use rank 0's value so that every rank resolves the same run. */
nb_status nb_cli_parse_at(int argc, char **argv, long default_seed, struct nb_cli *cli,
                          const struct nb_msg_sink *out, struct nb_err *err);
void nb_cli_fini(struct nb_cli *cli);

/* The usage text; values shown are those in effect (pass NULL vectors for defaults). */
void nb_cli_print_usage(const struct nb_msg_sink *out, double adc, double beamsize_m,
                        double exposure_s, const double *fdet, const double *sdet,
                        const double *odet, const double *beam, const double *polar,
                        const double *spindle);

#endif
