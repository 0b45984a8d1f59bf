/* nb_setup_crystal.c -- set-up stage 3: the crystal (spec/geometry.md §11-§13).
 *
 * -cell, -mat and misset (random misset from the shared generator) give the reciprocal
 * vectors; the real-space vectors, the printed cell, the crystal size and the oversampling
 * follow, in the reference's order and arithmetic.  Echo lines go to the caller's sink.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_setup.h"
#include "nb_setup_internal.h"

/* ===================================================================== stage 3 */

static void warn_angles(const struct nb_msg_sink *out, const char *title, const char *const names[6],
                        const double vals[6])
{
    int odd = 0;
    for (int i = 0; i < 6; i++)
        if (vals[i] > 1.0000001 || vals[i] < -1.0000001)
            odd = 1;
    if (!odd)
        return;
    nb_emitf(out, "%s", title);
    for (int i = 0; i < 6; i++)
        nb_emitf(out, "%s = %.25g\n", names[i], vals[i]);
}

/* Clamp sines to [-1, 1]; a cosine whose square exceeds 1 becomes +1 (geometry.md §11). */
static void clamp_angles(double *s, double *cs)
{
    for (int i = 0; i < 3; i++) {
        if (s[i] > 1.0)
            s[i] = 1.0;
        if (s[i] < -1.0)
            s[i] = -1.0;
        if (cs[i] * cs[i] > 1.0)
            cs[i] = 1.0;
    }
}

/* Reciprocal orientation from -cell (geometry.md §11).  Lengths in Angstrom. */
static nb_status cell_to_reciprocal(const struct nb_config *c, double abc[3], double *V_cell_out,
                                    double *as, double *bs, double *cs,
                                    const struct nb_msg_sink *out, struct nb_err *err)
{
    double a = c->cell_a, b = c->cell_b, cc = c->cell_c;
    double alpha = c->cell_alpha, beta = c->cell_beta, gamma = c->cell_gamma;
    if (b <= 0.0)
        b = a;
    if (cc <= 0.0)
        cc = a;
    if (alpha <= 0.0)
        alpha = NB_PI / 2;
    if (beta <= 0.0)
        beta = NB_PI / 2;
    if (gamma <= 0.0)
        gamma = NB_PI / 2;
    /* a cell whose angles cannot close is an error here, not a silent DBL_MIN volume */
    if (!(alpha < NB_PI && beta < NB_PI && gamma < NB_PI && alpha + beta + gamma < 2 * NB_PI &&
          alpha < beta + gamma && beta < alpha + gamma && gamma < alpha + beta)) {
        nb_err_set(err, "-cell: the angles %g %g %g (deg) cannot close a unit cell",
                   alpha * NB_RTD, beta * NB_RTD, gamma * NB_RTD);
        return NB_E_USAGE;
    }
    double aavg = (alpha + beta + gamma) / 2;
    double skew = sin(aavg) * sin(aavg - alpha) * sin(aavg - beta) * sin(aavg - gamma);
    if (skew < 0.0)
        skew = -skew;
    double V_cell = 2.0 * a * b * cc * sqrt(skew);
    if (!(V_cell > 0.0) || !isfinite(V_cell)) {
        nb_err_set(err, "-cell: the cell has no volume (%g A^3)", V_cell);
        return NB_E_USAGE;
    }
    double V_star = 1.0 / V_cell;
    double as_len = b * cc * sin(alpha) * V_star;
    double bs_len = cc * a * sin(beta) * V_star;
    double cs_len = a * b * sin(gamma) * V_star;
    if (as_len <= 0.0 || bs_len <= 0.0 || cs_len <= 0.0) {
        nb_emitf(out, "WARNING: impossible reciprocal cell lengths: %g %g %g\n", as_len, bs_len,
                 cs_len);
        as_len = fabs(as_len);
        bs_len = fabs(bs_len);
        cs_len = fabs(cs_len);
        if (as_len <= 0.0)
            as_len = DBL_MIN;
        if (bs_len <= 0.0)
            bs_len = DBL_MIN;
        if (cs_len <= 0.0)
            cs_len = DBL_MIN;
    }
    double s[3], co[3];
    s[0] = a * V_star / bs_len / cs_len;
    s[1] = b * V_star / as_len / cs_len;
    s[2] = cc * V_star / as_len / bs_len;
    co[0] = (cos(beta) * cos(gamma) - cos(alpha)) / (sin(beta) * sin(gamma));
    co[1] = (cos(gamma) * cos(alpha) - cos(beta)) / (sin(gamma) * sin(alpha));
    co[2] = (cos(alpha) * cos(beta) - cos(gamma)) / (sin(alpha) * sin(beta));
    {
        static const char *const names[6] = {"sin(alpha_star)", "cos(alpha_star)",
                                             "sin(beta_star) ", "cos(beta_star) ",
                                             "sin(gamma_star)", "cos9gamma_star)"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball reciprocal cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    set3(as, as_len, 0.0, 0.0);
    set3(bs, bs_len * co[2], bs_len * s[2], 0.0);
    set3(cs, cs_len * co[1], cs_len * (co[0] - co[1] * co[2]) / s[2],
         cs_len * V_cell / (a * b * cc * s[2]));
    abc[0] = a;
    abc[1] = b;
    abc[2] = cc;
    *V_cell_out = V_cell;
    return NB_OK;
}

/* Uniformly distributed rotation (Shoemake) from three deviates of the misset stream. */
static void uniform_umat(struct nb_rng *rng, long *seed, double u[9])
{
    double u1 = nb_ran1(rng, seed), u2 = nb_ran1(rng, seed), u3 = nb_ran1(rng, seed);
    double q1 = sqrt(1 - u1) * sin(2 * NB_PI * u2), q2 = sqrt(1 - u1) * cos(2 * NB_PI * u2);
    double q3 = sqrt(u1) * sin(2 * NB_PI * u3), q0 = sqrt(u1) * cos(2 * NB_PI * u3);
    u[0] = 1 - 2 * (q2 * q2 + q3 * q3);
    u[1] = 2 * (q1 * q2 - q0 * q3);
    u[2] = 2 * (q1 * q3 + q0 * q2);
    u[3] = 2 * (q1 * q2 + q0 * q3);
    u[4] = 1 - 2 * (q1 * q1 + q3 * q3);
    u[5] = 2 * (q2 * q3 - q0 * q1);
    u[6] = 2 * (q1 * q3 - q0 * q2);
    u[7] = 2 * (q2 * q3 + q0 * q1);
    u[8] = 1 - 2 * (q1 * q1 + q2 * q2);
}

static void rescale(double *v, double new_mag)
{
    double old = nb_v_mag(v);
    if (old <= 0.0)
        old = 1.0;
    for (int i = 0; i < 3; i++)
        v[i] = new_mag / old * v[i];
}

nb_status nb_setup_crystal(const struct nb_config *c, struct nb_scene *sc,
                           const struct nb_msg_sink *out, struct nb_err *err)
{
    double as[3] = {0, 0, 0}, bs[3] = {0, 0, 0}, cs[3] = {0, 0, 0};
    double abc[3] = {c->cell_a, c->cell_b, c->cell_c};
    double V_cell = 0.0;
    nb_status st;
    if (c->user_cell) {
        if ((st = cell_to_reciprocal(c, abc, &V_cell, as, bs, cs, out, err)) != NB_OK)
            return st;
    }
    if (c->have_mat) {
        nb_emitf(out, "reading %s\n", c->mat_name ? c->mat_name : "matrix");
        for (int i = 0; i < 3; i++) {
            as[i] = c->mat[3 * i + 0];
            bs[i] = c->mat[3 * i + 1];
            cs[i] = c->mat[3 * i + 2];
        }
        double f = 1e-10 / sc->lambda0;
        scale3(as, as, f);
        scale3(bs, bs, f);
        scale3(cs, cs, f);
    }
    double misset[3] = {c->misset[0], c->misset[1], c->misset[2]};
    int apply_misset = c->misset_mode == NB_MISSET_ANGLES;
    if (c->misset_mode == NB_MISSET_RANDOM) {
        double u[9];
        if (c->random_misset_uniform)
            uniform_umat(&sc->rng, &sc->misset_seed, u);
        else
            nb_mosaic_umat(&sc->rng, 90.0f, u, &sc->misset_seed); /* cap of "90" radians (Q09) */
        nb_umat2misset(u, misset);
        nb_emitf(out, "random orientation misset angles: %f %f %f deg\n", misset[0] * NB_RTD,
                 misset[1] * NB_RTD, misset[2] * NB_RTD);
        apply_misset = 1;
    }
    for (int i = 0; i < 3; i++)
        sc->misset_deg[i] = misset[i] * NB_RTD;
    if (apply_misset) {
        nb_rotate_xyz(as, as, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(bs, bs, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(cs, cs, misset[0], misset[1], misset[2]);
    }

    /* real-space vectors (geometry.md §13) */
    double axb[3], bxc[3], cxa[3];
    nb_v_cross(as, bs, axb);
    nb_v_cross(bs, cs, bxc);
    nb_v_cross(cs, as, cxa);
    double V_star = nb_v_dot(as, bxc);
    if (c->have_mat && (!(fabs(V_star) > 0.0) || !isfinite(V_star))) {
        /* checked before -cell rescales the cross products: a singular matrix stays one */
        nb_err_set(err, "-mat %s: the orientation matrix is singular (its reciprocal vectors "
                   "span no volume)", c->mat_name ? c->mat_name : "");
        return NB_E_INPUT;
    }
    if (c->user_cell) {
        rescale(bxc, abc[0] / V_cell);
        rescale(cxa, abc[1] / V_cell);
        rescale(axb, abc[2] / V_cell);
        V_star = 1.0 / V_cell;
    }
    if (!(V_star != 0.0) || !isfinite(V_star)) {
        nb_err_set(err, "-mat: the orientation matrix is singular or not finite");
        return NB_E_INPUT;
    }
    V_cell = 1.0 / V_star;
    double a[3], b[3], cc[3];
    scale3(bxc, a, V_cell);
    scale3(cxa, b, V_cell);
    scale3(axb, cc, V_cell);
    double a_len = nb_v_mag(a), b_len = nb_v_mag(b), c_len = nb_v_mag(cc);
    double t[3];
    nb_v_cross(b, cc, t);
    scale3(t, sc->a_star, V_star);
    nb_v_cross(cc, a, t);
    scale3(t, sc->b_star, V_star);
    nb_v_cross(a, b, t);
    scale3(t, sc->c_star, V_star);
    double as_len = nb_v_mag(sc->a_star), bs_len = nb_v_mag(sc->b_star),
           cs_len = nb_v_mag(sc->c_star);

    double s[3], co[3];
    s[0] = as_len * V_cell / b_len / c_len;
    s[1] = bs_len * V_cell / a_len / c_len;
    s[2] = cs_len * V_cell / a_len / b_len;
    co[0] = nb_v_dot(b, cc) / b_len / c_len;
    co[1] = nb_v_dot(a, cc) / a_len / c_len;
    co[2] = nb_v_dot(a, b) / a_len / b_len;
    {
        static const char *const names[6] = {"sin_alpha", "cos_alpha", "sin_beta ",
                                             "cos_beta ", "sin_gamma", "cos_gamma"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    for (int i = 0; i < 3; i++)
        sc->cell[3 + i] = atan2(s[i], co[i]) * NB_RTD;
    s[0] = a_len * V_star / bs_len / cs_len;
    s[1] = b_len * V_star / as_len / cs_len;
    s[2] = c_len * V_star / as_len / bs_len;
    co[0] = nb_v_dot(sc->b_star, sc->c_star) / bs_len / cs_len;
    co[1] = nb_v_dot(sc->a_star, sc->c_star) / as_len / cs_len;
    co[2] = nb_v_dot(sc->a_star, sc->b_star) / as_len / bs_len;
    {
        static const char *const names[6] = {"sin(alpha_star)", "cos(alpha_star)",
                                             "sin(beta_star) ", "cos(beta_star) ",
                                             "sin(gamma_star)", "cos(gamma_star)"};
        double vals[6] = {s[0], co[0], s[1], co[1], s[2], co[2]};
        warn_angles(out, "WARNING: oddball reciprocal cell angles:\n", names, vals);
    }
    clamp_angles(s, co);
    for (int i = 0; i < 3; i++)
        sc->rcell[3 + i] = atan2(s[i], co[i]) * NB_RTD;
    sc->cell[0] = a_len;
    sc->cell[1] = b_len;
    sc->cell[2] = c_len;
    sc->rcell[0] = as_len;
    sc->rcell[1] = bs_len;
    sc->rcell[2] = cs_len;
    sc->V_cell = V_cell;
    nb_emitf(out, "Unit Cell: %g %g %g %g %g %g\n", sc->cell[0], sc->cell[1], sc->cell[2],
             sc->cell[3], sc->cell[4], sc->cell[5]);
    nb_emitf(out, "Recp Cell: %g %g %g %g %g %g\n", sc->rcell[0], sc->rcell[1], sc->rcell[2],
             sc->rcell[3], sc->rcell[4], sc->rcell[5]);
    nb_emitf(out, "volume = %g A^3\n", V_cell);
    nb_emitf(out, "real-space cell vectors (Angstrom):\n");
    nb_emitf(out, "     %-10s  %-10s  %-10s\n", "a", "b", "c");
    for (int i = 0; i < 3; i++)
        nb_emitf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], a[i], b[i], cc[i]);
    nb_emitf(out, "reciprocal-space cell vectors (Angstrom^-1):\n");
    nb_emitf(out, "     %-10s  %-10s  %-10s\n", "a_star", "b_star", "c_star");
    for (int i = 0; i < 3; i++)
        nb_emitf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], sc->a_star[i], sc->b_star[i],
                 sc->c_star[i]);

    /* metres: phi = 0, no mosaic */
    scale3(a, sc->a0, 1e-10);
    scale3(b, sc->b0, 1e-10);
    scale3(cc, sc->c0, 1e-10);
    a_len = nb_v_mag(sc->a0);
    b_len = nb_v_mag(sc->b0);
    c_len = nb_v_mag(sc->c0);

    /* crystal size (geometry.md §13.7) */
    double Na = c->Na, Nb = c->Nb, Nc = c->Nc;
    if (sc->xtal_size[0] > 0)
        Na = ceil(sc->xtal_size[0] / a_len);
    if (sc->xtal_size[1] > 0)
        Nb = ceil(sc->xtal_size[1] / b_len);
    if (sc->xtal_size[2] > 0)
        Nc = ceil(sc->xtal_size[2] / c_len);
    if (Na <= 1.0)
        Na = 1.0;
    if (Nb <= 1.0)
        Nb = 1.0;
    if (Nc <= 1.0)
        Nc = 1.0;
    sc->Na = Na;
    sc->Nb = Nb;
    sc->Nc = Nc;
    double xa = a_len * Na, xb = b_len * Nb, xc = c_len * Nc;
    sc->xtal_size[0] = xa;
    sc->xtal_size[1] = xb;
    sc->xtal_size[2] = xc;
    nb_emitf(out, "crystal is %g x %g x %g microns\n", xa * 1e6, xb * 1e6, xc * 1e6);
    double xmax = xa;
    if (xmax < xb)
        xmax = xb;
    if (xmax < xc)
        xmax = xc;
    double rps = sc->lambda0 * sc->distance / sc->pixel_size;
    double rec = ceil(3.0 * xmax / rps);
    if (c->oversample <= 0 && !(rec < 1e6)) {
        nb_err_set(err, "-oversample: the crystal (%g m) needs %g-fold oversampling; give "
                   "-oversample explicitly", xmax, rec);
        return NB_E_USAGE;
    }
    /* A detector rotated so that the beam meets its plane behind the sample (distance < 0)
     * makes the estimate negative; beyond an int, the reference's (int) cast of it is
     * undefined behaviour, so automatic oversampling is refused there (docs/cli.md §1.2). */
    if (c->oversample <= 0 && !(rec >= -2147483648.0)) {
        nb_err_set(err, "-oversample: the automatic estimate (%g) is undefined: the detector "
                   "geometry (-distance, -close_distance, -twotheta, -detector_rot*) puts the "
                   "beam spot %g m behind the sample; give -oversample explicitly", rec,
                   -sc->distance);
        return NB_E_USAGE;
    }
    /* With -oversample given, the estimate only decides a warning: converted as x86-64
     * converts it (a value beyond an int gives INT_MIN, hence 1), without undefined behaviour */
    sc->recommended_oversample = nb_d2i(rec);
    if (sc->recommended_oversample <= 0)
        sc->recommended_oversample = 1;
    sc->oversample = c->oversample;
    if (sc->oversample <= 0) {
        sc->oversample = sc->recommended_oversample;
        nb_emitf(out, "auto-selected %d-fold oversampling\n", sc->oversample);
    }
    if (sc->oversample < sc->recommended_oversample) {
        nb_emitf(out, "WARNING: maximum dimension of sample is %g A\n", xmax * 1e10);
        nb_emitf(out, "         but reciprocal pixel size is %g A\n", rps * 1e10);
        nb_emitf(out, "         intensity may vary significantly across a pixel!\n");
        nb_emitf(out, "         recommend -oversample %d to work around this\n",
                 sc->recommended_oversample);
    }
    double volume = xa * xb * xc;
    double molecules = Na * Nb * Nc;
    nb_emitf(out, "approximate MW = %g\n", volume * 1.2e6 * AVOGADRO / molecules);
    return NB_OK;
}

