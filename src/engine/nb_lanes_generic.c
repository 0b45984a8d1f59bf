/* nb_lanes_generic.c -- the CPU hot loop compiled for generic (flags in CMakeLists.txt). */
#define NB_ISA generic
#include "nb_lanes.h"
