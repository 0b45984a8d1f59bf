/* nb_image.h -- from the float image to nanoBragg's other outputs and statistics.
 *
 * All computed on the whole gathered float image, serially in raster order, exactly as the
 * reference does (spec/physics.md §17, spec/formats.md §6, §8, §9): statistics, the SMV
 * integer image, the PGM bytes and the Poisson noise image (which consumes the shared
 * generator).  Pure computations; writing the files is src/io's job.
 */
#ifndef NB_IMAGE_H
#define NB_IMAGE_H

#include <stdint.h>

#include "nb_scene.h"

struct nb_stats {
    double max_I;            /* photons, first maximum in raster order      */
    double max_I_x, max_I_y; /* m, Fdet/Sdet of that pixel's last subpixel   */
    double mean, rms, rmsd;  /* mean and rms over rendered pixels; rmsd over the ROI */
    long n_rendered;
};

void nb_stats_compute(const struct nb_scene *sc, const float *img, struct nb_stats *st);

/* -scale if > 0, else 55000/max_I (1 when the image is empty). */
double nb_int_scale(double user_scale, double max_I);
/* ROI pixels: floor((float)(clamp(v*scale + adc) + 0.5)); others 0. */
void nb_int_image(const struct nb_scene *sc, const float *img, double scale, double adc,
                  uint16_t *out);
/* -pgmscale if > 0, else 250/(5 rmsd) (the int scale when rmsd is 0). */
double nb_pgm_scale(double user_scale, double int_scale, double rmsd);
void nb_pgm_image(const struct nb_scene *sc, const float *img, double scale, uint8_t *out);
/* Poisson noise over the ROI in raster order; returns photons and overloads. */
void nb_noise_image(const struct nb_scene *sc, const float *img, double adc, struct nb_rng *rng,
                    long *seed, uint16_t *out, double *photons, int *overloads);

#endif
