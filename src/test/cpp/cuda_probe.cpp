// cuda_probe.cpp - checks of libgradclip.so (the nvcc build) that run with or without a GPU.
// Without a driver: gc_probe must answer GC_ERR_UNAVAILABLE with cudaError 35 or 100 and a message
// naming it, and argument errors must still be reported before any CUDA call. With a GPU: a small
// norm and clip are checked against hand-computed values.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "gradclip.h"

static int failures = 0;
#define CHECK(c, ...) do { if (!(c)) { ++failures; std::fprintf(stderr, "FAIL: " __VA_ARGS__); std::fprintf(stderr, "\n"); } } while (0)

int main() {
  CHECK(std::strcmp(gc_backend_name(), "cuda") == 0, "backend name %s", gc_backend_name());
  int32_t count = -1, err = -1;
  const int rc = gc_probe(&count, &err);
  const std::string probe_msg = gc_last_error();
  std::printf("gc_probe: rc %d, devices %d, cudaError %d, message '%s'\n", rc, count, err, probe_msg.c_str());
  gc_engine* e = nullptr;
  CHECK(gc_engine_create(&e) == GC_OK, "engine create");
  int64_t cnt = -1, addr = 0;
  int32_t dt = GC_FLOAT32;
  CHECK(gc_run(e, GC_OP_NORMS, &addr, &cnt, &dt, 1, 0, 0, 2, 0, 0, 0, 0, nullptr, nullptr, nullptr, nullptr) == GC_ERR_INVALID_ARGUMENT,
        "invalid argument before any CUDA call");
  if (rc != GC_OK) {
    CHECK(rc == GC_ERR_UNAVAILABLE, "probe rc %d", rc);
    CHECK(err == 35 || err == 100, "cudaError %d", err);
    CHECK(std::strstr(probe_msg.c_str(), "cudaGetDeviceCount") != nullptr, "message names cudaGetDeviceCount");
    int64_t d = 0;
    const int arc = gc_device_alloc(1024, &d);
    CHECK(arc == GC_ERR_CUDA || arc == GC_ERR_UNAVAILABLE, "alloc without a device: rc %d (%s)", arc, gc_last_error());
    gc_engine_destroy(e);
    std::printf("no usable GPU: %s\n", failures ? "FAILED" : "ok (unavailability reported correctly)");
    return failures ? 1 : 0;
  }
  // with a GPU: norm of 3, 4 (fp32) is 5; clip to 1 scales by 1/(5+1e-6)
  std::vector<float> h = {3.0f, 4.0f};
  int64_t d = 0;
  CHECK(gc_device_alloc(8, &d) == GC_OK, "alloc");
  CHECK(gc_memcpy(d, reinterpret_cast<intptr_t>(h.data()), 8, 0, 0) == GC_OK, "h2d");
  int64_t n2 = 2;
  double nm[1], sc[1], sm[2];
  int64_t c3[3];
  CHECK(gc_run(e, GC_OP_CLIP_GLOBAL_NORM, &d, &n2, &dt, 1, 1.0, 0, 2.0, 0, 0, 0, 0, nm, sc, sm, c3) == GC_OK, "run: %s", gc_last_error());
  CHECK(sm[0] == 5.0 && nm[0] == 5.0, "norm %.17g", sm[0]);
  CHECK(sm[1] == 1.0 / (5.0 + 1e-6), "scale %.17g", sm[1]);
  CHECK(gc_memcpy(reinterpret_cast<intptr_t>(h.data()), d, 8, 1, 0) == GC_OK, "d2h");
  const float s32 = static_cast<float>(1.0 / (5.0 + 1e-6));
  CHECK(h[0] == 3.0f * s32 && h[1] == 4.0f * s32, "scaled %.9g %.9g", h[0], h[1]);
  CHECK(c3[0] == 2 && c3[1] == 0 && c3[2] == 0, "counts");
  // async: outputs from gc_engine_result
  CHECK(gc_run(e, GC_OP_NORMS, &d, &n2, &dt, 1, 0, 0, 1.0, 0, 0, 0, GC_FLAG_ASYNC, nullptr, nullptr, nullptr, nullptr) == GC_OK, "async run");
  CHECK(gc_engine_result(e, nm, sc, sm, c3) == GC_OK, "async result");
  CHECK(sm[0] == static_cast<double>(3.0f * s32) + static_cast<double>(4.0f * s32), "async p=1 norm %.17g", sm[0]);
  gc_device_free(d);
  gc_engine_destroy(e);
  std::printf("GPU checks: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
