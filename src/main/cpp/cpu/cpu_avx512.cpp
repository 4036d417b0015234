// cpu_avx512.cpp - the AVX-512 (F, BW, VL, DQ) + F16C path of libgradclip-cpu (x86-64 only; chosen at
// run time by cpuid). 512-bit vectors (k-register masks for the compares and selects).
#if defined(__x86_64__)
#include <stdint.h>
#include <immintrin.h>
#include "cpu_internal.h"

// GCC 12 warns about the self-initialised placeholder inside its own AVX-512 conversion intrinsics
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,f16c,bmi,bmi2,popcnt,prefer-vector-width=512")
#define GCCPU_TABLE kAvx512Table
#define GCCPU_ISA_ID GCCPU_ISA_AVX512
#define GCCPU_F16C 1
#define GCCPU_VEC 16
#include "cpu_kernels.inc"
#pragma GCC pop_options
#endif
