/* carry_scenes.h -- scenes where the state that crosses pixels matters (phi carry, latch),
 * built from nanoBragg command lines; shared by the carry tests. */
#ifndef CARRY_SCENES_H
#define CARRY_SCENES_H

#include "../../src/cli/nb_cli.h"
#include "../../src/engine/nb_setup.h"

struct scene_case {
    const char *name;
    const char *args;
    int mask_rows_fraction_pct; /* mask the first pct % of rows (0: no mask)   */
    int hkl_grid;               /* attach a synthetic HKL grid -6..6             */
    int expect;                 /* EXPECT_* : what the scene must exercise       */
};
#define EXPECT_CARRY 1   /* c-parity changes the result                     */
#define EXPECT_LATE 2    /* the first execution is not in the first row     */
#define EXPECT_LATCH 4   /* the latch fires, after the first rendered pixel */

extern const struct scene_case carry_cases[];
extern const int n_carry_cases;

struct built {
    struct nb_cli cli;
    struct nb_scene sc;
    struct nb_hkl_grid hkl;
    struct nb_mask mask;
};

int carry_scene_build(const struct scene_case *c, struct built *b);
void carry_scene_free(struct built *b);

#endif
