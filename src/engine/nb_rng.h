/* nb_rng.h -- nanoBragg's random numbers, reproduced exactly (spec/physics.md §16).
 *
 * One Park-Miller generator with a Bays-Durham shuffle (Numerical Recipes ran1) whose shuffle
 * table and last output are SHARED by every stream, plus the Gaussian spare of gaussdev.  That
 * shared part lives in struct nb_rng, passed explicitly (no globals); each stream owns only its
 * seed variable (`long *idum`).  Float/double mixing follows the reference so that seeded mosaic
 * domains, random missets and noise images are bit-identical to it.  libc + libm only.
 */
#ifndef NB_RNG_H
#define NB_RNG_H

struct nb_rng {
    long iy;       /* last output; 0 = table never initialised */
    long iv[32];   /* shuffle table                            */
    int iset;      /* gaussdev: a spare deviate is cached      */
    float gset;    /* gaussdev: the spare                      */
};

void nb_rng_init(struct nb_rng *r);                  /* the reference's start state      */
float nb_ran1(struct nb_rng *r, long *idum);         /* uniform in (0, 1 - 1.2e-7]       */
float nb_gaussdev(struct nb_rng *r, long *idum);     /* unit normal, polar Box-Muller    */
float nb_poidev(struct nb_rng *r, float xm, long *idum); /* Poisson deviate of mean xm   */
float nb_gammln(float xx);                           /* ln Gamma(xx), Lanczos            */

/* Random rotation on a spherical cap of angular size `mosaicity` (rad, taken as float) drawn
 * with three deviates: row-major 3x3 matrix (nanoBragg mosaic_rotation_umat). */
void nb_mosaic_umat(struct nb_rng *r, float mosaicity, double umat[9], long *idum);

/* Rotation matrix -> misset angles (rad) about x, y, z (nanoBragg umat2misset). */
void nb_umat2misset(const double umat[9], double missets[3]);

#endif
