/* nb_config.h -- what the user asked for: plain data, SI units, "not given" sentinels.
 *
 * src/cli fills it from argv (and from -img/-mask headers) with exactly the unit conversions
 * of spec/cli.md; the engine's set-up (nb_setup.h) resolves defaults, conventions and
 * sampling from it, in the reference's order.  The engine never sees argv.
 * Deliberate exceptions to "SI everywhere", kept for bit parity with the reference: the unit
 * cell edges stay in Angstrom (the reference builds the cell in Angstrom and converts the
 * final vectors), and the matrix file is kept as read.  No dependencies.
 */
#ifndef NB_CONFIG_H
#define NB_CONFIG_H

#include <stdint.h>

enum nb_convention {
    NB_CONV_CUSTOM = 0,
    NB_CONV_ADXV,
    NB_CONV_MOSFLM,
    NB_CONV_XDS,
    NB_CONV_DIALS,
    NB_CONV_DENZO
};
enum nb_pivot { NB_PIVOT_SAMPLE = 0, NB_PIVOT_BEAM };
enum nb_misset_mode { NB_MISSET_NONE = 0, NB_MISSET_ANGLES, NB_MISSET_RANDOM };
enum nb_carry_mode { NB_CARRY_C_PARITY = 0, NB_CARRY_SPEC };

/* A structure-factor grid: the HKL file or Fdump.bin (spec/formats.md §1-§2). */
struct nb_hkl_grid {
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range; /* max - min + 1                                     */
    long hkls;                     /* records read (HKL) or h_range*k_range*l_range (dump) */
    double *F;                     /* (h_range+1)(k_range+1)(l_range+1) electrons, owned */
};

/* Source-file columns (spec/formats.md §4); NaN marks a missing value. */
struct nb_source_list {
    int n;
    double *x, *y, *z; /* direction sample -> source, any length unit */
    double *weight;    /* unused by default (Q08)                      */
    double *lambda;    /* metres (Q07)                                 */
    long *line;        /* 1-based line number of each source, for errors */
};

/* A pixel mask read from an SMV file: value 0 = do not render. */
struct nb_mask {
    int fpixels, spixels;
    unsigned short *data; /* fpixels*spixels, owned */
};

struct nb_config {
    /* ---- detector ---- */
    double pixel_size;           /* m                                                */
    int fpixels, spixels;        /* 0 = derive from detsize                           */
    double detsize_f, detsize_s; /* m                                                */
    double distance;             /* m, sample to beam spot along the beam            */
    double close_distance;       /* m, NaN = not given                               */
    double Xbeam, Ybeam;         /* m, NaN = convention default                      */
    double Xclose, Yclose;       /* m, NaN = not given                               */
    double ORGX, ORGY;           /* pixels, NaN = not given                          */
    int convention;              /* enum nb_convention (last convention/vector flag) */
    int pivot;                   /* enum nb_pivot as parsed (forced by conventions)  */
    double fdet[3], sdet[3], odet[3], beam[3], polar[3], spindle[3];
    double twotheta_axis[3];     /* not normalised (Q28)                             */
    double pix0[3];              /* -pix0_vector(_mm) values, as given               */
    int pix0_given;              /* 0 none, 1 -pix0_vector, 2 -pix0_vector_mm        */
    double rotx, roty, rotz;     /* rad, detector rotations about lab x, y, z        */
    double twotheta;             /* rad                                              */
    double detector_thick;       /* m                                                */
    double detector_mu;          /* 1/m, < 0 = not given                             */
    int detector_thicksteps;     /* < 0 = auto                                       */
    double detector_thickstep;   /* m, < 0 = auto (no flag sets it)                  */
    int curved_det, point_pixel;
    int roi_xmin, roi_xmax, roi_ymin, roi_ymax; /* pixels, inclusive; < 0 = default */

    /* ---- beam ---- */
    double lambda0;              /* m                                                */
    double dispersion;           /* fraction (full width)                            */
    double dispstep;             /* fraction, < 0 = auto (no flag sets it)           */
    int dispsteps;               /* < 0 = auto                                       */
    double hdivrange, vdivrange; /* rad, < 0 = auto                                  */
    double hdivstep, vdivstep;   /* rad, < 0 = auto                                  */
    int hdivsteps, vdivsteps;    /* < 0 = auto                                       */
    int round_div;               /* elliptical trimming of the divergence grid       */
    double polarization;         /* Kahn factor                                      */
    int nopolar;
    double fluence;              /* photons/m^2                                      */
    double flux;                 /* photons/s                                        */
    double exposure;             /* s                                                */
    double beamsize;             /* m                                                */

    /* ---- crystal ---- */
    double Na, Nb, Nc;           /* unit cells along a, b, c (as parsed)             */
    int user_cell;               /* -cell given                                      */
    double cell_a, cell_b, cell_c; /* ANGSTROM (see file comment); 0 = not given     */
    double cell_alpha, cell_beta, cell_gamma; /* rad; 0 = not given                  */
    int misset_mode;             /* enum nb_misset_mode                              */
    double misset[3];            /* rad, about x, y, z                               */
    double sample_x, sample_y, sample_z; /* m, crystal size (0 = use N)              */
    int shape;                   /* enum nb_shape                                    */
    double fudge;
    double mosaic_spread;        /* rad, < 0 = not given                             */
    int mosaic_domains;          /* < 0 = auto                                       */
    int interpolate;             /* 0 off, 1 on, 2 automatic                         */
    double default_F;            /* electrons                                        */

    /* ---- sampling ---- */
    double phi0;                 /* rad                                              */
    double osc;                  /* rad, < 0 = auto                                  */
    double phistep;              /* rad, < 0 = auto                                  */
    int phisteps;                /* < 0 = auto                                       */
    double dmin;                 /* m, 0 = off                                       */
    int oversample;              /* <= 0 = auto                                      */
    int oversample_thick, oversample_polar, oversample_omega;
    double water_size;           /* m                                                */

    /* ---- randomness ---- */
    long seed, mosaic_seed, misset_seed; /* internal values (the negated flag values) */

    /* ---- [new] modes (spec/cli.md §8) ---- */
    int phi_carryover;           /* enum nb_carry_mode                               */
    int interp_fallback_default_F; /* --interp-fallback=default_F                    */
    int source_lambda_cli;       /* --source-lambda=cli                              */
    int source_weights_apply;    /* --source-weights=apply                           */
    int honor_pix0;              /* --honor-pix0                                     */
    int thickness_step_uniform;  /* --thickness-step=uniform                         */
    int random_misset_uniform;   /* --random-misset=uniform                          */
    int factors_per_term;        /* --factors=per-term                               */
    int math_exact;              /* --math=exact: libm sines (default fast)          */
    int precision_single;        /* --precision=single                               */

    /* ---- inputs read by the program (borrowed, may be NULL) ---- */
    int have_mat;
    double mat[9];               /* matrix file numbers in file order (3 rows)       */
    const char *mat_name;        /* its file name, for the console echo only          */
    const struct nb_source_list *sources;
    const struct nb_mask *mask;
};

/* The reference's start-up values for everything above. */
void nb_config_defaults(struct nb_config *c);

#endif
