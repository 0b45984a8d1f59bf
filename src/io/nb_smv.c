/* nb_smv.c -- SMV (ADSC) images: reading headers for -img/-mask, writing nanoBragg's header,
 * and the write-to-temporary-then-rename output files.
 *
 * Reading follows nanoBragg's GetFrame/ValueOf (spec/cli.md §3) except that every problem the
 * reference ignores or reads as zeros (unopenable, not SMV, short header, truncated data) is an
 * error here (decided deviation, cli.md §6).  Writing follows spec/formats.md §5; a header
 * whose text exceeds 512 bytes is written as a correct 1024-byte header.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/nb_sys.h"
#include "nb_files.h"
#include "nb_io.h"

void nb_smv_free(struct nb_smv *smv)
{
    if (!smv)
        return;
    free(smv->header);
    free(smv->data);
    memset(smv, 0, sizeof *smv);
}

double nb_smv_value(const struct nb_smv *smv, const char *key)
{
    const char *s = smv->header, *hit;
    size_t kl = strlen(key);
    while ((hit = strstr(s, key)) != NULL)
        s = hit + kl;
    if (s == smv->header)
        return NAN;
    s = strstr(s, "=");
    if (!s)
        return 0.0;
    return atof(s + 1);
}

int nb_smv_lookup(const struct nb_smv *smv, const char *key, double *v)
{
    if (!strstr(smv->header, key))
        return 0;
    *v = nb_smv_value(smv, key);
    return 1;
}

/* Size of an open file in bytes, or -1 when it cannot be told (then reads find the end). */
static long file_size(FILE *fp)
{
    long n = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        n = ftell(fp);
    if (fseek(fp, 0, SEEK_SET) != 0)
        n = -1;
    return n;
}

/* The first 512 bytes, the magic, HEADER_BYTES, and the whole header when it is longer. */
static nb_status read_header(FILE *fp, const char *path, long fsize, struct nb_smv *smv,
                             struct nb_err *err)
{
    smv->header = calloc(1024 + 1, 1);
    if (!smv->header)
        goto nomem;
    if (fread(smv->header, 1, 512, fp) != 512) {
        nb_err_set(err, "%s: SMV file header: shorter than 512 bytes", path);
        return NB_E_INPUT;
    }
    if (strncmp(smv->header, "{\nHEADER_BYT", 12) != 0) {
        nb_err_set(err, "%s: does not look like an ADSC (SMV) frame", path);
        return NB_E_INPUT;
    }
    double hb = nb_smv_value(smv, "HEADER_BYTES");
    if (!(hb >= 512 && hb <= 1 << 24)) {
        nb_err_set(err, "%s: bad HEADER_BYTES", path);
        return NB_E_INPUT;
    }
    smv->header_size = (int)hb;
    if (smv->header_size == 512)
        return NB_OK;
    if (fsize >= 0 && fsize < smv->header_size)
        goto short_header; /* before allocating up to 16 MB for it */
    char *h = calloc((size_t)smv->header_size + 1, 1);
    if (!h)
        goto nomem;
    free(smv->header);
    smv->header = h;
    if (fseek(fp, 0, SEEK_SET) != 0 ||
        fread(smv->header, 1, (size_t)smv->header_size, fp) != (size_t)smv->header_size)
        goto short_header;
    return NB_OK;
short_header:
    nb_err_set(err, "%s: SMV header shorter than its HEADER_BYTES", path);
    return NB_E_INPUT;
nomem:
    nb_err_set(err, "%s: out of memory", path);
    return NB_E_NOMEM;
}

/* SIZE1 x SIZE2 (DETECTOR_DIMENSIONS for both when SIZE1 reads as 0, as nanoBragg's int
 * width == 0 does).  A missing key is an error, not a NaN converted to int (cli.md §6.1). */
static nb_status image_size(const char *path, struct nb_smv *smv, struct nb_err *err)
{
    double w = 0.0, h = 0.0;
    const char *missing = NULL;
    if (!nb_smv_lookup(smv, "SIZE1", &w))
        missing = "SIZE1";
    else if (w > -1.0 && w < 1.0) {
        if (!nb_smv_lookup(smv, "DETECTOR_DIMENSIONS", &w))
            missing = "DETECTOR_DIMENSIONS";
        h = w;
    } else if (!nb_smv_lookup(smv, "SIZE2", &h))
        missing = "SIZE2";
    if (missing) {
        nb_err_set(err, "%s: SMV header lacks the %s key%s", path, missing,
                   strcmp(missing, "DETECTOR_DIMENSIONS") ? "" : " (SIZE1 reads as 0)");
        return NB_E_INPUT;
    }
    if (!(w >= 1 && h >= 1 && w <= INT_MAX && h <= INT_MAX && w * h < 4e9)) {
        nb_err_set(err, "%s: bad image size SIZE1=%g SIZE2=%g", path, w, h);
        return NB_E_INPUT;
    }
    smv->width = (int)w;
    smv->height = (int)h;
    return NB_OK;
}

nb_status nb_smv_open(const char *path, struct nb_smv *smv, struct nb_err *err)
{
    memset(smv, 0, sizeof *smv);
    FILE *fp = nb_files_fopen(path, "rb");
    if (!fp) {
        nb_err_set(err, "%s: cannot open (%s)", path, strerror(errno));
        return NB_E_INPUT;
    }
    const long fsize = file_size(fp);
    size_t n = 0;
    nb_status st;
    if ((st = read_header(fp, path, fsize, smv, err)) != NB_OK ||
        (st = image_size(path, smv, err)) != NB_OK)
        goto done;
    /* the pixels must be in the file before memory is taken for them */
    n = (size_t)smv->width * smv->height;
    if (fsize >= 0 && (double)fsize - smv->header_size < 2.0 * (double)n)
        goto truncated;
    if ((fsize < 0 && !nb_memory_allows(2.0 * (double)n)) ||
        !(smv->data = malloc(n * sizeof(unsigned short)))) {
        nb_err_set(err, "%s: a %d x %d image does not fit in memory", path, smv->width,
                   smv->height);
        st = NB_E_NOMEM;
        goto done;
    }
    if (fseek(fp, smv->header_size, SEEK_SET) != 0 ||
        fread(smv->data, sizeof(unsigned short), n, fp) != n)
        goto truncated;
    goto done;
truncated:
    nb_err_set(err, "%s: pixel data truncated (need %zu bytes after the %d-byte header)", path,
               n * 2, smv->header_size);
    st = NB_E_INPUT;
done:
    fclose(fp);
    if (st != NB_OK)
        nb_smv_free(smv);
    return st;
}

static const char *host_byte_order(void)
{
    const unsigned short one = 1;
    return *(const unsigned char *)&one ? "little_endian" : "big_endian";
}

size_t nb_smv_header_text(const struct nb_smv_keys *k, char *buf, size_t bufsize,
                          int *header_bytes)
{
    for (int pass = 0; pass < 2; pass++) {
        int hb = pass == 0 ? 512 : 1024;
        int n = snprintf(
            buf, bufsize,
            "{\nHEADER_BYTES=%d;\nDIM=2;\nBYTE_ORDER=%s;\nTYPE=unsigned_short;\n"
            "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
            "WAVELENGTH=%g;\n"
            "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
            "ADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
            "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\n"
            "DENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
            "DIALS_ORIGIN=%g,%g,%g\n"
            "XDS_ORGX=%g;\nXDS_ORGY=%g;\n"
            "CLOSE_DISTANCE=%g;\n"
            "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\n"
            "TWOTHETA=%g;\n"
            "DETECTOR_SN=000;\n"
            "BEAMLINE=fake;\n"
            "}\f",
            hb, host_byte_order(), k->fpixels, k->spixels, k->pixel_mm, k->distance_mm, k->wavelength_A,
            k->beam_x_mm, k->beam_y_mm, k->adxv_x, k->adxv_y, k->mosflm_x, k->mosflm_y,
            k->denzo_x, k->denzo_y, k->dials_origin[0], k->dials_origin[1], k->dials_origin[2],
            k->orgx, k->orgy, k->close_distance_mm, k->phi_deg, k->phi_deg, k->osc_deg,
            k->twotheta_deg);
        if (n < 0 || (size_t)n >= bufsize)
            return 0;
        if (n <= hb) {
            memset(buf + n, ' ', (size_t)(hb - n));
            *header_bytes = hb;
            return (size_t)hb;
        }
    }
    return 0;
}
