/* nb_fault.h -- failure injection for the failure tests (docs/testing.md, "Failure injection").
 *
 * The environment variable NB_FAULT names points where this process must fail as if the
 * operation there had failed: a comma-separated list of `point` or `point@rank` (the rank of
 * the MPI process group; without @ every rank fails there).  Points used by the program:
 *   h5-create, h5-run, h5-write, h5-close   (HDF5 writer, nb_nxmx.c: fail before the next
 *                                            collective call of nb_nxmx_create,
 *                                            nb_nxmx_frames_done, nb_nxmx_write_frame,
 *                                            nb_nxmx_close)
 *   h5-stop                         (the process stops itself with SIGSTOP as it starts
 *                                    writing a frame's images, to be killed there)
 *   out-write                       (writing an image to its temporary file)
 *   commit-<k>                      (renaming the k-th output into place, k = 0, 1, ...)
 *   stop-before-commit              (the process stops itself with SIGSTOP before committing)
 *   gpu-create, gpu-render          (the CUDA back-end: the scene upload, a band render fail
 *                                    as a device error would; cuda/nb_gpu_backend.c)
 * Unset (the normal case) it costs one getenv per query.  libc only.
 */
#ifndef NB_FAULT_H
#define NB_FAULT_H

/* The rank that `point@rank` entries refer to (default 0). */
void nb_fault_set_rank(int rank);
/* Non-zero when NB_FAULT asks this process to fail at `point`. */
int nb_fault(const char *point);

#endif
