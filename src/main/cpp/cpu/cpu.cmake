# libgradclip-cpu: the CPU backend's native SIMD chunk kernels (one library, every ISA path inside,
# chosen at run time). Included by cmake/CMakeLists.txt; uses its GC_CPP, GC_HOST_FLAGS, GC_SAN_FLAGS,
# GRADCLIP_SANITIZE and GRADCLIP_TESTS. x86-64 builds the AVX2 and AVX-512 paths too (by
# `#pragma GCC target` inside their files, so no per-file flags); other architectures the portable path.
set(GC_CPU_DIR ${GC_CPP}/cpu)
add_library(gradclip-cpu SHARED
  ${GC_CPU_DIR}/cpu_api.cpp
  ${GC_CPU_DIR}/cpu_scalar.cpp
  ${GC_CPU_DIR}/cpu_avx2.cpp
  ${GC_CPU_DIR}/cpu_avx512.cpp)
target_include_directories(gradclip-cpu PRIVATE ${GC_CPU_DIR})
# -ffp-contract=off (in GC_HOST_FLAGS): never a fused multiply-add; -fno-strict-aliasing: the kernels
# view fp32/fp16 buffers as integer bits
target_compile_options(gradclip-cpu PRIVATE ${GC_HOST_FLAGS} -fno-strict-aliasing)
target_link_options(gradclip-cpu PRIVATE -Wl,--no-undefined)
if(GRADCLIP_SANITIZE)
  target_compile_options(gradclip-cpu PRIVATE ${GC_SAN_FLAGS} -O1 -g)
  target_link_options(gradclip-cpu PRIVATE -fsanitize=address,undefined)
endif()
if(GRADCLIP_TESTS)
  add_executable(gradclip_cpu_test ${GC_ROOT}/src/test/cpp/cpu/cpu_test.cpp)
  target_include_directories(gradclip_cpu_test PRIVATE ${GC_CPU_DIR})
  target_compile_options(gradclip_cpu_test PRIVATE -ffp-contract=off -fno-fast-math -Wall -Wextra)
  target_link_libraries(gradclip_cpu_test PRIVATE gradclip-cpu pthread)
  if(GRADCLIP_SANITIZE)
    target_compile_options(gradclip_cpu_test PRIVATE ${GC_SAN_FLAGS} -O1 -g)
    target_link_options(gradclip_cpu_test PRIVATE -fsanitize=address,undefined)
  endif()
  add_test(NAME cpu_kernels COMMAND gradclip_cpu_test)
  set_tests_properties(cpu_kernels PROPERTIES TIMEOUT 1800)
endif()
