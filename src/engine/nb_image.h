/* nb_image.h -- from the float image to nanoBragg's other outputs and statistics.
 *
 * All computed on the whole gathered float image, serially in raster order, exactly as the
 * reference does (spec/physics.md §17, spec/formats.md §6, §8, §9): statistics, the SMV
 * integer image, the PGM bytes and the Poisson noise image (which consumes the shared
 * generator), and the scan that keeps an inf/NaN image from being written.  Pure
 * computations; writing the files is src/io's job.
 */
#ifndef NB_IMAGE_H
#define NB_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/nb_status.h"
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
/* Poisson noise over the ROI in raster order; returns photons and overloads.  counts (may be
 * NULL): the same Poisson photon counts without the ADC offset, as int32 -- the deviate itself
 * where the SMV value is not clipped at 65535, else nb_count_saturation(adc) + 1 (an overload
 * mark); 0 outside the ROI.  The random stream does not depend on counts. */
void nb_noise_image(const struct nb_scene *sc, const float *img, double adc, struct nb_rng *rng,
                    long *seed, uint16_t *out, int32_t *counts, double *photons, int *overloads);
/* The largest photon count an SMV noise pixel stores unclipped: floor(65535 - adc). */
int32_t nb_count_saturation(double adc);

/* Non-finite pixels (NaN, +inf, -inf) among the n pixels of a float image: returns how many,
 * and stores the raster index of the first in *first (left unchanged when there is none). */
size_t nb_image_count_nonfinite(const float *img, size_t n, size_t *first);

/* The catch-all of docs/cli.md §1.2: NB_OK when every pixel of the rendered float image
 * (fpixels x spixels) is finite; otherwise NB_E_USAGE with one line naming the inputs whose
 * size can overflow the intensity, the values in effect and the first bad pixel.  Called by
 * the program after rendering and before any output is written. */
nb_status nb_image_check_finite(const struct nb_scene *sc, const float *img, struct nb_err *err);

#endif
