/* nb_cli_parse.c -- nanoBragg's command-line rules, in the reference's order (see nb_cli.h).
 *
 * Each rule names its pattern, how it matches in the legacy model (substring, exact, or
 * substring with a length condition) and how many tokens must follow for it to fire.  Unit
 * conversions are exactly those of spec/cli.md §2 (mm /1000.0, Angstrom /1.0e10, deg /RTD ...).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/nb_physics.h"
#include "../util/nb_sys.h"
#include "nb_cli.h"

enum { SUB = 0, EXACT, LEN_EQ, LEN_GT };

struct pstate {
    int argc;
    char **argv;
    int i;              /* index of the token being examined */
    const char *tok;
    int strict;
    int matched;        /* some rule matched the token's name */
    int consume;        /* strict mode: value tokens to skip   */
    struct nb_cli *cli;
    struct nb_err *err;
    nb_status st;
};

static void note(struct nb_cli *cli, const char *fmt, ...) NB_PRINTF(2, 3);
static void note(struct nb_cli *cli, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    char *nb = realloc(cli->notes, cli->notes_len + (size_t)n + 1);
    if (!nb)
        return;
    memcpy(nb + cli->notes_len, line, (size_t)n + 1);
    cli->notes = nb;
    cli->notes_len += (size_t)n;
}

static void fail(struct pstate *p, nb_status st, const char *fmt, ...) NB_PRINTF(3, 4);
static void fail(struct pstate *p, nb_status st, const char *fmt, ...)
{
    if (p->st != NB_OK)
        return; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    p->st = st;
}

static int name_matches(const struct pstate *p, const char *pat, int mode, int len)
{
    const char *t = p->tok;
    if (p->strict)
        return strcmp(t, pat) == 0;
    switch (mode) {
    case EXACT: return strcmp(t, pat) == 0;
    case LEN_EQ: return strstr(t, pat) && (int)strlen(t) == len;
    case LEN_GT: return strstr(t, pat) && (int)strlen(t) > len;
    default: return strstr(t, pat) != NULL;
    }
}

/* Does the rule fire?  `need` tokens must follow.  Up to two strict-mode aliases. */
static int hit(struct pstate *p, const char *pat, int mode, int len, int need, const char *al1,
               const char *al2)
{
    int m = name_matches(p, pat, mode, len);
    if (!m && p->strict)
        m = (al1 && strcmp(p->tok, al1) == 0) || (al2 && strcmp(p->tok, al2) == 0);
    if (!m)
        return 0;
    p->matched = 1;
    if (p->argc > p->i + need) {
        if (need > p->consume)
            p->consume = need;
        return 1;
    }
    fail(p, NB_E_USAGE, "%s: missing value (needs %d)", p->tok, need);
    return 0;
}

static const char *arg(const struct pstate *p, int k)
{
    return p->argv[p->i + k];
}

/* A value that must be entirely a finite number. */
static double num(struct pstate *p, int k)
{
    const char *s = arg(p, k);
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) {
        fail(p, NB_E_USAGE, "%s: '%s' is not a finite number", p->tok, s);
        return 0.0;
    }
    return v;
}

/* An integer value: it must be entirely a finite number (else an error), and is then read as
 * C atoi reads it, from its leading digits ("5.7" -> 5, "1e3" -> 1), as nanoBragg does; a
 * NOTE says so whenever that is not the number written. */
static long inum(struct pstate *p, int k)
{
    const char *s = arg(p, k);
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(x)) {
        fail(p, NB_E_USAGE, "%s: '%s' is not a finite number", p->tok, s);
        return 0;
    }
    long v = strtol(s, NULL, 10);
    if (v > 2147483647L || v < -2147483647L) {
        fail(p, NB_E_USAGE, "%s: '%s' is out of range", p->tok, s);
        return 0;
    }
    if ((double)v != x)
        note(p->cli, "NOTE: %s %s read as the integer %ld (its leading digits, as nanoBragg "
                     "reads it)\n", p->tok, s, v);
    return v;
}

static double positive(struct pstate *p, int k)
{
    double v = num(p, k);
    if (p->st == NB_OK && !(v > 0.0))
        fail(p, NB_E_USAGE, "%s: must be positive (got %s)", p->tok, arg(p, k));
    return v;
}

static int count(struct pstate *p, int k)
{
    long v = inum(p, k);
    if (p->st == NB_OK && v <= 0)
        fail(p, NB_E_USAGE, "%s: must be a positive count (got %s)", p->tok, arg(p, k));
    return (int)v;
}

static void vec3(struct pstate *p, double *v)
{
    v[0] = num(p, 1);
    v[1] = num(p, 2);
    v[2] = num(p, 3);
    if (p->st == NB_OK && v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0)
        fail(p, NB_E_USAGE, "%s: zero vector has no direction", p->tok);
}

static int is_number_token(const char *t)
{
    char *end;
    strtod(t, &end);
    return end != t && *end == '\0';
}

/* ------------------------------------------------------------------ the rule list */

static void rules_crystal(struct pstate *p)
{
    struct nb_config *c = &p->cli->cfg;
    if (hit(p, "-Na", SUB, 0, 1, NULL, NULL)) {
        c->Na = (double)inum(p, 1);
        return;
    }
    if (hit(p, "-Nb", SUB, 0, 1, NULL, NULL)) {
        c->Nb = (double)inum(p, 1);
        return;
    }
    if (hit(p, "-Nc", SUB, 0, 1, NULL, NULL)) {
        c->Nc = (double)inum(p, 1);
        return;
    }
    if (hit(p, "-N", EXACT, 0, 1, NULL, NULL)) {
        c->Na = c->Nb = c->Nc = (double)inum(p, 1);
        return;
    }
    if (hit(p, "-cell", SUB, 0, 1, NULL, NULL)) {
        double *dst[6] = {&c->cell_a, &c->cell_b, &c->cell_c, &c->cell_alpha, &c->cell_beta,
                          &c->cell_gamma};
        c->user_cell = 1;
        int n = 0;
        for (int k = 1; k <= 6 && p->argc > p->i + k && arg(p, k)[0] != '-'; k++) {
            double v = num(p, k);
            if (p->st != NB_OK)
                return;
            if (k <= 3 && !(v > 0.0)) {
                fail(p, NB_E_USAGE, "-cell: edge %s must be positive", arg(p, k));
                return;
            }
            *dst[k - 1] = k <= 3 ? v : v / NB_RTD;
            n = k;
        }
        if (n > p->consume)
            p->consume = n;
        if (n == 0 && p->st == NB_OK)
            fail(p, NB_E_USAGE, "-cell: needs the edge lengths a [b c alpha beta gamma] "
                 "(Angstrom, degrees), found '%s'", arg(p, 1));
    }
    if (strcmp(p->tok, "-misset") == 0) {
        p->matched = 1;
        if (p->argc > p->i + 1 && strstr(arg(p, 1), "rand")) {
            c->misset_mode = NB_MISSET_RANDOM;
            if (p->consume < 1)
                p->consume = 1;
            return;
        }
        if (p->argc > p->i + 3) {
            c->misset_mode = NB_MISSET_ANGLES;
            c->misset[0] = num(p, 1) / NB_RTD;
            c->misset[1] = num(p, 2) / NB_RTD;
            c->misset[2] = num(p, 3) / NB_RTD;
            if (p->consume < 3)
                p->consume = 3;
        } else {
            fail(p, NB_E_USAGE, "-misset: needs three angles or 'random'");
        }
    }
    if (hit(p, "-samplesize", SUB, 0, 1, "-sample_size", NULL) ||
        (!p->strict && hit(p, "-sample_size", SUB, 0, 1, NULL, NULL)))
        c->sample_x = c->sample_y = c->sample_z = num(p, 1) / 1000;
    if (hit(p, "-sample_thick", SUB, 0, 1, "-sample_x", NULL) ||
        (!p->strict && hit(p, "-sample_x", SUB, 0, 1, NULL, NULL)))
        c->sample_x = num(p, 1) / 1000;
    if (hit(p, "-sample_width", SUB, 0, 1, "-sample_y", "-width") ||
        (!p->strict && (hit(p, "-sample_y", SUB, 0, 1, NULL, NULL) ||
                        hit(p, "-width", SUB, 0, 1, NULL, NULL))))
        c->sample_y = num(p, 1) / 1000;
    if (hit(p, "-sample_heigh", SUB, 0, 1, "-sample_z", "-sample_height") ||
        (!p->strict && (hit(p, "-sample_z", SUB, 0, 1, NULL, NULL) ||
                        hit(p, "-heigh", SUB, 0, 1, NULL, NULL))) ||
        (p->strict && hit(p, "-height", SUB, 0, 1, NULL, NULL)))
        c->sample_z = num(p, 1) / 1000;
    if (hit(p, "-xtalsize", SUB, 0, 1, "-xtal_size", NULL) ||
        (!p->strict && hit(p, "-xtal_size", SUB, 0, 1, NULL, NULL)))
        c->sample_x = c->sample_y = c->sample_z = num(p, 1) / 1000;
    if (hit(p, "-xtal_thick", SUB, 0, 1, "-xtal_x", NULL) ||
        (!p->strict && hit(p, "-xtal_x", SUB, 0, 1, NULL, NULL)))
        c->sample_x = num(p, 1) / 1000;
    if (hit(p, "-xtal_width", SUB, 0, 1, "-xtal_y", NULL) ||
        (!p->strict && (hit(p, "-xtal_y", SUB, 0, 1, NULL, NULL) ||
                        hit(p, "-width", SUB, 0, 1, NULL, NULL))))
        c->sample_y = num(p, 1) / 1000;
    if (hit(p, "-xtal_heigh", SUB, 0, 1, "-xtal_z", "-xtal_height") ||
        (!p->strict && (hit(p, "-xtal_z", SUB, 0, 1, NULL, NULL) ||
                        hit(p, "-heigh", SUB, 0, 1, NULL, NULL))))
        c->sample_z = num(p, 1) / 1000;
    if (hit(p, "-density", SUB, 0, 1, "-sample_den", "-sample_density") ||
        (!p->strict && hit(p, "-sample_den", SUB, 0, 1, NULL, NULL)))
        (void)num(p, 1); /* parsed, no effect */
    if (hit(p, "-MW", EXACT, 0, 1, "-molec", "-molecular_weight") ||
        (!p->strict && hit(p, "-molec", SUB, 0, 1, NULL, NULL)))
        (void)num(p, 1);
}

static void rules_detector(struct pstate *p)
{
    struct nb_config *c = &p->cli->cfg;
    if (hit(p, "-Xbeam", SUB, 0, 1, NULL, NULL)) {
        c->Xbeam = num(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_BEAM;
    }
    if (hit(p, "-Ybeam", SUB, 0, 1, NULL, NULL)) {
        c->Ybeam = num(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_BEAM;
    }
    if (hit(p, "-Xclose", SUB, 0, 1, NULL, NULL)) {
        c->Xclose = num(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_SAMPLE;
    }
    if (hit(p, "-Yclose", SUB, 0, 1, NULL, NULL)) {
        c->Yclose = num(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_SAMPLE;
    }
    if (hit(p, "-ORGX", SUB, 0, 1, NULL, NULL)) {
        c->ORGX = num(p, 1);
        c->pivot = NB_PIVOT_SAMPLE;
    }
    if (hit(p, "-ORGY", SUB, 0, 1, NULL, NULL)) {
        c->ORGY = num(p, 1);
        c->pivot = NB_PIVOT_SAMPLE;
    }
    if (hit(p, "-pivot", SUB, 0, 1, NULL, NULL)) {
        int known = 0;
        if (strstr(arg(p, 1), "sample")) {
            c->pivot = NB_PIVOT_SAMPLE;
            known = 1;
        }
        if (strstr(arg(p, 1), "beam")) {
            c->pivot = NB_PIVOT_BEAM;
            known = 1;
        }
        if (!known)
            note(p->cli, "NOTE: -pivot %s names neither 'beam' nor 'sample'; ignored\n", arg(p, 1));
    }
    static const struct {
        const char *name;
        int conv, pivot;
    } convs[] = {{"-mosflm", NB_CONV_MOSFLM, NB_PIVOT_BEAM}, {"-xds", NB_CONV_XDS, NB_PIVOT_SAMPLE},
                 {"-adxv", NB_CONV_ADXV, NB_PIVOT_BEAM},     {"-denzo", NB_CONV_DENZO, NB_PIVOT_BEAM},
                 {"-dials", NB_CONV_DIALS, NB_PIVOT_BEAM}};
    for (size_t k = 0; k < sizeof convs / sizeof convs[0]; k++)
        if (hit(p, convs[k].name, SUB, 0, 0, NULL, NULL)) {
            c->convention = convs[k].conv;
            c->pivot = convs[k].pivot;
        }
    static const char *const vnames[] = {"-fdet_vector", "-sdet_vector", "-odet_vector",
                                         "-beam_vector", "-polar_vector", "-spindle_axis",
                                         "-twotheta_axis"};
    double *vdst[] = {c->fdet, c->sdet, c->odet, c->beam, c->polar, c->spindle, c->twotheta_axis};
    for (int k = 0; k < 7; k++)
        if (hit(p, vnames[k], SUB, 0, 3, NULL, NULL)) {
            c->convention = NB_CONV_CUSTOM;
            vec3(p, vdst[k]);
        }
    if (hit(p, "-pix0_vector", SUB, 0, 3, "-pix0_vector_mm", NULL)) {
        /* Q06: stored, never used unless --honor-pix0; only switches to CUSTOM */
        c->convention = NB_CONV_CUSTOM;
        c->pix0[0] = num(p, 1);
        c->pix0[1] = num(p, 2);
        c->pix0[2] = num(p, 3);
        c->pix0_given = strstr(p->tok, "_mm") ? 2 : 1;
        if (!c->honor_pix0)
            note(p->cli, "NOTE: %s values are not used, it only selects the CUSTOM convention "
                         "(as in nanoBragg); --honor-pix0 uses them\n", p->tok);
    }
    if (hit(p, "-distance", SUB, 0, 1, NULL, NULL)) {
        c->distance = positive(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_BEAM;
    }
    if (hit(p, "-close_distance", SUB, 0, 1, NULL, NULL)) {
        c->close_distance = positive(p, 1) / 1000.0;
        c->pivot = NB_PIVOT_SAMPLE;
    }
    /* these four fire even as the last token in the reference (and crash it); here the
     * missing value is the usual error */
    if (hit(p, "-detector_abs", SUB, 0, 1, "-detector_absorb", NULL)) {
        const char *v = arg(p, 1);
        if (strstr(v, "inf")) {
            c->detector_thick = 0.0;
            c->detector_mu = 0.0;
        } else {
            double x = num(p, 1);
            if (x == 0.0) {
                c->detector_thick = 0.0;
                c->detector_mu = 0.0;
            } else {
                c->detector_mu = 1.0 / (x * 1e-6);
            }
        }
    }
    if (hit(p, "-detector_thick", LEN_EQ, 15, 1, NULL, NULL))
        c->detector_thick = num(p, 1) * 1e-6;
    if (hit(p, "-detector_thicksteps", SUB, 0, 1, NULL, NULL))
        c->detector_thicksteps = count(p, 1);
    if (hit(p, "-thicksteps", SUB, 0, 1, NULL, NULL))
        c->detector_thicksteps = count(p, 1);
    if (hit(p, "-twotheta", SUB, 0, 1, NULL, NULL)) {
        /* also fires on -twotheta_axis (Q05): the axis's first component becomes the angle */
        c->twotheta = num(p, 1) / NB_RTD;
        c->pivot = NB_PIVOT_SAMPLE;
        if (strcmp(p->tok, "-twotheta") != 0 && p->st == NB_OK)
            note(p->cli, "NOTE: %s also set the two-theta angle to %s deg and the SAMPLE pivot "
                         "(nanoBragg's substring match); --strict-cli avoids this\n",
                 p->tok, arg(p, 1));
    }
    if (hit(p, "-detector_rotx", SUB, 0, 1, NULL, NULL))
        c->rotx = num(p, 1) / NB_RTD;
    if (hit(p, "-detector_roty", SUB, 0, 1, NULL, NULL))
        c->roty = num(p, 1) / NB_RTD;
    if (hit(p, "-detector_rotz", SUB, 0, 1, NULL, NULL))
        c->rotz = num(p, 1) / NB_RTD;
    if (hit(p, "-detsize", LEN_EQ, 8, 1, NULL, NULL))
        c->detsize_f = c->detsize_s = positive(p, 1) / 1000.0;
    if (hit(p, "-detsize_f", SUB, 0, 1, NULL, NULL))
        c->detsize_f = positive(p, 1) / 1000.0;
    if (hit(p, "-detsize_s", SUB, 0, 1, NULL, NULL))
        c->detsize_s = positive(p, 1) / 1000.0;
    if (hit(p, "-detpixels", LEN_EQ, 10, 1, NULL, NULL))
        c->fpixels = c->spixels = count(p, 1);
    if (hit(p, "-detpixels_f", SUB, 0, 1, "-detpixels_x", NULL) ||
        (!p->strict && hit(p, "-detpixels_x", SUB, 0, 1, NULL, NULL)))
        c->fpixels = count(p, 1);
    if (hit(p, "-detpixels_s", SUB, 0, 1, "-detpixels_y", NULL) ||
        (!p->strict && hit(p, "-detpixels_y", SUB, 0, 1, NULL, NULL)))
        c->spixels = count(p, 1);
    if (name_matches(p, "-curved_det", SUB, 0)) {
        /* Q29: the reference honours it only when some token follows (never read) */
        p->matched = 1;
        if (p->strict || p->argc > p->i + 1) {
            c->curved_det = 1;
        } else {
            note(p->cli, "NOTE: -curved_det is the last token; like nanoBragg we ignore it "
                         "(it needs a following token)\n");
        }
    }
    if (hit(p, "-pixel", SUB, 0, 1, "-pixel_size", NULL))
        c->pixel_size = positive(p, 1) / 1000.0;
    if (hit(p, "-point_pixel", SUB, 0, 0, NULL, NULL))
        c->point_pixel = 1;
}

static void rules_beam(struct pstate *p)
{
    struct nb_config *c = &p->cli->cfg;
    if (hit(p, "-polar", LEN_EQ, 6, 1, NULL, NULL)) {
        c->polarization = num(p, 1);
        c->nopolar = 0;
    }
    if (hit(p, "-nopolar", SUB, 0, 0, NULL, NULL))
        c->nopolar = 1;
    if (hit(p, "-oversample_thick", SUB, 0, 0, NULL, NULL)) {
        c->oversample_thick = 1;
        p->i = -p->i - 1; /* "stop": signal to the caller */
        return;
    }
    if (hit(p, "-oversample_polar", SUB, 0, 0, NULL, NULL)) {
        c->oversample_polar = 1;
        p->i = -p->i - 1;
        return;
    }
    if (hit(p, "-oversample_omega", SUB, 0, 0, NULL, NULL)) {
        c->oversample_omega = 1;
        p->i = -p->i - 1;
        return;
    }
    if (hit(p, "-oversample", SUB, 0, 1, NULL, NULL)) {
        c->oversample = (int)inum(p, 1);
        if (p->st == NB_OK && c->oversample < 0)
            fail(p, NB_E_USAGE, "-oversample: must be 0 (automatic) or positive (got %s)",
                 arg(p, 1));
    }
    if (hit(p, "-roi", SUB, 0, 4, NULL, NULL)) {
        c->roi_xmin = (int)inum(p, 1);
        c->roi_xmax = (int)inum(p, 2);
        c->roi_ymin = (int)inum(p, 3);
        c->roi_ymax = (int)inum(p, 4);
    }
    if (hit(p, "-lambda", SUB, 0, 1, "-wavelength", "-wave") ||
        (!p->strict && hit(p, "-wave", SUB, 0, 1, NULL, NULL)))
        c->lambda0 = positive(p, 1) / 1.0e10;
    if (hit(p, "-energy", SUB, 0, 1, NULL, NULL))
        c->lambda0 = (12398.42 / positive(p, 1)) / 1.0e10;
    if (hit(p, "-fluence", SUB, 0, 1, NULL, NULL))
        c->fluence = num(p, 1);
    if (hit(p, "-flux", SUB, 0, 1, NULL, NULL))
        c->flux = num(p, 1);
    if (hit(p, "-exposure", SUB, 0, 1, NULL, NULL))
        c->exposure = num(p, 1);
    if (hit(p, "-beamsize", SUB, 0, 1, NULL, NULL))
        c->beamsize = num(p, 1) / 1000;
    if (hit(p, "-mosaic", LEN_EQ, 7, 1, "-mosaic_spread", NULL) ||
        (!p->strict && (hit(p, "-mosaici", SUB, 0, 1, NULL, NULL) ||
                        hit(p, "-mosaic_spr", SUB, 0, 1, NULL, NULL))))
        c->mosaic_spread = num(p, 1) / NB_RTD;
    if (hit(p, "-mosaic_dom", SUB, 0, 1, "-mosaic_domains", NULL))
        c->mosaic_domains = count(p, 1);
    if (hit(p, "-dispersion", SUB, 0, 1, NULL, NULL))
        c->dispersion = num(p, 1) / 100.0;
    if (hit(p, "-dispsteps", SUB, 0, 1, NULL, NULL))
        c->dispsteps = count(p, 1);
    if (hit(p, "-divergence", SUB, 0, 1, NULL, NULL))
        c->hdivrange = c->vdivrange = num(p, 1) / 1000.0;
    if (hit(p, "-hdivrange", SUB, 0, 1, NULL, NULL))
        c->hdivrange = num(p, 1) / 1000.0;
    if (hit(p, "-vdivrange", SUB, 0, 1, NULL, NULL))
        c->vdivrange = num(p, 1) / 1000.0;
    if (hit(p, "-hdivstep", LEN_EQ, 9, 1, NULL, NULL))
        c->hdivstep = num(p, 1) / 1000.0;
    if (hit(p, "-hdivsteps", SUB, 0, 1, NULL, NULL))
        c->hdivsteps = count(p, 1);
    if (hit(p, "-vdivstep", LEN_EQ, 9, 1, NULL, NULL))
        c->vdivstep = num(p, 1) / 1000.0;
    if (hit(p, "-vdivsteps", SUB, 0, 1, NULL, NULL))
        c->vdivsteps = count(p, 1);
    if (hit(p, "-divsteps", SUB, 0, 1, NULL, NULL))
        c->hdivsteps = c->vdivsteps = count(p, 1);
    if (hit(p, "-round_div", SUB, 0, 0, NULL, NULL))
        c->round_div = 1;
    if (hit(p, "-square_div", SUB, 0, 0, NULL, NULL))
        c->round_div = 0;
    if (hit(p, "-adc", SUB, 0, 1, "-adc_offset", NULL))
        p->cli->adc = num(p, 1);
    if (hit(p, "-phi", LEN_EQ, 4, 1, NULL, NULL))
        c->phi0 = num(p, 1) / NB_RTD;
    if (hit(p, "-osc", SUB, 0, 1, "-oscillation", NULL))
        c->osc = num(p, 1) / NB_RTD;
    if (hit(p, "-phistep", LEN_EQ, 8, 1, NULL, NULL))
        c->phistep = num(p, 1) / NB_RTD;
    if (hit(p, "-phisteps", SUB, 0, 1, NULL, NULL))
        c->phisteps = count(p, 1);
    if (hit(p, "-dmin", SUB, 0, 1, NULL, NULL))
        c->dmin = num(p, 1) * 1e-10;
}

static void rules_files(struct pstate *p)
{
    struct nb_cli *cli = p->cli;
    struct nb_config *c = &cli->cfg;
    if (hit(p, "-mat", SUB, 0, 1, "-matrix", NULL))
        cli->mat = arg(p, 1);
    if (hit(p, "-hkl", SUB, 0, 1, "-hklfile", NULL))
        cli->hkl = arg(p, 1);
    if (hit(p, "-default_F", SUB, 0, 1, NULL, NULL))
        c->default_F = num(p, 1);
    if (hit(p, "-img", SUB, 0, 1, NULL, NULL))
        cli->img = arg(p, 1);
    if (hit(p, "-stolout", LEN_GT, 7, 1, NULL, NULL))
        (void)arg(p, 1); /* stored, never written */
    if (hit(p, "-stol", LEN_EQ, 5, 1, NULL, NULL) || hit(p, "-4stol", LEN_EQ, 6, 1, NULL, NULL) ||
        hit(p, "-Q", LEN_EQ, 2, 1, NULL, NULL))
        cli->stol = arg(p, 1);
    if (hit(p, "-sourcefile", SUB, 0, 1, NULL, NULL))
        cli->sourcefile = arg(p, 1);
    if (hit(p, "-floatfile", SUB, 0, 1, "-floatimage", NULL) ||
        (!p->strict && hit(p, "-floatimage", SUB, 0, 1, NULL, NULL))) {
        cli->floatfile = arg(p, 1);
        cli->named |= NB_NAMED_FLOAT;
    }
    if (hit(p, "-intfile", SUB, 0, 1, "-intimage", NULL) ||
        (!p->strict && hit(p, "-intimage", SUB, 0, 1, NULL, NULL))) {
        cli->intfile = arg(p, 1);
        cli->named |= NB_NAMED_INT;
    }
    if (hit(p, "-pgmfile", SUB, 0, 1, "-pgmimage", NULL) ||
        (!p->strict && hit(p, "-pgmimage", SUB, 0, 1, NULL, NULL))) {
        cli->pgmfile = arg(p, 1);
        cli->write_pgm = 1;
        cli->named |= NB_NAMED_PGM;
    }
    if (hit(p, "-noisefile", SUB, 0, 1, "-noiseimage", NULL) ||
        (!p->strict && hit(p, "-noiseimage", SUB, 0, 1, NULL, NULL))) {
        cli->noisefile = arg(p, 1);
        cli->write_noise = 1;
        cli->named |= NB_NAMED_NOISE;
    }
    if (hit(p, "-nonoise", SUB, 0, 0, NULL, NULL))
        cli->write_noise = 0;
    if (hit(p, "-nopgm", SUB, 0, 0, NULL, NULL))
        cli->write_pgm = 0;
    if (hit(p, "-scale", SUB, 0, 1, NULL, NULL))
        cli->intfile_scale = num(p, 1);
    if (hit(p, "-pgmscale", SUB, 0, 1, NULL, NULL)) {
        cli->pgm_scale = num(p, 1);
        cli->write_pgm = 1;
    }
    if (hit(p, "-coherent", SUB, 0, 0, NULL, NULL)) {
        /* parsed, no effect (as in the reference) */
    }
    if (hit(p, "-printout", SUB, 0, 0, NULL, NULL))
        cli->printout = 1;
    if (hit(p, "-noprogress", SUB, 0, 0, NULL, NULL))
        cli->progress = 0;
    if (hit(p, "-progress", SUB, 0, 0, NULL, NULL))
        cli->progress = 1;
    if (hit(p, "-interpolate", SUB, 0, 0, NULL, NULL))
        c->interpolate = 1;
    if (hit(p, "-nointerpolate", SUB, 0, 0, NULL, NULL))
        c->interpolate = 0;
    if (hit(p, "-round_xtal", SUB, 0, 0, NULL, NULL))
        c->shape = NB_SHAPE_ROUND;
    if (hit(p, "-square_xtal", SUB, 0, 0, NULL, NULL))
        c->shape = NB_SHAPE_SQUARE;
    if (hit(p, "-gauss_xtal", SUB, 0, 0, NULL, NULL))
        c->shape = NB_SHAPE_GAUSS;
    if (hit(p, "-binary_spots", SUB, 0, 0, "-tophat_spots", NULL) ||
        (!p->strict && hit(p, "-tophat_spots", SUB, 0, 0, NULL, NULL)))
        c->shape = NB_SHAPE_TOPHAT;
    if (hit(p, "-fudge", SUB, 0, 1, NULL, NULL))
        c->fudge = num(p, 1);
    if (hit(p, "-printout_pixel", SUB, 0, 2, NULL, NULL)) {
        cli->printout_f = (int)inum(p, 1);
        cli->printout_s = (int)inum(p, 2);
        if (p->strict)
            cli->printout = 1;
    }
    if (hit(p, "-trace_pixel", SUB, 0, 2, "-dump_pixel", NULL) ||
        (!p->strict && hit(p, "-dump_pixel", SUB, 0, 2, NULL, NULL))) {
        cli->trace_s = (int)inum(p, 1);
        cli->trace_f = (int)inum(p, 2);
    }
    if (hit(p, "-seed", SUB, 0, 1, NULL, NULL)) {
        c->seed = -inum(p, 1);
        p->cli->seed_given = 1;
    }
    if (hit(p, "-mosaic_seed", SUB, 0, 1, NULL, NULL))
        c->mosaic_seed = -inum(p, 1);
    if (hit(p, "-misset_seed", SUB, 0, 1, NULL, NULL))
        c->misset_seed = -inum(p, 1);
    if (hit(p, "-water", SUB, 0, 1, NULL, NULL))
        c->water_size = num(p, 1) / 1e6;
}

/* One token through every rule, in the reference's order. */
static void examine(struct pstate *p)
{
    int i0 = p->i;
    rules_crystal(p);
    if (p->st != NB_OK)
        return;
    /* -Na/-Nb/-Nc/-N and -misset random stop the examination (return early above) */
    rules_detector(p);
    if (p->st != NB_OK)
        return;
    rules_beam(p);
    if (p->i < 0) { /* an -oversample_* rule stopped the examination */
        p->i = i0;
        return;
    }
    if (p->st != NB_OK)
        return;
    rules_files(p);
}

/* Does rules_crystal stop after the token?  (-Na, -Nb, -Nc, -N, -misset random) */
static int crystal_stops(const struct pstate *p)
{
    const char *t = p->tok;
    if (p->strict)
        return !strcmp(t, "-Na") || !strcmp(t, "-Nb") || !strcmp(t, "-Nc") || !strcmp(t, "-N") ||
               (!strcmp(t, "-misset") && p->argc > p->i + 1 && strstr(p->argv[p->i + 1], "rand"));
    if ((strstr(t, "-Na") || strstr(t, "-Nb") || strstr(t, "-Nc") || !strcmp(t, "-N")) &&
        p->argc > p->i + 1)
        return 1;
    return !strcmp(t, "-misset") && p->argc > p->i + 1 && strstr(p->argv[p->i + 1], "rand");
}

/* ------------------------------------------------------------------ [new] options */

/* A whole number 1 ... max written entirely in decimal digits (a count option's value). */
static int count_value(const char *v, long max, int *out)
{
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end != '\0' || n < 1 || n > max)
        return 0;
    *out = (int)n;
    return 1;
}

static int new_option(struct nb_cli *cli, const char *a, struct nb_err *err, nb_status *st)
{
    const char *v = strchr(a, '=');
    size_t nl = v ? (size_t)(v - a) : strlen(a);
    v = v ? v + 1 : NULL;
#define OPT(name) (nl == strlen(name) && strncmp(a, name, nl) == 0)
#define BAD(msg)                                                                               \
    do {                                                                                       \
        nb_err_set(err, "%.*s: %s", (int)nl, a, msg);                                          \
        *st = NB_E_USAGE;                                                                      \
        return 1;                                                                              \
    } while (0)
#define CHOICE(x) (v && strcmp(v, x) == 0)
    if (OPT("--help")) {
        cli->help = 1;
    } else if (OPT("--version")) {
        cli->version = 1;
        cli->help = 1; /* handled like --help: print and exit 0 */
    } else if (OPT("--strict-cli")) {
        cli->strict = 1;
    } else if (OPT("--no-fdump")) {
        cli->no_fdump = 1;
    } else if (OPT("--honor-pix0")) {
        cli->cfg.honor_pix0 = 1;
    } else if (OPT("--phi-carryover")) {
        if (CHOICE("c-parity"))
            cli->cfg.phi_carryover = NB_CARRY_C_PARITY;
        else if (CHOICE("spec"))
            cli->cfg.phi_carryover = NB_CARRY_SPEC;
        else
            BAD("expects c-parity or spec");
    } else if (OPT("--interp-fallback")) {
        if (CHOICE("reference"))
            cli->cfg.interp_fallback_default_F = 0;
        else if (CHOICE("default_F"))
            cli->cfg.interp_fallback_default_F = 1;
        else
            BAD("expects reference or default_F");
    } else if (OPT("--source-lambda")) {
        if (CHOICE("file"))
            cli->cfg.source_lambda_cli = 0;
        else if (CHOICE("cli"))
            cli->cfg.source_lambda_cli = 1;
        else
            BAD("expects file or cli");
    } else if (OPT("--source-weights")) {
        if (CHOICE("ignore"))
            cli->cfg.source_weights_apply = 0;
        else if (CHOICE("apply"))
            cli->cfg.source_weights_apply = 1;
        else
            BAD("expects ignore or apply");
    } else if (OPT("--random-misset")) {
        if (CHOICE("reference"))
            cli->cfg.random_misset_uniform = 0;
        else if (CHOICE("uniform"))
            cli->cfg.random_misset_uniform = 1;
        else
            BAD("expects reference or uniform");
    } else if (OPT("--thickness-step")) {
        if (CHOICE("reference"))
            cli->cfg.thickness_step_uniform = 0;
        else if (CHOICE("uniform"))
            cli->cfg.thickness_step_uniform = 1;
        else
            BAD("expects reference or uniform");
    } else if (OPT("--hkl-columns")) {
        if (CHOICE("stream4"))
            cli->hkl_columns = NB_HKL_STREAM4;
        else if (CHOICE("first4"))
            cli->hkl_columns = NB_HKL_FIRST4;
        else
            BAD("expects stream4 or first4");
    } else if (OPT("--factors")) {
        if (CHOICE("reference"))
            cli->cfg.factors_per_term = 0;
        else if (CHOICE("per-term"))
            cli->cfg.factors_per_term = 1;
        else
            BAD("expects reference or per-term");
    } else if (OPT("--device")) {
        if (CHOICE("auto"))
            cli->device = NB_DEVICE_AUTO; /* nb_device.c decides, once every rank has looked */
        else if (CHOICE("cpu"))
            cli->device = NB_DEVICE_CPU;
        else if (CHOICE("cuda"))
            cli->device = NB_DEVICE_CUDA;
        else
            BAD("expects cpu, cuda or auto");
    } else if (OPT("--precision")) {
        if (CHOICE("double"))
            cli->cfg.precision_single = 0;
        else if (CHOICE("single"))
            cli->cfg.precision_single = 1;
        else
            BAD("expects double or single");
    } else if (OPT("--math")) {
        if (CHOICE("fast"))
            cli->cfg.math_exact = 0;
        else if (CHOICE("exact"))
            cli->cfg.math_exact = 1;
        else
            BAD("expects fast or exact");
    } else if (OPT("--hdf5")) {
        if (!v || !*v)
            BAD("expects --hdf5=FILE");
        cli->hdf5 = v;
    } else if (OPT("--physical")) {
        if (v)
            BAD("takes no value");
        cli->physical = 1; /* applied before the other options: see physical_preset() */
    } else if (OPT("--frames")) {
        if (!count_value(v, 100000000L, &cli->frames))
            BAD("expects a number of frames from 1 to 100000000 (--frames=N)");
    } else if (OPT("--frames-from")) {
        if (!v || !*v)
            BAD("expects --frames-from=FILE");
        cli->frames_from = v;
    } else if (OPT("--bands-per-frame")) {
        if (!count_value(v, 1000000L, &cli->bands_per_frame))
            BAD("expects a positive number of bands (--bands-per-frame=B)");
    } else if (OPT("--hdf5-float")) {
        if (v)
            BAD("takes no value");
        cli->hdf5_float = 1;
    } else if (OPT("--hdf5-compress")) {
        if (CHOICE("none"))
            cli->gzip_level = -1;
        else if (CHOICE("gzip"))
            cli->gzip_level = 4;
        else if (v && strncmp(v, "gzip:", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '\0')
            cli->gzip_level = v[5] - '0';
        else
            BAD("expects none, gzip or gzip:LEVEL (LEVEL 0-9)");
    } else if (OPT("--resume")) {
        if (v)
            BAD("takes no value");
        cli->resume = 1;
    } else {
        return 0;
    }
    return 1;
#undef OPT
#undef BAD
#undef CHOICE
}

/* ------------------------------------------------------------------ headers (-mask, -img) */

static nb_status ingest_header(struct nb_cli *cli, const char *path, int is_mask,
                               const struct nb_msg_sink *out, struct nb_err *err)
{
    struct nb_config *c = &cli->cfg;
    struct nb_smv smv;
    nb_status st = nb_smv_open(path, &smv, err);
    if (st != NB_OK)
        return st;
    nb_emitf(out, "reading %s\n", path);
    c->fpixels = smv.width;
    c->spixels = smv.height;
    double t;
    /* header values that are present must be finite, and lengths positive (cli.md §6.1) */
    static const char *const keys[] = {"PIXEL_SIZE", "DISTANCE", "CLOSE_DISTANCE", "WAVELENGTH",
                                       "BEAM_CENTER_X", "BEAM_CENTER_Y", "ORGX", "ORGY",
                                       "PHI", "OSC_RANGE"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int present = nb_smv_lookup(&smv, keys[i], &t);
        if (present && !isfinite(t)) {
            nb_err_set(err, "%s: header value %s is not a finite number", path, keys[i]);
            nb_smv_free(&smv);
            return NB_E_INPUT;
        }
        if (present && i < 4 && !(t > 0.0)) {
            nb_err_set(err, "%s: header value %s must be positive (got %g)", path, keys[i], t);
            nb_smv_free(&smv);
            return NB_E_INPUT;
        }
    }
    if (!isnan(t = nb_smv_value(&smv, "PIXEL_SIZE")))
        c->pixel_size = t / 1000.0;
    c->detsize_f = c->pixel_size * c->fpixels;
    c->detsize_s = c->pixel_size * c->spixels;
    if (!isnan(t = nb_smv_value(&smv, "DISTANCE")))
        c->distance = t / 1000.0;
    if (!isnan(t = nb_smv_value(&smv, "CLOSE_DISTANCE")))
        c->close_distance = t / 1000.0;
    if (!isnan(t = nb_smv_value(&smv, "WAVELENGTH")))
        c->lambda0 = t / 1e10;
    if (!isnan(t = nb_smv_value(&smv, "BEAM_CENTER_X")))
        c->Xbeam = t / 1000.0;
    if (!isnan(t = nb_smv_value(&smv, "BEAM_CENTER_Y")))
        c->Ybeam = is_mask ? c->detsize_s - t / 1000.0 : t / 1000.0;
    if (!isnan(t = nb_smv_value(&smv, "ORGX")))
        c->ORGX = t;
    if (!isnan(t = nb_smv_value(&smv, "ORGY")))
        c->ORGY = t;
    if (!isnan(t = nb_smv_value(&smv, "PHI")))
        c->phi0 = t / NB_RTD;
    if (!isnan(t = nb_smv_value(&smv, "OSC_RANGE")))
        c->osc = t / NB_RTD;
    /* TWOTHETA is read by the reference into an unrelated variable: ignored (Q16) */
    if (is_mask) {
        free(cli->mask_data.data);
        cli->mask_data.fpixels = smv.width;
        cli->mask_data.spixels = smv.height;
        cli->mask_data.data = smv.data;
        smv.data = NULL;
        cli->have_mask = 1;
    }
    nb_smv_free(&smv);
    return NB_OK;
}

/* ------------------------------------------------------------------ entry points */

void nb_cli_fini(struct nb_cli *cli)
{
    if (!cli)
        return;
    free(cli->mask_data.data);
    free(cli->notes);
    cli->mask_data.data = NULL;
    cli->notes = NULL;
}

static void cli_defaults(struct nb_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    nb_config_defaults(&cli->cfg);
    cli->floatfile = "floatimage.bin";
    cli->intfile = "intimage.img";
    cli->pgmfile = "image.pgm";
    cli->noisefile = "noiseimage.img";
    cli->write_pgm = 1;
    cli->write_noise = 1;
    cli->adc = 40.0;
    cli->progress = 1;
    cli->printout_f = cli->printout_s = -1;
    cli->trace_s = cli->trace_f = -1;
    cli->gzip_level = -1;
}

/* --physical: every physically correct alternative of cli.md §8 (Q01, Q02, Q03, Q06, Q08,
 * Q09, Q11), applied before the other -- options so that an explicit one still wins.  Q07
 * stays: the source file's wavelengths are the physical choice already. */
static void physical_preset(struct nb_config *c)
{
    c->phi_carryover = NB_CARRY_SPEC;
    c->interp_fallback_default_F = 1;
    c->factors_per_term = 1;
    c->honor_pix0 = 1;
    c->source_weights_apply = 1;
    c->random_misset_uniform = 1;
    c->thickness_step_uniform = 1;
}

nb_status nb_cli_parse(int argc, char **argv, struct nb_cli *cli, const struct nb_msg_sink *out,
                       struct nb_err *err)
{
    return nb_cli_parse_at(argc, argv, nb_default_seed(), cli, out, err);
}

nb_status nb_cli_parse_at(int argc, char **argv, long default_seed, struct nb_cli *cli,
                          const struct nb_msg_sink *out, struct nb_err *err)
{
    nb_status st = NB_OK;
    cli_defaults(cli);
    /* the default noise seed (the time in nanoBragg; here nb_default_seed()); -misset_seed
     * defaults to it too (Q10) */
    cli->cfg.seed = -default_seed;
    cli->cfg.misset_seed = cli->cfg.seed;

    /* [new] options first; they never reach the legacy scan */
    char **av = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!av) {
        nb_err_set(err, "out of memory");
        return NB_E_NOMEM;
    }
    int ac = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "--version"))
            cli->help = 1; /* help wins over any other problem on the line */
        if (!strcmp(argv[i], "--physical"))
            physical_preset(&cli->cfg);
    }
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
            if (!strcmp(argv[i], "--hdf5") && i + 1 < argc) { /* also "--hdf5 FILE" */
                cli->hdf5 = argv[++i];
                continue;
            }
            static const char *const spaced[] = {"--frames", "--frames-from", "--bands-per-frame"};
            int joined = 0;
            for (size_t k = 0; k < sizeof spaced / sizeof spaced[0] && !joined; k++)
                if (!strcmp(argv[i], spaced[k]) && i + 1 < argc) { /* also "--frames N" */
                    size_t l = strlen(argv[i]) + strlen(argv[i + 1]) + 2;
                    char *opt = malloc(l);
                    if (!opt) {
                        nb_err_set(err, "out of memory");
                        st = NB_E_NOMEM;
                        goto done;
                    }
                    snprintf(opt, l, "%s=%s", argv[i], argv[i + 1]);
                    int known = new_option(cli, opt, err, &st);
                    if (known && !strcmp(argv[i], "--frames-from"))
                        cli->frames_from = argv[i + 1]; /* not the temporary copy */
                    free(opt);
                    if (st != NB_OK && !cli->help)
                        goto done;
                    st = NB_OK;
                    i++;
                    joined = 1;
                }
            if (joined)
                continue;
            if (new_option(cli, argv[i], err, &st)) {
                if (st != NB_OK && !cli->help)
                    goto done;
                st = NB_OK;
                continue;
            }
            if (cli->help)
                continue;
            nb_err_set(err, "%s: unknown option", argv[i]);
            st = NB_E_USAGE;
            goto done;
        }
        if (i > 0 && !strcmp(argv[i], "-h"))
            cli->help = 1;
        av[ac++] = argv[i];
    }
    av[ac] = NULL;
    if (cli->help)
        goto done;

    /* pre-scan for -img and -mask; the mask is read first, then the image (Q16) */
    {
        const char *img = NULL, *mask = NULL;
        for (int i = 1; i < ac; i++) {
            if (av[i][0] != '-')
                continue;
            int m_img = cli->strict ? !strcmp(av[i], "-img") : strstr(av[i], "-img") != NULL;
            int m_mask = cli->strict ? !strcmp(av[i], "-mask") : strstr(av[i], "-mask") != NULL;
            if ((m_img || m_mask) && ac <= i + 1) {
                nb_err_set(err, "%s: missing file name", av[i]);
                st = NB_E_USAGE;
                goto done;
            }
            if (m_img)
                img = av[i + 1];
            if (m_mask)
                mask = av[i + 1];
        }
        cli->img = img;
        cli->mask = mask;
        if (mask && (st = ingest_header(cli, mask, 1, out, err)) != NB_OK)
            goto done;
        if (img && (st = ingest_header(cli, img, 0, out, err)) != NB_OK)
            goto done;
        if (cli->have_mask)
            cli->cfg.mask = &cli->mask_data;
    }

    struct pstate p = {.argc = ac, .argv = av, .strict = cli->strict, .cli = cli, .err = err};
    for (int i = 1; i < ac; i++) {
        if (av[i][0] != '-') {
            if (cli->strict) {
                nb_err_set(err, "%s: unexpected argument (--strict-cli)", av[i]);
                st = NB_E_USAGE;
                goto done;
            }
            continue;
        }
        p.i = i;
        p.tok = av[i];
        p.matched = 0;
        p.consume = 0;
        int stops = crystal_stops(&p);
        if (stops) {
            rules_crystal(&p);
        } else {
            examine(&p);
        }
        if (!cli->strict && (strstr(av[i], "-mask")))
            p.matched = 1; /* handled by the pre-scan */
        if (cli->strict && !strcmp(av[i], "-mask")) {
            p.matched = 1;
            p.consume = 1;
        }
        if (p.st != NB_OK) {
            st = p.st;
            goto done;
        }
        if (!p.matched && !is_number_token(av[i])) {
            if (cli->strict) {
                nb_err_set(err, "%s: unknown flag (--strict-cli)", av[i]);
                st = NB_E_USAGE;
                goto done;
            }
            note(cli, "NOTE: ignoring unknown flag %s\n", av[i]);
            if (cli->unknown_flags++ == 0)
                cli->first_unknown = av[i];
        }
        if (cli->strict)
            i += p.consume;
    }
done:
    free(av);
    return st;
}
