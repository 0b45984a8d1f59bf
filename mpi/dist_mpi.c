/* dist_mpi.c -- the process group over MPI (see nb_dist.h).
 *
 * With mpi/h5_mpio.c, the only code that includes <mpi.h>.  MPI_COMM_WORLD or a rank group of it (nb_dist_split).
 * Collectives never leave a peer waiting: callers agree on status first.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nb_dist.h"
#include "../src/util/nb_sys.h"

#define TAG_PROGRESS 7101
#define TAG_DONE 7102

struct nb_dist {
    int rank, size, we_initialised;
    int active; /* 0: not started by an MPI launcher -- one process, no MPI calls at all */
    MPI_Comm comm; /* MPI_COMM_WORLD, or a rank group of nb_dist_split() (owned) */
};

/* Started by an MPI launcher?  A plain `nanobragg` run then skips MPI_Init, whose
 * singleton start-up costs most of a second (the drop-in CLI must stay quick). */
static int under_launcher(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", "MPI_LOCALNRANKS", "NB_FORCE_MPI"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

nb_status nb_dist_init(int *argc, char ***argv, struct nb_dist **d)
{
    int inited = 0;
    *d = calloc(1, sizeof **d);
    if (!*d)
        return NB_E_NOMEM;
    (*d)->size = 1;
    MPI_Initialized(&inited);
    if (!inited && !under_launcher())
        return NB_OK; /* serial: rank 0 of 1 */
    (*d)->active = 1;
    /* Open MPI's MPI-IO opens shared-file-pointer side files next to the HDF5 file on
     * multi-node runs (components lockedfile, individual); nanobragg uses no shared file
     * pointer, and a job ended by a signal would leave them behind (docs/batch.md, SLURM).
     * A value set by the user wins. */
    setenv("OMPI_MCA_sharedfp", "^lockedfile,individual", 0);
    if (!inited) {
        /* FUNNELED: the progress meter polls MPI from the master thread of the render's
         * OpenMP region while the other threads compute */
        int provided = MPI_THREAD_SINGLE;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return NB_E_COMM;
        (*d)->we_initialised = 1;
    }
    (*d)->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(MPI_COMM_WORLD, &(*d)->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &(*d)->size);
    return NB_OK;
}

int nb_dist_rank(const struct nb_dist *d)
{
    return d->rank;
}

int nb_dist_size(const struct nb_dist *d)
{
    return d->size;
}

int nb_dist_local_rank(struct nb_dist *d)
{
    if (!d->active)
        return 0;
    MPI_Comm node;
    int r = d->rank;
    if (MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node) !=
        MPI_SUCCESS)
        return r; /* no node grouping: the global rank (mod the devices) still spreads */
    MPI_Comm_rank(node, &r);
    MPI_Comm_free(&node);
    return r;
}

const char *nb_dist_library(void)
{
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    MPI_Get_library_version(buf, &len);
    for (int i = 0; i < len; i++)
        if (buf[i] == '\n' || buf[i] == ',') {
            buf[i] = '\0';
            break;
        }
    return buf;
}

void nb_dist_fini(struct nb_dist *d)
{
    if (!d)
        return;
    if (d->active && d->comm != MPI_COMM_WORLD)
        MPI_Comm_free(&d->comm);
    if (d->we_initialised)
        MPI_Finalize();
    free(d);
}

nb_status nb_dist_split(struct nb_dist *d, int color, int key, struct nb_dist **sub)
{
    *sub = calloc(1, sizeof **sub);
    if (!*sub)
        return NB_E_NOMEM; /* the caller agrees on status right after */
    (*sub)->size = 1;
    if (!d->active)
        return NB_OK;
    (*sub)->active = 1;
    if (MPI_Comm_split(d->comm, color, key, &(*sub)->comm) != MPI_SUCCESS) {
        (*sub)->active = 0;
        return NB_E_COMM;
    }
    MPI_Comm_rank((*sub)->comm, &(*sub)->rank);
    MPI_Comm_size((*sub)->comm, &(*sub)->size);
    return NB_OK;
}

/* MIN over ranks of `mine`, waiting at most `seconds` (< 0: for ever).  0 when done. */
static int min_within(MPI_Comm comm, int mine, int *first, double seconds)
{
    if (seconds < 0)
        return MPI_Allreduce(&mine, first, 1, MPI_INT, MPI_MIN, comm) == MPI_SUCCESS
                   ? 0
                   : -1;
    MPI_Request req;
    if (MPI_Iallreduce(&mine, first, 1, MPI_INT, MPI_MIN, comm, &req) != MPI_SUCCESS)
        return -1;
    const double deadline = nb_seconds() + seconds;
    for (;;) {
        int done = 0;
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (done)
            return 0;
        if (nb_seconds() > deadline)
            return -1; /* the request stays pending: the caller ends the job */
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
}

static nb_status agree(struct nb_dist *d, nb_status local, struct nb_err *err, double seconds,
                       int *timed_out)
{
    if (!d->active)
        return local;
    /* lowest failing rank: MIN over (failed ? rank : size) */
    int mine = local != NB_OK ? d->rank : d->size, first = d->size;
    if (min_within(d->comm, mine, &first, seconds) != 0) {
        if (timed_out && seconds >= 0)
            *timed_out = 1;
        if (err && seconds >= 0) {
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l,
                     "; other ranks did not return from the failed collective call within %g s",
                     seconds);
        }
        return NB_E_COMM;
    }
    if (first == d->size)
        return NB_OK;
    struct {
        int status;
        char msg[sizeof err->msg];
    } m;
    memset(&m, 0, sizeof m);
    if (d->rank == first) {
        m.status = (int)local;
        if (err)
            memcpy(m.msg, err->msg, sizeof m.msg);
    }
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, d->comm) != MPI_SUCCESS)
        return NB_E_COMM;
    if (err && d->rank != first) {
        if (first != 0)
            snprintf(err->msg, sizeof err->msg, "rank %d: %s", first, m.msg);
        else
            memcpy(err->msg, m.msg, sizeof err->msg);
    }
    return (nb_status)m.status;
}

nb_status nb_dist_agree(struct nb_dist *d, nb_status local, struct nb_err *err)
{
    return agree(d, local, err, -1.0, NULL);
}

nb_status nb_dist_agree_within(struct nb_dist *d, nb_status local, struct nb_err *err,
                               double seconds, int *timed_out)
{
    *timed_out = 0;
    return agree(d, local, err, seconds, timed_out);
}

void nb_dist_abort(struct nb_dist *d, int code)
{
    if (d && d->active)
        MPI_Abort(MPI_COMM_WORLD, code); /* the whole job, from any group */
    exit(code);
}

nb_status nb_dist_bcast(struct nb_dist *d, void *buf, size_t len, int root)
{
    if (!d->active)
        return NB_OK;
    if (len > INT_MAX)
        return NB_E_COMM;
    return MPI_Bcast(buf, (int)len, MPI_BYTE, root, d->comm) == MPI_SUCCESS ? NB_OK
                                                                                  : NB_E_COMM;
}

nb_status nb_dist_bcast_alloc(struct nb_dist *d, unsigned char **buf, size_t *len, int root)
{
    if (!d->active)
        return NB_OK;
    unsigned long long n = d->rank == root ? (unsigned long long)*len : 0;
    if (MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, d->comm) != MPI_SUCCESS)
        return NB_E_COMM;
    if (d->rank != root) {
        *buf = malloc(n ? (size_t)n : 1);
        *len = (size_t)n;
        if (!*buf)
            return NB_E_NOMEM; /* the caller agrees on status right after */
    }
    size_t off = 0;
    while (off < n) { /* in pieces below INT_MAX */
        size_t piece = n - off > (1u << 30) ? (1u << 30) : n - off;
        if (MPI_Bcast(*buf + off, (int)piece, MPI_BYTE, root, d->comm) != MPI_SUCCESS)
            return NB_E_COMM;
        off += piece;
    }
    return NB_OK;
}

int64_t nb_dist_min_index(struct nb_dist *d, int64_t v)
{
    if (!d->active)
        return v;
    long long x = v < 0 ? LLONG_MAX : (long long)v, r = LLONG_MAX;
    MPI_Allreduce(&x, &r, 1, MPI_LONG_LONG, MPI_MIN, d->comm);
    return r == LLONG_MAX ? -1 : (int64_t)r;
}

/* the token on the wire */
struct wire_token {
    int nonempty;
    int state;
    long long last_index;
    double vec[9];
};

/* MPI calls op(invec, inoutvec) with invec from the LOWER ranks: keep the later non-empty. */
static void later_wins(void *invec, void *inoutvec, int *len, MPI_Datatype *type)
{
    (void)type;
    struct wire_token *a = invec, *b = inoutvec;
    for (int i = 0; i < *len; i++)
        if (!b[i].nonempty)
            b[i] = a[i];
}

nb_status nb_dist_scan_carry(struct nb_dist *d, const struct nb_carry *mine, struct nb_carry *in,
                             int *have)
{
    struct wire_token w, r;
    MPI_Datatype t;
    MPI_Op op;
    if (!d->active) {
        (void)mine;
        (void)in;
        *have = 0;
        return NB_OK;
    }
    memset(&w, 0, sizeof w);
    memset(&r, 0, sizeof r);
    if (mine) {
        w.nonempty = 1;
        w.state = mine->state;
        w.last_index = (long long)mine->last_index;
        memcpy(w.vec, mine->vec, sizeof w.vec);
    }
    if (MPI_Type_contiguous((int)sizeof w, MPI_BYTE, &t) != MPI_SUCCESS)
        return NB_E_COMM;
    MPI_Type_commit(&t);
    MPI_Op_create(later_wins, 0 /* not commutative: band order matters */, &op);
    int rc = MPI_Exscan(&w, &r, 1, t, op, d->comm);
    MPI_Op_free(&op);
    MPI_Type_free(&t);
    if (rc != MPI_SUCCESS)
        return NB_E_COMM;
    *have = d->rank > 0 && r.nonempty; /* Exscan leaves rank 0's result undefined */
    if (*have) {
        in->state = r.state;
        in->last_index = (int64_t)r.last_index;
        memcpy(in->vec, r.vec, sizeof in->vec);
    }
    return NB_OK;
}

nb_status nb_dist_gather(struct nb_dist *d, const void *mine, size_t count, size_t offset,
                         size_t elem, void *all, int root)
{
    /* counts and displacements in units of `elem` bytes, via a contiguous type */
    MPI_Datatype t;
    int *counts = NULL, *displs = NULL;
    long long pair[2] = {(long long)count, (long long)offset}, *pairs = NULL;
    nb_status st = NB_OK;
    if (!d->active) {
        if (all && mine && all != mine)
            memmove((char *)all + offset * elem, mine, count * elem);
        return NB_OK;
    }
    if (d->rank == root) {
        pairs = malloc(sizeof(long long) * 2 * (size_t)d->size);
        counts = malloc(sizeof(int) * (size_t)d->size);
        displs = malloc(sizeof(int) * (size_t)d->size);
        if (!pairs || !counts || !displs) {
            st = NB_E_NOMEM;
        }
    }
    if (MPI_Gather(pair, 2, MPI_LONG_LONG, pairs, 2, MPI_LONG_LONG, root, d->comm) !=
        MPI_SUCCESS)
        st = NB_E_COMM;
    if (d->rank == root && st == NB_OK)
        for (int r = 0; r < d->size; r++) {
            if (pairs[2 * r] > INT_MAX || pairs[2 * r + 1] > INT_MAX)
                st = NB_E_COMM;
            counts[r] = (int)pairs[2 * r];
            displs[r] = (int)pairs[2 * r + 1];
        }
    MPI_Type_contiguous((int)elem, MPI_BYTE, &t);
    MPI_Type_commit(&t);
    if (MPI_Gatherv(mine, (int)count, t, all, counts, displs, t, root, d->comm) !=
        MPI_SUCCESS)
        st = NB_E_COMM;
    MPI_Type_free(&t);
    free(pairs);
    free(counts);
    free(displs);
    return st;
}

nb_status nb_dist_allgather(struct nb_dist *d, const void *mine, size_t len, void *all)
{
    if (!d->active) {
        if (all != mine)
            memmove(all, mine, len);
        return NB_OK;
    }
    return MPI_Allgather(mine, (int)len, MPI_BYTE, all, (int)len, MPI_BYTE, d->comm) ==
                   MPI_SUCCESS
               ? NB_OK
               : NB_E_COMM;
}

void nb_dist_progress_send(struct nb_dist *d, long increment)
{
    if (!d->active || d->rank == 0 || increment <= 0)
        return;
    long long v = increment;
    MPI_Send(&v, 1, MPI_LONG_LONG, 0, TAG_PROGRESS, d->comm);
}

void nb_dist_progress_done(struct nb_dist *d)
{
    if (!d->active || d->rank == 0)
        return;
    int one = 1;
    MPI_Send(&one, 1, MPI_INT, 0, TAG_DONE, d->comm);
}

int nb_dist_progress_poll(struct nb_dist *d, long *pixels, int *done, int block)
{
    if (!d->active || d->rank != 0)
        return 0;
    for (;;) {
        int flag = 0;
        MPI_Status s;
        if (block)
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->comm, &s), flag = 1;
        else
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->comm, &flag, &s);
        if (!flag)
            return 0;
        if (s.MPI_TAG == TAG_PROGRESS) {
            long long v;
            MPI_Recv(&v, 1, MPI_LONG_LONG, s.MPI_SOURCE, TAG_PROGRESS, d->comm,
                     MPI_STATUS_IGNORE);
            *pixels += (long)v;
        } else if (s.MPI_TAG == TAG_DONE) {
            int one;
            MPI_Recv(&one, 1, MPI_INT, s.MPI_SOURCE, TAG_DONE, d->comm, MPI_STATUS_IGNORE);
            (*done)++;
        } else {
            return 0; /* not ours */
        }
        block = 0; /* after the first message, drain without waiting */
    }
}
