// physics_check.cu -- compiles the shared per-pixel physics (src/engine/nb_physics.h) with nvcc.
// Built by the CTest "cuda_physics_compiles" (compile only): a construct nvcc rejects in the
// header is caught on every CI run, GPU or not.  The kernel is the simplest user of nb_pixel().
#include "../src/engine/nb_physics.h"

__global__ void nb_physics_check_kernel(const struct nb_kparams K, int row0, int n_rows,
                                        float *out)
{
    const int f = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (f >= K.fpixels || r >= n_rows)
        return;
    const int s = row0 + r;
    struct nb_pixel_result res;
    res.value = 0.0f;
    if (nb_pixel_rendered(&K, s, f))
        nb_pixel(&K, s, f, 0, &res, 0);
    out[(size_t)r * K.fpixels + f] = res.value;
}
