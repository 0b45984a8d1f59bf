/* fuzz_files.c -- libFuzzer target: the replay side of the input-file cache, nb_files_replay()
 * (src/io/nb_files.h).  Under MPI the ranks other than 0 parse rank 0's packed copy of every
 * input file; a damaged copy must be refused, never read out of bounds.
 *
 * The input is the packed buffer.  Accepted: the files named "a" and "Fdump.bin" are opened
 * and read to the end (a name not in the pack must read as "does not exist"), then the cache
 * is dropped.  Refused: the caller still owns the buffer and the cache is back to disk reads.
 * Entry point: LLVMFuzzerTestOneInput().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/nb_files.h"

static void read_all(const char *name)
{
    errno = 0;
    FILE *fp = nb_files_fopen(name, "rb");
    if (!fp) {
        NB_FUZZ_CHECK(errno != 0, "%s: no stream and no errno", name);
        return;
    }
    unsigned char buf[4096];
    while (fread(buf, 1, sizeof buf, fp) == sizeof buf)
        ;
    fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1); /* exact size: ASan sees any overrun */
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    if (nb_files_replay(copy, size) == 0) {
        read_all("a");
        read_all("Fdump.bin");
        nb_files_reset(); /* frees copy */
    } else {
        nb_files_reset();
        free(copy);
        /* back to disk reads: a name that exists nowhere is simply missing */
        FILE *fp = nb_files_fopen("/nonexistent/nb_fuzz_files", "rb");
        NB_FUZZ_CHECK(fp == NULL, "a refused pack left a cache behind");
    }
    return 0;
}
