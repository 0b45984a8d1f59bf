/* nb_series.c -- the frames of a series (see nb_series.h). */
#define _POSIX_C_SOURCE 200809L
#include "nb_series.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/nb_physics.h"

void nb_series_fini(struct nb_series *s)
{
    if (!s)
        return;
    for (int i = 0; s->f && i < s->n; i++) {
        for (int t = 0; t < s->f[i].ntok; t++)
            free(s->f[i].tok[t]);
        free(s->f[i].tok);
        free(s->f[i].flags);
    }
    free(s->f);
    memset(s, 0, sizeof *s);
}

static nb_status add_token(struct nb_series_frame *f, const char *t, size_t len,
                           struct nb_err *err)
{
    char **nt = realloc(f->tok, sizeof(char *) * (size_t)(f->ntok + 1));
    char *copy = malloc(len + 1);
    size_t fl = f->flags ? strlen(f->flags) : 0;
    char *nf = realloc(f->flags, fl + len + 2);
    if (nt)
        f->tok = nt;
    if (nf) {
        if (fl == 0)
            nf[0] = '\0';
        f->flags = nf;
    }
    if (!nt || !copy || !nf) {
        free(copy);
        nb_err_set(err, "out of memory for the frame list");
        return NB_E_NOMEM;
    }
    memcpy(copy, t, len);
    copy[len] = '\0';
    f->tok[f->ntok++] = copy;
    if (fl)
        strcat(f->flags, " ");
    strcat(f->flags, copy);
    return NB_OK;
}

static nb_status alloc_frames(struct nb_series *s, int n, struct nb_err *err)
{
    memset(s, 0, sizeof *s);
    s->f = calloc((size_t)(n > 0 ? n : 1), sizeof *s->f);
    if (!s->f) {
        nb_err_set(err, "out of memory for %d frames", n);
        return NB_E_NOMEM;
    }
    s->n = n;
    return NB_OK;
}

nb_status nb_series_append(struct nb_series *s, int i, const char *flag, const char *value,
                           struct nb_err *err)
{
    nb_status st = add_token(&s->f[i], flag, strlen(flag), err);
    return st == NB_OK ? add_token(&s->f[i], value, strlen(value), err) : st;
}

/* x rounded to 15 significant digits: the shortest decimal a person would write for it */
static double round15(double x)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", x);
    return strtod(buf, NULL);
}

nb_status nb_series_rotation(int n, double phi0_rad, double osc_rad, struct nb_series *s,
                             struct nb_err *err)
{
    nb_status st = alloc_frames(s, n, err);
    if (st != NB_OK)
        return st;
    s->rotation = 1;
    const double phi0 = round15(phi0_rad * NB_RTD), osc = round15(osc_rad * NB_RTD);
    for (int i = 0; i < n && st == NB_OK; i++) {
        char v[64];
        snprintf(v, sizeof v, "%.15g", phi0 + (double)i * osc);
        st = nb_series_append(s, i, "-phi", v, err);
    }
    if (st != NB_OK)
        nb_series_fini(s);
    return st;
}

nb_status nb_series_from_text(const char *path, const char *text, struct nb_series *s,
                              struct nb_err *err)
{
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    nb_status st = alloc_frames(s, lines + 1, err);
    if (st != NB_OK)
        return st;
    s->n = 0;
    int line = 0;
    for (const char *p = text; *p && st == NB_OK;) {
        line++;
        const char *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        const char *hash = memchr(p, '#', (size_t)(end - p));
        const char *stop = hash ? hash : end;
        struct nb_series_frame *f = &s->f[s->n];
        for (const char *q = p; q < stop && st == NB_OK;) {
            while (q < stop && isspace((unsigned char)*q))
                q++;
            const char *t = q;
            while (q < stop && !isspace((unsigned char)*q))
                q++;
            if (q == t)
                break;
            if ((unsigned char)*t < 0x20 || (q - t >= 2 && t[0] == '-' && t[1] == '-')) {
                nb_err_set(err, "%s:%d: %.*s: options starting with -- apply to the whole job; "
                                "give them on the command line",
                           path, line, (int)(q - t), t);
                st = NB_E_USAGE;
                break;
            }
            st = add_token(f, t, (size_t)(q - t), err);
        }
        if (st == NB_OK && f->ntok > 0) {
            f->line = line;
            s->n++;
        }
        p = *end ? end + 1 : end;
    }
    if (st == NB_OK && s->n == 0) {
        nb_err_set(err, "%s: no frame lines (every line is blank or a # comment)", path);
        st = NB_E_INPUT;
    }
    if (st != NB_OK) {
        s->n = lines + 1; /* free every slot */
        nb_series_fini(s);
    }
    return st;
}

long nb_series_seed(long S, int i)
{
    long v = S + (long)i;
    while (v > 2147483647L)
        v -= 2147483647L;
    return v;
}

int nb_series_is_template(const char *name)
{
    return name && strchr(name, '#') != NULL;
}

char *nb_series_expand(const char *tmpl, long number)
{
    const char *last = strrchr(tmpl, '#');
    if (!last)
        return strdup(tmpl);
    const char *first = last;
    while (first > tmpl && first[-1] == '#')
        first--;
    int width = (int)(last - first + 1);
    size_t n = strlen(tmpl) + 32;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%.*s%0*ld%s", (int)(first - tmpl), tmpl, width, number, last + 1);
    return out;
}
