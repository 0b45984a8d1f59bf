/* nb_cuda.h -- the only view C code has of CUDA (C types only).
 *
 * cuda/nb_cuda.cu implements it with the CUDA runtime API (never the driver API, never
 * -lcuda); cuda/cuda_stub.c is the twin for builds without CUDA.  Any error from
 * cudaGetDeviceCount means "no device" (a driverless machine reports an insufficient driver).
 */
#ifndef NB_CUDA_H
#define NB_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when none, when the driver is missing, or not built). */
int nb_cuda_device_count(void);
/* One line describing the CUDA build and devices. */
const char *nb_cuda_describe(void);

#ifdef __cplusplus
}
#endif

#endif
