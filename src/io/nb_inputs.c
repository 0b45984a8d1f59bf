/* nb_inputs.c -- the orientation matrix file and the source file (spec/formats.md §3-§4).
 *
 * The source file is parsed exactly as nanoBragg's read_text_file parses it, quirks included
 * (Q19: a field followed by text, a last line without newline, or CRLF line ends zero-fill the
 * remaining columns); the decided deviation then rejects any source whose wavelength is 0 or
 * not finite, naming file and line.  A matrix file must hold nine finite numbers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_files.h"
#include "nb_io.h"

nb_status nb_mat_read(const char *path, double mat[9], struct nb_err *err)
{
    FILE *fp = nb_files_fopen(path, "r");
    if (!fp) {
        nb_err_set(err, "%s: cannot open matrix file (%s)", path, strerror(errno));
        return NB_E_INPUT;
    }
    for (int i = 0; i < 9; i++) {
        char tok[128];
        if (fscanf(fp, "%127s", tok) != 1) {
            fclose(fp);
            nb_err_set(err, "%s: expected 9 numbers (three rows of a*, b*, c* components), "
                       "found %d", path, i);
            return NB_E_INPUT;
        }
        char *end;
        double v = strtod(tok, &end);
        if (*end != '\0' || !isfinite(v)) {
            fclose(fp);
            nb_err_set(err, "%s: number %d ('%s') is not a finite number", path, i + 1, tok);
            return NB_E_INPUT;
        }
        mat[i] = v;
    }
    fclose(fp);
    return NB_OK;
}

#define LINE_MAX_CHARS 10240
static const char delimiters[] = " \t,;:!";
static const char numberstuf[] = "0123456789-+.EGeg";

void nb_source_free(struct nb_source_list *L)
{
    if (!L)
        return;
    free(L->x);
    free(L->y);
    free(L->z);
    free(L->weight);
    free(L->lambda);
    free(L->line);
    memset(L, 0, sizeof *L);
}

nb_status nb_source_read(const char *path, struct nb_source_list *L, struct nb_err *err)
{
    char text[LINE_MAX_CHARS];
    long lines = 0, physical = 0, cap = 0;
    double **col[5];
    memset(L, 0, sizeof *L);
    FILE *fp = nb_files_fopen(path, "r");
    if (!fp) {
        nb_err_set(err, "%s: cannot open source file (%s)", path, strerror(errno));
        return NB_E_INPUT;
    }
    col[0] = &L->x;
    col[1] = &L->y;
    col[2] = &L->z;
    col[3] = &L->weight;
    col[4] = &L->lambda;
    int at_line_start = 1;
    while (fgets(text, sizeof text, fp) != NULL) {
        if (at_line_start)
            physical++;
        at_line_start = strchr(text, '\n') != NULL;
        char *token = text + strspn(text, delimiters);
        if (strcmp(token, "\n") == 0)
            continue; /* blank line */
        if (lines == cap) {
            cap = cap ? cap * 2 : 64;
            for (int c = 0; c < 5; c++) {
                double *n = realloc(*col[c], sizeof(double) * (size_t)cap);
                if (!n)
                    goto nomem;
                *col[c] = n;
            }
            long *nl = realloc(L->line, sizeof(long) * (size_t)cap);
            if (!nl)
                goto nomem;
            L->line = nl;
        }
        for (int c = 0; c < 5; c++)
            (*col[c])[lines] = NAN;
        L->line[lines] = physical;
        /* the reference's field loop, column by column */
        int i = 0;
        do {
            (*col[i])[lines] = atof(token);
            token += strspn(token, numberstuf);
            if (strcmp(token, "\n") == 0)
                break;
            token += strcspn(token, delimiters);
            token += strspn(token, delimiters);
            if (strcmp(token, "\n") == 0)
                break;
            ++i;
        } while (i < 5 && strcmp(token, "\n") != 0);
        lines++;
    }
    if (ferror(fp)) {
        fclose(fp);
        nb_source_free(L);
        nb_err_set(err, "%s: read error", path);
        return NB_E_INPUT;
    }
    fclose(fp);
    L->n = (int)lines;
    if (lines == 0) {
        nb_source_free(L);
        nb_err_set(err, "%s: no sources (empty file)", path);
        return NB_E_INPUT;
    }
    for (long s = 0; s < lines; s++) {
        for (int c = 0; c < 5; c++)
            if (isinf((*col[c])[s])) {
                nb_err_set(err, "%s:%ld: column %d is not finite", path, L->line[s], c + 1);
                nb_source_free(L);
                return NB_E_INPUT;
            }
        if (L->lambda[s] == 0.0) {
            nb_err_set(err, "%s:%ld: source wavelength is 0 (a missing or unparsable column "
                       "reads as 0; wavelengths are in metres)", path, L->line[s]);
            nb_source_free(L);
            return NB_E_INPUT;
        }
    }
    return NB_OK;
nomem:
    fclose(fp);
    nb_source_free(L);
    nb_err_set(err, "%s: out of memory", path);
    return NB_E_NOMEM;
}
