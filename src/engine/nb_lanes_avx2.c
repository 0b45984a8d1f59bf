/* nb_lanes_avx2.c -- the CPU hot loop compiled for avx2 (flags in CMakeLists.txt). */
#define NB_ISA avx2
#include "nb_lanes.h"
