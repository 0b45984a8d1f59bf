/* fuzz_common.c -- see fuzz_common.h.  Test code: libc + the nb_files cache, nb_sys. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/nb_files.h"

/* ------------------------------------------------------------------ memory ceiling */

/* Linked with -Wl,--wrap=nb_memory_allows: every call of nb_memory_allows() in the libraries
 * comes here, and __real_nb_memory_allows is the original (src/util/nb_sys.c). */
int __real_nb_memory_allows(double bytes);
int __wrap_nb_memory_allows(double bytes);

double nb_fuzz_memory_cap = NB_FUZZ_MEMORY_CAP_BYTES;

int __wrap_nb_memory_allows(double bytes)
{
    return bytes <= nb_fuzz_memory_cap && __real_nb_memory_allows(bytes);
}

/* ------------------------------------------------------------------ serving files */

static void put_u64(unsigned char **p, uint64_t v)
{
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}

/* The layout of nb_files_pack(): u64 count, then per file u64 name length, u64 data length,
 * u64 "missing", u64 errno, the name, the data (host byte order). */
int nb_fuzz_serve(const struct nb_fuzz_file *files, int n)
{
    size_t total = sizeof(uint64_t);
    for (int i = 0; i < n; i++)
        total += 4 * sizeof(uint64_t) + strlen(files[i].name) + files[i].len;
    unsigned char *buf = malloc(total), *p = buf;
    if (!buf)
        return -1;
    put_u64(&p, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(files[i].name);
        put_u64(&p, nl);
        put_u64(&p, files[i].len);
        put_u64(&p, 0);
        put_u64(&p, 0);
        memcpy(p, files[i].name, nl);
        p += nl;
        if (files[i].len)
            memcpy(p, files[i].data, files[i].len);
        p += files[i].len;
    }
    if (nb_files_replay(buf, total) != 0) { /* the cache owns buf only on success */
        free(buf);
        return -1;
    }
    return 0;
}

void nb_fuzz_unserve(void)
{
    nb_files_reset();
}

/* ------------------------------------------------------------------ checks */

static void look_at(void *ctx, const char *text)
{
    size_t *count = ctx;
    *count += strlen(text); /* ASan checks every byte up to the NUL */
}

static size_t sink_bytes;
const struct nb_msg_sink nb_fuzz_sink = {look_at, &sink_bytes};

void nb_fuzz_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nFUZZ PROPERTY VIOLATED at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void nb_fuzz_check_error(nb_status st, const struct nb_err *err, const char *path)
{
    NB_FUZZ_CHECK(st > NB_OK && st <= NB_E_INTERNAL, "unknown status %d", (int)st);
    size_t len = strnlen(err->msg, sizeof err->msg);
    NB_FUZZ_CHECK(len > 0 && len < sizeof err->msg, "%s without a message", nb_strerror(st));
    NB_FUZZ_CHECK(!memchr(err->msg, '\n', len), "message is not one line: %s", err->msg);
    NB_FUZZ_CHECK(!path || strstr(err->msg, path), "message does not name '%s': %s", path,
                  err->msg);
}
