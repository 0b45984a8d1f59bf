/* nb_band.c -- row-band decomposition (see nb_band.h).  libc only. */
#include "nb_band.h"

struct nb_band nb_band_split(int n_rows, int n_cols, int n_parts, int index)
{
    struct nb_band b = {0, 0, n_cols, index};
    if (n_parts <= 0 || index < 0 || index >= n_parts || n_rows <= 0)
        return b;
    int base = n_rows / n_parts, extra = n_rows % n_parts;
    b.n_rows = base + (index < extra ? 1 : 0);
    b.row0 = index * base + (index < extra ? index : extra);
    return b;
}

struct nb_band nb_band_split_weighted(const int64_t *row_weight, int n_rows, int n_cols,
                                      int n_parts, int index)
{
    struct nb_band b = {0, 0, n_cols, index};
    if (n_parts <= 0 || index < 0 || index >= n_parts || n_rows <= 0)
        return b;
    int64_t total = 0;
    for (int r = 0; r < n_rows; r++)
        total += row_weight[r];
    if (total == 0)
        return nb_band_split(n_rows, n_cols, n_parts, index);
    /* band i takes the rows whose cumulative weight before them falls in
     * [i*total/n, (i+1)*total/n); boundaries are monotone in i, so bands tile the rows */
    int start = -1, end = n_rows;
    int64_t cum = 0;
    for (int r = 0; r < n_rows; r++) {
        /* part that owns row r: floor(cum * n / total), clamped */
        int part = (int)(cum * n_parts / total);
        if (part >= n_parts)
            part = n_parts - 1;
        if (part == index && start < 0)
            start = r;
        if (part > index) {
            end = r;
            break;
        }
        cum += row_weight[r];
    }
    if (start < 0) {
        /* no row starts in this part: an empty band placed at the boundary */
        int64_t c2 = 0;
        int r = 0;
        for (; r < n_rows; r++) {
            int part = (int)(c2 * n_parts / total);
            if (part > index)
                break;
            c2 += row_weight[r];
        }
        b.row0 = r;
        b.n_rows = 0;
        return b;
    }
    b.row0 = start;
    b.n_rows = end - start;
    return b;
}
