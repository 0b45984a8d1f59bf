// nb_cuda.cu -- CUDA runtime queries (runtime API only: the binary starts without a driver).
#include <cuda_runtime.h>
#include <stdio.h>

#include "nb_cuda.h"

extern "C" int nb_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess)
        return 0; // no device, or no (sufficient) driver: take the CPU path
    return n;
}

extern "C" const char *nb_cuda_describe(void)
{
    static char buf[256];
    int rt = 0, n = nb_cuda_device_count();
    cudaRuntimeGetVersion(&rt);
    if (n == 0) {
        snprintf(buf, sizeof buf, "CUDA runtime %d.%d built; no usable device", rt / 1000,
                 (rt % 1000) / 10);
        return buf;
    }
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    snprintf(buf, sizeof buf, "CUDA runtime %d.%d; %d device(s), device 0: %s (sm_%d%d)",
             rt / 1000, (rt % 1000) / 10, n, p.name, p.major, p.minor);
    return buf;
}
