// cpu_avx2.cpp - the AVX2 + FMA + F16C path of libgradclip-cpu (x86-64 only; chosen at run time by cpuid:
// every AVX2 CPU from Intel and AMD has FMA3 and F16C). Every header is included before the target pragma
// (see cpu_kernels.inc); -ffp-contract=off forbids the compiler any contraction, and the kernels fuse
// only the exact squares of the L2 norm explicitly (README.md).
#if defined(__x86_64__)
#include <stdint.h>
#include <immintrin.h>
#include "cpu_internal.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,popcnt")
#define GCCPU_TABLE kAvx2Table
#define GCCPU_ISA_ID GCCPU_ISA_AVX2
#define GCCPU_F16C 1
#define GCCPU_VEC 8
#include "cpu_kernels.inc"
#pragma GCC pop_options
#endif
