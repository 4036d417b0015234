// cpu_avx2.cpp - the AVX2 + F16C path of libgradclip-cpu (x86-64 only; chosen at run time by cpuid).
// Every header is included before the target pragma (see cpu_kernels.inc); FMA is not enabled, and
// -ffp-contract=off forbids contraction anyway.
#if defined(__x86_64__)
#include <stdint.h>
#include <immintrin.h>
#include "cpu_internal.h"

#pragma GCC push_options
#pragma GCC target("avx2,f16c,bmi,bmi2,popcnt")
#define GCCPU_TABLE kAvx2Table
#define GCCPU_ISA_ID GCCPU_ISA_AVX2
#define GCCPU_F16C 1
#define GCCPU_VEC 8
#include "cpu_kernels.inc"
#pragma GCC pop_options
#endif
