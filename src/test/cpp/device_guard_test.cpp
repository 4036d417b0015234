// device_guard_test.cpp - host tests of the device-safety checks (device_guard.h), built against the
// emulation layer: the decisions for pointer attributes, the per-table cache, alignment, sticky errors.
#include <cstdio>
#include <cstring>
#include <string>

#include "device_guard.h"
#include "gradclip.h"

static int g_fail = 0, g_checks = 0;
#define CHECK(c, ...) do { ++g_checks; if (!(c)) { ++g_fail; std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); std::fprintf(stderr, __VA_ARGS__); std::fprintf(stderr, "\n"); } } while (0)

int main() {
  using namespace gc;
  // pointer attributes: only device memory of the engine's device, or managed memory
  CHECK(classify_pointer(cudaMemoryTypeDevice, 0, 0) == nullptr, "device memory of the engine's device");
  CHECK(classify_pointer(cudaMemoryTypeManaged, 1, 0) == nullptr, "managed memory");
  CHECK(classify_pointer(cudaMemoryTypeDevice, 1, 0) != nullptr && std::strstr(classify_pointer(cudaMemoryTypeDevice, 1, 0), "another device"),
        "another device's memory refused");
  CHECK(classify_pointer(cudaMemoryTypeHost, 0, 0) != nullptr, "pinned host memory refused");
  CHECK(classify_pointer(cudaMemoryTypeUnregistered, 0, 0) != nullptr, "plain host / freed memory refused");

  // alignment: an element-misaligned view is refused on every backend
  char msg[512];
  alignas(16) float buf[8] = {};
  int64_t addr[2] = {reinterpret_cast<intptr_t>(buf), reinterpret_cast<intptr_t>(buf) + 2};
  int64_t cnt[2] = {4, 2};
  int32_t dt[2] = {GC_FLOAT32, GC_FLOAT32};
  CHECK(check_alignment(addr, cnt, dt, 1, msg, sizeof msg) == GC_OK, "aligned");
  CHECK(check_alignment(addr, cnt, dt, 2, msg, sizeof msg) == GC_ERR_INVALID_ARGUMENT && std::strstr(msg, "addresses[1]") && std::strstr(msg, "aligned"),
        "misaligned fp32 view: %s", msg);
  int32_t dt16[2] = {GC_FLOAT32, GC_FLOAT16};
  CHECK(check_alignment(addr, cnt, dt16, 2, msg, sizeof msg) == GC_OK, "fp16 at a 2-byte offset is aligned");
  int64_t cnt0[2] = {4, 0};
  CHECK(check_alignment(addr, cnt0, dt, 2, msg, sizeof msg) == GC_OK, "an empty tensor's address is not used");

  // the per-table cache: the same table is checked once; a changed table again
  DeviceGuard g;
  CHECK(guard_init(g, msg, sizeof msg) == GC_OK && g.device == 0, "guard_init");
  CHECK(check_pointers(g, addr, cnt, dt16, 2, msg, sizeof msg) == GC_OK && g.attribute_checks == 2, "first table: %lld", static_cast<long long>(g.attribute_checks));
  CHECK(check_pointers(g, addr, cnt, dt16, 2, msg, sizeof msg) == GC_OK && g.attribute_checks == 2, "cached table");
  int64_t cnt2[2] = {4, 1};
  CHECK(check_pointers(g, addr, cnt2, dt16, 2, msg, sizeof msg) == GC_OK && g.attribute_checks == 4, "changed table rechecked");
  CHECK(check_stream(g, nullptr, msg, sizeof msg) == GC_OK, "default stream");

  // sticky errors
  CHECK(is_sticky(static_cast<cudaError_t>(700)) && is_sticky(static_cast<cudaError_t>(716)) && is_sticky(static_cast<cudaError_t>(719)), "sticky");
  CHECK(!is_sticky(static_cast<cudaError_t>(2)) && !is_sticky(static_cast<cudaError_t>(1)) && !is_sticky(static_cast<cudaError_t>(720)), "not sticky");
  CHECK(driver_version() >= kMinDriverVersion, "driver version (emulated: 13.0)");

  std::printf("device_guard: %d checks, %d failures\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
