/* nb_cuda.h -- the program's view of the GPU back-end (C types only).
 *
 * nb_backend_cuda renders bands on a CUDA device (cuda/nb_cuda.cu, the runtime API only: the
 * binary starts on a machine without a driver), or on the CPU grid emulator when
 * $NB_CUDA_EMULATE=<SMs> is set (tests; docs/gpu.md).  Any error from cudaGetDeviceCount
 * means "no device" (a driverless machine reports an insufficient driver).
 */
#ifndef NB_CUDA_H
#define NB_CUDA_H

#include "../src/engine/nb_backend.h"

extern const struct nb_backend_ops nb_backend_cuda;

/* Number of usable CUDA devices (0 when none, when the driver is missing, or not built);
 * 1 under the emulator. */
int nb_cuda_device_count(void);
/* Why there is no usable device (NULL when there is one). */
const char *nb_cuda_unavailable(void);
/* Name of device dev. */
const char *nb_cuda_device_name(int dev);
/* One line describing the CUDA build and devices. */
const char *nb_cuda_describe(void);
/* Render on device dev from now on (this process). */
void nb_gpu_set_device(int dev);
/* Non-zero when $NB_CUDA_EMULATE puts the CPU grid emulator in CUDA's place. */
int nb_gpu_emulate_sms(void);
/* Close the device state the back-end keeps across renders (call once, at the end). */
void nb_gpu_release(void);

#endif
