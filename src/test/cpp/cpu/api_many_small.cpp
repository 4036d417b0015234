// api_many_small.cpp - many small tensors through the C API of libgradclip-cpu, without a JVM (issue #10,
// bench/NOTES.md item 33): T tensors of N elements laid out as Java heap arrays are (a 16-byte header, then
// the data, one after another), 2 threads each taking half of the tensors in calls of <= 1,024 tensors as
// NativeKernels does, the data restored before every pass on one thread. Prints the median and minimum wall
// ms of gccpu_clamp and gccpu_norms (L2): what the walk and the kernels cost per tensor, to set beside the
// same set through the Java API. Not part of the build or the tests:
//   D=src/main/cpp/cpu; g++ -O3 -std=c++17 -ffp-contract=off -fno-fast-math -fno-strict-aliasing -pthread
//     -I$D $D/cpu_api.cpp $D/cpu_scalar.cpp $D/cpu_avx2.cpp $D/cpu_avx512.cpp src/test/cpp/cpu/api_many_small.cpp -o /tmp/api_many_small
//   /tmp/api_many_small [tensors 10000] [elements 1000] [repetitions 200] [dtype 0 = fp32, 2 = fp16, 3 = bf16] [gap: bytes between tensors, 0] [order: fwd, or rev: descending addresses]
#include <stdint.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>
#include <atomic>
#include "gradclip_cpu.h"
int main(int argc, char** argv) {
  const int T = argc > 1 ? atoi(argv[1]) : 10000, N = argc > 2 ? atoi(argv[2]) : 1000, reps = argc > 3 ? atoi(argv[3]) : 200;
  const int dt = argc > 4 ? atoi(argv[4]) : GCCPU_F32;
  const int es = dt == GCCPU_F32 ? 4 : 2;
  const size_t gap = argc > 5 ? strtoull(argv[5], nullptr, 10) : 0;  // bytes between tensors beyond the header
  const size_t stride = ((size_t)N * es + 16 + gap + 7) / 8 * 8;
  char* mem = (char*)aligned_alloc(64, stride * T + 64);
  std::vector<char> pristine(stride * T);
  srand(1);
  for (size_t i = 0; i < pristine.size() / 2; ++i) { uint16_t v = (uint16_t)(rand() & 0x3fff); memcpy(&pristine[2*i], &v, 2); }
  if (dt == GCCPU_F32) for (int t = 0; t < T; ++t) for (int i = 0; i < N; ++i) { float f = (float)((rand() % 2001) - 1000) / 500.f; memcpy(&pristine[t * stride + 16 + 4 * i], &f, 4); }
  std::vector<gccpu_tensor> tab(T);
  // "rev": tensor t at the place of tensor T-1-t, as a JVM's collector leaves an array of arrays' elements
  const bool rev = argc > 6 && strcmp(argv[6], "rev") == 0;
  for (int t = 0; t < T; ++t) tab[t] = gccpu_tensor{mem + (size_t)(rev ? T - 1 - t : t) * stride + 16, N, dt, 0};
  gccpu_bounds b{};
  b.lo64 = -1.96; b.hi64 = 1.96; b.lo32 = -1.96f; b.hi32 = 1.96f; b.lo16 = 0xbfd7; b.hi16 = 0x3fd7; b.lobf = 0xbffb; b.hibf = 0x3ffb;
  const char* ops[] = {"clamp", "norms"};
  for (int op = 0; op < 2; ++op) {
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
      memcpy(mem, pristine.data(), pristine.size());
      std::atomic<int> go{0};
      auto work = [&](int half) {
        int t0 = half ? T / 2 : 0, t1 = half ? T : T / 2;
        const int64_t cpt = (N + 65535) / 65536; std::vector<double> part(1024 * cpt);
        int64_t out[3] = {0, 0, 0};
        while (go.load() == 0) {}
        for (int t = t0; t < t1; t += 1024) {
          int e = std::min(t1, t + 1024);
          if (op == 0) gccpu_clamp(&tab[t], e - t, 0, (e - t) * cpt, &b, out);
          else gccpu_norms(&tab[t], e - t, 0, (e - t) * cpt, GCCPU_NORM_L2, part.data(), out);
        }
      };
      std::thread th(work, 1);
      auto s = std::chrono::steady_clock::now();
      go = 1;
      work(0);
      th.join();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
    }
    std::sort(ms.begin(), ms.end());
    printf("%s T=%d N=%d dt=%d: median %.3f min %.3f ms (%.0f ns/tensor/thread)\n", ops[op], T, N, dt, ms[ms.size() / 2], ms[0], ms[ms.size()/2] * 1e6 / (T / 2));
  }
}
