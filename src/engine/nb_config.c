/* nb_config.c -- the reference's start-up values (spec/cli.md tables, physics.md §0). */
#include "nb_config.h"

#include <math.h>
#include <string.h>

#include "nb_physics.h"

static void set3(double *v, double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

void nb_config_defaults(struct nb_config *c)
{
    memset(c, 0, sizeof *c);
    c->pixel_size = 0.1e-3;
    c->fpixels = c->spixels = 0;
    c->detsize_f = c->detsize_s = 102.4e-3;
    c->distance = 100.0e-3;
    c->close_distance = NAN;
    c->Xbeam = c->Ybeam = NAN;
    c->Xclose = c->Yclose = NAN;
    c->ORGX = c->ORGY = NAN;
    c->convention = NB_CONV_MOSFLM;
    c->pivot = NB_PIVOT_BEAM;
    /* the program's initial vectors, which are also the CUSTOM fall-backs */
    set3(c->beam, 1, 0, 0);
    set3(c->fdet, 0, 0, 1);
    set3(c->sdet, 0, -1, 0);
    set3(c->odet, 1, 0, 0);
    set3(c->twotheta_axis, 0, 1, 0);
    set3(c->polar, 0, 0, 1);
    set3(c->spindle, 0, 0, 1);
    set3(c->pix0, 0, 0, 0);
    c->detector_thick = 0.0;
    c->detector_mu = -1.0;
    c->detector_thicksteps = -1;
    c->detector_thickstep = -1.0;
    c->roi_xmin = c->roi_xmax = c->roi_ymin = c->roi_ymax = -1;

    c->lambda0 = 1.0e-10;
    c->dispersion = 0.0;
    c->dispstep = -1;
    c->dispsteps = -1;
    c->hdivrange = c->vdivrange = -1.0;
    c->hdivstep = c->vdivstep = -1.0;
    c->hdivsteps = c->vdivsteps = -1;
    c->round_div = 1;
    c->polarization = 0.0;
    c->fluence = 125932015286227086360700780544.0;
    c->flux = 0.0;
    c->exposure = 1.0;
    c->beamsize = 1e-4;

    c->Na = c->Nb = c->Nc = 1.0;
    c->shape = NB_SHAPE_SQUARE;
    c->fudge = 1;
    c->mosaic_spread = -1.0;
    c->mosaic_domains = -1;
    c->interpolate = 2;
    c->default_F = 0.0;

    c->phi0 = 0.0;
    c->osc = -1.0;
    c->phistep = -1.0;
    c->phisteps = -1;
    c->dmin = 0;
    c->oversample = -1;
    c->water_size = 0.0;

    c->seed = 0;
    c->mosaic_seed = -12345678;
    c->misset_seed = 0;
    c->phi_carryover = NB_CARRY_C_PARITY;
}
