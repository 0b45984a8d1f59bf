/* nb_outfile.c -- output files committed all or nothing (see nb_outfile.h).
 *
 * The only other mutable file-scope state of the I/O layer besides nb_files.c: the list of
 * this process's temporary and lock files, copied into static storage so that a signal
 * handler can unlink them without touching the heap.
 */
#define _XOPEN_SOURCE 700
#include "nb_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/nb_fault.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ------------------------------------------------------------------ signal-safe registry */

#define REG_SLOTS (2 * NB_OUTSET_MAX + 2)
static char reg_path[REG_SLOTS][PATH_MAX];

static int reg_add(const char *path)
{
    if (strlen(path) >= PATH_MAX)
        return -1;
    for (int i = 0; i < REG_SLOTS; i++)
        if (reg_path[i][0] == '\0') {
            memcpy(reg_path[i], path, strlen(path) + 1);
            return i;
        }
    return -1;
}

static void reg_drop(const char *path)
{
    for (int i = 0; i < REG_SLOTS; i++)
        if (path && strcmp(reg_path[i], path) == 0)
            reg_path[i][0] = '\0';
}

/* Temporary files first, locks last: if the process is killed half way (Open MPI sends
 * SIGKILL a few milliseconds after SIGTERM), every temporary file left still has its lock, so
 * the next run on this host takes the lock over and removes it. */
static int is_lock_path(const char *p)
{
    size_t n = strlen(p);
    return n >= 5 && strcmp(p + n - 5, ".lock") == 0;
}

void nb_outset_unlink_all_from_signal(void)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < REG_SLOTS; i++)
            if (reg_path[i][0] != '\0' && is_lock_path(reg_path[i]) == pass)
                unlink(reg_path[i]);
}

/* ------------------------------------------------------------------ names */

static char *str_printf(const char *fmt, ...) NB_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Length of the directory part of path, trailing '/' included (0: current directory). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

/* The directory holding path ("." for a bare name) into buf. */
static void dir_of(const char *path, char *buf, size_t n)
{
    const size_t dl = dir_len(path);
    snprintf(buf, n, "%.*s", dl ? (int)dl : 1, dl ? path : ".");
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* `<dir>/.<base>.<tag>`, or `<dir>/.nb-<hash of base>.<tag>` past the name limit. */
static char *aux_name(const char *target, const char *tag)
{
    const size_t dl = dir_len(target);
    const char *base = target + dl;
    char dir[PATH_MAX];
    dir_of(target, dir, sizeof dir);
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0)
        name_max = 255;
    if (strlen(base) + strlen(tag) + 2 <= (size_t)name_max)
        return str_printf("%.*s.%s.%s", (int)dl, target, base, tag);
    return str_printf("%.*s.nb-%016llx.%s", (int)dl, target, (unsigned long long)fnv1a64(base),
                      tag);
}

/* Follow symbolic links to the file they name (which may not exist yet). */
static char *resolve_links(const char *name)
{
    char *p = strdup(name);
    for (int hop = 0; p && hop < 40; hop++) {
        struct stat sb;
        char buf[PATH_MAX];
        if (lstat(p, &sb) != 0 || !S_ISLNK(sb.st_mode))
            break;
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        if (n < 0)
            break;
        buf[n] = '\0';
        char *next = buf[0] == '/' ? strdup(buf) : str_printf("%.*s%s", (int)dir_len(p), p, buf);
        free(p);
        p = next;
    }
    return p;
}

/* The real directory of target joined with its name (the same file gives the same string). */
static char *canonical(const char *target)
{
    const size_t dl = dir_len(target);
    char dir[PATH_MAX], real[PATH_MAX];
    dir_of(target, dir, sizeof dir);
    if (!realpath(dir, real))
        return strdup(target);
    return str_printf("%s/%s", strcmp(real, "/") ? real : "", target + dl);
}

/* Devices, FIFOs and sockets, and anything under /proc or reached through a link under /dev
 * (/dev/stdout), are written in place as nanoBragg writes them. */
static int is_special(const char *name)
{
    struct stat sb, lsb;
    if (stat(name, &sb) != 0)
        return 0;
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return 1;
    if (strncmp(name, "/proc/", 6) == 0)
        return 1;
    return strncmp(name, "/dev/", 5) == 0 && lstat(name, &lsb) == 0 && S_ISLNK(lsb.st_mode);
}

/* ------------------------------------------------------------------ locks */

static void host_name(char *buf, size_t n)
{
    if (gethostname(buf, n) != 0)
        snprintf(buf, n, "unknown");
    buf[n - 1] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == ' ' || *c == '\n')
            *c = '_';
}

struct lock_owner {
    long pid;
    char host[256];
    char job[48];
    unsigned long long start; /* the process's start time (Linux clock ticks), 0 unknown */
    char slurm[64];           /* "<SLURM_JOB_ID>.<SLURM_RESTART_COUNT>", "" outside Slurm */
};

/* This process's Slurm job and incarnation ("<job id>.<restart count>"), "" outside Slurm.  A
 * job that Slurm requeues (pre-emption, node failure) keeps its id and counts up its restarts,
 * on whatever node it lands. */
static void slurm_incarnation(char *buf, size_t n)
{
    const char *id = getenv("SLURM_JOB_ID"), *rc = getenv("SLURM_RESTART_COUNT");
    if (!id || !*id || strlen(id) > 30 || strchr(id, ' '))
        buf[0] = '\0';
    else
        snprintf(buf, n, "%s.%ld", id, rc ? strtol(rc, NULL, 10) : 0L);
}

/* Start time of a process (field 22 of /proc/<pid>/stat), 0 when unknown: with the pid it
 * tells a live owner from a later process that reuses its pid.  *state gets field 3 (R, S,
 * Z...), '?' when unknown. */
static unsigned long long proc_start(long pid, char *state)
{
    char path[64], text[1024];
    unsigned long long t = 0;
    if (state)
        *state = '?';
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* the command name may hold spaces */
    if (p && state && p[1] == ' ' && p[2] != '\0')
        *state = p[2];
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p)
        t = strtoull(p + 1, NULL, 10);
    return t;
}

static int read_owner(const char *lock, struct lock_owner *o)
{
    char text[512] = {0};
    memset(o, 0, sizeof *o);
    FILE *fp = fopen(lock, "r");
    if (!fp)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    if (sscanf(text, "nanobragg pid=%ld host=%255s", &o->pid, o->host) != 2)
        return -1;
    const char *jb = strstr(text, " job=");
    if (!jb || sscanf(jb, " job=%47s", o->job) != 1)
        o->job[0] = '\0';
    const char *st = strstr(text, " start=");
    o->start = st ? strtoull(st + 7, NULL, 10) : 0;
    const char *sl = strstr(text, " slurm=");
    if (!sl || sscanf(sl, " slurm=%63s", o->slurm) != 1)
        o->slurm[0] = '\0';
    return 0;
}

/* The same Slurm job, an earlier incarnation: the job was requeued, its earlier run is over. */
static int earlier_incarnation(const struct lock_owner *o)
{
    char me[64];
    slurm_incarnation(me, sizeof me);
    const char *dm = strrchr(me, '.'), *dl = strrchr(o->slurm, '.');
    if (!dm || !dl || dm - me != dl - o->slurm || strncmp(me, o->slurm, (size_t)(dm - me)) != 0)
        return 0;
    return strtol(dl + 1, NULL, 10) < strtol(dm + 1, NULL, 10);
}

/* A lock left by a process of this host that no longer exists, or by an earlier incarnation
 * of this Slurm job (on any node). */
static int lock_is_stale(const struct lock_owner *o)
{
    char me[256];
    host_name(me, sizeof me);
    if (o->pid > 0 && earlier_incarnation(o))
        return 1;
    if (o->pid <= 0 || strcmp(o->host, me) != 0)
        return 0;
    if (kill((pid_t)o->pid, 0) != 0 && errno == ESRCH)
        return 1;
    char state;
    unsigned long long now = proc_start(o->pid, &state);
    if (now != 0 && now == o->start && (state == 'Z' || state == 'X'))
        return 1; /* it has exited; its parent has not collected its status yet */
    return o->start != 0 && now != 0 && now != o->start; /* the pid was reused */
}

/* Move a stale lock aside atomically; put it back if it changed owner meanwhile.  The dead
 * job's temporary file for this output (named by its job tag) is removed with it: nothing
 * else can ever use it.  Its backup of a previous file (".old"), if any, is kept. */
static void break_stale_lock(const char *lock, const char *target, const char *job,
                             const struct lock_owner *seen)
{
    char tag[80];
    snprintf(tag, sizeof tag, "%s.stale", job);
    char *aside = aux_name(target, tag);
    struct lock_owner now;
    if (aside && rename(lock, aside) == 0) {
        if (read_owner(aside, &now) == 0 && (now.pid != seen->pid || strcmp(now.host, seen->host))) {
            (void)link(aside, lock); /* someone else's fresh lock: restore it */
        } else if (seen->job[0] && strchr(seen->job, '/') == NULL) {
            char part[80];
            snprintf(part, sizeof part, "%s.partial", seen->job);
            char *orphan = aux_name(target, part);
            if (orphan)
                unlink(orphan);
            free(orphan);
        }
        unlink(aside);
    }
    free(aside);
}

static int lock_take(const struct nb_outfile *o, const char *lock, const char *job,
                     nb_status *st, struct nb_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            char host[256], text[480], sl[64];
            host_name(host, sizeof host);
            slurm_incarnation(sl, sizeof sl);
            int n = snprintf(text, sizeof text,
                             "nanobragg pid=%ld host=%s job=%s start=%llu%s%s\n", (long)getpid(),
                             host, job, proc_start((long)getpid(), NULL), sl[0] ? " slurm=" : "",
                             sl);
            int ok = write(fd, text, (size_t)n) == n;
            if (close(fd) != 0 || !ok) {
                unlink(lock);
                break;
            }
            return 0;
        }
        if (errno != EEXIST)
            break;
        struct lock_owner owner;
        int known = read_owner(lock, &owner) == 0;
        if (attempt == 0 && known && lock_is_stale(&owner)) {
            break_stale_lock(lock, o->target, job, &owner);
            continue;
        }
        if (known) {
            char tag[80];
            snprintf(tag, sizeof tag, "%s.partial", owner.job[0] ? owner.job : "*");
            char *theirs = aux_name(o->target, tag);
            nb_err_set(err,
                       "%s: '%s' is being written by another nanobragg job (pid %ld on host %s; "
                       "lock file %s); if no such job runs, remove the lock file and that "
                       "job's temporary file %s",
                       o->flag, o->name, owner.pid, owner.host, lock, theirs ? theirs : "");
            free(theirs);
        }
        else
            nb_err_set(err,
                       "%s: '%s' is locked (unreadable lock file %s); if no nanobragg job "
                       "writes it, remove the lock file",
                       o->flag, o->name, lock);
        *st = NB_E_OUTPUT;
        return -1;
    }
    nb_err_set(err, "%s: cannot create output file '%s' (%s)", o->flag, o->name,
               strerror(errno));
    *st = NB_E_OUTPUT;
    return -1;
}

/* ------------------------------------------------------------------ the set */

static void random_hex(char *buf, size_t n)
{
    unsigned long long r = 0;
    FILE *fp = fopen("/dev/urandom", "rb");
    if (!fp || fread(&r, sizeof r, 1, fp) != 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (unsigned long long)ts.tv_nsec * 6364136223846793005ull ^ (unsigned long long)ts.tv_sec;
    }
    if (fp)
        fclose(fp);
    snprintf(buf, n, "%08llx", r & 0xffffffffull);
}

void nb_outset_init(struct nb_outset *s)
{
    char rnd[20];
    memset(s, 0, sizeof *s);
    random_hex(rnd, sizeof rnd);
    snprintf(s->job, sizeof s->job, "%ld-%s", (long)getpid(), rnd);
}

/* Remove this entry's temporary file (unless committed: then it is the output) and its
 * lock, temporary file first (see nb_outset_unlink_all_from_signal). */
static void release(struct nb_outfile *o)
{
    if (o->keep && !o->committed) { /* resumable: the file and its lock stay */
        reg_drop(o->tmp);
        reg_drop(o->lock);
    } else {
        if (o->tmp && !o->committed) {
            unlink(o->tmp);
            reg_drop(o->tmp);
        }
        if (o->lock) {
            unlink(o->lock);
            reg_drop(o->lock);
        }
    }
    free(o->tmp);
    free(o->lock);
    o->tmp = o->lock = NULL;
}

static void entry_free(struct nb_outfile *o)
{
    release(o);
    free(o->name);
    free(o->target);
    free(o->canon);
    free(o->backup);
    memset(o, 0, sizeof *o);
}

static int check_name(struct nb_outset *s, struct nb_outfile *o, nb_status *st,
                      struct nb_err *err)
{
    struct stat sb;
    *st = NB_E_OUTPUT;
    if (o->name[0] == '\0') {
        nb_err_set(err, "%s: '' is an empty file name", o->flag);
        return -1;
    }
    const int exists = stat(o->target, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        nb_err_set(err, "%s: '%s' is a directory, not a file name", o->flag, o->name);
        return -1;
    }
    if (!exists && (errno == ELOOP || errno == ENAMETOOLONG)) {
        nb_err_set(err, "%s: '%s': %s", o->flag, o->name, strerror(errno));
        return -1;
    }
    const size_t dl = dir_len(o->target);
    char dir[PATH_MAX];
    dir_of(o->target, dir, sizeof dir);
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (strlen(o->target + dl) > (size_t)(name_max > 0 ? name_max : 255)) {
        nb_err_set(err, "%s: '%s': the file name is longer than this file system allows (%ld)",
                   o->flag, o->name, name_max > 0 ? name_max : 255L);
        return -1;
    }
    for (int j = 0; j < s->n; j++)
        if (s->f[j].canon && strcmp(s->f[j].canon, o->canon) == 0) {
            nb_err_set(err, "%s: '%s' is also the %s output", o->flag, o->name, s->f[j].flag);
            return -1;
        }
    *st = NB_OK;
    return 0;
}

int nb_outset_add(struct nb_outset *s, const char *flag, const char *name, unsigned opts,
                  nb_status *st, struct nb_err *err)
{
    struct nb_err quiet;
    struct nb_err *e = (opts & NB_OUT_OPTIONAL) ? &quiet : err;
    char *lock = NULL, *tmp = NULL;
    NB_ASSERT(s->n < NB_OUTSET_MAX);
    struct nb_outfile *o = &s->f[s->n];
    memset(o, 0, sizeof *o);
    o->flag = flag;
    o->name = strdup(name);
    if (!o->name)
        goto nomem;
    if (name[0] && is_special(name)) {
        if (opts & NB_OUT_REGULAR_ONLY) {
            nb_err_set(e, "%s: '%s' is not a regular file (an HDF5 file must be one)", flag,
                       name);
            *st = NB_E_OUTPUT;
            goto fail;
        }
        o->in_place = 1;
        o->target = strdup(name);
        if (!o->target)
            goto nomem;
        *st = NB_OK;
        return s->n++;
    }
    /* o->lock and o->tmp are set only once this entry has created them: a failed add
     * (a duplicate name, say) must never unlink another output's files of the same names */
    char tag[80];
    snprintf(tag, sizeof tag, "%s.partial", s->job);
    o->target = resolve_links(name);
    o->canon = o->target ? canonical(o->target) : NULL;
    lock = o->target ? aux_name(o->target, "lock") : NULL;
    tmp = o->target ? aux_name(o->target, tag) : NULL;
    if (!o->target || !o->canon || !tmp || !lock)
        goto nomem;
    if (check_name(s, o, st, e) != 0)
        goto fail;
    if (lock_take(o, lock, s->job, st, e) != 0)
        goto fail;
    o->lock = lock;
    lock = NULL;
    reg_add(o->lock);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        nb_err_set(e, "%s: cannot create output file '%s' (%s)", flag, name, strerror(errno));
        *st = NB_E_OUTPUT;
        goto fail;
    }
    close(fd);
    o->tmp = tmp;
    tmp = NULL;
    reg_add(o->tmp);
    o->optional = (opts & NB_OUT_OPTIONAL) != 0;
    *st = NB_OK;
    return s->n++;
nomem:
    nb_err_set(e, "%s: out of memory", flag);
    *st = NB_E_NOMEM;
fail:
    free(lock);
    free(tmp);
    entry_free(o);
    if (opts & NB_OUT_OPTIONAL)
        *st = NB_OK;
    return -1;
}

const char *nb_outset_path(const struct nb_outset *s, int i)
{
    return s->f[i].in_place ? s->f[i].target : s->f[i].tmp;
}

int nb_outset_dropped(const struct nb_outset *s, int i)
{
    return s->f[i].dropped;
}

/* An optional output (a cache) that could not be written: give it up, keep the run. */
static void drop(struct nb_outfile *o)
{
    release(o);
    o->dropped = 1;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

nb_status nb_outset_write(struct nb_outset *s, int i, const void *a, size_t na, const void *b,
                          size_t nb, const void *c, size_t nc, struct nb_err *err)
{
    struct nb_outfile *o = &s->f[i];
    int fd = o->in_place ? open(o->target, O_WRONLY | O_CREAT | O_TRUNC, 0666)
                         : open(o->tmp, O_WRONLY | O_TRUNC);
    if (fd < 0) {
        nb_err_set(err, "%s: cannot write '%s' (%s)", o->flag, o->name, strerror(errno));
        return NB_E_OUTPUT;
    }
    int bad = (na && write_all(fd, a, na)) || (nb && write_all(fd, b, nb)) ||
              (nc && write_all(fd, c, nc));
    if (!bad && nb_fault("out-write")) {
        errno = ENOSPC;
        bad = 1;
    }
    if (!bad && !o->in_place && fsync(fd) != 0)
        bad = 1;
    int saved = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad && o->optional) {
        drop(o);
        return NB_OK;
    }
    if (bad) {
        nb_err_set(err, "%s: writing '%s' failed (%s)", o->flag, o->name, strerror(saved));
        return NB_E_OUTPUT;
    }
    return NB_OK;
}

/* ------------------------------------------------------------------ commit */

static void sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Keep the file about to be replaced: a hard link, or (no hard links on this file system)
 * the file itself moved aside.  0 when there is nothing to keep or it is kept. */
static int keep_old(struct nb_outfile *o, const char *job)
{
    struct stat sb;
    if (lstat(o->target, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISREG(sb.st_mode)) { /* something else took the name during the run */
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EEXIST;
        return -1;
    }
    char tag[80];
    snprintf(tag, sizeof tag, "%s.old", job);
    o->backup = aux_name(o->target, tag);
    if (!o->backup)
        return -1;
    (void)chmod(o->tmp, sb.st_mode & 07777); /* the new file keeps the old one's mode */
    if (link(o->target, o->backup) == 0)
        return 0;
    if (errno == EPERM || errno == EMLINK || errno == EXDEV || errno == ENOSYS ||
        errno == EOPNOTSUPP) {
        if (rename(o->target, o->backup) == 0) {
            o->backup_moved = 1;
            return 0;
        }
    }
    free(o->backup);
    o->backup = NULL;
    return -1;
}

/* Undo outputs [0, upto): put back what was there before, remove what was not. */
static void roll_back(struct nb_outset *s, int upto, struct nb_err *err)
{
    for (int j = upto - 1; j >= 0; j--) {
        struct nb_outfile *o = &s->f[j];
        if (o->in_place || o->dropped || o->optional)
            continue;
        if (o->committed) {
            if (o->backup ? rename(o->backup, o->target) != 0 : unlink(o->target) != 0) {
                size_t l = strlen(err->msg);
                snprintf(err->msg + l, sizeof err->msg - l, "; could not restore '%s'%s%s",
                         o->name, o->backup ? ", the previous file is " : "",
                         o->backup ? o->backup : "");
                free(o->backup);
                o->backup = NULL; /* keep it: it is the user's previous file */
                continue;
            }
            o->committed = 0;
            free(o->tmp); /* consumed by the rename: nothing to unlink */
            o->tmp = NULL;
        } else if (o->backup) {
            if (o->backup_moved)
                (void)rename(o->backup, o->target);
            else
                unlink(o->backup);
        }
        free(o->backup);
        o->backup = NULL;
    }
}

nb_status nb_outset_commit(struct nb_outset *s, struct nb_err *err)
{
    sigset_t hold, saved;
    nb_status st = NB_OK;
    if (nb_fault("stop-before-commit"))
        raise(SIGSTOP);
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGPIPE);
    sigaddset(&hold, SIGQUIT);
    sigaddset(&hold, SIGXCPU);
    sigaddset(&hold, SIGXFSZ);
    sigaddset(&hold, SIGUSR1);
    sigaddset(&hold, SIGUSR2);
    sigaddset(&hold, SIGALRM);
    sigprocmask(SIG_BLOCK, &hold, &saved);
    int i;
    for (i = 0; i < s->n; i++) {
        struct nb_outfile *o = &s->f[i];
        char point[32];
        if (o->in_place)
            continue;
        if (o->dropped)
            continue;
        snprintf(point, sizeof point, "commit-%d", i);
        if (o->optional) { /* a cache, put in place last-minute and never worth a roll-back */
            if (rename(o->tmp, o->target) == 0) {
                o->committed = 1;
                reg_drop(o->tmp);
            }
            continue;
        }
        if (keep_old(o, s->job) != 0) {
            nb_err_set(err, "%s: cannot replace '%s' (%s); no output was changed", o->flag,
                       o->name, strerror(errno));
            st = NB_E_OUTPUT;
            break;
        }
        int failed = nb_fault(point) ? (errno = EIO, 1) : rename(o->tmp, o->target) != 0;
        if (failed) {
            nb_err_set(err, "%s: cannot rename the finished file into place as '%s' (%s); no "
                       "output was changed", o->flag, o->name, strerror(errno));
            st = NB_E_OUTPUT;
            i++; /* this one's kept file is undone too */
            break;
        }
        o->committed = 1;
        reg_drop(o->tmp);
    }
    if (st != NB_OK) {
        roll_back(s, i, err);
    } else {
        for (i = 0; i < s->n; i++) {
            struct nb_outfile *o = &s->f[i];
            if (o->backup)
                unlink(o->backup);
            free(o->backup);
            o->backup = NULL;
            if (!o->in_place)
                sync_dir_of(o->target);
        }
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return st;
}

void nb_outset_keep_on_failure(struct nb_outset *s, int i)
{
    struct nb_outfile *o = &s->f[i];
    if (o->in_place || !o->tmp)
        return;
    o->keep = 1;
    reg_drop(o->tmp); /* a signal must not remove it either */
    reg_drop(o->lock);
}

/* The temporary file of a stopped or killed job writing `name`: named by the job tag of a
 * stale lock, or, without a lock, the only ".<name>.*.partial" there is. */
nb_status nb_outset_resumable(const char *name, char **partial, struct nb_err *err)
{
    *partial = NULL;
    char *target = resolve_links(name);
    char *lock = target ? aux_name(target, "lock") : NULL;
    nb_status st = NB_OK;
    if (!target || !lock) {
        nb_err_set(err, "--resume: out of memory");
        st = NB_E_NOMEM;
        goto done;
    }
    struct lock_owner ow;
    if (read_owner(lock, &ow) == 0) {
        if (!lock_is_stale(&ow)) {
            nb_err_set(err, "--resume: '%s' is locked by pid %ld on host %s (lock file %s), a "
                            "job that may still run; if it is over, remove the lock file",
                       name, ow.pid, ow.host, lock);
            st = NB_E_OUTPUT;
            goto done;
        }
        char tag[80];
        snprintf(tag, sizeof tag, "%s.partial", ow.job);
        char *p = ow.job[0] && !strchr(ow.job, '/') ? aux_name(target, tag) : NULL;
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            *partial = p;
        else
            free(p);
        goto done;
    }
    /* no lock (removed by hand): the one temporary file of this name */
    char dir[PATH_MAX];
    dir_of(target, dir, sizeof dir);
    const char *base = target + dir_len(target);
    DIR *dp = opendir(dir);
    size_t bl = strlen(base);
    int found = 0;
    for (struct dirent *e; dp && (e = readdir(dp));) {
        size_t l = strlen(e->d_name);
        if (l > bl + 9 && e->d_name[0] == '.' && strncmp(e->d_name + 1, base, bl) == 0 &&
            e->d_name[bl + 1] == '.' && strcmp(e->d_name + l - 8, ".partial") == 0) {
            if (++found > 1) {
                nb_err_set(err, "--resume: several temporary files of '%s' (%s, ...): keep the "
                                "one to continue, remove the others",
                           name, e->d_name);
                st = NB_E_OUTPUT;
                free(*partial);
                *partial = NULL;
                break;
            }
            size_t n = strlen(dir) + l + 2;
            *partial = malloc(n);
            if (*partial)
                snprintf(*partial, n, "%s/%s", dir, e->d_name);
        }
    }
    if (dp)
        closedir(dp);
done:
    free(target);
    free(lock);
    return st;
}

int nb_outset_add_resumed(struct nb_outset *s, const char *flag, const char *name,
                          unsigned opts, const char *partial, nb_status *st, struct nb_err *err)
{
    /* out of the way of the stale lock's take-over, which removes the dead job's file */
    char tag[80];
    snprintf(tag, sizeof tag, "%s.resume", s->job);
    char *target = resolve_links(name);
    char *hold = target ? aux_name(target, tag) : NULL;
    free(target);
    if (!hold || rename(partial, hold) != 0) {
        nb_err_set(err, "%s: cannot take over '%s' (%s)", flag, partial,
                   hold ? strerror(errno) : "out of memory");
        free(hold);
        *st = NB_E_OUTPUT;
        return -1;
    }
    int i = nb_outset_add(s, flag, name, opts, st, err);
    if (i < 0 || rename(hold, s->f[i].tmp) != 0) {
        if (i >= 0) {
            nb_err_set(err, "%s: cannot take over '%s' (%s)", flag, partial, strerror(errno));
            *st = NB_E_OUTPUT;
        }
        (void)rename(hold, partial); /* as it was */
        free(hold);
        return -1;
    }
    free(hold);
    return i;
}

void nb_outset_fini(struct nb_outset *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        entry_free(&s->f[i]);
    s->n = 0;
}
