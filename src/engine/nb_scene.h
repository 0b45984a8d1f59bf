/* nb_scene.h -- the resolved simulation: everything after defaults, conventions, pivots and
 * sampling rules, in SI units, plus the kernel parameter block (nb_physics.h) and the arrays
 * it points to (sources, phi angles, rotated-cell tables, structure factors).
 *
 * Built by the staged set-up in nb_setup.h; read-only afterwards.  Back-ends, the band
 * renderer, the output writers and the reports all read it.  No I/O, MPI or CUDA here.
 */
#ifndef NB_SCENE_H
#define NB_SCENE_H

#include "nb_config.h"
#include "nb_physics.h"
#include "nb_rng.h"

struct nb_scene {
    struct nb_kparams k; /* what the pixel loop reads; pointers into the arrays below */

    /* ---- detector (geometry.md §2-§8) ---- */
    int fpixels, spixels;
    double pixel_size, detsize_f, detsize_s;    /* m                                  */
    int convention, pivot;
    double Xbeam, Ybeam, Fbeam, Sbeam;          /* m (Fbeam/Sbeam recomputed, §8)     */
    double Xclose, Yclose, Fclose, Sclose;      /* m                                  */
    double ORGX, ORGY;                          /* pixels                             */
    double distance, close_distance;            /* m                                  */
    double ratio;                               /* beam . rotated normal (no 2theta)  */
    double fdet[3], sdet[3], odet[3], pix0[3];  /* final                              */
    double beam[3], polar[3], spindle[3], vert[3], twotheta_axis[3];
    double dials_origin[3];                     /* mm                                 */
    double xds_beam[3];                         /* beam in the detector frame         */
    double rotx, roty, rotz, twotheta;          /* rad                                */
    int roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    int n_layers;
    double detector_thick, detector_thickstep, detector_mu;

    /* ---- beam ---- */
    double lambda0, dispersion, dispstep;
    int dispsteps;
    double hdivrange, hdivstep, vdivrange, vdivstep;
    int hdivsteps, vdivsteps, divsteps;
    int n_sources;
    double *src;        /* n_sources x 5 (unit direction, lambda, weight), owned */
    double fluence, flux, exposure, beamsize;

    /* ---- crystal ---- */
    double a0[3], b0[3], c0[3];                 /* m, phi = 0, no mosaic              */
    double a_star[3], b_star[3], c_star[3];     /* 1/Angstrom                         */
    double cell[6];                             /* printed cell: A, deg               */
    double rcell[6];                            /* printed reciprocal cell: 1/A, deg  */
    double V_cell;                              /* A^3                                */
    double Na, Nb, Nc;
    double xtal_size[3];                        /* m                                  */
    double misset_deg[3];                       /* random misset angles, for the report */
    int oversample, recommended_oversample;
    int interpolate;                            /* resolved (after the hkls check)    */
    int interp_auto;                            /* chosen automatically               */
    double mosaic_spread;                       /* rad                                */
    int mosaic_domains;
    double *umats;                              /* mosaic_domains x 9, owned          */

    /* ---- phi ---- */
    double phi0, osc, phistep;
    int phisteps;
    double *phi;                                /* phisteps angles, owned             */
    int phi_has_zero, phi_has_nonzero;          /* some phi_k == 0.0 / != 0.0         */
    double *lat_first, *lat_rest;               /* phisteps x domains x 9, owned      */
    double phi_star;                            /* last non-zero angle (NaN if none)  */
    double W_rot[9];                            /* R(u, phi*) (a0, b0, c0), the closed form */

    /* ---- normalisation ---- */
    int steps;
    double I_bg, water_size;

    /* ---- modes ---- */
    int phi_carryover;
    struct nb_rng rng;                          /* shared generator state after set-up */
    long seed, mosaic_seed, misset_seed;        /* seed variables after set-up        */
    long seed_initial;                          /* noise seed as the run started      */
    int polar_fixed_point;                      /* axis renormalisation converged     */
};

void nb_scene_fini(struct nb_scene *sc); /* frees the owned arrays; NULL-safe */

#endif
