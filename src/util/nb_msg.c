/* nb_msg.c -- formatted emission into a caller-provided line sink.  libc only. */
#include "nb_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void nb_emitf(const struct nb_msg_sink *sink, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    int n;
    if (!sink || !sink->emit)
        return;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sink->emit(sink->ctx, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sink->emit(sink->ctx, big);
    free(big);
}
