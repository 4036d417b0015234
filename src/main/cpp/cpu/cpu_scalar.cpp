// cpu_scalar.cpp - the portable path of libgradclip-cpu: the kernels of cpu_kernels.inc as plain C++
// (the compiler may still vectorise with the baseline ISA, e.g. SSE2 on x86-64; the bits are the same).
#include <stdint.h>
#include "cpu_internal.h"

#define GCCPU_TABLE kScalarTable
#define GCCPU_ISA_ID GCCPU_ISA_SCALAR
#define GCCPU_F16C 0
#define GCCPU_VEC 0
#include "cpu_kernels.inc"
