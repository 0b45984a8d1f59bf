/* nb_render_dist.h -- render the detector across the process group (one band per rank).
 *
 * Bands are balanced by rendered pixels (ROI and mask aware).  Each rank derives its band's
 * outgoing carry token from the cheap pre-pass, the tokens cross the band boundaries by an
 * exclusive scan, every rank checks its incoming token against the closed form, renders
 * without waiting for anyone's pixels, and the latch is resolved by a global minimum.  Rank 0
 * gathers the image (raster order) and prints one progress meter for the whole detector.
 * Works unchanged with the serial twin of nb_dist (one band).
 */
#ifndef NB_RENDER_DIST_H
#define NB_RENDER_DIST_H

#include <stdint.h>

#include "../../mpi/nb_dist.h"
#include "../engine/nb_backend.h"

/* One band's record, known on every rank after the render (the HDF5 carry cache). */
struct nb_band_record {
    int row0, n_rows;
    int in_state, out_state;        /* enum nb_carry_state */
    double in_vec[9], out_vec[9];   /* a' b' c' (m)        */
    int64_t in_last, out_last;      /* raster index of the last execution before / through */
    int64_t first_exec, last_exec;  /* this band's own executions, -1 none                  */
    int64_t trig_index;             /* first latching pixel in the band, -1 none            */
    long rendered;                  /* pixels rendered (ROI and mask)                       */
};

struct nb_render_result {
    float *img;                     /* rank 0: the whole float image; NULL elsewhere */
    double omega_sum;               /* rank 0: sum over rows in raster order          */
    int64_t p1;                     /* global first execution, -1 none                */
    int64_t p_star;                 /* global latch pixel, -1 none                    */
    double trig_hkl[3];             /* the latching term, for the warning             */
    int trig_hkl0[3];
    int n_bands;
    struct nb_band_record *bands;   /* n_bands records, every rank                    */
    int my_band;
    float *band_img;                /* this rank's rows after the latch selection     */
    double seconds[2];              /* this rank's back-end: create (upload), render  */
    int band_row0, band_rows;
};

/* be: the back-end (nb_device.h); meter: print nanoBragg's progress lines on rank 0. */
nb_status nb_render_distributed(struct nb_dist *d, const struct nb_scene *sc,
                                const struct nb_backend_ops *be, int meter,
                                struct nb_render_result *R, struct nb_err *err);
void nb_render_result_fini(struct nb_render_result *R);

#endif
