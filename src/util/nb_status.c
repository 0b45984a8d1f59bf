/* nb_status.c -- names of status codes and the error-buffer helper.  libc only. */
#include "nb_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *nb_strerror(nb_status s)
{
    switch (s) {
    case NB_OK: return "NB_OK";
    case NB_E_USAGE: return "NB_E_USAGE";
    case NB_E_INPUT: return "NB_E_INPUT";
    case NB_E_OUTPUT: return "NB_E_OUTPUT";
    case NB_E_NOMEM: return "NB_E_NOMEM";
    case NB_E_DEVICE: return "NB_E_DEVICE";
    case NB_E_COMM: return "NB_E_COMM";
    case NB_E_NOT_BUILT: return "NB_E_NOT_BUILT";
    case NB_E_INTERNAL: return "NB_E_INTERNAL";
    case NB_E_STOPPED: return "NB_E_STOPPED";
    }
    return "NB_E_UNKNOWN";
}

void nb_err_set(struct nb_err *e, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void nb_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
