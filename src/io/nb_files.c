/* nb_files.c -- record/replay file cache for the readers (see nb_files.h).  POSIX fmemopen.
 * The only mutable file-scope state of the I/O layer, set once at start-up. */
#define _POSIX_C_SOURCE 200809L
#include "nb_files.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_DISK = 0, MODE_RECORD, MODE_REPLAY };

struct entry {
    char *name;
    unsigned char *data;
    size_t len;
    int missing; /* recorded as "could not be opened" (errno kept) */
    int err;
};

static struct {
    int mode;
    struct entry *e;
    size_t n;
    unsigned char *packed; /* replay buffer (owned) */
} cache;

static struct entry *find(const char *path)
{
    for (size_t i = 0; i < cache.n; i++)
        if (strcmp(cache.e[i].name, path) == 0)
            return &cache.e[i];
    return NULL;
}

static struct entry *add(const char *path)
{
    struct entry *ne = realloc(cache.e, sizeof *ne * (cache.n + 1));
    if (!ne)
        return NULL;
    cache.e = ne;
    struct entry *e = &cache.e[cache.n];
    memset(e, 0, sizeof *e);
    e->name = strdup(path);
    if (!e->name)
        return NULL;
    cache.n++;
    return e;
}

static FILE *open_entry(struct entry *e)
{
    if (e->missing) {
        errno = e->err ? e->err : ENOENT;
        return NULL;
    }
    if (e->len == 0) /* fmemopen refuses size 0: an empty stream */
        return fopen("/dev/null", "r");
    return fmemopen(e->data, e->len, "r");
}

FILE *nb_files_fopen(const char *path, const char *mode)
{
    if (cache.mode == MODE_DISK)
        return fopen(path, mode);
    struct entry *e = find(path);
    if (cache.mode == MODE_REPLAY) {
        if (!e) {
            errno = ENOENT;
            return NULL;
        }
        return open_entry(e);
    }
    /* record: read the whole file once, keep it, serve it from memory */
    if (e)
        return open_entry(e);
    e = add(path);
    if (!e)
        return fopen(path, mode);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        e->missing = 1;
        e->err = errno;
        errno = e->err;
        return NULL;
    }
    size_t cap = 1 << 16;
    e->data = malloc(cap);
    for (;;) {
        if (!e->data)
            break;
        if (e->len == cap) {
            unsigned char *nd = realloc(e->data, cap * 2);
            if (!nd) {
                free(e->data);
                e->data = NULL;
                break;
            }
            e->data = nd;
            cap *= 2;
        }
        size_t got = fread(e->data + e->len, 1, cap - e->len, fp);
        e->len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(fp) || !e->data;
    fclose(fp);
    if (bad) {
        e->missing = 1;
        e->err = EIO;
        errno = EIO;
        return NULL;
    }
    return open_entry(e);
}

void nb_files_record(void)
{
    nb_files_reset();
    cache.mode = MODE_RECORD;
}

static void put_u64(unsigned char **p, uint64_t v)
{
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}

static uint64_t get_u64(const unsigned char **p)
{
    uint64_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

int nb_files_pack(unsigned char **buf, size_t *len)
{
    size_t total = sizeof(uint64_t);
    for (size_t i = 0; i < cache.n; i++)
        total += 4 * sizeof(uint64_t) + strlen(cache.e[i].name) + cache.e[i].len;
    unsigned char *b = malloc(total), *p = b;
    if (!b)
        return -1;
    put_u64(&p, cache.n);
    for (size_t i = 0; i < cache.n; i++) {
        size_t nl = strlen(cache.e[i].name);
        put_u64(&p, nl);
        put_u64(&p, cache.e[i].len);
        put_u64(&p, (uint64_t)cache.e[i].missing);
        put_u64(&p, (uint64_t)cache.e[i].err);
        memcpy(p, cache.e[i].name, nl);
        p += nl;
        if (cache.e[i].len)
            memcpy(p, cache.e[i].data, cache.e[i].len);
        p += cache.e[i].len;
    }
    *buf = b;
    *len = total;
    return 0;
}

int nb_files_replay(unsigned char *buf, size_t len)
{
    nb_files_reset();
    const unsigned char *p = buf, *end = buf + len;
    if (len < sizeof(uint64_t))
        return -1;
    uint64_t n = get_u64(&p);
    for (uint64_t i = 0; i < n; i++) {
        if ((size_t)(end - p) < 4 * sizeof(uint64_t))
            goto corrupt;
        uint64_t nl = get_u64(&p), dl = get_u64(&p), miss = get_u64(&p), err = get_u64(&p);
        const uint64_t left = (uint64_t)(end - p);
        if (nl > left || dl > left - nl) /* separately: nl + dl may wrap around */
            goto corrupt;
        struct entry *e = add("");
        if (!e)
            goto corrupt;
        free(e->name);
        e->name = strndup((const char *)p, (size_t)nl);
        if (!e->name)
            goto corrupt;
        p += nl;
        e->data = (unsigned char *)p; /* points into the packed buffer */
        e->len = (size_t)dl;
        e->missing = miss != 0;
        e->err = (int)err;
        p += dl;
    }
    if (p != end)
        goto corrupt;
    cache.packed = buf;
    cache.mode = MODE_REPLAY;
    return 0;
corrupt:
    /* drop the entries read so far without freeing their data, which lies in buf: on failure
     * the buffer stays the caller's */
    cache.mode = MODE_REPLAY;
    nb_files_reset();
    return -1;
}

void nb_files_reset(void)
{
    int replay = cache.mode == MODE_REPLAY;
    for (size_t i = 0; i < cache.n; i++) {
        free(cache.e[i].name);
        if (!replay)
            free(cache.e[i].data);
    }
    free(cache.e);
    free(cache.packed);
    memset(&cache, 0, sizeof cache);
}
