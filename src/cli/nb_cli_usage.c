/* nb_cli_usage.c -- the usage text (spec/cli.md §6), in our own words.
 *
 * Covers the reference's options in the reference's order and corrects the wording of its
 * known inaccuracies (default convention, -hdivstep/-vdivstep units, -polar and mosaic-seed
 * defaults).  Some lines show values in effect after parsing, as nanoBragg's do.  The `--`
 * lines say what this build supports (NB_HAVE_* of the generated nb_build_config.h).
 */
#include <stddef.h>

#include "nb_build_config.h"
#include "nb_cli.h"

void nb_cli_print_usage(const struct nb_msg_sink *o, double adc, double beamsize_m,
                        double exposure_s, const double *fdet, const double *sdet,
                        const double *odet, const double *beam, const double *polar,
                        const double *spindle)
{
    static const double d_f[3] = {0, 0, 1}, d_s[3] = {0, -1, 0}, d_o[3] = {1, 0, 0},
                        d_b[3] = {1, 0, 0}, d_p[3] = {0, 0, 1}, d_u[3] = {0, 0, 1};
    if (!fdet) {
        fdet = d_f;
        sdet = d_s;
        odet = d_o;
        beam = d_b;
        polar = d_p;
        spindle = d_u;
    }
    nb_emitf(o, "usage: nanobragg -mat <matrix> -hkl <hkl> [options]   (or -cell ... -default_F ...)\n");
    nb_emitf(o, "options:\n");
    static const char *const lines[] = {
        "-mat file.mat       MOSFLM orientation matrix (reciprocal vectors times lambda)",
        "-hkl file.hkl       structure factors, lines of h k l F (P1, no symmetry applied)",
        "-misset mx my mz    crystal rotation about x, y, z in degrees (instead of a matrix)",
        "-misset random      random crystal orientation (see -misset_seed)",
        "-cell a b c al be ga  unit cell in Angstrom and degrees (instead of a matrix)",
        "-default_F F        structure factor of every reflection not in -hkl (default 0)",
        "-distance mm        sample to detector distance along the beam",
        "-detsize mm         detector size; also -detsize_f, -detsize_s",
        "-detpixels n        detector size in pixels; also -detpixels_x/_f, -detpixels_y/_s",
        "-pixel mm           pixel size",
        "-img file.img       take detector size, distance, wavelength, beam centre from an SMV header",
        "-mask file.img      SMV mask: pixels that are 0 are not rendered",
        "-detector_absorb um attenuation depth of the sensor (inf or 0: no absorption)",
        "-detector_thick um  sensor thickness",
        "-detector_thicksteps n  sensor layers (also -thicksteps)",
        "-Xbeam mm           beam centre (MOSFLM/DENZO: slow coordinate; others: fast)",
        "-Ybeam mm           beam centre (MOSFLM/DENZO: fast coordinate; others: slow)",
        "-mosflm             MOSFLM detector convention (the default)",
        "-xds                XDS detector convention (also -adxv, -denzo, -dials)",
        "-ORGX -ORGY px      XDS-style beam origin in pixels",
        "-twotheta deg       detector swing about the two-theta axis",
        "-N n                unit cells along each axis; also -Na, -Nb, -Nc",
        "-xtalsize mm        crystal size, sets N from the cell (also -samplesize)",
        "-square_xtal        parallelepiped crystal: sinc lattice transform (default)",
        "-round_xtal         ellipsoidal crystal",
        "-gauss_xtal         Gaussian spots, no fringes",
        "-tophat_spots       flat-topped spots, no fringes",
        "-oversample n       subpixels per pixel axis (0: automatic)",
        "-oversample_thick   re-evaluate the capture fraction at every subpixel",
        "-oversample_polar   re-evaluate the polarization factor at every subpixel",
        "-oversample_omega   re-evaluate the solid angle at every subpixel",
        "-lambda A           wavelength in Angstrom (or -energy eV)",
        "-mosaic deg         isotropic mosaic spread",
        "-mosaic_domains n   number of mosaic domains",
        "-dispersion pct     spectral width, delta-lambda/lambda in percent",
        "-dispsteps n        wavelengths across the spectral width",
        "-hdivrange mrad     horizontal divergence",
        "-vdivrange mrad     vertical divergence",
        "-hdivstep mrad      horizontal divergence step (a step size, not a count)",
        "-vdivstep mrad      vertical divergence step (a step size, not a count)",
        "-square_div         keep the full divergence grid (default: elliptical)",
        "-phi deg            spindle angle at the start",
        "-osc deg            oscillation range",
        "-phisteps n         spindle steps across the oscillation",
        "-water um           thickness of water around the crystal (background)",
        "-floatfile name     float image (default floatimage.bin)",
        "-intfile name       noiseless SMV image (default intimage.img)",
        "-scale s            scale of the SMV image (default: brightest pixel -> 55000)",
        NULL};
    for (int i = 0; lines[i]; i++)
        nb_emitf(o, "\t%s\n", lines[i]);
    nb_emitf(o, "\t-adc counts         offset added to SMV pixels (now %g)\n", adc);
    static const char *const lines2[] = {
        "-polar K            Kahn polarization factor (default 0: unpolarized)",
        "-noisefile name     SMV image with Poisson noise (default noiseimage.img)",
        "-pgmfile name       8-bit PGM preview (default image.pgm)",
        "-pgmscale s         scale of the PGM preview (default: automatic)",
        "-nopgm              do not write the PGM preview",
        "-roi x0 x1 y0 y1    render only fast x0..x1, slow y0..y1 (inclusive)",
        "-printout           print per-pixel values (also -printout_pixel f s)",
        "-seed n             noise seed (default: random per run)",
        "-mosaic_seed n      mosaic-domain seed (default -12345678 internally)",
        "-misset_seed n      random-orientation seed (default: the noise default, not -seed)",
        "-fluence ph/m^2     incident photons per square metre",
        "-flux ph/s          flux; with -beamsize and -exposure gives the fluence",
        NULL};
    for (int i = 0; lines2[i]; i++)
        nb_emitf(o, "\t%s\n", lines2[i]);
    nb_emitf(o, "\t-beamsize mm        beam size (now %g mm)\n", beamsize_m * 1000);
    nb_emitf(o, "\t-exposure s         exposure time (now %g s)\n", exposure_s);
    static const char *const lines3[] = {
        "-nonoise            do not write the noise image",
        "-noprogress         no progress meter",
        "-nopolar            no polarization factor",
        "-nointerpolate      nearest structure factor only",
        "-interpolate        tricubic interpolation of structure factors (default: on when N <= 2)",
        "-point_pixel        solid angle 1/R^2 (no pixel area or obliquity)",
        "-curved_det x       all pixels at the same distance (needs a following token)",
        NULL};
    for (int i = 0; lines3[i]; i++)
        nb_emitf(o, "\t%s\n", lines3[i]);
    nb_emitf(o, "\t-fdet_vector x y z  fast detector axis (now %g %g %g)\n", fdet[0], fdet[1], fdet[2]);
    nb_emitf(o, "\t-sdet_vector x y z  slow detector axis (now %g %g %g)\n", sdet[0], sdet[1], sdet[2]);
    nb_emitf(o, "\t-odet_vector x y z  detector normal (now %g %g %g)\n", odet[0], odet[1], odet[2]);
    nb_emitf(o, "\t-beam_vector x y z  beam direction (now %g %g %g)\n", beam[0], beam[1], beam[2]);
    nb_emitf(o, "\t-polar_vector x y z E-vector of the beam (now %g %g %g)\n", polar[0], polar[1], polar[2]);
    nb_emitf(o, "\t-spindle_axis x y z rotation axis (now %g %g %g)\n", spindle[0], spindle[1], spindle[2]);
    nb_emitf(o, "\t-pix0_vector x y z  only selects the CUSTOM convention (see --honor-pix0)\n");
    nb_emitf(o, "new options (nanobragg-hpc):\n");
    static const char *const lines4[] = {
        "-h, --help                     this text",
        "--version                      program, source revision, MPI, HDF5 and CUDA versions",
        "--phi-carryover=c-parity|spec  phi == 0 steps reuse the last rotation (default) or rotate freshly",
        "--interp-fallback=reference|default_F  value of the term that ends interpolation",
        "--strict-cli                   exact flag names; unknown flags are errors",
        "--no-fdump                     neither read nor write Fdump.bin",
        "--honor-pix0                   use -pix0_vector as the detector origin",
        "--source-lambda=file|cli       wavelength of -sourcefile sources",
        "--source-weights=ignore|apply  weight of -sourcefile sources",
        "--random-misset=reference|uniform  distribution of -misset random",
        "--thickness-step=reference|uniform  sensor layer step thick/(n-1) or thick/n",
        "--hkl-columns=stream4|first4   how -hkl files are split into records",
        "--factors=reference|per-term   cached per-pixel factors, or factors inside every term",
        NULL};
    for (int i = 0; lines4[i]; i++)
        nb_emitf(o, "\t%s\n", lines4[i]);
    nb_emitf(o, "\t--device=auto|cpu|cuda         compute back-end (auto: CUDA when every rank sees "
                "a GPU, else the CPU)%s\n",
             NB_HAVE_CUDA ? "" : "; this build has no CUDA");
    nb_emitf(o, "\t--math=fast|exact              fast: SIMD lanes, deterministic sine, within "
                "1e-9 of exact;\n\t                               exact: the reference's libm "
                "arithmetic, bit for bit\n");
    nb_emitf(o, "\t--precision=double|single      single: float sines in the lattice factor "
                "(T2 accuracy)\n");
    nb_emitf(o, "\t--hdf5=FILE, --hdf5 FILE       %s\n",
             !NB_HAVE_HDF5 ? "NXmx HDF5 output: not built (NB_WITH_HDF5=OFF)"
             : NB_HAVE_MPI ? "NXmx HDF5 file, one for the run, written by all MPI ranks"
                           : "NXmx HDF5 file (serial HDF5: this build has no MPI)");
    static const char *const lines5[] = {
        "--hdf5-compress=none|gzip[:L]  filters of the HDF5 images (default none)",
        "--hdf5-float                   also the float images of a series in the HDF5 file",
        "--physical                     every physically correct alternative above at once",
        "series (docs/batch.md):",
        "--frames=N                     rotation series: frame i at -phi phi0+i*osc, -seed S+i",
        "--frames-from=FILE             one frame per line of flags added to the command line",
        "--bands-per-frame=B            B ranks per frame (default: whole frames per rank)",
        "--resume                       continue the --hdf5 file of a stopped series",
        "  per-frame files need a # template: -noisefile img_#####.img; a stopped series exits 75",
        NULL};
    for (int i = 0; lines5[i]; i++)
        nb_emitf(o, "\t%s\n", lines5[i]);
}
