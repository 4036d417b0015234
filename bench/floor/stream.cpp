// The physical floor of the gradclip benchmarks (issue #10): STREAM-style passes over the same number
// of bytes as each shape set's gradients, on all cores (OpenMP, static schedule: one contiguous part
// per thread), under the same protocol as the benchmarked operations: before every timed pass the
// working buffer is restored from a pristine copy (untimed) by one thread, as the harness restores every
// JVM implementation's gradients (Harness.Impl.restore runs on the calling thread), then one pass is
// timed. The restore decides where the bytes lie when the pass starts: restored by all threads with the
// pass's own partition, each thread found its part in its own L2 and the L3, a state no benchmarked
// implementation gets, and a floor up to ~1.8x faster on sets that fit the caches (bench/NOTES.md item 25).
//   read   s += b[i]            (bytes: size)        -- what norms / not clipping must read
//   copy   c[i] = b[i]          (bytes: 2 x size)    -- for reference (write-allocate makes it costlier)
//   scale  b[i] = b[i] * s      (bytes: 2 x size)    -- in-place read+write, what clip by value and the
//                                                       scale pass of the global clip must move
// Usage: stream <min-seconds-per-kernel> <min-passes> <bytes>...   Prints one JSON object on stdout.
//        stream probe <bytes>   The bandwidth probe bench/run takes between forks (~0.3 s for 128 MiB):
//                               15 timed read and in-place scale passes after 3 untimed ones, no restore;
//                               prints {"read_gbps", "scale_gbps"} (medians). A fork whose probes show the
//                               machine's memory slower than usual (another VM on the host) is re-measured.
// Each kernel runs twice, as the plain loop above and with a software prefetch of the line 8 KiB ahead,
// and reports the better of the two medians (STREAM_VERBOSE=1 prints both on stderr): on a VM whose hardware
// prefetchers restart at every 4 KiB page behind a nested page walk, the prefetched loop is the faster
// one (bench/NOTES.md item 32), and gradclip's own passes prefetch so; a floor without it would be one
// that gradclip beats by construction.
// Each kernel's bandwidth is the median of its timed passes: at least <min-passes>, and more until they
// add up to <min-seconds-per-kernel> (at most 2,000); bench/run uses 0.25 s and 15 passes (a large buffer
// gets 15, a small one hundreds to 2,000).
// Build: g++ -O3 -march=native -fopenmp -o stream stream.cpp  (bench/run does it).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static float* alloc(size_t n) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, std::max<size_t>(n, 1) * sizeof(float)) != 0) {
        std::fprintf(stderr, "stream: cannot allocate %zu floats\n", n);
        std::exit(1);
    }
    return static_cast<float*>(p);
}

// 8 floats (GCC vector extension: AVX registers where the machine has them, else pairs of SSE ones)
typedef float v8 __attribute__((vector_size(32)));
static inline v8 load8(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// one thread, as the harness restores (see the top of this file)
static void restore(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }

volatile float g_sink;

// The line 8 KiB ahead of p (an address past the buffer is computed as an integer; a prefetch never
// faults). A read prefetch (prefetcht0) even where the pass writes, as gradclip's kernels do: prefetchw
// made the in-place scale slower on the Intel Xeon VM (43 against 52 GB/s without any prefetch, 54 with
// prefetcht0; bench/NOTES.md item 32).
static constexpr uintptr_t kAhead = 8192;
static inline void prefetch_r(const float* p) { __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + kAhead), 0, 3); }

// one read pass of n floats: one contiguous part per thread, 8 independent 8-float accumulators (bound
// by memory, not by the latency of one add chain); with pf, one prefetch per 64-byte line
template <bool pf>
static float read_pass(const float* b, size_t n) {
    float s = 0;
#pragma omp parallel reduction(+ : s)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        size_t from = n * id / nt, to = n * (id + 1) / nt;
        v8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
        size_t i = from;
        for (; i + 64 <= to; i += 64) {
            if (pf) {
                for (int l = 0; l < 64; l += 16) prefetch_r(b + i + l);
            }
            a0 += load8(b + i);
            a1 += load8(b + i + 8);
            a2 += load8(b + i + 16);
            a3 += load8(b + i + 24);
            a4 += load8(b + i + 32);
            a5 += load8(b + i + 40);
            a6 += load8(b + i + 48);
            a7 += load8(b + i + 56);
        }
        v8 v = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        float t = 0;
        for (int j = 0; j < 8; j++) t += v[j];
        for (; i < to; i++) t += b[i];
        s += t;
    }
    return s;
}

// c[i] = b[i] (pf: both lines prefetched) and b[i] *= f, one contiguous part per thread
template <bool pf>
static void copy_pass(float* c, const float* b, size_t n) {
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        size_t from = n * id / nt, to = n * (id + 1) / nt, i = from;
        for (; i + 16 <= to; i += 16) {
            if (pf) {
                prefetch_r(b + i);
                prefetch_r(c + i);
            }
#pragma omp simd
            for (int v = 0; v < 16; v++) c[i + v] = b[i + v];
        }
        for (; i < to; i++) c[i] = b[i];
    }
}
template <bool pf>
static void scale_pass(float* b, size_t n, float f) {
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        size_t from = n * id / nt, to = n * (id + 1) / nt, i = from;
#ifdef __AVX512F__
        // one 64-byte line a step in one 512-bit vector (GCC's -march=native code uses 256-bit vectors
        // on Intel, which measured slower in place)
        const __m512 fv = _mm512_set1_ps(f);
        for (; i < to && (reinterpret_cast<uintptr_t>(b + i) & 63) != 0; i++) b[i] = b[i] * f;
        for (; i + 16 <= to; i += 16) {
            if (pf) prefetch_r(b + i);
            _mm512_store_ps(b + i, _mm512_mul_ps(_mm512_load_ps(b + i), fv));
        }
#else
        for (; i + 16 <= to; i += 16) {
            if (pf) prefetch_r(b + i);
#pragma omp simd
            for (int v = 0; v < 16; v++) b[i + v] = b[i + v] * f;
        }
#endif
        for (; i < to; i++) b[i] = b[i] * f;
    }
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

static int probe(size_t bytes) {
    size_t n = bytes / sizeof(float);
    float* b = alloc(n);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = static_cast<float>((i * 2654435761u) % 1000u) * 1e-3f - 0.5f;
    volatile float f = 1.0f;  // scale by 1: the values stay as they are over the passes
    std::vector<double> rt, st;
    for (int r = 0; r < 18; r++) {
        double t0 = omp_get_wtime();
        g_sink = read_pass<false>(b, n);
        double t1 = omp_get_wtime();
        float k = f;
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) b[i] = b[i] * k;
        double t2 = omp_get_wtime();
        if (r >= 3) {
            rt.push_back(t1 - t0);
            st.push_back(t2 - t1);
        }
    }
    std::printf("{\"bytes\": %zu, \"threads\": %d, \"read_gbps\": %.3f, \"scale_gbps\": %.3f}\n", n * sizeof(float),
                omp_get_max_threads(), n * sizeof(float) / median(rt) / 1e9, 2.0 * n * sizeof(float) / median(st) / 1e9);
    std::free(b);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "probe") == 0) return probe(std::strtoull(argv[2], nullptr, 10));
    if (argc < 4) {
        std::fprintf(stderr, "usage: stream <min-seconds-per-kernel> <min-passes> <bytes>...\n");
        return 2;
    }
    double min_s = std::atof(argv[1]);
    size_t min_reps = std::strtoull(argv[2], nullptr, 10);
    volatile float scale_factor = 0.999f;
    std::printf("{\"threads\": %d, \"compiler\": \"%s\", \"restore\": \"one thread\", \"sizes\": [",
                omp_get_max_threads(), __VERSION__);
    for (int a = 3; a < argc; a++) {
        size_t bytes = std::strtoull(argv[a], nullptr, 10);
        size_t n = bytes / sizeof(float);
        float* pristine = alloc(n);
        float* b = alloc(n);
        float* c = alloc(n);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            pristine[i] = static_cast<float>((i * 2654435761u) % 1000u) * 1e-3f - 0.5f;
            b[i] = 0;
            c[i] = 0;
        }
        double gbps[3] = {0, 0, 0};
        int reps_out[3] = {0, 0, 0};
        for (int kv = 0; kv < 6; kv++) {  // kernel k = kv / 2, plain (kv even) or prefetched
            const int k = kv / 2;
            const bool pf = kv % 2 == 1;
            std::vector<double> times;
            double total = 0;
            for (int w = 0; w < 2; w++) {  // warm-up passes, untimed
                restore(b, pristine, n);
            }
            while (times.size() < min_reps || (total < min_s && times.size() < 2000)) {
                restore(b, pristine, n);
                double t0 = omp_get_wtime();
                if (k == 0) {
                    g_sink = pf ? read_pass<true>(b, n) : read_pass<false>(b, n);
                } else if (k == 1) {
                    if (pf) copy_pass<true>(c, b, n); else copy_pass<false>(c, b, n);
                } else {
                    if (pf) scale_pass<true>(b, n, scale_factor); else scale_pass<false>(b, n, scale_factor);
                }
                double t = omp_get_wtime() - t0;
                times.push_back(t);
                total += t;
            }
            std::sort(times.begin(), times.end());
            double med = times.size() % 2 ? times[times.size() / 2]
                                          : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
            double moved = static_cast<double>(n * sizeof(float)) * (k == 0 ? 1 : 2);
            if (std::getenv("STREAM_VERBOSE")) std::fprintf(stderr, "kernel %d pf %d: %.1f GB/s\n", k, pf, moved / med / 1e9);
            if (moved / med / 1e9 > gbps[k]) {
                gbps[k] = moved / med / 1e9;
                reps_out[k] = static_cast<int>(times.size());
            }
            g_sink = g_sink + c[n / 2] + b[n / 3];
        }
        std::printf("%s{\"bytes\": %zu, \"read_gbps\": %.3f, \"copy_gbps\": %.3f, \"scale_gbps\": %.3f, "
                    "\"reps\": [%d, %d, %d], \"min_s\": %.3f}",
                    a == 3 ? "" : ", ", n * sizeof(float), gbps[0], gbps[1], gbps[2], reps_out[0], reps_out[1],
                    reps_out[2], min_s);
        std::fflush(stdout);
        std::fprintf(stderr, "[floor] %zu bytes: read %.1f GB/s, copy %.1f GB/s, scale in place %.1f GB/s\n",
                     n * sizeof(float), gbps[0], gbps[1], gbps[2]);
        std::free(pristine);
        std::free(b);
        std::free(c);
    }
    std::printf("]}\n");
    return 0;
}
