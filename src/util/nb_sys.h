/* nb_sys.h -- small questions asked of the operating system.  libc/POSIX only. */
#ifndef NB_SYS_H
#define NB_SYS_H

/* Would an allocation of `bytes` fit in the memory this machine has available now?
 * Checked before big allocations so that the program fails fast instead of appearing to
 * hang while the system overcommits (spec/cli.md §6.1). */
int nb_memory_allows(double bytes);

/* A default random seed in [1, 2^31 - 2] for a run without -seed: a hash (splitmix64) of the
 * wall clock in nanoseconds, the process id and a per-process counter, so that two jobs
 * started in the same second (or the same nanosecond, on different hosts or pids) differ.
 * Under MPI only rank 0 calls it and broadcasts the value. */
long nb_default_seed(void);

/* Seconds on a monotonic clock (intervals only: time-outs, meters). */
double nb_seconds(void);

#endif
