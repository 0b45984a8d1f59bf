/* nb_msg.h -- a line sink: how library code reports text without printing.
 *
 * The engine and the readers never print; they hand finished lines (nanoBragg's console
 * echo, warnings, trace lines) to a sink that the program owns.  A NULL sink drops them.
 */
#ifndef NB_MSG_H
#define NB_MSG_H

#include "nb_status.h"

struct nb_msg_sink {
    void (*emit)(void *ctx, const char *text); /* text includes its own newline(s) */
    void *ctx;
};

/* printf into the sink; silently does nothing when sink or sink->emit is NULL. */
void nb_emitf(const struct nb_msg_sink *sink, const char *fmt, ...) NB_PRINTF(2, 3);

#endif
