// emu_schedule_test.cpp - planted synchronisation bugs that the emulation layer's schedules must catch.
//
// The historical schedule (threads of a block resumed in descending order, blocks in order, shared
// memory persisting between blocks) hides these bugs: each test runs the buggy kernel under it and
// shows the bug hidden, then under seeded random schedules (GC_EMU_SEED) and shows it caught, and runs
// the correct kernel under the same schedules to show it passes. Built against the emulation layer only.
#include <cstdio>
#include <cstring>
#include <vector>

#include "gc_numeric.cuh"

namespace {

int g_fail = 0, g_checks = 0;
#define CHECK(c, ...) do { ++g_checks; if (!(c)) { ++g_fail; std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); std::fprintf(stderr, __VA_ARGS__); std::fprintf(stderr, "\n"); } } while (0)

constexpr int kN = gc::kThreads;

// 1. Missing barrier between a shared write and another thread's read.
template <bool Barrier> __global__ void sum_kernel(long long* out) {
  GC_SHARED(int, sh, kN);
  sh[threadIdx.x] = static_cast<int>(threadIdx.x) + 1;
  if (Barrier) __syncthreads();
  if (threadIdx.x == 0) {
    long long s = 0;
    for (int i = 0; i < kN; ++i) s += sh[i];
    out[blockIdx.x] = s;
  }
}

// 2. The canonical block reduction with its first barrier removed (the one that protects `part` from
//    being overwritten by the next reduction while warp 0 still reads it), called twice in a row.
template <class R> __device__ typename R::V block_reduce_no_war_barrier(typename R::V v) {
  GC_SHARED(typename R::V, part, gc::kWarps);
  v = gc::warp_reduce<R>(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  // __syncthreads();  <- planted bug
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < gc::kWarps ? part[lane] : R::identity();
    for (int off = gc::kWarps / 2; off >= 1; off >>= 1) v = R::comb(v, R::shfl(v, off));
  }
  return v;
}
template <bool Correct> __global__ void two_sums_kernel(long long* out) {
  long long a = threadIdx.x, b = 1000 + static_cast<long long>(threadIdx.x) * 3;
  a = Correct ? gc::block_reduce<gc::SumI64>(a) : block_reduce_no_war_barrier<gc::SumI64>(a);
  b = Correct ? gc::block_reduce<gc::SumI64>(b) : block_reduce_no_war_barrier<gc::SumI64>(b);
  if (threadIdx.x == 0) { out[2 * blockIdx.x] = a; out[2 * blockIdx.x + 1] = b; }
}

// 3. A block that reads shared memory another block (or nobody) wrote: garbage on a GPU.
template <bool Correct> __global__ void stale_shared_kernel(long long* out) {
  GC_SHARED(long long, acc, 1);
  if (Correct || blockIdx.x == 0) {
    if (threadIdx.x == 0) acc[0] = 0;
  }
  __syncthreads();
  if (threadIdx.x == 0) { acc[0] += 5; out[blockIdx.x] = acc[0]; }
}

// 4. A dependency between blocks (block b reads what block b - 1 wrote): undefined on a GPU.
template <bool Correct> __global__ void chain_kernel(long long* data) {
  if (threadIdx.x != 0) return;
  const unsigned b = blockIdx.x;
  data[b + 1] = Correct ? static_cast<long long>(b) + 1 : data[b] + 1;
}

void launch_sum(bool barrier, std::vector<long long>& out) {
  out.assign(2, 0);
  long long* o = out.data();
  if (barrier) GC_LAUNCH(sum_kernel<true>, 2, kN, nullptr, o);
  else GC_LAUNCH(sum_kernel<false>, 2, kN, nullptr, o);
}

gc_emu::Schedule sched(uint64_t seed) {
  gc_emu::Schedule s;
  s.seed = seed;
  return s;
}

}  // namespace

int main() {
  const long long want_sum = static_cast<long long>(kN) * (kN + 1) / 2;
  const uint64_t seeds[] = {1, 2, 3, 4, 5, 6, 7, 8};  // a bug counts as caught when most seeds show it
  std::vector<long long> out;

  // 1. missing barrier
  gc_emu::set_schedule(sched(0));
  launch_sum(false, out);
  CHECK(out[0] == want_sum && out[1] == want_sum, "descending order hides the missing barrier (got %lld)", out[0]);
  int caught = 0;
  for (uint64_t sd : seeds) {
    gc_emu::set_schedule(sched(sd));
    launch_sum(false, out);
    caught += (out[0] != want_sum || out[1] != want_sum) ? 1 : 0;
    launch_sum(true, out);
    CHECK(out[0] == want_sum && out[1] == want_sum, "seed %llu: the correct kernel fails (%lld)", static_cast<unsigned long long>(sd), out[0]);
  }
  CHECK(caught >= 6, "missing barrier caught under only %d of 8 seeds", caught);
  std::printf("missing barrier: hidden by the descending schedule, caught under %d/8 seeds\n", caught);

  // 2. the block reduction without its WAR barrier
  const long long want_a = static_cast<long long>(kN) * (kN - 1) / 2, want_b = 1000LL * kN + 3 * want_a;
  out.assign(8, 0);
  gc_emu::set_schedule(sched(0));
  GC_LAUNCH(two_sums_kernel<false>, 4, kN, nullptr, out.data());
  bool hidden = true;
  for (int b = 0; b < 4; ++b) hidden = hidden && out[2 * b] == want_a && out[2 * b + 1] == want_b;
  // (the descending schedule happens to expose this one too: the higher warps run first)
  std::printf("block reduction without its first barrier: %s by the descending schedule\n", hidden ? "hidden" : "caught");
  caught = 0;
  for (uint64_t sd : seeds) {
    gc_emu::set_schedule(sched(sd));
    GC_LAUNCH(two_sums_kernel<false>, 4, kN, nullptr, out.data());
    bool ok = true;
    for (int b = 0; b < 4; ++b) ok = ok && out[2 * b] == want_a && out[2 * b + 1] == want_b;
    caught += ok ? 0 : 1;
    GC_LAUNCH(two_sums_kernel<true>, 4, kN, nullptr, out.data());
    for (int b = 0; b < 4; ++b)
      CHECK(out[2 * b] == want_a && out[2 * b + 1] == want_b, "seed %llu: block_reduce twice: %lld %lld", static_cast<unsigned long long>(sd), out[2 * b], out[2 * b + 1]);
  }
  CHECK(caught >= 6, "missing WAR barrier in the block reduction caught under only %d of 8 seeds", caught);
  std::printf("block reduction without its first barrier: caught under %d/8 seeds\n", caught);

  // 3. stale shared memory: poisoned at block start (always, whatever the schedule)
  out.assign(3, 0);
  gc_emu::set_schedule(sched(0));
  GC_LAUNCH(stale_shared_kernel<false>, 3, kN, nullptr, out.data());
  CHECK(out[0] == 5 && out[1] != 5 && out[2] != 5, "uninitialised shared memory in blocks 1, 2 must read poison: %lld %lld %lld", out[0], out[1], out[2]);
  std::printf("uninitialised shared memory: poisoned (block 1 computed %lld instead of 5)\n", out[1]);
  GC_LAUNCH(stale_shared_kernel<true>, 3, kN, nullptr, out.data());
  CHECK(out[0] == 5 && out[1] == 5 && out[2] == 5, "initialised shared memory: %lld %lld %lld", out[0], out[1], out[2]);

  // 4. a chain of blocks: works in order, breaks when the blocks are shuffled
  const int G = 64;
  std::vector<long long> data(G + 1, 0);
  gc_emu::set_schedule(sched(0));
  GC_LAUNCH(chain_kernel<false>, G, 32, nullptr, data.data());
  CHECK(data[G] == G, "in-order blocks hide the dependency (%lld)", data[G]);
  caught = 0;
  for (uint64_t sd : seeds) {
    gc_emu::set_schedule(sched(sd));
    std::fill(data.begin(), data.end(), 0);
    GC_LAUNCH(chain_kernel<false>, G, 32, nullptr, data.data());
    caught += data[G] != G ? 1 : 0;
    std::fill(data.begin(), data.end(), 0);
    GC_LAUNCH(chain_kernel<true>, G, 32, nullptr, data.data());
    CHECK(data[G] == G, "independent blocks under a shuffled order");
  }
  CHECK(caught == 8, "inter-block dependency caught under %d of 8 seeds", caught);
  std::printf("dependency between blocks: hidden in order, caught under %d/8 shuffled orders\n", caught);

  // 5. the full grid option
  gc_emu::Schedule full = sched(0);
  full.full_grid = true;
  gc_emu::set_schedule(full);
  CHECK(gc_emu::grid_cap(8) == 0x7fffffffu, "full grid");
  gc_emu::set_schedule(sched(0));
  CHECK(gc_emu::grid_cap(8) == 8, "capped grid");

  std::printf("%d checks, %d failures\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
