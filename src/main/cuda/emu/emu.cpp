// emu.cpp - fiber scheduler behind cuda_emu.h.
//
// A launch runs its blocks one after another on the calling OS thread. Each block's threads are fibers
// with their own stacks (mmap'ed once per OS thread, with a guard page each, reused across launches).
// The scheduler resumes the live fibers round-robin, by default in DESCENDING thread order; with a seed
// (GC_EMU_SEED, set_schedule) in a random order drawn anew for every barrier interval (random warp order
// with lanes descending, or all threads at random), and the blocks of
// a grid in a random order too. A fiber runs until it waits at __syncthreads (all live threads of the
// block), waits for a shuffle partner, or exits. GC_SHARED memory is poisoned (0xff) when a block first
// touches it. Together these make missing barriers, reads of uninitialised shared memory and
// dependencies between blocks visible (src/test/cpp/emu_schedule_test.cpp plants them).
// Shuffles: each lane appends the value it offers to its own log, and __shfl_down_sync(v, d) in lane l
// reads entry k of lane l+d's log, where k counts the shuffles lane l has made. In descending order
// lane l+d has always made that shuffle already; otherwise lane l yields until it has. Logs are emptied whenever a block barrier completes.
// A full round in which no fiber makes progress is a deadlock (divergent barrier, divergent shuffle)
// and aborts with a message instead of hanging.
//
// Context switch: a dozen lines of x86-64 assembly (callee-saved registers only: the floating-point
// control state is the same for every fiber of a thread, kernels never change it), far cheaper than
// swapcontext (which makes a sigprocmask system call); other architectures use ucontext. ASan builds announce every switch with __sanitizer_*_switch_fiber.
#include "cuda_emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <memory>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define GC_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GC_EMU_ASAN 1
#endif
#endif
#ifdef GC_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace gc_emu {

GC_EMU_TLS thread_local ThreadCtx* tl_thread = nullptr;
GC_EMU_TLS thread_local BlockCtx tl_block = {};

void fatal(const char* what) {
  std::fprintf(stderr, "gradclip emulation layer: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

#if defined(__x86_64__)
extern "C" void gc_emu_switch(void** save_sp, void* load_sp);
extern "C" void gc_emu_trampoline();
// gc_emu_switch(save, load): push callee-saved state, store rsp in *save, load rsp, pop, return
// into the other context. gc_emu_trampoline: first entry of a fiber, calls r13(r12).
asm(R"(
  .pushsection .text
  .p2align 4
  .globl gc_emu_switch
  .hidden gc_emu_switch
  .type gc_emu_switch,@function
gc_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size gc_emu_switch,.-gc_emu_switch
  .p2align 4
  .globl gc_emu_trampoline
  .hidden gc_emu_trampoline
  .type gc_emu_trampoline,@function
gc_emu_trampoline:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size gc_emu_trampoline,.-gc_emu_trampoline
  .popsection
)");
#endif

namespace {

constexpr int kMaxThreads = 1024;
#ifdef GC_EMU_ASAN
constexpr size_t kStackBytes = 256 * 1024;
// Frames that never returned (fiber_main and the final switch) lie at the top of a finished fiber's
// stack; every deeper frame returned and was unpoisoned by ASan. Clearing this much of the shadow
// before a stack is reused is enough, and stays far below ASan's mmap-based clearing threshold.
constexpr size_t kUnpoisonTop = 16 * 1024;
#else
constexpr size_t kStackBytes = 64 * 1024;
#endif

struct Barrier {
  int arrived = 0;
  unsigned gen = 0;
};

struct Fiber {
  ThreadCtx ctx{};
  bool done = false;
  char* stack = nullptr;  // lowest usable address
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
  void* asan_fake = nullptr;
};

struct Sched {
  std::vector<Fiber> fibers;
  char* stack_mem = nullptr;
  size_t stack_mem_bytes = 0;
  int capacity = 0;
  bool active = false;

  void (*body)(void*) = nullptr;
  void* arg = nullptr;
  int nthreads = 0, live = 0;
  Barrier block_bar;
  // values offered by thread i since the last barrier: log_buf[i * log_cap + k], k < log_len[i]
  std::vector<uint64_t> log_buf;
  uint32_t log_cap = 0;
  uint32_t log_len[kMaxThreads] = {};
  uint32_t shfl_base[kMaxThreads] = {};  // shuffles made by thread i before its log's first entry
  uint64_t progress = 0;
  Fiber* cur = nullptr;

  // schedule
  Schedule sch;
  bool sch_init = false;
  uint64_t rng = 0;
  uint64_t block_epoch = 0;
  std::vector<std::pair<void*, uint64_t>> shared_seen;  // GC_SHARED region -> epoch of its last poisoning
  std::vector<int> order;

#if defined(__x86_64__)
  void* sched_sp = nullptr;
#else
  ucontext_t sched_uc;
#endif
  const void* sched_stack_bottom = nullptr;
  size_t sched_stack_size = 0;
  void* sched_fake = nullptr;

  ~Sched() {
    if (stack_mem) munmap(stack_mem, stack_mem_bytes);
  }
};

GC_EMU_TLS thread_local Sched* tl_sched_raw = nullptr;  // fast access; owned by tl_sched
thread_local std::unique_ptr<Sched> tl_sched;

size_t page_size() {
  static const size_t p = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

void ensure_capacity(Sched& s, int n) {
  if (n <= s.capacity) return;
  if (s.stack_mem) munmap(s.stack_mem, s.stack_mem_bytes);
  const size_t per = kStackBytes + page_size();
  s.stack_mem_bytes = per * static_cast<size_t>(n);
  void* m = mmap(nullptr, s.stack_mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) fatal("cannot map fiber stacks");
  s.stack_mem = static_cast<char*>(m);
  s.fibers.assign(static_cast<size_t>(n), Fiber{});
  for (int i = 0; i < n; ++i) {
    char* base = s.stack_mem + per * static_cast<size_t>(i);
    mprotect(base, page_size(), PROT_NONE);  // guard page below each stack
    s.fibers[static_cast<size_t>(i)].stack = base + page_size();
  }
  s.capacity = n;
}

// ---- switching --------------------------------------------------------------------------------
inline void to_fiber(Sched& s, Fiber& f) {
#ifdef GC_EMU_ASAN
  __sanitizer_start_switch_fiber(&s.sched_fake, f.stack, kStackBytes);
#endif
#if defined(__x86_64__)
  gc_emu_switch(&s.sched_sp, f.sp);
#else
  swapcontext(&s.sched_uc, &f.uc);
#endif
#ifdef GC_EMU_ASAN
  __sanitizer_finish_switch_fiber(s.sched_fake, nullptr, nullptr);
#endif
}

// From the running fiber back to the scheduler; `final` when the fiber will never be resumed.
inline void to_sched(Sched& s, Fiber& f, bool final) {
#ifdef GC_EMU_ASAN
  __sanitizer_start_switch_fiber(final ? nullptr : &f.asan_fake, s.sched_stack_bottom, s.sched_stack_size);
#else
  (void)final;
#endif
#if defined(__x86_64__)
  gc_emu_switch(&f.sp, s.sched_sp);
#else
  swapcontext(&f.uc, &s.sched_uc);
#endif
#ifdef GC_EMU_ASAN
  __sanitizer_finish_switch_fiber(f.asan_fake, &s.sched_stack_bottom, &s.sched_stack_size);
#endif
}

void release(Sched& s) {
  s.block_bar.arrived = 0;
  ++s.block_bar.gen;
  for (int i = 0; i < s.nthreads; ++i) {  // every thread is at the barrier: no shuffle reads older entries
    s.shfl_base[i] += s.log_len[i];
    s.log_len[i] = 0;
  }
}

void fiber_main(void* p) {
  Sched& s = *static_cast<Sched*>(p);
  Fiber& f = *s.cur;
#ifdef GC_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &s.sched_stack_bottom, &s.sched_stack_size);
#endif
  s.body(s.arg);
  // exit: this thread no longer takes part in barriers
  f.done = true;
  --s.live;
  ++s.progress;
  if (s.block_bar.arrived > 0 && s.block_bar.arrived >= s.live) release(s);
  to_sched(s, f, true);
  fatal("finished fiber resumed");
}

#if !defined(__x86_64__)
void fiber_main_uc() { fiber_main(tl_sched_raw); }
#endif

void init_fiber(Sched& s, Fiber& f) {
#ifdef GC_EMU_ASAN
  __asan_unpoison_memory_region(f.stack + kStackBytes - kUnpoisonTop, kUnpoisonTop);
#endif
  f.done = false;
  f.asan_fake = nullptr;
#if defined(__x86_64__)
  uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + kStackBytes) & ~static_cast<uintptr_t>(15);
  uint64_t* r = reinterpret_cast<uint64_t*>(top - 24);  // return slot; rsp after ret is 16-aligned
  r[0] = reinterpret_cast<uint64_t>(&gc_emu_trampoline);
  r[-1] = 0;                                              // rbp
  r[-2] = 0;                                              // rbx
  r[-3] = reinterpret_cast<uint64_t>(&s);                 // r12: argument
  r[-4] = reinterpret_cast<uint64_t>(&fiber_main);        // r13: entry
  r[-5] = 0;                                              // r14
  r[-6] = 0;                                              // r15
  f.sp = &r[-6];
#else
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = f.stack;
  f.uc.uc_stack.ss_size = kStackBytes;
  f.uc.uc_link = nullptr;
  makecontext(&f.uc, fiber_main_uc, 0);
#endif
}

uint64_t next_rand(Sched& s) {  // splitmix64
  uint64_t z = (s.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The resume order of one barrier interval. Unseeded: descending thread order. Seeded: with
// probability 3/4 the warps in a random order, each warp's lanes descending (a warp runs as a unit, as
// on a GPU, so shuffles complete without waiting); otherwise all threads in a random order.
void draw_order(Sched& s, int n) {
  s.order.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) s.order[static_cast<size_t>(i)] = n - 1 - i;  // descending
  if (s.sch.seed == 0) return;
  auto shuffle = [&](std::vector<int>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(next_rand(s) % i)]);
  };
  if (next_rand(s) % 4 == 0) {
    shuffle(s.order);
    return;
  }
  std::vector<int> warps(static_cast<size_t>((n + 31) / 32));
  for (size_t w = 0; w < warps.size(); ++w) warps[w] = static_cast<int>(w);
  shuffle(warps);
  size_t k = 0;
  for (int w : warps)
    for (int l = 31; l >= 0; --l)
      if (w * 32 + l < n) s.order[k++] = w * 32 + l;
}

void run_block(Sched& s) {
  const dim3 b = tl_block.bdim;
  const int n = s.nthreads;
  ++s.block_epoch;  // GC_SHARED memory is poisoned again when this block first touches it
  s.live = n;
  s.block_bar = Barrier{};
  if (s.log_cap == 0) s.log_cap = 32;
  if (s.log_buf.size() < static_cast<size_t>(n) * s.log_cap) s.log_buf.assign(static_cast<size_t>(n) * s.log_cap, 0);
  for (int i = 0; i < n; ++i) {
    s.log_len[i] = 0;
    s.shfl_base[i] = 0;
  }
  for (int i = 0; i < n; ++i) {
    Fiber& f = s.fibers[static_cast<size_t>(i)];
    f.ctx.tid = uint3{static_cast<unsigned>(i) % b.x, (static_cast<unsigned>(i) / b.x) % b.y, static_cast<unsigned>(i) / (b.x * b.y)};
    f.ctx.linear = i;
    f.ctx.warp = i / 32;
    f.ctx.lane = i % 32;
    f.ctx.shfl_seq = 0;
    init_fiber(s, f);
  }
  unsigned order_gen = s.block_bar.gen;
  draw_order(s, n);
  while (s.live > 0) {
    const uint64_t before = s.progress;
    if (s.block_bar.gen != order_gen) {  // a barrier completed: a new interval, a new order
      order_gen = s.block_bar.gen;
      draw_order(s, n);
    }
    for (int k = 0; k < n; ++k) {
      Fiber& f = s.fibers[static_cast<size_t>(s.order[static_cast<size_t>(k)])];
      if (f.done) continue;
      s.cur = &f;
      tl_thread = &f.ctx;
      to_fiber(s, f);
    }
    if (s.live > 0 && s.progress == before)
      fatal("deadlock: threads wait at barriers that can never complete (__syncthreads or a shuffle in divergent code?)");
  }
  tl_thread = nullptr;
  s.cur = nullptr;
}

// Every thread, the last one included, gives the scheduler back its turn, so that after a barrier the
// block resumes in descending order (which is what makes shuffles switch-free).
void barrier_wait(Sched& s) {
  Barrier& b = s.block_bar;
  const unsigned g = b.gen;
  ++s.progress;
  if (++b.arrived >= s.live) release(s);
  Fiber& f = *s.cur;
  do {
    to_sched(s, f, false);
  } while (b.gen == g);
}

Schedule env_schedule() {
  Schedule c;
  if (const char* e = std::getenv("GC_EMU_SEED")) c.seed = std::strtoull(e, nullptr, 10);
  if (const char* e = std::getenv("GC_EMU_GRID")) c.full_grid = std::strcmp(e, "full") == 0;
  return c;
}

Sched& sched() {
  if (!tl_sched_raw) {
    tl_sched.reset(new Sched());
    tl_sched_raw = tl_sched.get();
  }
  Sched& s = *tl_sched_raw;
  if (!s.sch_init) {
    s.sch = env_schedule();
    s.rng = s.sch.seed;
    s.sch_init = true;
  }
  return s;
}

}  // namespace

void syncthreads() {
  Sched& s = *tl_sched_raw;
  if (!s.active || !s.cur) fatal("__syncthreads outside a kernel");
  barrier_wait(s);
}

Schedule schedule() { return sched().sch; }
void set_schedule(const Schedule& c) {
  Sched& s = sched();
  if (s.active) fatal("set_schedule inside a kernel");
  s.sch = c;
  s.rng = c.seed;
}
unsigned grid_cap(unsigned cap) { return sched().sch.full_grid ? 0x7fffffffu : cap; }

void shared_touch(void* p, size_t bytes) {
  Sched& s = *tl_sched_raw;
  if (!s.active || !s.cur) fatal("GC_SHARED outside a kernel");
  for (auto& r : s.shared_seen)
    if (r.first == p) {
      if (r.second != s.block_epoch) {
        std::memset(p, 0xff, bytes);
        r.second = s.block_epoch;
      }
      return;
    }
  std::memset(p, 0xff, bytes);
  s.shared_seen.emplace_back(p, s.block_epoch);
}

namespace {
void grow_logs(Sched& s) {  // more shuffles between two barriers than the logs hold: double them
  const uint32_t cap = s.log_cap * 2;
  std::vector<uint64_t> b(static_cast<size_t>(s.nthreads) * cap, 0);
  for (int i = 0; i < s.nthreads; ++i)
    for (uint32_t k = 0; k < s.log_len[i]; ++k) b[static_cast<size_t>(i) * cap + k] = s.log_buf[static_cast<size_t>(i) * s.log_cap + k];
  s.log_buf.swap(b);
  s.log_cap = cap;
}
}  // namespace

uint64_t shfl_down_bits(unsigned mask, uint64_t bits, unsigned delta) {
  if (mask != 0xffffffffu) fatal("__shfl_down_sync: only the full mask is emulated");
  Sched& s = *tl_sched_raw;
  if (!s.active || !s.cur) fatal("__shfl_down_sync outside a kernel");
  ThreadCtx& t = s.cur->ctx;
  const uint32_t seq = t.shfl_seq++;
  if (s.log_len[t.linear] == s.log_cap) grow_logs(s);
  s.log_buf[static_cast<size_t>(t.linear) * s.log_cap + s.log_len[t.linear]++] = bits;
  ++s.progress;
  const unsigned src = static_cast<unsigned>(t.lane) + delta;
  const int j = t.warp * 32 + static_cast<int>(src);
  if (src >= 32 || j >= s.nthreads) return bits;  // no such lane: the caller's own value, as on a GPU
  for (;;) {
    if (seq < s.shfl_base[j]) fatal("__shfl_down_sync: lanes of a warp made different numbers of shuffles");
    const uint32_t k = seq - s.shfl_base[j];
    if (k < s.log_len[j]) return s.log_buf[static_cast<size_t>(j) * s.log_cap + k];
    if (s.fibers[static_cast<size_t>(j)].done) fatal("__shfl_down_sync: the source lane has exited");
    to_sched(s, *s.cur, false);  // the source lane has not reached this shuffle yet
  }
}

void launch(dim3 grid, dim3 block, void (*body)(void*), void* arg) {
  Sched& s = sched();
  if (s.active) fatal("nested kernel launch");
  const uint64_t nt = static_cast<uint64_t>(block.x) * block.y * block.z;
  if (nt == 0 || nt > static_cast<uint64_t>(kMaxThreads)) fatal("block size must be 1..1024 threads");
  if (static_cast<uint64_t>(grid.x) * grid.y * grid.z == 0) fatal("empty grid");
  ensure_capacity(s, static_cast<int>(nt));
  s.active = true;
  s.body = body;
  s.arg = arg;
  s.nthreads = static_cast<int>(nt);
  const BlockCtx saved = tl_block;
  // blocks in order, or (seeded) in the pseudo-random order k -> (a k + c) mod G with gcd(a, G) = 1
  const uint64_t G = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  uint64_t a = 1, c = 0;
  if (s.sch.seed != 0 && s.sch.shuffle_blocks && G > 1) {
    auto gcd = [](uint64_t x, uint64_t y) { while (y) { const uint64_t t = x % y; x = y; y = t; } return x; };
    do a = 1 + next_rand(s) % (G - 1); while (gcd(a, G) != 1);
    c = next_rand(s) % G;
  }
  for (uint64_t k = 0; k < G; ++k) {
    const uint64_t id = (a * k + c) % G;  // a, k < 2^32: no overflow
    tl_block.bid = uint3{static_cast<unsigned>(id % grid.x), static_cast<unsigned>((id / grid.x) % grid.y),
                         static_cast<unsigned>(id / (static_cast<uint64_t>(grid.x) * grid.y))};
    tl_block.bdim = block;
    tl_block.gdim = grid;
    run_block(s);
  }
  tl_block = saved;
  s.active = false;
}

}  // namespace gc_emu
