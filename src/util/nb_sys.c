/* nb_sys.c -- see nb_sys.h. */
#define _POSIX_C_SOURCE 200809L
#include "nb_sys.h"

#include <stdio.h>
#include <unistd.h>

int nb_memory_allows(double bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double avail = (pages > 0 && psize > 0) ? (double)pages * (double)psize : 1e12;
    FILE *fp = fopen("/proc/meminfo", "r");
    if (fp) {
        char line[256];
        while (fgets(line, sizeof line, fp)) {
            double kb;
            if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) {
                avail = kb * 1024.0;
                break;
            }
        }
        fclose(fp);
    }
    return bytes >= 0 && bytes <= avail;
}
