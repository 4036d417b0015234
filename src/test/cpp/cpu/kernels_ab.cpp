// kernels_ab.cpp - A/B microbenchmark of two versions of cpu_kernels.inc (issue #10): A (e.g. the last
// commit's) and B (the working tree's), each compiled for the AVX-512 and AVX2 paths, run interleaved in
// one process over the same memory (bert-base's 109.5 M fp32 by default), 2 threads (one contiguous half
// of the chunks each, one kernel call per chunk as gccpu_* walks them), the data restored before every
// timed pass. Beside them, in the same process: a read floor (8 accumulators), an in-place scale floor
// and a torch-like unconditional clamp loop. Reports min and median over the repetitions of the slower
// thread's CPU time (wall time with AB_WALL=1): on a loaded machine CPU time is what stays comparable.
// AB_MISALIGN=k offsets the fp32 buffer by k floats (4: 16 bytes, as heap arrays and malloc'd tensors are).
// AB_RESTORE1=1 restores on one thread (as bench/ does). A and B must have the same KernelTable (the
// `ahead` argument: a commit from bench/NOTES.md item 35 on). Not part of the build or the tests:
//   git show HEAD:src/main/cpp/cpu/cpu_kernels.inc > /tmp/a.inc
//   g++ -O3 -std=c++17 -ffp-contract=off -fno-fast-math -fno-strict-aliasing -pthread \
//       -Isrc/main/cpp/cpu -DOLD_INC='"/tmp/a.inc"' -DNEW_INC='"cpu_kernels.inc"' \
//       src/test/cpp/cpu/kernels_ab.cpp -o /tmp/kernels_ab
//   /tmp/kernels_ab [elements] [repetitions] [substring of the operations to run]
#include <stdint.h>
#include <immintrin.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>
#include "cpu_internal.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,f16c,bmi,bmi2,popcnt,prefer-vector-width=512")
#define GCCPU_ISA_ID GCCPU_ISA_AVX512
#define GCCPU_F16C 1
#define GCCPU_VEC 16
#define GCCPU_MASKED_STORE 1
namespace A5 { namespace gccpu { using ::gccpu::KernelTable; }
#define GCCPU_TABLE kT
#include OLD_INC
#undef GCCPU_TABLE
}
namespace B5 { namespace gccpu { using ::gccpu::KernelTable; }
#define GCCPU_TABLE kT
#include NEW_INC
#undef GCCPU_TABLE
}
#undef GCCPU_ISA_ID
#undef GCCPU_VEC
#undef GCCPU_MASKED_STORE
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,popcnt")
#define GCCPU_ISA_ID GCCPU_ISA_AVX2
#define GCCPU_VEC 8
#define GCCPU_MASKED_STORE 0
namespace A2 { namespace gccpu { using ::gccpu::KernelTable; }
#define GCCPU_TABLE kT
#include OLD_INC
#undef GCCPU_TABLE
}
namespace B2 { namespace gccpu { using ::gccpu::KernelTable; }
#define GCCPU_TABLE kT
#include NEW_INC
#undef GCCPU_TABLE
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,prefer-vector-width=512")
__attribute__((noinline)) void floor_scale512(float* __restrict b, int64_t from, int64_t to, float f) {
  for (int64_t i = from; i < to; ++i) b[i] = b[i] * f;
}
__attribute__((noinline)) void torch_clamp512(float* __restrict b, int64_t from, int64_t to, float lo, float hi) {
  for (int64_t i = from; i < to; ++i) { const float x = b[i]; const float t = x < lo ? lo : x; b[i] = hi < t ? hi : t; }
}
#pragma GCC pop_options
// a chunk's `ahead` (cpu_internal.h): the next chunk of the thread's range follows it in memory
#define AHEAD(c) ((c) + 1 < c1 ? GCCPU_STREAM_AHEAD_BYTES : 0)
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int64_t n;
int nthreads = 2;
float* pristine;
float* work;
uint16_t* hp;  // bf16 pristine
uint16_t* hw;  // bf16 work
int64_t chunks;

#include <time.h>
static double tcpu() { timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
bool use_cpu = true;
template <class F> double par(F&& body) {
  std::vector<std::thread> th;
  std::vector<double> cpu(nthreads);
  const double t0 = now();
  for (int k = 1; k < nthreads; ++k) {
    const int64_t c0 = chunks * k / nthreads, c1 = chunks * (k + 1) / nthreads;
    th.emplace_back([&, c0, c1, k] { const double a = tcpu(); body(c0, c1); cpu[k] = tcpu() - a; });
  }
  { const double a = tcpu(); body(0, chunks / nthreads); cpu[0] = tcpu() - a; }
  for (auto& x : th) x.join();
  const double wall = now() - t0;
  return use_cpu ? *std::max_element(cpu.begin(), cpu.end()) : wall;
}
bool restore1 = false;
void restore() {
  if (restore1) { std::memcpy(work, pristine, n * 4); std::memcpy(hw, hp, n * 2); return; }
  par([&](int64_t c0, int64_t c1) {
    const int64_t e = std::min(n, c1 * GCCPU_CHUNK);
    std::memcpy(work + c0 * GCCPU_CHUNK, pristine + c0 * GCCPU_CHUNK, (e - c0 * GCCPU_CHUNK) * 4);
    std::memcpy(hw + c0 * GCCPU_CHUNK, hp + c0 * GCCPU_CHUNK, (e - c0 * GCCPU_CHUNK) * 2);
  });
}
typedef float v8 __attribute__((vector_size(32)));
volatile double sink;

struct Op { std::string name; std::function<double()> run; std::vector<double> t; };

int main(int argc, char** argv) {
  n = argc > 1 ? std::atoll(argv[1]) : 109514752;  // bert-base-ish
  int reps = argc > 2 ? std::atoi(argv[2]) : 9;
  std::string only = argc > 3 ? argv[3] : "";
  use_cpu = !std::getenv("AB_WALL");
  restore1 = std::getenv("AB_RESTORE1") != nullptr;
  chunks = (n + GCCPU_CHUNK - 1) / GCCPU_CHUNK;
  pristine = static_cast<float*>(aligned_alloc(64, n * 4));
  const int mis = std::getenv("AB_MISALIGN") ? std::atoi(std::getenv("AB_MISALIGN")) : 0;
  work = static_cast<float*>(aligned_alloc(64, n * 4 + 64)) + mis;
  hp = static_cast<uint16_t*>(aligned_alloc(64, n * 2 + 64));
  hw = static_cast<uint16_t*>(aligned_alloc(64, n * 2 + 64));
  uint64_t s = 88172645463325252ull;
  for (int64_t i = 0; i < n; ++i) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    pristine[i] = static_cast<float>(static_cast<int64_t>(s >> 40) - (1ll << 23)) / 8388608.0f;  // uniform [-1,1)
    uint32_t u; std::memcpy(&u, &pristine[i], 4); hp[i] = static_cast<uint16_t>(u >> 16);
  }
  std::vector<Op> ops;
  std::vector<double> part(chunks);
  const gccpu::KernelTable* T[4] = {&A5::gccpu::kT, &B5::gccpu::kT, &A2::gccpu::kT, &B2::gccpu::kT};
  const char* TN[4] = {"A512", "B512", "A2", "B2"};
  ops.push_back({"floor read", [&] { return par([&](int64_t c0, int64_t c1) {
    const int64_t from = c0 * GCCPU_CHUNK, to = std::min(n, c1 * GCCPU_CHUNK);
    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    const float* b = work; int64_t i = from; v8 x;
    for (; i + 64 <= to; i += 64) {
      std::memcpy(&x, b + i, 32); a0 += x; std::memcpy(&x, b + i + 8, 32); a1 += x;
      std::memcpy(&x, b + i + 16, 32); a2 += x; std::memcpy(&x, b + i + 24, 32); a3 += x;
      std::memcpy(&x, b + i + 32, 32); a4 += x; std::memcpy(&x, b + i + 40, 32); a5 += x;
      std::memcpy(&x, b + i + 48, 32); a6 += x; std::memcpy(&x, b + i + 56, 32); a7 += x; }
    v8 v = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)); sink = v[0] + v[7]; }); }, {}});
  ops.push_back({"floor read16", [&] { return par([&](int64_t c0, int64_t c1) {  // the fp16/bf16 norms' bytes
    const int64_t from = c0 * GCCPU_CHUNK, to = std::min(n, c1 * GCCPU_CHUNK);
    typedef uint16_t u16v __attribute__((vector_size(32)));
    u16v a0 = {}, a1 = {}, a2 = {}, a3 = {}, x;
    const uint16_t* b = hw; int64_t i = from;
    for (; i + 64 <= to; i += 64) {
      std::memcpy(&x, b + i, 32); a0 ^= x; std::memcpy(&x, b + i + 16, 32); a1 ^= x;
      std::memcpy(&x, b + i + 32, 32); a2 ^= x; std::memcpy(&x, b + i + 48, 32); a3 ^= x; }
    const u16v v = (a0 ^ a1) ^ (a2 ^ a3); sink = v[0] + v[15]; }); }, {}});
  ops.push_back({"floor scale", [&] { return par([&](int64_t c0, int64_t c1) {
    const int64_t from = c0 * GCCPU_CHUNK, to = std::min(n, c1 * GCCPU_CHUNK);
    for (int64_t i = from; i < to; ++i) work[i] *= 0.999f; }); }, {}});
  ops.push_back({"floor scale512", [&] { return par([&](int64_t c0, int64_t c1) {
    floor_scale512(work, c0 * GCCPU_CHUNK, std::min(n, c1 * GCCPU_CHUNK), 0.999f); }); }, {}});
  ops.push_back({"torchlike clamp 5%", [&] { return par([&](int64_t c0, int64_t c1) {
    torch_clamp512(work, c0 * GCCPU_CHUNK, std::min(n, c1 * GCCPU_CHUNK), -0.95f, 0.95f); }); }, {}});
  for (int k = 0; k < 4; ++k) {
    const gccpu::KernelTable* t = T[k];
    ops.push_back({std::string(TN[k]) + " clip(norms+scale)", [&, t] {
      double a = par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) part[c] = t->chunk_sum(work, GCCPU_F32, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 2, AHEAD(c)); });
      return a + par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) t->scale(work, GCCPU_F32, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 0.5, AHEAD(c)); }); }, {}});
    std::string p = TN[k];
    ops.push_back({p + " norms L2", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) part[c] = t->chunk_sum(work, GCCPU_F32, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 2, AHEAD(c)); }); }, {}});
    ops.push_back({p + " scale .5", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) t->scale(work, GCCPU_F32, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 0.5, AHEAD(c)); }); }, {}});
    for (double frac : {0.0, 0.01, 0.05, 0.3, 0.9}) {
      const double bd = 1.0 - frac;
      ops.push_back({p + " clamp " + std::to_string((int)(frac * 100)) + "%", [&, t, bd] {
        gccpu_bounds B{-bd, bd, (float)-bd, (float)bd, 0, 0, 0, 0};
        return par([&, t](int64_t c0, int64_t c1) { int64_t cl = 0, nf = 0;
          for (int64_t c = c0; c < c1; ++c) t->clamp(work, GCCPU_F32, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), &B, &cl, &nf, AHEAD(c)); }); }, {}});
    }
    ops.push_back({p + " bf16 L2", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) part[c] = t->chunk_sum(hw, GCCPU_BF16, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 2, AHEAD(c)); }); }, {}});
    ops.push_back({p + " f16 L2", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) part[c] = t->chunk_sum(hw, GCCPU_F16, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 2, AHEAD(c)); }); }, {}});
    ops.push_back({p + " f16 scale", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) t->scale(hw, GCCPU_F16, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 0.5, AHEAD(c)); }); }, {}});
    ops.push_back({p + " bf16 scale", [&, t] { return par([&, t](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) t->scale(hw, GCCPU_BF16, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), 0.5, AHEAD(c)); }); }, {}});
    ops.push_back({p + " bf16 clamp 5%", [&, t] {
        gccpu_bounds B{-0.95, 0.95, -0.95f, 0.95f, 0, 0, 0xbf73, 0x3f73};
        return par([&, t](int64_t c0, int64_t c1) { int64_t cl = 0, nf = 0;
          for (int64_t c = c0; c < c1; ++c) t->clamp(hw, GCCPU_BF16, c * GCCPU_CHUNK, (int32_t)std::min<int64_t>(GCCPU_CHUNK, n - c * GCCPU_CHUNK), &B, &cl, &nf, AHEAD(c)); }); }, {}});
  }
  std::vector<Op*> sel;
  for (auto& o : ops) if (only.empty() || o.name.find(only) != std::string::npos || o.name.rfind("floor", 0) == 0 || o.name.rfind("torch", 0) == 0) sel.push_back(&o);
  for (int r = 0; r < reps; ++r)
    for (Op* o : sel) { restore(); o->t.push_back(o->run()); }
  std::printf("# %ld fp32 elements (%.0f MB), %d threads, %d reps interleaved; min / median ms of the slower thread's CPU time (AB_WALL: wall); loaded machine\n", (long)n, n * 4e-6, nthreads, reps);
  for (Op* o : sel) {
    std::sort(o->t.begin(), o->t.end());
    std::printf("%-22s %7.2f %7.2f\n", o->name.c_str(), o->t[0] * 1e3, o->t[o->t.size() / 2] * 1e3);
  }
  std::printf("load: "); std::fflush(stdout); std::system("cat /proc/loadavg");
}
