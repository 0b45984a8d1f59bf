/* nb_sys.h -- small questions asked of the operating system.  libc/POSIX only. */
#ifndef NB_SYS_H
#define NB_SYS_H

/* Would an allocation of `bytes` fit in the memory this machine has available now?
 * Checked before big allocations so that the program fails fast instead of appearing to
 * hang while the system overcommits (spec/cli.md §6.1). */
int nb_memory_allows(double bytes);

#endif
