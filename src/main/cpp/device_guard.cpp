// device_guard.cpp - see device_guard.h.
#include "device_guard.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "gradclip.h"

namespace gc {

namespace {
int say(int code, char* msg, size_t cap, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
int say(int code, char* msg, size_t cap, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
  return code;
}
int esize(int32_t dt) { return dt == GC_FLOAT64 ? 8 : dt == GC_FLOAT32 ? 4 : 2; }
}  // namespace

int guard_init(DeviceGuard& g, char* msg, size_t cap) {
  int d = 0;
  const cudaError_t e = cudaGetDevice(&d);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return say(GC_ERR_CUDA, msg, cap, "cudaGetDevice failed: %s (%d)", cudaGetErrorName(e), static_cast<int>(e));
  }
  g.device = d;
  return GC_OK;
}

int check_alignment(const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, char* msg, size_t cap) {
  for (int64_t t = 0; t < n; ++t) {
    if (counts[t] == 0) continue;
    const int s = esize(dtypes[t]);
    if (addresses[t] % s != 0)
      return say(GC_ERR_INVALID_ARGUMENT, msg, cap,
                 "addresses[%lld]: 0x%llx is not aligned to its %d-byte elements (a misaligned access would kill the CUDA context)",
                 static_cast<long long>(t), static_cast<unsigned long long>(addresses[t]), s);
  }
  return GC_OK;
}

const char* classify_pointer(int memory_type, int pointer_device, int engine_device) {
  switch (memory_type) {
    case cudaMemoryTypeDevice:
      return pointer_device == engine_device ? nullptr : "device memory of another device";
    case cudaMemoryTypeManaged:
      return nullptr;  // migrates on demand
    case cudaMemoryTypeHost:
      return "pinned host memory, not device memory";
    default:
      return "not CUDA memory (a host pointer, or freed device memory)";
  }
}

int check_pointers(DeviceGuard& g, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, char* msg,
                   size_t cap) {
  const size_t un = static_cast<size_t>(n);
  if (g.ok_addr.size() == un && (n == 0 || (std::memcmp(g.ok_addr.data(), addresses, un * 8) == 0 &&
                                            std::memcmp(g.ok_count.data(), counts, un * 8) == 0 &&
                                            std::memcmp(g.ok_dtype.data(), dtypes, un * 4) == 0)))
    return GC_OK;  // this exact table passed before
  for (int64_t t = 0; t < n; ++t) {
    if (counts[t] == 0) continue;
    cudaPointerAttributes a;
    std::memset(&a, 0, sizeof a);
    ++g.attribute_checks;
    const cudaError_t e = cudaPointerGetAttributes(&a, reinterpret_cast<const void*>(static_cast<intptr_t>(addresses[t])));
    if (e != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it
      return say(GC_ERR_INVALID_ARGUMENT, msg, cap, "addresses[%lld]: 0x%llx: cudaPointerGetAttributes failed: %s (%d)",
                 static_cast<long long>(t), static_cast<unsigned long long>(addresses[t]), cudaGetErrorName(e), static_cast<int>(e));
    }
    if (const char* why = classify_pointer(static_cast<int>(a.type), a.device, g.device))
      return say(GC_ERR_INVALID_ARGUMENT, msg, cap, "addresses[%lld]: 0x%llx is %s (engine device %d, pointer device %d)",
                 static_cast<long long>(t), static_cast<unsigned long long>(addresses[t]), why, g.device, a.device);
  }
  g.ok_addr.assign(addresses, addresses + un);
  g.ok_count.assign(counts, counts + un);
  g.ok_dtype.assign(dtypes, dtypes + un);
  return GC_OK;
}

int check_stream(const DeviceGuard& g, cudaStream_t s, char* msg, size_t cap) {
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  cudaError_t e = cudaStreamIsCapturing(s, &cs);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return say(GC_ERR_INVALID_ARGUMENT, msg, cap, "stream: cudaStreamIsCapturing failed: %s (%d)", cudaGetErrorName(e), static_cast<int>(e));
  }
  if (cs != cudaStreamCaptureStatusNone)
    return say(GC_ERR_INVALID_ARGUMENT, msg, cap,
               "stream: it is capturing a CUDA graph; gradclip calls wait on the stream and may allocate, which would break the "
               "capture: call it outside the capture");
  if (s != nullptr) {
    int d = -1;
    e = cudaStreamGetDevice(s, &d);
    if (e != cudaSuccess) {
      cudaGetLastError();
      return say(GC_ERR_INVALID_ARGUMENT, msg, cap, "stream: cudaStreamGetDevice failed: %s (%d)", cudaGetErrorName(e), static_cast<int>(e));
    }
    if (d != g.device)
      return say(GC_ERR_INVALID_ARGUMENT, msg, cap, "stream: it belongs to device %d, the engine to device %d (one engine per device)", d,
                 g.device);
  }
  return GC_OK;
}

bool is_sticky(cudaError_t e) {
  switch (static_cast<int>(e)) {
    case 214:  // cudaErrorECCUncorrectable
    case 700:  // cudaErrorIllegalAddress
    case 702:  // cudaErrorLaunchTimeout
    case 710:  // cudaErrorAssert
    case 714:  // cudaErrorHardwareStackError
    case 715:  // cudaErrorIllegalInstruction
    case 716:  // cudaErrorMisalignedAddress
    case 717:  // cudaErrorInvalidAddressSpace
    case 718:  // cudaErrorInvalidPc
    case 719:  // cudaErrorLaunchFailure
    case 720:  // cudaErrorCooperativeLaunchTooLarge is not sticky; 720 is used by nothing we launch
      return static_cast<int>(e) != 720;
    default:
      return false;
  }
}

int driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) return 0;
  return v;
}

int DeviceScope::enter(const DeviceGuard& g, char* msg, size_t cap) {
  int cur = -1;
  cudaError_t e = cudaGetDevice(&cur);
  if (e != cudaSuccess) return say(GC_ERR_CUDA, msg, cap, "cudaGetDevice failed: %s (%d)", cudaGetErrorName(e), static_cast<int>(e));
  if (cur == g.device) return GC_OK;
  e = cudaSetDevice(g.device);
  if (e != cudaSuccess)
    return say(GC_ERR_CUDA, msg, cap, "cudaSetDevice(%d) failed: %s (%d)", g.device, cudaGetErrorName(e), static_cast<int>(e));
  prev_ = cur;
  return GC_OK;
}

DeviceScope::~DeviceScope() {
  if (prev_ >= 0) cudaSetDevice(prev_);
}

}  // namespace gc
