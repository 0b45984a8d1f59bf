/* nb_trace.h -- -trace_pixel and -printout: what nb_pixel() reports at a few hook points.
 *
 * Host only.  nb_pixel() calls these through NB_TRACE_AT(), which expands to nothing in the
 * device pass of nvcc and tests `tr` (NULL in every renderer) elsewhere, so the physics reads
 * as physics and the GPU never sees a format string.  The lines are the reference's
 * TRACE_C / TRACE_C_PHI / TRACE_C_SOURCE2 keys in its order and formats (golden traces), plus
 * our TRACE_NB running sum; the recorded fields are the last evaluated values, for -printout.
 * Included by nb_physics.h after its helpers.
 */
#ifndef NB_TRACE_H
#define NB_TRACE_H

struct nb_kparams;

struct nb_trace {
    void (*line)(void *ctx, const char *fmt, ...); /* NULL: record only, print nothing */
    void *ctx;
    /* the last evaluated values, for -printout */
    double pos[3], stol, h, k, l, F_cell, F_latt, I, polar, omega, capture, test;
    int h0, k0, l0;
    double a[3], b[3], c[3];
    double cos2theta;
};

#if defined(__CUDA_ARCH__)
#define NB_TRACE_AT(call) ((void)0)
#else
#define NB_TRACE_AT(call)                                                                      \
    do {                                                                                       \
        if (tr)                                                                                \
            call;                                                                              \
    } while (0)

#define NB_TRACE_LINE(tr, ...)                                                                 \
    do {                                                                                       \
        if ((tr)->line)                                                                        \
            (tr)->line((tr)->ctx, __VA_ARGS__);                                                \
    } while (0)

/* After the scattering vector of source j at a subpath: the detector geometry (source 0). */
static inline void nb_trace_source(struct nb_trace *tr, const struct nb_kparams *K, int j,
                                   const double *pos, double airpath, double omega,
                                   const double *d, const double *inc, const double *q,
                                   double stol)
{
    if (j == 0) {
        NB_TRACE_LINE(tr, "TRACE_C: pix0_vector_meters %.15g %.15g %.15g\n", K->pix0[0], K->pix0[1], K->pix0[2]);
        NB_TRACE_LINE(tr, "TRACE_C: fdet_vec %.15g %.15g %.15g\n", K->fdet[0], K->fdet[1], K->fdet[2]);
        NB_TRACE_LINE(tr, "TRACE_C: sdet_vec %.15g %.15g %.15g\n", K->sdet[0], K->sdet[1], K->sdet[2]);
        NB_TRACE_LINE(tr, "TRACE_C: pixel_pos_meters %.15g %.15g %.15g\n", pos[0], pos[1], pos[2]);
        NB_TRACE_LINE(tr, "TRACE_C: R_distance_meters %.15g\n", airpath);
        NB_TRACE_LINE(tr, "TRACE_C: omega_pixel_sr %.15g\n", omega);
        NB_TRACE_LINE(tr, "TRACE_C: close_distance_meters %.15g\n", K->close_distance);
        NB_TRACE_LINE(tr, "TRACE_C: obliquity_factor %.15g\n", K->close_distance / airpath);
        NB_TRACE_LINE(tr, "TRACE_C: diffracted_vec %.15g %.15g %.15g\n", d[0], d[1], d[2]);
        NB_TRACE_LINE(tr, "TRACE_C: incident_vec %.15g %.15g %.15g\n", inc[0], inc[1], inc[2]);
        NB_TRACE_LINE(tr, "TRACE_C: lambda_meters %.15g\n", K->src[3]);
        NB_TRACE_LINE(tr, "TRACE_C: lambda_angstroms %.15g\n", K->src[3] * 1e10);
        NB_TRACE_LINE(tr, "TRACE_C: scattering_vec_A_inv %.15g %.15g %.15g\n", q[0], q[1], q[2]);
    }
    tr->pos[0] = pos[0];
    tr->pos[1] = pos[1];
    tr->pos[2] = pos[2];
    tr->stol = stol;
}

/* After the lattice factor of term (source j, phi step ip, domain m), with rotated cell v. */
static inline void nb_trace_term(struct nb_trace *tr, const struct nb_kparams *K, int j, int ip,
                                 int m, const double *v, double h, double k, double l, int h0,
                                 int k0, int l0, double fa, double fb, double fc, double F_latt)
{
    if (j == 0 && m == 0) {
        if (ip == 0) {
            NB_TRACE_LINE(tr, "TRACE_C: rot_a_angstroms %.15g %.15g %.15g\n", v[0] * 1e10, v[1] * 1e10, v[2] * 1e10);
            NB_TRACE_LINE(tr, "TRACE_C: rot_b_angstroms %.15g %.15g %.15g\n", v[3] * 1e10, v[4] * 1e10, v[5] * 1e10);
            NB_TRACE_LINE(tr, "TRACE_C: rot_c_angstroms %.15g %.15g %.15g\n", v[6] * 1e10, v[7] * 1e10, v[8] * 1e10);
            NB_TRACE_LINE(tr, "TRACE_C: rot_a_star_A_inv %.15g %.15g %.15g\n", K->a_star[0], K->a_star[1], K->a_star[2]);
            NB_TRACE_LINE(tr, "TRACE_C: rot_b_star_A_inv %.15g %.15g %.15g\n", K->b_star[0], K->b_star[1], K->b_star[2]);
            NB_TRACE_LINE(tr, "TRACE_C: rot_c_star_A_inv %.15g %.15g %.15g\n", K->c_star[0], K->c_star[1], K->c_star[2]);
            NB_TRACE_LINE(tr, "TRACE_C: hkl_frac %.15g %.15g %.15g\n", h, k, l);
            NB_TRACE_LINE(tr, "TRACE_C: hkl_rounded %d %d %d\n", h0, k0, l0);
            if (K->shape == NB_SHAPE_SQUARE) {
                NB_TRACE_LINE(tr, "TRACE_C: F_latt_a %.15g\n", fa);
                NB_TRACE_LINE(tr, "TRACE_C: F_latt_b %.15g\n", fb);
                NB_TRACE_LINE(tr, "TRACE_C: F_latt_c %.15g\n", fc);
                NB_TRACE_LINE(tr, "TRACE_C: F_latt %.15g\n", F_latt);
            }
        }
        if (K->shape == NB_SHAPE_SQUARE)
            NB_TRACE_LINE(tr, "TRACE_C_PHI phi_tic=%d phi_deg=%.15g k_frac=%.15g F_latt_b=%.15g F_latt=%.15g\n",
                          ip, K->phi[ip] * NB_RTD, k, fb, F_latt);
    }
    tr->h = h, tr->k = k, tr->l = l;
    tr->h0 = h0, tr->k0 = k0, tr->l0 = l0;
    tr->F_latt = F_latt;
    for (int c = 0; c < 3; c++) {
        tr->a[c] = v[c];
        tr->b[c] = v[3 + c];
        tr->c[c] = v[6 + c];
    }
}

/* After the structure factor of a term that contributes. */
static inline void nb_trace_F(struct nb_trace *tr, const struct nb_kparams *K, int j, int ip,
                              int m, double F_cell, double F_latt, double polar,
                              const double *inc, const double *d)
{
    if (j == 0 && m == 0 && ip == 0)
        NB_TRACE_LINE(tr, "TRACE_C: F_cell %.15g\n", F_cell);
    if (j == 2 && m == 0 && ip == 0) {
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: F_cell %.15g\n", F_cell);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: F_latt %.15g\n", F_latt);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: F_cell_squared %.15g\n", F_cell * F_cell);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: F_latt_squared %.15g\n", F_latt * F_latt);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: I_contribution %.15g\n", F_cell * F_cell * F_latt * F_latt);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: polar %.15g\n", polar);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: cos2theta %.15g\n", nb_v_dot(inc, d));
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: lambda_angstroms %.15g\n", K->src[5 * j + 3] * 1e10);
        NB_TRACE_LINE(tr, "TRACE_C_SOURCE2: source_index %d\n", j);
    }
    tr->F_cell = F_cell;
}

/* After a subpath (our addition to the reference's keys: the running sum). */
static inline void nb_trace_subpath(struct nb_trace *tr, int t, int subS, int subF, double I,
                                    double polar, double omega, double capture)
{
    NB_TRACE_LINE(tr, "TRACE_NB: layer %d subS %d subF %d I_running %.15g polar %.15g "
                      "omega %.15g capture %.15g\n",
                  t, subS, subF, I, polar, omega, capture);
}

/* At the end of the pixel: the values -printout shows. */
static inline void nb_trace_pixel(struct nb_trace *tr, double I, double polar, double omega,
                                  double capture, double test, const double *inc,
                                  const double *d)
{
    tr->I = I;
    tr->polar = polar;
    tr->omega = omega;
    tr->capture = capture;
    tr->test = test;
    tr->cos2theta = nb_v_dot(inc, d);
}
#endif

#endif
