/* nb_lanes_block.h -- one block of NB_LW consecutive pixels of a row, one SIMD lane each.
 *
 * Included by nb_lanes.h once per lane width, with
 *   NB_LW            lanes (NB_LANES_D for double, NB_LANES_S for single precision),
 *   NB_LBLOCK        the name of the block function,
 *   NB_LTERM         the name of its term helper,
 *   NB_LLATT(h, k, l, Na, Nb, Nc)  the square lattice factor with every N > 1 (nb_latt_det or
 *                    nb_latt_single).
 *
 * Every lane performs, operation for operation, what nb_pixel() does for its pixel with the
 * same arithmetic mode: the same nb_physics.h helpers, the same association order, the same
 * caching of omega, capture and polarization, the same in-place re-normalisation of the
 * diffracted vector by the polarization factor.  Lanes only replace branches by selects: a
 * lane whose pixel is not rendered, or whose source fails the dmin cut, computes and discards.
 * The caller sends a block here only when nb_lanes_eligible() holds and the block does not hold
 * the run's first execution E1 (which reads the other rotated-cell table); test_lanes checks
 * the equality against nb_pixel() bit for bit.
 * Vectorisation (GCC 12, checked with -fopt-info-vec): the term loops carry `omp simd`; loops
 * whose bodies hold small local arrays (the helpers take vectors by pointer) are left to the
 * auto-vectoriser, because `omp simd` would privatise those arrays per lane and stay scalar.
 */

/* One term (phi step, mosaic domain) of one lane: returns I plus F^2 F_latt^2 as nb_pixel()
 * accumulates it.  `common` (a constant at each call) selects the specialisation that
 * vectorises: square shape with Na, Nb, Nc > 1, no source weights, no oversample_* factors
 * (GCC 12 does not vectorise selects on loop-invariant conditions, so they are unswitched
 * here; `grid` = K->hkls != 0 likewise).  There a term with F_latt == 0 is skipped whatever
 * the water size: adding it would add F^2 * 0 * 0 = +0, which leaves I unchanged (F is
 * finite: the readers refuse others).  Always inlined: a call would leave the loop scalar. */
NB_ALWAYS_INLINE static inline double NB_LTERM(const struct nb_kparams *K, const double *v,
                                               const double *Fg, double qx, double qy, double qz,
                                               double keep, double I, double w, double capture,
                                               double polar, double omega, int common, int grid)
{
    double h = v[0] * qx + v[1] * qy + v[2] * qz;
    double k = v[3] * qx + v[4] * qy + v[5] * qz;
    double l = v[6] * qx + v[7] * qy + v[8] * qz;
    double h0 = ceil(h - 0.5), k0 = ceil(k - 0.5), l0 = ceil(l - 0.5); /* unconverted */
    double F_latt = 1.0;
    if (common) {
        F_latt = NB_LLATT(h, k, l, K->Na, K->Nb, K->Nc);
        /* nb_F_nearest() as arithmetic: the gather reads a valid cell for every lane, and
         * F = g*1 + d*0 = g or g*0 + d*1 = d exactly (both finite; the sign of a zero F does
         * not reach F^2).  A select instead would let GCC 12 mask the gather, which it then
         * does not vectorise. */
        double F = K->default_F; /* no grid: nb_F_cell() is -1 for every index */
        if (grid) {
            /* long index: an int vector would set 16 lanes per vector, more than a block has */
            double cell = nb_F_cell(K, h0, k0, l0);
            double in = cell < 0.0 ? 0.0 : 1.0;
            F = Fg[(long)(cell < 0.0 ? 0.0 : cell)] * in + K->default_F * (1.0 - in);
        }
        double In = I + F * F * F_latt * F_latt;
        In = F_latt == 0.0 ? I : In;
        return keep != 0.0 ? In : I;
    } else {
        double fa, fb, fc;
        F_latt = nb_lattice_factor(K, h, k, l, nb_d2i(h0), nb_d2i(k0), nb_d2i(l0), &fa, &fb, &fc);
    }
    int fi = nb_F_index(K, h0, k0, l0);
    double F = Fg[fi < 0 ? 0 : fi]; /* always a valid address; selected below */
    F = fi < 0 ? K->default_F : F;
    double term = F * F * F_latt * F_latt;
    if (K->apply_weights)
        term = term * w;
    double In = I + term;
    if (K->oversample_thick)
        In *= capture;
    if (K->oversample_polar)
        In *= polar;
    if (K->oversample_omega)
        In *= omega;
    /* skipped terms: as nb_pixel()'s `continue` (selects on double compares only: GCC does not
     * vectorise selects that mix int and double masks) */
    In = (F_latt == 0.0 && K->water_size == 0.0) ? I : In;
    return keep != 0.0 ? In : I;
}

static void NB_LBLOCK(const struct nb_kparams *Kp, int s, int f0, int nl, float *val)
{
    enum { W = NB_LW };
    /* a private copy: its fields are provably loop-invariant, so the lanes load none of them
     * under a mask */
    const struct nb_kparams Kc = *Kp;
    const struct nb_kparams *K = &Kc;
    double I[W], polar[W], omega[W], capture[W];
    double dx[W], dy[W], dz[W], qx[W], qy[W], qz[W];
    double keep[W]; /* 1.0: the lane's pixel is rendered and source j passes the dmin cut */
    int act[W];
    int any = 0;
    for (int l = 0; l < W; l++) {
        act[l] = l < nl && nb_pixel_rendered(K, s, f0 + l);
        any |= act[l];
        I[l] = K->I_bg;
        polar[l] = K->nopolar ? 1.0 : 0.0;
        omega[l] = capture[l] = 0.0;
    }
    if (!any) {
        for (int l = 0; l < nl; l++)
            val[l] = 0.0f;
        return;
    }
    const double *Fg = K->hkls ? K->Fhkl : &K->default_F;
    const int nphi = K->phisteps, ndom = K->n_domains;
    const int common = K->shape == NB_SHAPE_SQUARE && K->Na > 1 && K->Nb > 1 && K->Nc > 1 &&
                       !K->apply_weights && !K->oversample_thick && !K->oversample_polar &&
                       !K->oversample_omega;
    for (int t = 0; t < K->n_layers; t++) {
        for (int l = 0; l < W; l++)
            capture[l] = K->detector_thick == 0.0 ? 1.0 : 0.0;
        for (int subS = 0; subS < K->oversample; subS++) {
            for (int subF = 0; subF < K->oversample; subF++) {
                /* the subpixel's direction, solid angle and capture fraction */
                if (K->curved) {
                    for (int l = 0; l < W; l++) {
                        double p[3], Fd, Sd;
                        nb_subpixel_pos(K, s, f0 + l, t, subS, subF, p, &Fd, &Sd);
                        dx[l] = p[0], dy[l] = p[1], dz[l] = p[2];
                    }
                } else {
                    for (int l = 0; l < W; l++) {
                        double p[3], Fd, Sd;
                        nb_subpixel_flat(K, s, f0 + l, t, subS, subF, p, &Fd, &Sd);
                        dx[l] = p[0], dy[l] = p[1], dz[l] = p[2];
                    }
                }
                double om_new[W], air[W];
                for (int l = 0; l < W; l++) {
                    double p[3] = {dx[l], dy[l], dz[l]}, d[3];
                    air[l] = nb_v_unitize(p, d);
                    dx[l] = d[0], dy[l] = d[1], dz[l] = d[2];
                }
                if (K->point_pixel) {
#pragma omp simd
                    for (int l = 0; l < W; l++)
                        om_new[l] = nb_solid_angle_pp(K, air[l], 1);
                } else {
#pragma omp simd
                    for (int l = 0; l < W; l++)
                        om_new[l] = nb_solid_angle_pp(K, air[l], 0);
                }
                /* uniform conditions outside the lane loops (see NB_LTERM) */
                if (K->oversample_omega) {
#pragma omp simd
                    for (int l = 0; l < W; l++)
                        omega[l] = om_new[l];
                } else {
#pragma omp simd
                    for (int l = 0; l < W; l++)
                        omega[l] = omega[l] == 0.0 ? om_new[l] : omega[l];
                }
                for (int l = 0; l < W; l++)
                    if (capture[l] == 0.0 || K->oversample_thick) {
                        double d[3] = {dx[l], dy[l], dz[l]};
                        capture[l] = nb_capture(K, t, d);
                    }
                for (int j = 0; j < K->n_sources; j++) {
                    int any_keep = 0;
                    for (int l = 0; l < W; l++) {
                        double d[3] = {dx[l], dy[l], dz[l]}, inc[3], q[3], stol;
                        int kp = nb_scatter(K, j, d, inc, q, &stol);
                        keep[l] = act[l] && kp ? 1.0 : 0.0;
                        qx[l] = q[0], qy[l] = q[1], qz[l] = q[2];
                    }
                    for (int l = 0; l < W; l++)
                        any_keep |= keep[l] != 0.0;
                    if (!any_keep)
                        continue;
                    /* polarization, once per pixel by default: in lanes with --math=fast,
                     * else libm's atan2 and cos lane by lane */
                    if (K->math_fast) {
                        const double inc0[3] = {-K->src[5 * j], -K->src[5 * j + 1],
                                                -K->src[5 * j + 2]};
                        double need[W];
                        if (K->oversample_polar) {
#pragma omp simd
                            for (int l = 0; l < W; l++)
                                need[l] = keep[l];
                        } else {
#pragma omp simd
                            for (int l = 0; l < W; l++)
                                need[l] = polar[l] == 0.0 ? keep[l] : 0.0;
                        }
                        for (int l = 0; l < W; l++) {
                            double d[3] = {dx[l], dy[l], dz[l]};
                            double inc[3] = {inc0[0], inc0[1], inc0[2]};
                            double p = nb_polarization_fast(K->kahn, inc, d, K->polar_axis);
                            polar[l] = need[l] != 0.0 ? p : polar[l];
                            dx[l] = need[l] != 0.0 ? d[0] : dx[l];
                            dy[l] = need[l] != 0.0 ? d[1] : dy[l];
                            dz[l] = need[l] != 0.0 ? d[2] : dz[l];
                        }
                    } else {
                        for (int l = 0; l < W; l++)
                            if (keep[l] != 0.0 && (polar[l] == 0.0 || K->oversample_polar)) {
                                double d[3] = {dx[l], dy[l], dz[l]};
                                double inc[3] = {-K->src[5 * j], -K->src[5 * j + 1],
                                                 -K->src[5 * j + 2]};
                                polar[l] = nb_polar(K, inc, d);
                                dx[l] = d[0], dy[l] = d[1], dz[l] = d[2];
                            }
                    }
                    const double w = K->src[5 * j + 4];
                    for (int ip = 0; ip < nphi; ip++)
                        for (int m = 0; m < ndom; m++) {
                            const double *v = K->lat_rest + 9 * ((long)ip * ndom + m);
                            if (common && !K->hkls) {
#pragma omp simd
                                for (int l = 0; l < W; l++)
                                    I[l] = NB_LTERM(K, v, Fg, qx[l], qy[l], qz[l], keep[l], I[l],
                                                    w, capture[l], polar[l], omega[l], 1, 0);
                            } else if (common) {
#pragma omp simd
                                for (int l = 0; l < W; l++)
                                    I[l] = NB_LTERM(K, v, Fg, qx[l], qy[l], qz[l], keep[l], I[l],
                                                    w, capture[l], polar[l], omega[l], 1, 1);
                            } else {
                                for (int l = 0; l < W; l++)
                                    I[l] = NB_LTERM(K, v, Fg, qx[l], qy[l], qz[l], keep[l], I[l],
                                                    w, capture[l], polar[l], omega[l], 0, 0);
                            }
                        }
                }
            }
        }
    }
    for (int l = 0; l < nl; l++) {
        if (!act[l]) {
            val[l] = 0.0f;
            continue;
        }
        double test = K->r_e_sqr * K->fluence * I[l] / K->steps;
        if (!K->oversample_thick)
            test *= capture[l];
        if (!K->oversample_polar)
            test *= polar[l];
        if (!K->oversample_omega)
            test *= omega[l];
        val[l] = (float)(0.0 + test);
    }
}
