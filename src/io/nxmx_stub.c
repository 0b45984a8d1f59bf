/* nxmx_stub.c -- twin of nb_nxmx.c for builds without HDF5: --hdf5 reports NB_E_NOT_BUILT.
 * nb_nxmx_create and nb_nxmx_reopen fail (and set *out = NULL), nb_nxmx_peek fails; the frame
 * entry points are never reached after that but answer NB_E_NOT_BUILT too;
 * nb_nxmx_close(NULL, ...) is the no-op every rank makes. */
#include <string.h>

#include "nb_nxmx.h"

nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err)
{
    (void)file;
    (void)m;
    (void)sync;
    *out = NULL;
    nb_err_set(err, "--hdf5 %s: this build has no HDF5 (configure with -DNB_WITH_HDF5=ON)", name);
    return NB_E_NOT_BUILT;
}

nb_status nb_nxmx_peek(const char *file, struct nb_nxmx_peek *out, struct nb_err *err)
{
    memset(out, 0, sizeof *out);
    nb_err_set(err, "%s: this build has no HDF5 (configure with -DNB_WITH_HDF5=ON)", file);
    return NB_E_NOT_BUILT;
}

nb_status nb_nxmx_reopen(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out, uint8_t *done,
                         struct nb_err *err)
{
    (void)file;
    (void)m;
    (void)sync;
    (void)done;
    *out = NULL;
    nb_err_set(err, "--hdf5 %s: this build has no HDF5 (configure with -DNB_WITH_HDF5=ON)", name);
    return NB_E_NOT_BUILT;
}

nb_status nb_nxmx_write_frame(struct nb_nxmx *h, int frame, int row0, int n_rows,
                              const float *band, const int32_t *counts, const uint16_t *ints,
                              struct nb_err *err)
{
    (void)h;
    (void)frame;
    (void)row0;
    (void)n_rows;
    (void)band;
    (void)counts;
    (void)ints;
    (void)err;
    return NB_E_NOT_BUILT;
}

nb_status nb_nxmx_frames_done(struct nb_nxmx *h, int n, const struct nb_nxmx_done *recs,
                              struct nb_err *err)
{
    (void)h;
    (void)n;
    (void)recs;
    (void)err;
    return NB_E_NOT_BUILT;
}

nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err)
{
    (void)h;
    (void)ok;
    (void)end_time;
    (void)err;
    return NB_OK;
}

void nb_hdf5_init(void)
{
}

void nb_hdf5_fini(void)
{
}

const char *nb_hdf5_describe(void)
{
    return "not built (NB_WITH_HDF5=OFF)";
}
