/* nb_files.h -- how the readers open input files: from disk, or from an in-memory copy.
 *
 * Under MPI, rank 0 reads every input file once and the other ranks read the same bytes from
 * memory (nanobragg never makes every rank hit the file system).  The cache is set once at
 * start-up, like a log sink, and only read afterwards; without one, files come from disk.
 * Entry points: nb_files_fopen(), nb_files_record(), nb_files_replay(), nb_files_*().
 */
#ifndef NB_FILES_H
#define NB_FILES_H

#include <stdio.h>
#include <stddef.h>

/* Open a file for reading ("r"/"rb"): from the cache in replay mode, else from disk (and,
 * in record mode, keep a copy of its bytes).  NULL with errno set when it cannot be read. */
FILE *nb_files_fopen(const char *path, const char *mode);

/* Start recording every file opened through nb_files_fopen (rank 0). */
void nb_files_record(void);
/* Serialise the recorded files ({name, bytes}...) into one malloc'ed buffer. */
int nb_files_pack(unsigned char **buf, size_t *len);
/* Replay mode: files come from this packed buffer (which the cache takes over); a name that
 * is not in it reads as "does not exist".  -1 when the buffer is not exactly such a pack
 * (truncated, trailing bytes, a length beyond its end): then the buffer stays the caller's,
 * to free, and the cache is empty (plain disk reads). */
int nb_files_replay(unsigned char *buf, size_t len);
/* Drop the cache and return to plain disk reads. */
void nb_files_reset(void);

#endif
