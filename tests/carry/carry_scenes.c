/* carry_scenes.c -- see carry_scenes.h. */
#include "carry_scenes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct scene_case carry_cases[] = {
    {"phi0_carryover", "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 "
                       "-detpixels 24 -pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 2", 0, 0, EXPECT_CARRY},
    {"phi_cross_zero", "-cell 70 80 90 85 95 105 -default_F 100 -N 12 -distance 100 "
                       "-detpixels 20 -pixel 0.3 -phi -0.2 -osc 0.5 -phisteps 5 -oversample 1", 0, 0, EXPECT_CARRY},
    {"dmin_first_rows", "-cell 70 70 70 90 90 90 -default_F 100 -N 5 -lambda 6.2 -distance 100 "
                        "-detpixels 32 -pixel 0.8 -Xbeam 24 -Ybeam 12.8 -phi 0 -osc 90 -phisteps 9 "
                        "-oversample 1 -dmin 30", 0, 0, EXPECT_CARRY | EXPECT_LATE},
    {"roi_second_half", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -distance 80 -detpixels 24 "
                        "-pixel 0.2 -phi 0 -osc 1 -phisteps 3 -oversample 1 -roi 0 23 12 23", 0, 0,
     EXPECT_CARRY | EXPECT_LATE},
    {"mask_first_rows", "-cell 60 70 80 90 90 90 -default_F 100 -N 6 -distance 80 -detpixels 24 "
                        "-pixel 0.2 -phi 0 -osc 1 -phisteps 3 -oversample 1", 40, 0, EXPECT_CARRY | EXPECT_LATE},
    {"interp_latch", "-cell 70 80 90 75 85 95 -misset 10 5 3 -N 2 -lambda 1 -distance 30 "
                     "-detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 -interpolate -oversample 1 "
                     "-phi 0 -osc 1 -phisteps 2", 0, 1, EXPECT_CARRY | EXPECT_LATCH},
    {"interp_latch_default_F", "-cell 70 80 90 75 85 95 -misset 10 5 3 -N 2 -lambda 1 "
                               "-distance 30 -detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 "
                               "-interpolate -oversample 1 --interp-fallback=default_F", 0, 1, EXPECT_LATCH},
    {"spec_mode", "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 -detpixels 16 "
                  "-pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 1 --phi-carryover=spec", 0, 0, 0},
};
const int n_carry_cases = (int)(sizeof carry_cases / sizeof carry_cases[0]);


static int split_args(char *s, char **argv, int max)
{
    int n = 0;
    argv[n++] = "nanobragg";
    for (char *t = strtok(s, " "); t && n < max - 1; t = strtok(NULL, " "))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}


int carry_scene_build(const struct scene_case *c, struct built *b)
{
    char buf[1024], *argv[128];
    struct nb_err err = {{0}};
    struct nb_msg_sink quiet = {NULL, NULL};
    snprintf(buf, sizeof buf, "%s", c->args);
    int argc = split_args(buf, argv, 128);
    memset(b, 0, sizeof *b);
    if (nb_cli_parse(argc, argv, &b->cli, &quiet, &err) != NB_OK) {
        printf("%s: parse failed: %s\n", c->name, err.msg);
        return -1;
    }
    struct nb_config *cfg = &b->cli.cfg;
    if (c->hkl_grid) {
        /* synthetic grid -6..6 with a smooth structure */
        struct nb_hkl_grid *g = &b->hkl;
        g->h_min = g->k_min = g->l_min = -6;
        g->h_max = g->k_max = g->l_max = 6;
        g->h_range = g->k_range = g->l_range = 13;
        g->hkls = 13 * 13 * 13;
        g->F = calloc(14 * 14 * 14, sizeof(double));
        for (int h = 0; h < 13; h++)
            for (int k = 0; k < 13; k++)
                for (int l = 0; l < 13; l++)
                    g->F[(h * 14 + k) * 14 + l] = 5 + 95 * fabs(sin(0.9 * h + 1.7 * k + 2.3 * l + 0.3));
    }
    if (nb_setup_begin(cfg, &b->sc, &quiet, &err) != NB_OK) {
        printf("%s: begin failed: %s\n", c->name, err.msg);
        return -1;
    }
    if (c->mask_rows_fraction_pct) {
        b->mask.fpixels = b->sc.fpixels;
        b->mask.spixels = b->sc.spixels;
        b->mask.data = malloc(sizeof(unsigned short) * (size_t)b->sc.fpixels * b->sc.spixels);
        int cut = b->sc.spixels * c->mask_rows_fraction_pct / 100;
        for (int s = 0; s < b->sc.spixels; s++)
            for (int f = 0; f < b->sc.fpixels; f++)
                b->mask.data[s * b->sc.fpixels + f] = s < cut ? 0 : 1;
        cfg->mask = &b->mask;
    }
    if (nb_setup_geometry(cfg, &b->sc, &quiet, &err) != NB_OK ||
        nb_setup_crystal(cfg, &b->sc, &quiet, &err) != NB_OK ||
        nb_setup_finish(cfg, &b->sc, c->hkl_grid ? &b->hkl : NULL, &quiet, &err) != NB_OK) {
        printf("%s: set-up failed: %s\n", c->name, err.msg);
        return -1;
    }
    return 0;
}

void carry_scene_free(struct built *b)
{
    nb_scene_fini(&b->sc);
    free(b->hkl.F);
    free(b->mask.data);
    nb_cli_fini(&b->cli);
}

