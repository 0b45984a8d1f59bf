/* nb_sys.c -- see nb_sys.h. */
#define _POSIX_C_SOURCE 200809L
#include "nb_sys.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>
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

long nb_default_seed(void)
{
    static uint64_t calls;
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 40 ^ (uint64_t)getppid() << 20 ^ ++calls * 0x9e3779b97f4a7c15u;
    x += 0x9e3779b97f4a7c15u; /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    return 1 + (long)(x % 2147483646u);
}

double nb_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
