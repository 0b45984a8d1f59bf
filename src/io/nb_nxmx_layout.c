/* nb_nxmx_layout.c -- the NXmx part of what nb_nxmx_create writes (nxmx_layout_entry): /entry,
 * the image datasets, instrument, detector, pixel mask and sample (spec/formats.md §11.2);
 * and the small writers the other parts share.  No <mpi.h>; collective calls only through
 * nb_nxmx.c (nxmx_c_write, nxmx_c_dcreate).
 *
 * Conventions: every group has @NX_class; strings are fixed-length NUL-terminated ASCII;
 * NeXus fields carry @units; /entry/simulation is SI in the simulator's lab frame.  Vectors
 * given to NeXus are R*w with R the lab -> McStas matrix of §11.1 (z along the beam, y =
 * unit(p x b)).  Metadata is created by all ranks with identical values; raw data go through
 * collective H5Dwrite calls in which ranks without data select nothing.  Images are
 * [nframes][spixels][fpixels] with one chunk per frame, whatever the rank count.
 */

#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "nb_nxmx_internal.h"
#include "../engine/nb_image.h"

/* ------------------------------------------------------------------ small helpers */

hid_t nxmx_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

int nxmx_attr_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *buf)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, buf) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

int nxmx_attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = nxmx_str_type(strlen(s));
    int rc = nxmx_attr_write(loc, name, t, 0, NULL, s);
    H5Tclose(t);
    return rc;
}

int nxmx_attr_dv(hid_t loc, const char *name, const double *v, hsize_t n)
{
    return nxmx_attr_write(loc, name, H5T_NATIVE_DOUBLE, 1, &n, v);
}

/* A group with @NX_class.  A failure is noted at once: the caller then skips the group's
 * contents, collective calls included, which is safe only once the failure is known. */
hid_t nxmx_group(struct nb_nxmx *h, hid_t loc, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && nxmx_attr_str(g, "NX_class", nx_class) != 0) {
        H5Gclose(g);
        g = -1;
    }
    if (g < 0)
        nxmx_note_fail(h, "creating a group");
    return g;
}

/* A small dataset written by rank 0 inside a collective call. */
hid_t nxmx_small_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int rank,
                      const hsize_t *dims, const void *buf)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = nxmx_c_dcreate(h, loc, name, type, sp, H5P_DEFAULT);
    if (d < 0) {
        H5Sclose(sp);
        return -1;
    }
    hid_t ms = H5Scopy(sp), fs = H5Scopy(sp);
    if (h->rank != 0) {
        H5Sselect_none(ms);
        H5Sselect_none(fs);
    }
    herr_t rc = nxmx_c_write(h, d, type, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Sclose(sp);
    if (rc < 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static int dset_str(struct nb_nxmx *h, hid_t loc, const char *name, const char *s)
{
    hid_t t = nxmx_str_type(strlen(s));
    hid_t d = nxmx_small_dset(h, loc, name, t, 0, NULL, s);
    H5Tclose(t);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

static hid_t dset_d(struct nb_nxmx *h, hid_t loc, const char *name, double v, const char *units)
{
    hid_t d = nxmx_small_dset(h, loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
    if (d >= 0 && units && nxmx_attr_str(d, "units", units) != 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static void mul3(double R[3][3], const double *w, double *out)
{
    for (int i = 0; i < 3; i++)
        out[i] = R[i][0] * w[0] + R[i][1] * w[1] + R[i][2] * w[2];
}

/* Lab -> McStas (§11.1): z = b, y = unit(p x b) (spindle instead if p is parallel to b),
 * x = y x z. */
void nxmx_lab_to_mcstas(const struct nb_scene *sc, double R[3][3])
{
    double y[3], x[3];
    nb_v_cross(sc->polar, sc->beam, y);
    if (nb_v_mag(y) < 1e-12)
        nb_v_cross(sc->spindle, sc->beam, y);
    nb_v_unitize(y, y);
    nb_v_cross(y, sc->beam, x);
    for (int i = 0; i < 3; i++) {
        R[0][i] = x[i];
        R[1][i] = y[i];
        R[2][i] = sc->beam[i];
    }
}

/* ------------------------------------------------------------------ NXmx part */

static int write_instrument(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                            double R[3][3])
{
    const struct nb_scene *sc = m->sc;
    int bad = 0;
    hid_t inst = nxmx_group(h, entry, "instrument", "NXinstrument");
    if (inst < 0)
        return -1;
    bad |= dset_str(h, inst, "name", m->program);
    hid_t src = nxmx_group(h, inst, "source", "NXsource");
    bad |= src < 0 || dset_str(h, src, "name", "simulated");
    if (src >= 0)
        H5Gclose(src);
    hid_t beam = nxmx_group(h, inst, "beam", "NXbeam");
    if (beam >= 0) {
        hid_t d = dset_d(h, beam, "incident_wavelength", sc->lambda0 * 1e10, "angstrom");
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        /* the set-up's flux: -flux, else fluence / exposure * beamsize^2 (nb_setup_geometry) */
        d = dset_d(h, beam, "total_flux", sc->flux, "Hz");
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        /* Stokes [I, Q, U, V] in the McStas frame: the E vector of nanoBragg's Kahn factor K
         * lies along the polar vector's part normal to the beam, which R maps to McStas -x
         * (nxmx_lab_to_mcstas), so Q = K I along x, U = V = 0 (I = 1). */
        double stokes[4] = {1.0, m->cfg->polarization, 0.0, 0.0};
        hsize_t four = 4;
        d = nxmx_small_dset(h, beam, "incident_polarisation_stokes", H5T_NATIVE_DOUBLE, 1, &four,
                            stokes);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        H5Gclose(beam);
    } else {
        bad = 1;
    }
    hid_t det = nxmx_group(h, inst, "detector", "NXdetector");
    if (det < 0) {
        H5Gclose(inst);
        return -1;
    }
    bad |= dset_str(h, det, "sensor_material", "Si");
    double thick_mm = sc->detector_thick > 0 ? sc->detector_thick * 1000.0 : 0.001;
    hid_t d;
    if ((d = dset_d(h, det, "sensor_thickness", thick_mm, "mm")) >= 0)
        H5Dclose(d);
    else
        bad = 1;
    /* data: noise photon counts (int32), valid in [0, floor(65535 - adc)]; a pixel that the
     * SMV noise image clipped at 65535 holds saturation_value + 1.  Without noise: the float
     * image, no limits (2^31 - 1, the dxtbx default).  The ADC offset is not in data; it is
     * recorded as adc_offset (counts), the pedestal the SMV noise/int images carry. */
    int32_t sat = m->noise ? nb_count_saturation(m->adc) : 2147483647, under = 0;
    d = nxmx_small_dset(h, det, "saturation_value", H5T_NATIVE_INT32, 0, NULL, &sat);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    if (m->noise) {
        d = nxmx_small_dset(h, det, "underload_value", H5T_NATIVE_INT32, 0, NULL, &under);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
    }
    d = dset_d(h, det, "adc_offset", m->adc, "counts");
    bad |= d < 0;
    if (d >= 0) {
        bad |= nxmx_attr_str(d, "description", "ADC offset added to the SMV int and noise images; "
                                          "not in /entry/data/data");
        H5Dclose(d);
    }
    struct {
        const char *name;
        double v;
        const char *units;
    } fields[] = {{"distance", sc->distance * 1000.0, "mm"},
                  {"count_time", sc->exposure, "s"},
                  {"frame_time", sc->exposure, "s"},
                  {"beam_center_x", sc->Fbeam / sc->pixel_size, "pixel"},
                  {"beam_center_y", sc->Sbeam / sc->pixel_size, "pixel"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if ((d = dset_d(h, det, fields[i].name, fields[i].v, fields[i].units)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
    }
    const char *offset_path = "/entry/instrument/detector/module/module_offset";
    bad |= dset_str(h, det, "depends_on", offset_path);
    hid_t mod = nxmx_group(h, det, "module", "NXdetector_module");
    if (mod >= 0) {
        int origin[2] = {0, 0}, size[2] = {sc->spixels, sc->fpixels};
        hsize_t two = 2;
        if ((d = nxmx_small_dset(h, mod, "data_origin", H5T_NATIVE_INT32, 1, &two, origin)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
        if ((d = nxmx_small_dset(h, mod, "data_size", H5T_NATIVE_INT32, 1, &two, size)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
        double p[3], f[3], s[3], up[3];
        mul3(R, sc->pix0, p);
        mul3(R, sc->fdet, f);
        mul3(R, sc->sdet, s);
        double plen = nb_v_mag(p);
        nb_v_unitize(p, up);
        if ((d = dset_d(h, mod, "module_offset", plen * 1000.0, "mm")) >= 0) {
            bad |= nxmx_attr_str(d, "transformation_type", "translation");
            bad |= nxmx_attr_dv(d, "vector", up, 3);
            bad |= nxmx_attr_str(d, "depends_on", ".");
            H5Dclose(d);
        } else {
            bad = 1;
        }
        const char *names[2] = {"fast_pixel_direction", "slow_pixel_direction"};
        const double *vecs[2] = {f, s};
        for (int i = 0; i < 2; i++) {
            if ((d = dset_d(h, mod, names[i], sc->pixel_size * 1000.0, "mm")) >= 0) {
                bad |= nxmx_attr_str(d, "transformation_type", "translation");
                bad |= nxmx_attr_dv(d, "vector", vecs[i], 3);
                bad |= nxmx_attr_str(d, "depends_on", offset_path);
                H5Dclose(d);
            } else {
                bad = 1;
            }
        }
        H5Gclose(mod);
    } else {
        bad = 1;
    }
    H5Gclose(det);
    H5Gclose(inst);
    return bad ? -1 : 0;
}

/* A per-frame float64 dataset of the sample, with @units. */
static int sample_dset(struct nb_nxmx *h, hid_t loc, const char *name, int rank,
                       const hsize_t *dims, const double *v, const char *units)
{
    hid_t d = nxmx_small_dset(h, loc, name, H5T_NATIVE_DOUBLE, rank, dims, v);
    if (d < 0)
        return -1;
    int bad = nxmx_attr_str(d, "units", units);
    H5Dclose(d);
    return bad;
}

/* The scan axis (phi, phi_end) and the rotation axis. */
static int write_scan_axis(struct nb_nxmx *h, hid_t smp, const struct nb_nxmx_meta *m,
                           double R[3][3], const double *phi, const double *phi_end)
{
    int bad = 0;
    hid_t tr = nxmx_group(h, smp, "transformations", "NXtransformations");
    if (tr < 0)
        return -1;
    double u[3];
    mul3(R, m->sc->spindle, u);
    hsize_t n = (hsize_t)m->nframes;
    hid_t d = nxmx_small_dset(h, tr, "phi", H5T_NATIVE_DOUBLE, 1, &n, phi);
    if (d >= 0) {
        bad |= nxmx_attr_str(d, "units", "deg");
        bad |= nxmx_attr_str(d, "transformation_type", "rotation");
        bad |= nxmx_attr_dv(d, "vector", u, 3);
        bad |= nxmx_attr_str(d, "depends_on", ".");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    bad |= sample_dset(h, tr, "phi_end", 1, &n, phi_end, "deg") != 0;
    H5Gclose(tr);
    return bad ? -1 : 0;
}

/* The truth per frame: the real cell and UB (Busing-Levy: columns a*, b*, c* in 1/A, misset
 * included, goniometer at zero) in the McStas frame; frame i's scan axis. */
static int write_sample(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                        double R[3][3])
{
    const int n = m->nframes;
    int bad = 0;
    hid_t smp = nxmx_group(h, entry, "sample", "NXsample");
    if (smp < 0)
        return -1;
    bad |= dset_str(h, smp, "name", "simulated crystal");
    double *cell = malloc(sizeof(double) * 6 * (size_t)n),
           *ub = malloc(sizeof(double) * 9 * (size_t)n), *phi = malloc(sizeof(double) * (size_t)n),
           *phi_end = malloc(sizeof(double) * (size_t)n);
    if (!cell || !ub || !phi || !phi_end) {
        nxmx_note_fail(h, "allocating the per-frame sample data");
        bad = 1;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const struct nb_nxmx_frame *fr = &m->frames[i];
        double as[3], bs[3], cs[3];
        memcpy(cell + 6 * i, fr->cell, 6 * sizeof(double));
        mul3(R, fr->a_star, as);
        mul3(R, fr->b_star, bs);
        mul3(R, fr->c_star, cs);
        for (int r = 0; r < 3; r++) {
            ub[9 * i + 3 * r + 0] = as[r];
            ub[9 * i + 3 * r + 1] = bs[r];
            ub[9 * i + 3 * r + 2] = cs[r];
        }
        phi[i] = fr->phi_deg;
        phi_end[i] = fr->phi_end_deg;
    }
    hsize_t cd[2] = {(hsize_t)n, 6}, ud[3] = {(hsize_t)n, 3, 3};
    bad |= sample_dset(h, smp, "unit_cell", 2, cd, cell, "angstrom, deg") != 0;
    bad |= sample_dset(h, smp, "ub_matrix", 3, ud, ub, "1/angstrom") != 0;
    bad |= dset_str(h, smp, "depends_on", "/entry/sample/transformations/phi");
    bad |= write_scan_axis(h, smp, m, R, phi, phi_end) != 0;
done:
    free(cell);
    free(ub);
    free(phi);
    free(phi_end);
    H5Gclose(smp);
    return bad ? -1 : 0;
}

/* Image dataset [nframes][spixels][fpixels], one chunk (1, spixels, fpixels) per frame
 * whatever the rank count; gzip >= 0: shuffle + deflate at that level (the writes are
 * collective, as filters require). */
static hid_t image_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int gzip)
{
    hsize_t dims[3] = {(hsize_t)h->nframes, (hsize_t)h->spixels, (hsize_t)h->fpixels};
    hsize_t chunk[3] = {1, (hsize_t)h->spixels, (hsize_t)h->fpixels};
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 3, chunk) < 0 ||
        (gzip >= 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)gzip) < 0)))
        nxmx_note_fail(h, "setting the image chunks and filters");
    hid_t d =
        nxmx_c_dcreate(h, loc, name, type, space, dcpl); /* chunks are allocated collectively */
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

/* ------------------------------------------------------------------ /entry */

/* pixel_mask, always: 0 = good, 256 = not rendered (mask 0 or outside the ROI).  Rank 0
 * computes and writes all of it inside the collective call. */
static int write_pixel_mask(struct nb_nxmx *h, const struct nb_scene *sc)
{
    static const uint32_t none = 0;
    hsize_t dims[2] = {(hsize_t)h->spixels, (hsize_t)h->fpixels};
    uint32_t *mk = NULL;
    if (h->rank == 0) {
        mk = malloc(sizeof *mk * (size_t)h->spixels * (size_t)h->fpixels);
        if (!mk)
            nxmx_note_fail(h, "allocating the pixel mask");
        for (int s = 0; mk && s < h->spixels; s++)
            for (int f = 0; f < h->fpixels; f++)
                mk[(size_t)s * h->fpixels + f] = nb_pixel_rendered(&sc->k, s, f) ? 0u : 256u;
    }
    hid_t det = H5Gopen2(h->file, "/entry/instrument/detector", H5P_DEFAULT);
    if (det < 0)
        nxmx_note_fail(h, "opening the detector group");
    hid_t d = nxmx_small_dset(h, det, "pixel_mask", H5T_NATIVE_UINT32, 2, dims, mk ? mk : &none);
    free(mk);
    if (det >= 0)
        H5Gclose(det);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

void nxmx_layout_entry(struct nb_nxmx *h, const struct nb_nxmx_meta *m, double R[3][3])
{
    int bad = 0;
    hid_t entry = nxmx_group(h, h->file, "entry", "NXentry");
    if (entry < 0)
        return;
    bad |= dset_str(h, entry, "definition", "NXmx");
    bad |= dset_str(h, entry, "start_time", m->start_time);
    bad |= dset_str(h, entry, "end_time_estimated", m->start_time);
    hid_t data = nxmx_group(h, entry, "data", "NXdata");
    if (data >= 0) {
        bad |= nxmx_attr_str(data, "signal", "data");
        hid_t dt = m->noise ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT;
        h->d_data = image_dset(h, data, "data", dt, m->gzip_level);
        if (h->write_float)
            h->d_float = image_dset(h, data, "float_image", H5T_NATIVE_FLOAT, m->gzip_level);
        if (h->write_int)
            h->d_int = image_dset(h, data, "int_image", H5T_NATIVE_UINT16, m->gzip_level);
        H5Gclose(data);
    }
    bad |= write_instrument(h, entry, m, R);
    bad |= write_pixel_mask(h, m->sc);
    bad |= write_sample(h, entry, m, R);
    bad |= nxmx_write_simulation(h, entry, m, R);
    H5Gclose(entry);
    if (bad)
        nxmx_note_fail(h, "writing the file layout");
}
