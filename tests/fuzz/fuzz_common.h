/* fuzz_common.h -- helpers shared by the libFuzzer targets in tests/fuzz (docs/fuzzing.md).
 *
 * The readers take file paths; the targets hand them the fuzz bytes without touching the disk,
 * through the record/replay cache of src/io/nb_files.h (a packed buffer in nb_files_pack()'s
 * format, given to nb_files_replay()).  A violated property aborts with a message, which
 * libFuzzer reports as a crash and saves as an artifact.  Test code: libc + src/io, src/util.
 * Entry points: nb_fuzz_serve(), nb_fuzz_unserve(), NB_FUZZ_CHECK, nb_fuzz_check_error(),
 * nb_fuzz_sink.
 */
#ifndef NB_FUZZ_COMMON_H
#define NB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "util/nb_msg.h"
#include "util/nb_status.h"

/* The memory ceiling: nb_memory_allows() (src/util/nb_sys.h) answers "no" above it, so a
 * huge-but-legal request (a structure-factor grid of 8 GB from two HKL lines) fails fast as it
 * would on a smaller machine, instead of tripping libFuzzer's -rss_limit_mb / malloc limit
 * (2048 MB).  Applied by linking with -Wl,--wrap=nb_memory_allows.  256 MB unless a target
 * lowers it (set once, in its first call: the targets whose every input may reach the ceiling
 * keep it small to stay fast). */
#define NB_FUZZ_MEMORY_CAP_BYTES (256.0 * 1024.0 * 1024.0)
extern double nb_fuzz_memory_cap;

struct nb_fuzz_file {
    const char *name;          /* the path the reader will be given */
    const unsigned char *data; /* its bytes (copied)                */
    size_t len;
};

/* Serve these files from memory: any other path reads as "does not exist".  0 on success. */
int nb_fuzz_serve(const struct nb_fuzz_file *files, int n);
/* Back to plain disk reads; frees the served copies. */
void nb_fuzz_unserve(void);

/* A sink that formats every message (nb_emitf runs) and looks at each byte, then drops it. */
extern const struct nb_msg_sink nb_fuzz_sink;

void nb_fuzz_fail(const char *file, int line, const char *fmt, ...) NB_PRINTF(3, 4);
#define NB_FUZZ_CHECK(cond, ...)                                                                  \
    ((cond) ? (void)0 : nb_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__))

/* The readers' error contract (nb_io.h): a failure has a known status and one line naming the
 * file.  `path` NULL: only a non-empty single line is required. */
void nb_fuzz_check_error(nb_status st, const struct nb_err *err, const char *path);

#endif
