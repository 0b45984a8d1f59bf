/* nb_nxmx.c -- the NXmx HDF5 file of spec/formats.md §11 (see nb_nxmx.h).
 *
 * Conventions: every group has @NX_class; strings are fixed-length NUL-terminated ASCII;
 * NeXus fields carry @units; /entry/simulation is SI in the simulator's lab frame.  Vectors
 * given to NeXus are R*w with R the lab -> McStas matrix of §11.1 (z along the beam, y =
 * unit(p x b)).  Metadata is created by all ranks with identical values; raw data go through
 * collective H5Dwrite calls in which ranks without data select nothing.  Chunking and filters
 * never depend on the rank count.  No <mpi.h> here (plists come from nb_h5_plists()).
 */
#define _POSIX_C_SOURCE 200809L
#include "nb_nxmx.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "nb_h5_plists.h"
#include "../engine/nb_image.h"
#include "../util/nb_fault.h"

/* Process-wide: a file that HDF5 failed to close.  HDF5's own shutdown would then crash
 * (HDF5 1.10 dereferences the half-closed file), so the program skips it (nb_hdf5_fini). */
static int hdf5_stuck;

struct nb_nxmx {
    char *file_path;           /* the file created (the caller's temporary name) */
    hid_t file, fapl, dxpl;
    hid_t d_data, d_float, d_int, d_mask, status;
    char *name;                /* the --hdf5 name, for messages */
    int rank, noise;
    int fpixels, spixels;
    const struct nb_scene *sc;
    struct nb_nxmx_sync sync;
    const char *phase;         /* fault-injection point of the current entry point */
    int bad;                   /* a local failure since the last agreement          */
    int failed;                /* agreed: some rank failed; no more collective calls */
    struct nb_err why;         /* first local failure, then the agreed message       */
};

/* ------------------------------------------------------------------ collective discipline
 *
 * Parallel HDF5 deadlocks when one rank skips a collective call that the others make.  So
 * every collective call (file create/flush/close, dataset creation with allocation, every
 * H5Dwrite) is preceded by an agreement on "has anything failed anywhere since the last
 * agreement?": if so, every rank skips every remaining collective call (the flag is sticky
 * and identical on all ranks), and the entry point returns the failing rank's message.
 */

/* The system's reason when HDF5 gives one ("No space left on device"), else the innermost
 * HDF5 message. */
struct cause {
    char text[160];
    int from_system;
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct cause *c = data;
    const char *m = e->desc ? strstr(e->desc, "error message = '") : NULL;
    (void)n;
    if (m && !c->from_system) {
        m += strlen("error message = '");
        const char *end = strchr(m, '\'');
        snprintf(c->text, sizeof c->text, "%.*s", end ? (int)(end - m) : 120, m);
        c->from_system = 1;
    } else if (!c->from_system && e->desc) {
        snprintf(c->text, sizeof c->text, "%s", e->desc); /* walking down: innermost last */
    }
    return 0;
}

/* Under MPI-IO the system's reason is often lost ("MPI_ERR_OTHER"): say so when the file
 * system holding the file has (almost) no space left, the usual cause. */
static const char *space_hint(const struct nb_nxmx *h)
{
    struct statvfs v;
    char dir[4096];
    const char *slash = h->file_path ? strrchr(h->file_path, '/') : NULL;
    if (!h->file_path)
        return "";
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - h->file_path) + 1 : 1,
             slash ? h->file_path : ".");
    if (statvfs(dir, &v) != 0)
        return "";
    return (double)v.f_bavail * (double)v.f_frsize < 65536.0
               ? "; the file system holding it is full"
               : "";
}

static void note_fail(struct nb_nxmx *h, const char *what)
{
    if (!h->bad && !h->failed) {
        struct cause c;
        memset(&c, 0, sizeof c);
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &c);
        nb_err_set(&h->why, "--hdf5 %s: %s failed%s%s%s%s", h->name, what,
                   c.text[0] ? " (" : "", c.text, c.text[0] ? ")" : "",
                   c.from_system ? "" : space_hint(h));
    }
    h->bad = 1;
}

/* 1 when the next collective call may be made (every rank then makes it). */
static int coll_ok(struct nb_nxmx *h)
{
    if (h->failed)
        return 0;
    if (!h->bad && h->phase && nb_fault(h->phase))
        note_fail(h, "an injected failure (NB_FAULT) before a collective call");
    nb_status st = h->bad ? NB_E_OUTPUT : NB_OK;
    h->sync.agree(h->sync.ctx, &st, &h->why, -1.0);
    if (st != NB_OK)
        h->failed = 1;
    return !h->failed;
}

/* A collective call failed on this rank.  The other ranks may have left it normally (they
 * then meet this agreement at their next collective call) or may wait inside it for this
 * rank for ever (HDF5 abandons some collectives half way on an I/O error); in that case
 * nothing can end the call but ending the job, which stuck() does. */
static void coll_failed(struct nb_nxmx *h, const char *what)
{
    note_fail(h, what);
    nb_status st = NB_E_OUTPUT;
    if (h->sync.agree(h->sync.ctx, &st, &h->why, h->sync.stuck_after_s) != 0)
        h->sync.stuck(h->sync.ctx, &h->why);
    h->failed = 1;
}

static herr_t c_write(struct nb_nxmx *h, hid_t d, hid_t type, hid_t ms, hid_t fs,
                      const void *buf)
{
    if (d < 0)
        note_fail(h, "opening a dataset");
    if (!coll_ok(h))
        return -1;
    herr_t rc = H5Dwrite(d, type, ms, fs, h->dxpl, buf);
    if (rc < 0)
        coll_failed(h, "writing a dataset");
    return rc;
}

static hid_t c_dcreate(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, hid_t space,
                       hid_t dcpl)
{
    if (loc < 0)
        note_fail(h, "opening a group");
    if (!coll_ok(h))
        return -1;
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
        coll_failed(h, "creating a dataset");
    return d;
}

static int c_flush(struct nb_nxmx *h)
{
    if (!coll_ok(h))
        return -1;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        coll_failed(h, "flushing the file");
        return -1;
    }
    return 0;
}

/* End of an entry point: the agreed status, with the first failing rank's message. */
static nb_status c_result(struct nb_nxmx *h, struct nb_err *err)
{
    coll_ok(h);
    if (!h->failed)
        return NB_OK;
    if (err)
        *err = h->why;
    return NB_E_OUTPUT;
}

const char *nb_hdf5_describe(void)
{
    static char buf[128];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, sizeof buf, "HDF5 %u.%u.%u, %s", maj, min, rel, nb_h5_driver());
    return buf;
}

/* ------------------------------------------------------------------ small helpers */

static hid_t str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static int attr_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
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

static int attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = str_type(strlen(s));
    int rc = attr_write(loc, name, t, 0, NULL, s);
    H5Tclose(t);
    return rc;
}

static int attr_d(hid_t loc, const char *name, double v)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int attr_dv(hid_t loc, const char *name, const double *v, hsize_t n)
{
    return attr_write(loc, name, H5T_NATIVE_DOUBLE, 1, &n, v);
}

static int attr_i(hid_t loc, const char *name, int v)
{
    return attr_write(loc, name, H5T_NATIVE_INT32, 0, NULL, &v);
}

static int attr_i64v(hid_t loc, const char *name, const int64_t *v, hsize_t n)
{
    return attr_write(loc, name, H5T_NATIVE_INT64, 1, &n, v);
}

/* A group with @NX_class.  A failure is noted at once: the caller then skips the group's
 * contents, collective calls included, which is safe only once the failure is known. */
static hid_t group(struct nb_nxmx *h, hid_t loc, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && attr_str(g, "NX_class", nx_class) != 0) {
        H5Gclose(g);
        g = -1;
    }
    if (g < 0)
        note_fail(h, "creating a group");
    return g;
}

/* A small dataset written by rank 0 inside a collective call. */
static hid_t small_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int rank,
                        const hsize_t *dims, const void *buf)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = c_dcreate(h, loc, name, type, sp, H5P_DEFAULT);
    if (d < 0) {
        H5Sclose(sp);
        return -1;
    }
    hid_t ms = H5Scopy(sp), fs = H5Scopy(sp);
    if (h->rank != 0) {
        H5Sselect_none(ms);
        H5Sselect_none(fs);
    }
    herr_t rc = c_write(h, d, type, ms, fs, buf);
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
    hid_t t = str_type(strlen(s));
    hid_t d = small_dset(h, loc, name, t, 0, NULL, s);
    H5Tclose(t);
    if (d < 0)
        return -1;
    H5Dclose(d);
    return 0;
}

static hid_t dset_d(struct nb_nxmx *h, hid_t loc, const char *name, double v, const char *units)
{
    hid_t d = small_dset(h, loc, name, H5T_NATIVE_DOUBLE, 0, NULL, &v);
    if (d >= 0 && units && attr_str(d, "units", units) != 0) {
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
static void lab_to_mcstas(const struct nb_scene *sc, double R[3][3])
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
    hid_t inst = group(h, entry, "instrument", "NXinstrument");
    if (inst < 0)
        return -1;
    bad |= dset_str(h, inst, "name", m->program);
    hid_t src = group(h, inst, "source", "NXsource");
    bad |= src < 0 || dset_str(h, src, "name", "simulated");
    if (src >= 0)
        H5Gclose(src);
    hid_t beam = group(h, inst, "beam", "NXbeam");
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
         * (lab_to_mcstas), so Q = K I along x, U = V = 0 (I = 1). */
        double stokes[4] = {1.0, m->cfg->polarization, 0.0, 0.0};
        hsize_t four = 4;
        d = small_dset(h, beam, "incident_polarisation_stokes", H5T_NATIVE_DOUBLE, 1, &four,
                       stokes);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
        H5Gclose(beam);
    } else {
        bad = 1;
    }
    hid_t det = group(h, inst, "detector", "NXdetector");
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
    d = small_dset(h, det, "saturation_value", H5T_NATIVE_INT32, 0, NULL, &sat);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    if (m->noise) {
        d = small_dset(h, det, "underload_value", H5T_NATIVE_INT32, 0, NULL, &under);
        bad |= d < 0;
        if (d >= 0)
            H5Dclose(d);
    }
    d = dset_d(h, det, "adc_offset", m->adc, "counts");
    bad |= d < 0;
    if (d >= 0) {
        bad |= attr_str(d, "description", "ADC offset added to the SMV int and noise images; "
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
    hid_t mod = group(h, det, "module", "NXdetector_module");
    if (mod >= 0) {
        int origin[2] = {0, 0}, size[2] = {sc->spixels, sc->fpixels};
        hsize_t two = 2;
        if ((d = small_dset(h, mod, "data_origin", H5T_NATIVE_INT32, 1, &two, origin)) >= 0)
            H5Dclose(d);
        else
            bad = 1;
        if ((d = small_dset(h, mod, "data_size", H5T_NATIVE_INT32, 1, &two, size)) >= 0)
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
            bad |= attr_str(d, "transformation_type", "translation");
            bad |= attr_dv(d, "vector", up, 3);
            bad |= attr_str(d, "depends_on", ".");
            H5Dclose(d);
        } else {
            bad = 1;
        }
        const char *names[2] = {"fast_pixel_direction", "slow_pixel_direction"};
        const double *vecs[2] = {f, s};
        for (int i = 0; i < 2; i++) {
            if ((d = dset_d(h, mod, names[i], sc->pixel_size * 1000.0, "mm")) >= 0) {
                bad |= attr_str(d, "transformation_type", "translation");
                bad |= attr_dv(d, "vector", vecs[i], 3);
                bad |= attr_str(d, "depends_on", offset_path);
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

static int write_sample(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                        double R[3][3])
{
    const struct nb_scene *sc = m->sc;
    int bad = 0;
    hid_t smp = group(h, entry, "sample", "NXsample");
    if (smp < 0)
        return -1;
    bad |= dset_str(h, smp, "name", "simulated crystal");
    /* the truth: the set-up's real cell, and UB (Busing-Levy: columns a*, b*, c* in 1/A, misset
     * included, goniometer at zero) in the McStas frame */
    hsize_t cd[2] = {1, 6}, ud[3] = {1, 3, 3};
    hid_t d = small_dset(h, smp, "unit_cell", H5T_NATIVE_DOUBLE, 2, cd, sc->cell);
    if (d >= 0) {
        bad |= attr_str(d, "units", "angstrom, deg");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    double ub[9], as[3], bs[3], cs[3];
    mul3(R, sc->a_star, as);
    mul3(R, sc->b_star, bs);
    mul3(R, sc->c_star, cs);
    for (int i = 0; i < 3; i++) {
        ub[3 * i + 0] = as[i];
        ub[3 * i + 1] = bs[i];
        ub[3 * i + 2] = cs[i];
    }
    d = small_dset(h, smp, "ub_matrix", H5T_NATIVE_DOUBLE, 3, ud, ub);
    if (d >= 0) {
        bad |= attr_str(d, "units", "1/angstrom");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    bad |= dset_str(h, smp, "depends_on", "/entry/sample/transformations/phi");
    hid_t tr = group(h, smp, "transformations", "NXtransformations");
    if (tr >= 0) {
        double u[3];
        mul3(R, sc->spindle, u);
        double phi = sc->phi0 * NB_RTD, phi_end = (sc->phi0 + sc->osc) * NB_RTD;
        hsize_t one = 1;
        d = small_dset(h, tr, "phi", H5T_NATIVE_DOUBLE, 1, &one, &phi);
        if (d >= 0) {
            bad |= attr_str(d, "units", "deg");
            bad |= attr_str(d, "transformation_type", "rotation");
            bad |= attr_dv(d, "vector", u, 3);
            bad |= attr_str(d, "depends_on", ".");
            H5Dclose(d);
        } else {
            bad = 1;
        }
        d = small_dset(h, tr, "phi_end", H5T_NATIVE_DOUBLE, 1, &one, &phi_end);
        if (d >= 0) {
            bad |= attr_str(d, "units", "deg");
            H5Dclose(d);
        } else {
            bad = 1;
        }
        H5Gclose(tr);
    } else {
        bad = 1;
    }
    H5Gclose(smp);
    return bad ? -1 : 0;
}

/* Image dataset [1][spixels][fpixels], chunk (1, c, fpixels) with c independent of ranks,
 * shuffle + deflate (written collectively). */
static hid_t image_dset(struct nb_nxmx *h, hid_t loc, const char *name, hid_t type, int fp,
                        int sp)
{
    hsize_t dims[3] = {1, (hsize_t)sp, (hsize_t)fp};
    hsize_t rows = (hsize_t)(1048576 / (fp > 0 ? fp : 1));
    if (rows < 1)
        rows = 1;
    if (rows > (hsize_t)sp)
        rows = (hsize_t)sp;
    hsize_t chunk[3] = {1, rows, (hsize_t)fp};
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 1);
    hid_t d = c_dcreate(h, loc, name, type, space, dcpl); /* chunks are allocated collectively */
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

/* ------------------------------------------------------------------ /entry/simulation */

static int write_params(hid_t sim, const struct nb_nxmx_meta *m, double R[3][3])
{
    const struct nb_scene *sc = m->sc;
    const struct nb_config *c = m->cfg;
    int bad = 0;
    static const char *const conv[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    static const char *const shapes[] = {"square", "round", "gauss", "tophat"};
    struct {
        const char *name;
        double v;
    } d[] = {
        {"distance", sc->distance},
        {"close_distance", sc->close_distance},
        {"pixel_size", sc->pixel_size},
        {"detsize_f", sc->detsize_f},
        {"detsize_s", sc->detsize_s},
        {"Xbeam", sc->Xbeam},
        {"Ybeam", sc->Ybeam},
        {"Fbeam", sc->Fbeam},
        {"Sbeam", sc->Sbeam},
        {"Xclose", sc->Xclose},
        {"Yclose", sc->Yclose},
        {"Fclose", sc->Fclose},
        {"Sclose", sc->Sclose},
        {"ORGX", sc->ORGX},
        {"ORGY", sc->ORGY},
        {"detector_rotx", sc->rotx},
        {"detector_roty", sc->roty},
        {"detector_rotz", sc->rotz},
        {"twotheta", sc->twotheta},
        {"detector_thick", sc->detector_thick},
        {"detector_thickstep", sc->detector_thickstep},
        {"detector_mu", sc->detector_mu},
        {"lambda0", sc->lambda0},
        {"dispersion", sc->dispersion},
        {"dispstep", sc->dispstep},
        {"hdivrange", sc->hdivrange},
        {"hdivstep", sc->hdivstep},
        {"vdivrange", sc->vdivrange},
        {"vdivstep", sc->vdivstep},
        {"fluence", sc->fluence},
        {"flux", sc->flux},
        {"exposure", sc->exposure},
        {"beamsize", sc->beamsize},
        {"polarization", c->polarization},
        {"Na", sc->Na},
        {"Nb", sc->Nb},
        {"Nc", sc->Nc},
        {"fudge", c->fudge},
        {"mosaic_spread", sc->mosaic_spread},
        {"phi0", sc->phi0},
        {"osc", sc->osc},
        {"phistep", sc->phistep},
        {"dmin", c->dmin},
        {"water_size", sc->water_size},
        {"default_F", c->default_F},
        {"I_bg", sc->I_bg},
        {"r_e_sqr", sc->k.r_e_sqr},
        {"V_cell", sc->V_cell * 1e-30},
        {"phi_star", sc->phi_star},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        bad |= attr_d(sim, d[i].name, d[i].v);
    struct {
        const char *name;
        int v;
    } iv[] = {{"fpixels", sc->fpixels},
              {"spixels", sc->spixels},
              {"detector_thicksteps", sc->n_layers},
              {"dispsteps", sc->dispsteps},
              {"hdivsteps", sc->hdivsteps},
              {"vdivsteps", sc->vdivsteps},
              {"sources", sc->n_sources},
              {"mosaic_domains", sc->mosaic_domains},
              {"phisteps", sc->phisteps},
              {"oversample", sc->oversample},
              {"steps", sc->steps},
              {"interpolate", sc->interpolate},
              {"nopolar", c->nopolar},
              {"curved_det", c->curved_det},
              {"point_pixel", c->point_pixel},
              {"round_div", c->round_div},
              {"oversample_thick", c->oversample_thick},
              {"oversample_polar", c->oversample_polar},
              {"oversample_omega", c->oversample_omega},
              {"roi_xmin", sc->roi_xmin},
              {"roi_xmax", sc->roi_xmax},
              {"roi_ymin", sc->roi_ymin},
              {"roi_ymax", sc->roi_ymax},
              {"seed", (int)sc->seed_initial},
              {"mosaic_seed", (int)c->mosaic_seed},
              {"misset_seed", (int)c->misset_seed},
              {"nframes", 1}};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        bad |= attr_i(sim, iv[i].name, iv[i].v);
    struct {
        const char *name;
        const double *v;
    } vv[] = {{"pix0_vector", sc->pix0},      {"fdet_vector", sc->fdet},
              {"sdet_vector", sc->sdet},      {"odet_vector", sc->odet},
              {"beam_vector", sc->beam},      {"polar_vector", sc->polar},
              {"spindle_axis", sc->spindle},  {"twotheta_axis", sc->twotheta_axis},
              {"vert_vector", sc->vert},      {"dials_origin", sc->dials_origin},
              {"a0", sc->a0},                 {"b0", sc->b0},
              {"c0", sc->c0},                 {"a_star", sc->a_star},
              {"b_star", sc->b_star},         {"c_star", sc->c_star},
              {"misset", sc->misset_deg}};
    for (size_t i = 0; i < sizeof vv / sizeof vv[0]; i++)
        bad |= attr_dv(sim, vv[i].name, vv[i].v, 3);
    bad |= attr_d(sim, "adc_offset", m->adc); /* formats.md §11.2: not in /entry/data/data */
    bad |= attr_dv(sim, "cell", sc->cell, 6);
    bad |= attr_dv(sim, "reciprocal_cell", sc->rcell, 6);
    hsize_t rd[2] = {3, 3};
    bad |= attr_write(sim, "lab_to_mcstas", H5T_NATIVE_DOUBLE, 2, rd, R);
    bad |= attr_str(sim, "convention", conv[sc->convention]);
    bad |= attr_str(sim, "pivot", sc->pivot == NB_PIVOT_BEAM ? "beam" : "sample");
    bad |= attr_str(sim, "shape", shapes[c->shape]);
    bad |= attr_str(sim, "phi_carryover", c->phi_carryover == NB_CARRY_SPEC ? "spec" : "c-parity");
    bad |= attr_str(sim, "interp_fallback", c->interp_fallback_default_F ? "default_F" : "reference");
    bad |= attr_str(sim, "factors", c->factors_per_term ? "per-term" : "reference");
    bad |= attr_str(sim, "source_lambda", c->source_lambda_cli ? "cli" : "file");
    bad |= attr_str(sim, "source_weights", c->source_weights_apply ? "apply" : "ignore");
    bad |= attr_str(sim, "random_misset", c->random_misset_uniform ? "uniform" : "reference");
    bad |= attr_str(sim, "thickness_step", c->thickness_step_uniform ? "uniform" : "reference");
    bad |= attr_str(sim, "honor_pix0", c->honor_pix0 ? "yes" : "no");
    bad |= attr_str(sim, "device", "cpu");
    bad |= attr_str(sim, "precision", "double");
    return bad ? -1 : 0;
}

static int write_carry(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_scene *sc = m->sc;
    int bad = 0;
    hid_t g = group(h, sim, "carry", "NXcollection");
    if (g < 0)
        return -1;
    bad |= attr_str(g, "mode", sc->phi_carryover == NB_CARRY_SPEC ? "spec" : "c-parity");
    int64_t p1 = m->p1, ps = m->p_star;
    bad |= attr_i64v(g, "p1", &p1, 1);
    bad |= attr_dv(g, "phi_star", &sc->phi_star, 1);
    bad |= attr_i64v(g, "interp_latch_index", &ps, 1);
    if (sc->phi_carryover != NB_CARRY_SPEC) {
        const int P = m->n_bands;
        int *row0 = malloc(sizeof(int) * (size_t)P), *nrows = malloc(sizeof(int) * (size_t)P);
        uint8_t *ins = malloc((size_t)P), *outs = malloc((size_t)P);
        double *inv = malloc(sizeof(double) * 9 * (size_t)P),
               *outv = malloc(sizeof(double) * 9 * (size_t)P);
        int64_t *inl = malloc(sizeof(int64_t) * (size_t)P),
                *outl = malloc(sizeof(int64_t) * (size_t)P);
        if (!row0 || !nrows || !ins || !outs || !inv || !outv || !inl || !outl) {
            note_fail(h, "allocating the carry tables");
            bad = 1;
        } else {
            for (int b = 0; b < P; b++) {
                row0[b] = m->bands[b].row0;
                nrows[b] = m->bands[b].n_rows;
                ins[b] = (uint8_t)m->bands[b].in_state;
                outs[b] = (uint8_t)m->bands[b].out_state;
                memcpy(inv + 9 * b, m->bands[b].in_vec, 9 * sizeof(double));
                memcpy(outv + 9 * b, m->bands[b].out_vec, 9 * sizeof(double));
                inl[b] = m->bands[b].in_last;
                outl[b] = m->bands[b].out_last;
            }
            hsize_t d1 = (hsize_t)P, d2[2] = {1, (hsize_t)P}, d4[4] = {1, (hsize_t)P, 3, 3};
            hid_t ds[8];
            ds[0] = small_dset(h, g, "row0", H5T_NATIVE_INT32, 1, &d1, row0);
            ds[1] = small_dset(h, g, "nrows", H5T_NATIVE_INT32, 1, &d1, nrows);
            ds[2] = small_dset(h, g, "in_state", H5T_NATIVE_UINT8, 2, d2, ins);
            ds[3] = small_dset(h, g, "out_state", H5T_NATIVE_UINT8, 2, d2, outs);
            ds[4] = small_dset(h, g, "in_vectors", H5T_NATIVE_DOUBLE, 4, d4, inv);
            ds[5] = small_dset(h, g, "out_vectors", H5T_NATIVE_DOUBLE, 4, d4, outv);
            ds[6] = small_dset(h, g, "in_last_index", H5T_NATIVE_INT64, 2, d2, inl);
            ds[7] = small_dset(h, g, "out_last_index", H5T_NATIVE_INT64, 2, d2, outl);
            for (int i = 0; i < 8; i++) {
                if (ds[i] < 0)
                    bad = 1;
                else
                    H5Dclose(ds[i]);
            }
        }
        free(row0);
        free(nrows);
        free(ins);
        free(outs);
        free(inv);
        free(outv);
        free(inl);
        free(outl);
    }
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_sf(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_hkl_grid *gr = m->hkl;
    if (!gr)
        return 0;
    int bad = 0;
    hid_t g = group(h, sim, "structure_factors", "NXcollection");
    if (g < 0)
        return -1;
    hsize_t dims[3] = {(hsize_t)gr->h_range + 1, (hsize_t)gr->k_range + 1,
                       (hsize_t)gr->l_range + 1};
    hid_t d = small_dset(h, g, "F", H5T_NATIVE_DOUBLE, 3, dims, gr->F);
    if (d >= 0) {
        bad |= attr_str(d, "units", "electrons");
        H5Dclose(d);
    } else {
        bad = 1;
    }
    bad |= attr_i(g, "h_min", gr->h_min);
    bad |= attr_i(g, "h_max", gr->h_max);
    bad |= attr_i(g, "k_min", gr->k_min);
    bad |= attr_i(g, "k_max", gr->k_max);
    bad |= attr_i(g, "l_min", gr->l_min);
    bad |= attr_i(g, "l_max", gr->l_max);
    bad |= attr_d(g, "default_F", m->cfg->default_F);
    bad |= attr_str(g, "source", m->hkl_source ? m->hkl_source : "hkl");
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_sources(struct nb_nxmx *h, hid_t sim, const struct nb_nxmx_meta *m)
{
    const struct nb_scene *sc = m->sc;
    if (sc->n_sources <= 1)
        return 0;
    int bad = 0, n = sc->n_sources;
    hid_t g = group(h, sim, "sources", "NXcollection");
    if (g < 0)
        return -1;
    double *dir = malloc(sizeof(double) * 3 * (size_t)n), *lam = malloc(sizeof(double) * (size_t)n),
           *w = malloc(sizeof(double) * (size_t)n);
    if (!dir || !lam || !w) {
        note_fail(h, "allocating the source tables");
        bad = 1;
    } else {
        for (int i = 0; i < n; i++) {
            memcpy(dir + 3 * i, sc->src + 5 * i, 3 * sizeof(double));
            lam[i] = sc->src[5 * i + 3];
            w[i] = sc->src[5 * i + 4];
        }
        hsize_t d2[2] = {(hsize_t)n, 3}, d1 = (hsize_t)n;
        hid_t a = small_dset(h, g, "direction", H5T_NATIVE_DOUBLE, 2, d2, dir);
        hid_t b = small_dset(h, g, "wavelength", H5T_NATIVE_DOUBLE, 1, &d1, lam);
        hid_t c = small_dset(h, g, "weight", H5T_NATIVE_DOUBLE, 1, &d1, w);
        if (b >= 0)
            bad |= attr_str(b, "units", "m");
        if (c >= 0)
            bad |= attr_str(c, "applied", m->cfg->source_weights_apply ? "yes" : "no");
        bad |= a < 0 || b < 0 || c < 0;
        if (a >= 0)
            H5Dclose(a);
        if (b >= 0)
            H5Dclose(b);
        if (c >= 0)
            H5Dclose(c);
    }
    free(dir);
    free(lam);
    free(w);
    H5Gclose(g);
    return bad ? -1 : 0;
}

static int write_simulation(struct nb_nxmx *h, hid_t entry, const struct nb_nxmx_meta *m,
                            double R[3][3])
{
    int bad = 0;
    hid_t sim = group(h, entry, "simulation", "NXcollection");
    if (sim < 0)
        return -1;
    /* argv as a fixed-length string array, and joined */
    size_t maxl = 1, total = 0;
    for (int i = 0; i < m->argc; i++) {
        size_t l = strlen(m->argv[i]);
        if (l + 1 > maxl)
            maxl = l + 1;
        total += l + 1;
    }
    char *arr = calloc((size_t)m->argc ? (size_t)m->argc : 1, maxl);
    char *joined = calloc(total + 1, 1);
    if (!arr || !joined) {
        note_fail(h, "allocating the command line");
        free(arr);
        free(joined);
        H5Gclose(sim);
        return -1;
    }
    for (int i = 0; i < m->argc; i++) {
        memcpy(arr + (size_t)i * maxl, m->argv[i], strlen(m->argv[i]));
        if (i)
            strcat(joined, " ");
        strcat(joined, m->argv[i]);
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, maxl);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hsize_t n = (hsize_t)m->argc;
    hid_t d = small_dset(h, sim, "argv", t, 1, &n, arr);
    bad |= d < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(t);
    bad |= attr_str(sim, "command_line", joined);
    free(arr);
    free(joined);
    bad |= attr_str(sim, "program", m->program);
    bad |= attr_str(sim, "program_version", m->version);
    bad |= write_params(sim, m, R);
    bad |= attr_i(sim, "mpi_ranks", m->size);
    bad |= write_sf(h, sim, m);
    bad |= write_sources(h, sim, m);
    /* completion record */
    hid_t st = group(h, sim, "status", "NXcollection");
    if (st >= 0) {
        signed char zero = 0;
        bad |= attr_write(st, "complete", H5T_NATIVE_INT8, 0, NULL, &zero);
        bad |= attr_str(st, "started", m->start_time);
        uint8_t fd = 0;
        hsize_t one = 1, bd[2] = {1, (hsize_t)m->size};
        hid_t a = small_dset(h, st, "frames_done", H5T_NATIVE_UINT8, 1, &one, &fd);
        uint8_t *bz = calloc((size_t)m->size, 1);
        if (!bz)
            note_fail(h, "allocating the band status");
        hid_t b = bz ? small_dset(h, st, "bands_done", H5T_NATIVE_UINT8, 2, bd, bz) : -1;
        free(bz);
        bad |= a < 0 || b < 0;
        if (a >= 0)
            H5Dclose(a);
        if (b >= 0)
            H5Dclose(b);
        h->status = st;
    } else {
        bad = 1;
    }
    H5Gclose(sim);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------------ entry points */

static void layout_entry(struct nb_nxmx *h, const struct nb_nxmx_meta *m, double R[3][3])
{
    int bad = 0;
    hid_t entry = group(h, h->file, "entry", "NXentry");
    if (entry < 0)
        return;
    bad |= dset_str(h, entry, "definition", "NXmx");
    bad |= dset_str(h, entry, "start_time", m->start_time);
    bad |= dset_str(h, entry, "end_time_estimated", m->start_time);
    hid_t data = group(h, entry, "data", "NXdata");
    if (data >= 0) {
        bad |= attr_str(data, "signal", "data");
        hid_t dt = m->noise ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT;
        h->d_data = image_dset(h, data, "data", dt, h->fpixels, h->spixels);
        h->d_float = image_dset(h, data, "float_image", H5T_NATIVE_FLOAT, h->fpixels, h->spixels);
        h->d_int = image_dset(h, data, "int_image", H5T_NATIVE_UINT16, h->fpixels, h->spixels);
        H5Gclose(data);
    }
    bad |= write_instrument(h, entry, m, R);
    { /* pixel_mask always: 0 = good, 256 = not rendered (mask 0 or outside the ROI) */
        hid_t det = H5Gopen2(h->file, "/entry/instrument/detector", H5P_DEFAULT);
        hsize_t dims[2] = {(hsize_t)h->spixels, (hsize_t)h->fpixels};
        hid_t sp = H5Screate_simple(2, dims, NULL);
        if (det < 0)
            note_fail(h, "opening the detector group");
        h->d_mask = c_dcreate(h, det, "pixel_mask", H5T_NATIVE_UINT32, sp, H5P_DEFAULT);
        H5Sclose(sp);
        if (det >= 0)
            H5Gclose(det);
    }
    bad |= write_sample(h, entry, m, R);
    bad |= write_simulation(h, entry, m, R);
    H5Gclose(entry);
    if (bad)
        note_fail(h, "writing the file layout");
}

nb_status nb_nxmx_create(const char *file, const char *name, const struct nb_nxmx_meta *m,
                         const struct nb_nxmx_sync *sync, struct nb_nxmx **out,
                         struct nb_err *err)
{
    struct nb_nxmx *h = calloc(1, sizeof *h);
    double R[3][3];
    *out = NULL;
    if (!h || !(h->name = strdup(name)) || !(h->file_path = strdup(file))) {
        if (h)
            free(h->name);
        free(h);
        nb_err_set(err, "--hdf5 %s: out of memory", name);
        nb_status st = NB_E_NOMEM;
        sync->agree(sync->ctx, &st, err, -1.0);
        return st;
    }
    h->file = h->fapl = h->dxpl = h->d_data = h->d_float = h->d_int = h->d_mask = h->status = -1;
    h->rank = m->rank;
    h->noise = m->noise;
    h->sc = m->sc;
    h->fpixels = m->sc->fpixels;
    h->spixels = m->sc->spixels;
    h->sync = *sync;
    h->phase = "h5-create";
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors become one line from us, not a stack */
    if (nb_h5_plists(&h->fapl, &h->dxpl) != 0)
        note_fail(h, "setting up the property lists");
    if (coll_ok(h)) {
        h->file = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, h->fapl);
        if (h->file < 0)
            coll_failed(h, "creating the file");
    }
    if (coll_ok(h)) {
        lab_to_mcstas(m->sc, R);
        layout_entry(h, m, R);
        c_flush(h);
    }
    nb_status st = c_result(h, err);
    *out = h; /* even after a failure: nb_nxmx_close() releases it on every rank */
    return st;
}

nb_status nb_nxmx_write_run(struct nb_nxmx *h, const struct nb_nxmx_meta *m, struct nb_err *err)
{
    int bad = 0;
    h->phase = "h5-run";
    if (h->failed)
        return c_result(h, err);
    hid_t sim = H5Gopen2(h->file, "/entry/simulation", H5P_DEFAULT);
    int *r0 = malloc(sizeof(int) * (size_t)m->n_bands), *nr = malloc(sizeof(int) * (size_t)m->n_bands);
    if (sim >= 0 && r0 && nr) {
        for (int b = 0; b < m->n_bands; b++) {
            r0[b] = m->bands[b].row0;
            nr[b] = m->bands[b].n_rows;
        }
        hsize_t P = (hsize_t)m->n_bands;
        bad |= attr_write(sim, "band_row0", H5T_NATIVE_INT32, 1, &P, r0);
        bad |= attr_write(sim, "band_nrows", H5T_NATIVE_INT32, 1, &P, nr);
        bad |= write_carry(h, sim, m);
    } else {
        bad = 1;
    }
    free(r0);
    free(nr);
    if (sim >= 0)
        H5Gclose(sim);
    if (bad)
        note_fail(h, "writing the band layout and carry cache");
    return c_result(h, err);
}

/* Write rows [row0, row0+n) of a [1][sp][fp] dataset from buf; n == 0 selects nothing. */
static int write_rows(struct nb_nxmx *h, hid_t d, hid_t memtype, int row0, int n, const void *buf)
{
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t mdims[3] = {1, (hsize_t)(n > 0 ? n : 1), (hsize_t)h->fpixels};
    hid_t ms = H5Screate_simple(3, mdims, NULL);
    if (n > 0) {
        hsize_t start[3] = {0, (hsize_t)row0, 0}, count[3] = {1, (hsize_t)n, (hsize_t)h->fpixels};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    herr_t rc = c_write(h, d, memtype, ms, fs, buf);
    H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

/* 256 where a pixel of this band is not rendered (mask 0 or outside the ROI). */
static void write_mask_rows(struct nb_nxmx *h, int row0, int n_rows)
{
    size_t n = (size_t)(n_rows > 0 ? n_rows : 1) * h->fpixels;
    uint32_t *mk = calloc(n, sizeof *mk);
    if (!mk)
        note_fail(h, "allocating the pixel mask");
    for (int r = 0; mk && r < n_rows; r++)
        for (int f = 0; f < h->fpixels; f++)
            mk[(size_t)r * h->fpixels + f] = nb_pixel_rendered(&h->sc->k, row0 + r, f) ? 0u : 256u;
    hid_t fs = H5Dget_space(h->d_mask);
    hsize_t md[2] = {(hsize_t)(n_rows > 0 ? n_rows : 1), (hsize_t)h->fpixels};
    hid_t ms = H5Screate_simple(2, md, NULL);
    if (n_rows > 0) {
        hsize_t st[2] = {(hsize_t)row0, 0}, ct[2] = {(hsize_t)n_rows, (hsize_t)h->fpixels};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, ct, NULL);
    } else {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
    }
    c_write(h, h->d_mask, H5T_NATIVE_UINT32, ms, fs, mk);
    H5Sclose(ms);
    H5Sclose(fs);
    free(mk);
}

/* Rank 0 writes the whole of a small status dataset, the others select nothing. */
static void write_status(struct nb_nxmx *h, const char *name, uint8_t value)
{
    hid_t d = H5Dopen2(h->status, name, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5Screate(H5S_SCALAR);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    uint8_t *v = malloc((size_t)(np > 0 ? np : 1));
    if (d < 0 || !v)
        note_fail(h, "updating the status record");
    if (v)
        memset(v, value, (size_t)(np > 0 ? np : 1));
    hid_t ms = H5Scopy(sp);
    if (h->rank != 0) {
        H5Sselect_none(sp);
        H5Sselect_none(ms);
    }
    c_write(h, d, H5T_NATIVE_UINT8, ms, sp, v);
    H5Sclose(ms);
    H5Sclose(sp);
    free(v);
    if (d >= 0)
        H5Dclose(d);
}

nb_status nb_nxmx_write_images(struct nb_nxmx *h, int row0, int n_rows, const float *band,
                               const int32_t *counts, const uint16_t *ints, struct nb_err *err)
{
    static const float zf = 0;
    static const uint16_t zu = 0;
    h->phase = "h5-write";
    if (nb_fault("h5-stop")) /* failure tests: stop here, to be killed mid-write */
        raise(SIGSTOP);
    write_rows(h, h->d_float, H5T_NATIVE_FLOAT, row0, n_rows, n_rows ? band : &zf);
    static const int32_t zi = 0;
    if (h->noise)
        write_rows(h, h->d_data, H5T_NATIVE_INT32, 0, h->rank == 0 ? h->spixels : 0,
                   h->rank == 0 ? counts : &zi);
    else
        write_rows(h, h->d_data, H5T_NATIVE_FLOAT, row0, n_rows, n_rows ? band : &zf);
    write_rows(h, h->d_int, H5T_NATIVE_UINT16, 0, h->rank == 0 ? h->spixels : 0,
               h->rank == 0 ? ints : &zu);
    write_mask_rows(h, row0, n_rows);
    /* the frame is complete: status, then a collective flush */
    write_status(h, "frames_done", 1);
    write_status(h, "bands_done", 1);
    c_flush(h);
    return c_result(h, err);
}

/* The end time and @complete = 1: the last changes before closing. */
static void mark_complete(struct nb_nxmx *h, const char *end_time)
{
    signed char one = 1;
    if (attr_str(h->status, "finished", end_time) != 0)
        note_fail(h, "recording the end time");
    hid_t e = H5Dopen2(h->file, "/entry/end_time_estimated", H5P_DEFAULT);
    hid_t t = e >= 0 ? H5Dget_type(e) : H5Tcopy(H5T_C_S1);
    char buf[64] = {0};
    snprintf(buf, sizeof buf, "%s", end_time); /* as long as the start time: ISO 8601 UTC */
    hid_t ms = H5Screate(H5S_SCALAR), fs = H5Scopy(ms);
    if (h->rank != 0) {
        H5Sselect_none(ms);
        H5Sselect_none(fs);
    }
    if (e < 0)
        note_fail(h, "opening end_time_estimated");
    c_write(h, e, t, ms, fs, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(t);
    if (e >= 0)
        H5Dclose(e);
    hid_t a = H5Aopen(h->status, "complete", H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT8, &one) < 0)
        note_fail(h, "setting @complete");
    if (a >= 0)
        H5Aclose(a);
}

/* Every object this handle opened, then the file: all ranks, always (H5Fclose is collective;
 * after a failure every rank knows it and closes too).  Objects left open would keep the file
 * open past the close and make HDF5's own shutdown touch it. */
static int close_all(struct nb_nxmx *h)
{
    hid_t ids[] = {h->d_data, h->d_float, h->d_int, h->d_mask};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] >= 0)
            H5Dclose(ids[i]);
    if (h->status >= 0)
        H5Gclose(h->status);
    int bad = 0;
    if (h->file >= 0) {
        ssize_t left = H5Fget_obj_count(h->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                     H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
        if (left > 0) {
            hid_t *open_ids = malloc(sizeof(hid_t) * (size_t)left);
            ssize_t n = open_ids ? H5Fget_obj_ids(h->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                               H5F_OBJ_DATATYPE | H5F_OBJ_ATTR |
                                                               H5F_OBJ_LOCAL,
                                                  (size_t)left, open_ids)
                                  : 0;
            for (ssize_t i = 0; i < n; i++) {
                switch (H5Iget_type(open_ids[i])) {
                case H5I_DATASET: H5Dclose(open_ids[i]); break;
                case H5I_GROUP: H5Gclose(open_ids[i]); break;
                case H5I_DATATYPE: H5Tclose(open_ids[i]); break;
                case H5I_ATTR: H5Aclose(open_ids[i]); break;
                default: break;
                }
            }
            free(open_ids);
        }
        bad = H5Fclose(h->file) < 0;
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) > 0)
            hdf5_stuck = 1; /* HDF5 could not let go of the file: never shut HDF5 down */
    }
    if (h->fapl >= 0)
        H5Pclose(h->fapl);
    if (h->dxpl >= 0)
        H5Pclose(h->dxpl);
    return bad;
}

nb_status nb_nxmx_close(struct nb_nxmx *h, int ok, const char *end_time, struct nb_err *err)
{
    if (!h)
        return NB_OK;
    h->phase = "h5-close";
    if (ok && !h->failed && h->status >= 0) {
        mark_complete(h, end_time);
        c_flush(h); /* everything on disk before the close, which then has little to write */
    }
    if (!ok && !h->failed)
        h->failed = 1; /* the caller's agreed failure: no more collective calls but the close */
    if (ok) /* so that no rank closes while another still writes */
        coll_ok(h);
    if (h->failed && h->rank == 0 && h->file_path) {
        /* the file will be discarded: give its space back first, so that the close can
         * write what HDF5 still holds even when the disk or quota is full */
        (void)truncate(h->file_path, 0);
    }
    /* every rank closes; the caller then agrees on the result */
    nb_status st = close_all(h) != 0 ? NB_E_OUTPUT : NB_OK;
    if (st != NB_OK && !h->failed)
        nb_err_set(&h->why, "--hdf5 %s: closing the file failed", h->name);
    if (h->failed)
        st = NB_E_OUTPUT;
    if (st != NB_OK && err)
        *err = h->why;
    free(h->name);
    free(h->file_path);
    free(h);
    return st;
}

void nb_hdf5_init(void)
{
    H5dont_atexit(); /* HDF5 is shut down by nb_hdf5_fini(), or not at all */
}

void nb_hdf5_fini(void)
{
    if (!hdf5_stuck)
        H5close();
}
