// kernels_emu.cpp - the CUDA kernels compiled as host C++ against the emulation layer (GC_EMULATED).
#ifndef GC_EMULATED
#error "kernels_emu.cpp is only for the emulated backend"
#endif
#include "emu/cuda_emu.h"
#include "../gradclip_kernels.cu"
