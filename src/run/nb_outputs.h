/* nb_outputs.h -- the files a run writes: checked and reserved before the render, written to
 * temporary names, committed all together or not at all (src/io/nb_outfile.h).
 *
 * Under MPI rank 0 owns them; the HDF5 file is written by every rank into the temporary file
 * that rank 0 reserved.  Entry points: nb_outputs_*().
 */
#ifndef NB_OUTPUTS_H
#define NB_OUTPUTS_H

#include <stdint.h>

#include "../cli/nb_cli.h"
#include "../engine/nb_scene.h"
#include "../io/nb_outfile.h"

#define NB_ALL_IMAGES (NB_NAMED_FLOAT | NB_NAMED_INT | NB_NAMED_PGM | NB_NAMED_NOISE)

enum nb_out_id { NB_OUT_FLOAT, NB_OUT_INT, NB_OUT_PGM, NB_OUT_NOISE, NB_OUT_HDF5, NB_OUT_FDUMP,
                 NB_OUT_IDS };

struct nb_outputs {
    struct nb_outset set;
    int idx[NB_OUT_IDS]; /* index in the set, -1 when not written */
    const char *resume_hdf5; /* --resume: the stopped job's file to continue (set before
                                nb_outputs_prepare), NULL otherwise */
};

/* No outputs yet (every index -1). */
void nb_outputs_init(struct nb_outputs *o);
/* Check and reserve the outputs of the command line: the reference images in `images`
 * (NB_NAMED_* bits; the PGM and noise files also need write_pgm / write_noise), --hdf5, and
 * Fdump.bin when want_fdump (a cache that is skipped, as nanoBragg skips it, when it cannot
 * be written). */
nb_status nb_outputs_prepare(const struct nb_cli *cli, unsigned images, int want_fdump,
                             struct nb_outputs *o, struct nb_err *err);
int nb_outputs_have(const struct nb_outputs *o, enum nb_out_id id);
/* The file the HDF5 writer creates (NULL without --hdf5). */
const char *nb_outputs_file(const struct nb_outputs *o, enum nb_out_id id);

struct nb_image_report {
    double max_I, photons; /* photons: on the noise image (0 without noise) */
    int overloads;
};

/* Statistics, the reference images and (verbose) their console lines, written to the
 * temporary files of the outputs reserved.  The int image and the noise photon counts (int32,
 * no ADC offset; see nb_noise_image; computed whenever cli->write_noise) are handed back
 * (malloc'ed) for the HDF5 file.  fdump: the grid to cache in Fdump.bin (NULL: none). */
nb_status nb_outputs_write_images(const struct nb_cli *cli, const struct nb_scene *sc,
                                  const struct nb_hkl_grid *fdump, struct nb_outputs *o,
                                  const float *img, int verbose, uint16_t **int_out,
                                  int32_t **counts_out, struct nb_image_report *rep,
                                  struct nb_err *err);

/* Fdump.bin alone (a series writes it once, before its frames). */
nb_status nb_outputs_write_fdump(struct nb_outputs *o, const struct nb_hkl_grid *grid,
                                 struct nb_err *err);

/* The HDF5 file of a series is resumable: if it is not committed it stays, with its lock. */
void nb_outputs_keep_hdf5(struct nb_outputs *o);

/* Put every output in place, or none. */
nb_status nb_outputs_commit(struct nb_outputs *o, struct nb_err *err);
/* Remove what was not committed, release the locks.  NULL-safe, idempotent. */
void nb_outputs_fini(struct nb_outputs *o);

#endif
