/* nb_io.h -- readers and writers of nanoBragg's file formats (spec/formats.md).
 *
 * Readers validate as the project's decided deviations require: an unreadable, empty,
 * truncated, malformed or non-finite input is an error naming the file (and line), never a
 * silent partial read.  Output files are written through nb_outfile.h (temporary name, commit
 * all or nothing).  No MPI, no engine internals beyond nb_config.h.
 *
 * Entry points: nb_hkl_read(), nb_fdump_read(), nb_fdump_bytes(), nb_mat_read(),
 * nb_source_read(), nb_smv_open()/nb_smv_value(), nb_smv_header_text().
 */
#ifndef NB_IO_H
#define NB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/nb_config.h"
#include "../util/nb_msg.h"
#include "../util/nb_status.h"

/* ---- structure factors ---- */
enum nb_hkl_columns { NB_HKL_STREAM4 = 0, NB_HKL_FIRST4 };

/* Read an HKL text file into *g (formats.md §1).  default_F prefills missing grid points when
 * non-zero.  Echo lines ("counting entries in ...", warnings) go to `out`. */
nb_status nb_hkl_read(const char *path, int columns, double default_F, struct nb_hkl_grid *g,
                      const struct nb_msg_sink *out, struct nb_err *err);
/* Read Fdump.bin (formats.md §2). */
nb_status nb_fdump_read(const char *path, struct nb_hkl_grid *g, struct nb_err *err);
/* Serialise a grid as Fdump.bin bytes (malloc'ed; caller frees). */
nb_status nb_fdump_bytes(const struct nb_hkl_grid *g, unsigned char **buf, size_t *len,
                         struct nb_err *err);
void nb_hkl_free(struct nb_hkl_grid *g);

/* ---- orientation matrix: nine numbers, three rows (formats.md §3) ---- */
nb_status nb_mat_read(const char *path, double mat[9], struct nb_err *err);

/* ---- source file (formats.md §4), parsed as the reference parses it ---- */
nb_status nb_source_read(const char *path, struct nb_source_list *L, struct nb_err *err);
void nb_source_free(struct nb_source_list *L);

/* ---- SMV images (formats.md §5, cli.md §3) ---- */
struct nb_smv {
    char *header;          /* NUL-terminated header text (header_size bytes)  */
    int header_size;       /* HEADER_BYTES                                     */
    int width, height;     /* SIZE1, SIZE2                                     */
    unsigned short *data;  /* width*height values, host byte order as stored  */
};
/* Open and fully read an SMV file; every problem is an error (cli.md §6, §6.1). */
nb_status nb_smv_open(const char *path, struct nb_smv *smv, struct nb_err *err);
/* nanoBragg's ValueOf: the last occurrence of `key`, then atof after the next '='.
 * NaN when the key is absent, 0 when no '=' follows it. */
double nb_smv_value(const struct nb_smv *smv, const char *key);
/* The same, telling apart "absent" (returns 0) from present (returns 1, value in *v, which
 * may be NaN or infinite when the header says so). */
int nb_smv_lookup(const struct nb_smv *smv, const char *key, double *v);
void nb_smv_free(struct nb_smv *smv);

/* Values of an SMV header as nanoBragg writes it. */
struct nb_smv_keys {
    int fpixels, spixels;
    double pixel_mm, distance_mm, wavelength_A, beam_x_mm, beam_y_mm;
    double adxv_x, adxv_y, mosflm_x, mosflm_y, denzo_x, denzo_y, dials_origin[3];
    double orgx, orgy, close_distance_mm, phi_deg, osc_deg, twotheta_deg;
};
/* Build the header text; *header_bytes is 512, or 1024 when the text does not fit in 512
 * (the reference then overruns its own HEADER_BYTES; we write a correct larger header). */
size_t nb_smv_header_text(const struct nb_smv_keys *k, char *buf, size_t bufsize,
                          int *header_bytes);

#endif
