/* nb_lanes_avx512.c -- the CPU hot loop compiled for avx512 (flags in CMakeLists.txt). */
#define NB_ISA avx512
#include "nb_lanes.h"
