/* nb_outfile.h -- a run's output files, committed all or nothing, never destroying what they
 * replace (docs/architecture.md, "Outputs").
 *
 * Every output is checked and reserved before anything is rendered:
 *   - the name must not be empty, a directory, or the same file as another output;
 *   - a lock file next to it says that this job is writing it (a second job aimed at the same
 *     name fails at once, touching nothing; a lock left by a dead process of this host is
 *     taken over);
 *   - a temporary file with a name unique to this job (process id + random tag) receives the
 *     content.  Temporary and lock names are `.<name>.<tag>`, or `.nb-<hash>.<tag>` when that
 *     would exceed the file system's name limit.
 * Outputs that are existing devices, FIFOs or sockets (or any path under /dev or /proc) are
 * written in place, as nanoBragg writes them; symbolic links are followed to their target.
 * The commit renames every temporary file into place; if one rename fails, the files already
 * renamed are rolled back: the previous file of that name is restored from a hard link taken
 * just before, and a name that did not exist before is removed again.  A failed or
 * interrupted run removes only files it created.  POSIX only; no MPI (under MPI, rank 0 owns
 * the set).  Entry points: nb_outset_*().
 */
#ifndef NB_OUTFILE_H
#define NB_OUTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "../util/nb_status.h"

#define NB_OUTSET_MAX 8

/* nb_outset_add() options */
#define NB_OUT_OPTIONAL 1u     /* a cache (Fdump.bin): cannot be created -> skipped, no error */
#define NB_OUT_REGULAR_ONLY 2u /* must be a regular file (HDF5 needs to seek)                */

struct nb_outfile {
    const char *flag; /* "-floatfile", for messages (static string)                  */
    char *name;       /* as given                                                    */
    char *target;     /* final path, symbolic links followed                         */
    char *canon;      /* real directory + name, to recognise the same file twice     */
    char *tmp;        /* this job's temporary file (NULL when written in place)       */
    char *lock;       /* this job's lock file (NULL when written in place)            */
    char *backup;     /* during the commit: link to the file being replaced          */
    int in_place;     /* a device, FIFO, ...: written directly, nothing to commit     */
    int backup_moved; /* the old file was renamed, not linked (no hard links here)    */
    int optional;     /* a cache (Fdump.bin): a failure to write or commit it only drops it */
    int dropped;      /* that happened: not written, not committed                    */
    int committed;
    int keep;         /* resumable: on failure the temporary file and lock stay         */
};

struct nb_outset {
    struct nb_outfile f[NB_OUTSET_MAX];
    int n;
    char job[48]; /* unique tag of this job: "<pid>-<random hex>" */
};

void nb_outset_init(struct nb_outset *s);

/* Check and reserve one output (see above).  Returns its index >= 0, or -1 with *st and err
 * set (with NB_OUT_OPTIONAL, -1 with *st == NB_OK means "skipped").  Nothing is left on disk
 * by a failed add. */
int nb_outset_add(struct nb_outset *s, const char *flag, const char *name, unsigned opts,
                  nb_status *st, struct nb_err *err);

/* The file that the content of output i goes to before the commit (for writers that create
 * their own file, like HDF5). */
const char *nb_outset_path(const struct nb_outset *s, int i);

/* Write the whole content of output i (up to three pieces) and flush it to disk.  A failure
 * on an optional output (a cache) drops that output (nb_outset_dropped) and returns NB_OK. */
nb_status nb_outset_write(struct nb_outset *s, int i, const void *a, size_t na, const void *b,
                          size_t nb, const void *c, size_t nc, struct nb_err *err);

/* Whether an optional output was given up because it could not be written. */
int nb_outset_dropped(const struct nb_outset *s, int i);

/* Rename every output into place, or none (see above); optional outputs (caches) are put in
 * place when possible and never cause a roll-back.  Signals are held meanwhile. */
nb_status nb_outset_commit(struct nb_outset *s, struct nb_err *err);

/* Output i is resumable (a series' HDF5 file): if the run does not commit it, its temporary
 * file and lock stay where they are -- also after a signal -- for --resume. */
void nb_outset_keep_on_failure(struct nb_outset *s, int i);

/* --resume: the temporary file a stopped or killed job left for `name` (*partial, malloc'ed;
 * NULL when there is none): the one named by a stale lock (a dead process of this host, or an
 * earlier incarnation of this Slurm job on any node), or without a lock the only
 * ".<name>.*.partial".  A lock of a live job, or several candidates, is an error. */
nb_status nb_outset_resumable(const char *name, char **partial, struct nb_err *err);

/* nb_outset_add() continuing `partial` (from nb_outset_resumable): the lock is taken over and
 * the file becomes this job's temporary file, its content kept.  On failure `partial` is left
 * as it was. */
int nb_outset_add_resumed(struct nb_outset *s, const char *flag, const char *name,
                          unsigned opts, const char *partial, nb_status *st, struct nb_err *err);

/* Remove this job's temporary and lock files and free the set (after a commit: only the
 * locks remain).  NULL-safe, idempotent. */
void nb_outset_fini(struct nb_outset *s);

/* For a signal handler: unlink every temporary and lock file of live sets (async-signal
 * safe). */
void nb_outset_unlink_all_from_signal(void);

#endif
