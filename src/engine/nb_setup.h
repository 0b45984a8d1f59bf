/* nb_setup.h -- config -> scene, in the reference's order, as four stages.
 *
 * The stages are separate because nanoBragg interleaves its console echo with set-up, and the
 * program reads the structure factors between stages 3 and 4 (their messages appear there).
 * Every stage reports its echo lines and warnings through `out` (never printing itself) and
 * returns NB_OK or a status with a one-line message in `err`.
 *
 *   nb_setup_begin     pixel counts, fluence, sample clipping, beam-centre and ROI defaults,
 *                      convention vectors, normalisation                (geometry.md §2-§5)
 *   nb_setup_geometry  sampling auto-selection, detector rotation and origin, derived
 *                      beam centres, automatic interpolation choice    (physics.md §2, geometry §6-§8)
 *   nb_setup_crystal   cell / matrix / misset, real-space vectors, crystal size, oversampling
 *   nb_setup_finish    layer and phi listings, sources, mosaic domains, steps, background,
 *                      rotated-cell tables, the kernel parameters and the summary block
 */
#ifndef NB_SETUP_H
#define NB_SETUP_H

#include "../util/nb_msg.h"
#include "../util/nb_status.h"
#include "nb_config.h"
#include "nb_scene.h"

nb_status nb_setup_begin(const struct nb_config *c, struct nb_scene *sc,
                         const struct nb_msg_sink *out, struct nb_err *err);
nb_status nb_setup_geometry(const struct nb_config *c, struct nb_scene *sc,
                            const struct nb_msg_sink *out, struct nb_err *err);
nb_status nb_setup_crystal(const struct nb_config *c, struct nb_scene *sc,
                           const struct nb_msg_sink *out, struct nb_err *err);
/* hkl may be NULL (no -hkl and no Fdump.bin). */
nb_status nb_setup_finish(const struct nb_config *c, struct nb_scene *sc,
                          const struct nb_hkl_grid *hkl, const struct nb_msg_sink *out,
                          struct nb_err *err);

/* Convention name as nanoBragg prints it ("mosflm", "custom", ...). */
const char *nb_convention_name(int convention);

/* Rotation about lab x, then y, then z; zero angles skipped (nanoBragg rotate). */
void nb_rotate_xyz(const double *v, double *newv, double rx, double ry, double rz);

#endif
