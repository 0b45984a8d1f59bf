/* nb_fault.c -- see nb_fault.h.  The rank is process-wide state set once at start-up. */
#include "nb_fault.h"

#include <stdlib.h>
#include <string.h>

static int fault_rank;

void nb_fault_set_rank(int rank)
{
    fault_rank = rank;
}

int nb_fault(const char *point)
{
    const char *spec = getenv("NB_FAULT");
    const size_t n = strlen(point);
    while (spec && *spec) {
        const char *end = strchr(spec, ',');
        const size_t len = end ? (size_t)(end - spec) : strlen(spec);
        if (len >= n && strncmp(spec, point, n) == 0) {
            if (len == n)
                return 1;
            if (spec[n] == '@' && atoi(spec + n + 1) == fault_rank)
                return 1;
        }
        spec = end ? end + 1 : NULL;
    }
    return 0;
}
