/* cuda_stub.c -- twin of nb_cuda.cu for builds without CUDA. */
#include "nb_cuda.h"

int nb_cuda_device_count(void)
{
    return 0;
}

const char *nb_cuda_describe(void)
{
    return "CUDA not built (NB_WITH_CUDA=OFF)";
}
