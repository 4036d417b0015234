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
  const gc_tensor_table bad{&addr, &cnt, &dt, 1};
  gc_norms_result bad_out{nullptr, nullptr, nullptr, 0};
  CHECK(gc_norms(e, &bad, GC_NORM_L2, 2, 0, &bad_out) == GC_ERR_INVALID_ARGUMENT, "invalid argument before any CUDA call");
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
  CHECK(gc_memcpy(d, reinterpret_cast<intptr_t>(h.data()), 8, GC_COPY_HOST_TO_DEVICE, 0) == GC_OK, "h2d");
  int64_t n2 = 2;
  const gc_tensor_table table{&d, &n2, &dt, 1};
  double nm[1];
  gc_global_clip_result r{};
  r.tensor_norms = nm;
  CHECK(gc_clip_global_norm(e, &table, GC_NORM_L2, 1.0, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &r) == GC_OK, "clip: %s",
        gc_last_error());
  CHECK(r.total_norm == 5.0 && nm[0] == 5.0, "norm %.17g", r.total_norm);
  CHECK(r.scale == 1.0 / (5.0 + 1e-6), "scale %.17g", r.scale);
  CHECK(gc_memcpy(reinterpret_cast<intptr_t>(h.data()), d, 8, GC_COPY_DEVICE_TO_HOST, 0) == GC_OK, "d2h");
  const float s32 = static_cast<float>(1.0 / (5.0 + 1e-6));
  CHECK(h[0] == 3.0f * s32 && h[1] == 4.0f * s32, "scaled %.9g %.9g", h[0], h[1]);
  CHECK(r.clipped_elements == 2 && r.nonfinite_elements == 0 && r.stopped == 0, "counts");
  // the passes: p = 1 partials of the scaled data
  double chunk[1], tsum[1];
  gc_norms_result nr{chunk, tsum, nullptr, -1};
  CHECK(gc_norms(e, &table, GC_NORM_L1, 1.0, 0, &nr) == GC_OK, "norms: %s", gc_last_error());
  CHECK(tsum[0] == static_cast<double>(3.0f * s32) + static_cast<double>(4.0f * s32) && chunk[0] == tsum[0], "p=1 sum %.17g", tsum[0]);
  CHECK(nr.nonfinite_elements == 0, "nonfinite");
  // async fused clip: outputs from gc_clip_global_norm_wait
  CHECK(gc_clip_global_norm(e, &table, GC_NORM_INF, 100.0, GC_SEMANTICS_TF, GC_NONFINITE_ERROR, 0, GC_FLAG_ASYNC, nullptr) == GC_OK,
        "async clip");
  gc_global_clip_result w{};
  CHECK(gc_clip_global_norm_wait(e, &w) == GC_OK, "async wait");
  CHECK(w.total_norm == static_cast<double>(4.0f * s32) && w.scale == 1.0 && w.clipped_elements == 0, "async inf norm %.17g", w.total_norm);
  gc_device_free(d);
  gc_engine_destroy(e);
  std::printf("GPU checks: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
