/* nb_status.h -- status codes and the caller-owned error buffer, shared by every module.
 *
 * Append only: logs, tests and batch scripts name these codes.  They are not exit codes;
 * main() maps them (every failure exits with status 9, as nanoBragg does; a series stopped by
 * a signal, resumable, exits with 75).
 * No dependencies beyond libc.  Entry points: nb_strerror(), nb_err_set().
 */
#ifndef NB_STATUS_H
#define NB_STATUS_H

#include <stddef.h>

typedef enum {
    NB_OK = 0,
    NB_E_USAGE,     /* bad command line or configuration value             */
    NB_E_INPUT,     /* unreadable or malformed input file                  */
    NB_E_OUTPUT,    /* cannot create or write an output file               */
    NB_E_NOMEM,     /* allocation failed or would exceed available memory  */
    NB_E_DEVICE,    /* CUDA failure or no usable device                    */
    NB_E_COMM,      /* MPI failure or a peer rank failed                   */
    NB_E_NOT_BUILT, /* feature not compiled into this build                */
    NB_E_INTERNAL,  /* consistency check failed (a bug: please report)     */
    NB_E_STOPPED    /* stopped by a signal between frames: resumable       */
} nb_status;

/* Short stable name of a status ("NB_E_INPUT"). */
const char *nb_strerror(nb_status s);

/* Caller-owned message buffer; written only on failure.  The message is one line without
 * the "error: " prefix, conventionally "<flag or file>: <what is wrong>". */
struct nb_err {
    char msg[512];
};

#if defined(__GNUC__)
#define NB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NB_PRINTF(a, b)
#endif

void nb_err_set(struct nb_err *e, const char *fmt, ...) NB_PRINTF(2, 3);

/* Assertion for programming errors (on in every build: a wrong image is worse than a stop). */
void nb_assert_fail(const char *expr, const char *file, int line);
#define NB_ASSERT(x) ((x) ? (void)0 : nb_assert_fail(#x, __FILE__, __LINE__))

#endif
