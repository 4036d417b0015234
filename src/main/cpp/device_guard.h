// device_guard.h - device-safety checks called by the C API's entry points before anything is queued
// (issue 13, "would kill the trainer's CUDA context"). Each function returns GC_OK or a GC_ERR_* code
// with a message in `msg`; none of them touches the gradients.
//   - element alignment (both backends): a view whose address is not a multiple of its element size
//     faults on a GPU with a sticky error (cudaErrorMisalignedAddress) that kills the shared context;
//   - pointer attributes (CUDA): every tensor address must be device or managed memory of the engine's
//     device (a host pointer, a freed buffer or another device's memory faults, stickily); checked once
//     per distinct tensor table (the last table is cached, compared exactly);
//   - device affinity: an engine belongs to the device that was current when it was created; entry
//     points switch to it and back (DeviceScope); the caller's stream must belong to it;
//   - graph capture: a capturing stream is refused (calls synchronise and may allocate);
//   - sticky errors: classified, the message says "the CUDA context is lost";
//   - the driver: the CUDA 13 build needs an R580+ driver (CUDA driver API 13.0).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "gc_launch.h"

namespace gc {

struct DeviceGuard {
  int device = -1;  // the engine's device, recorded at engine creation
  // the last table whose pointers passed the attribute check
  std::vector<int64_t> ok_addr, ok_count;
  std::vector<int32_t> ok_dtype;
  int64_t attribute_checks = 0;  // cudaPointerGetAttributes calls made (tests read it)
};

// Records the current device (engine creation).
int guard_init(DeviceGuard& g, char* msg, size_t cap);
// Element alignment of every non-empty tensor.
int check_alignment(const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, char* msg, size_t cap);
// Pointer attributes of every non-empty tensor, unless this exact table passed before.
int check_pointers(DeviceGuard& g, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, char* msg,
                   size_t cap);
// The decision for one pointer's attributes (exposed for tests): nullptr if acceptable, else why not.
const char* classify_pointer(int memory_type, int pointer_device, int engine_device);
// The stream: not capturing, and on the engine's device.
int check_stream(const DeviceGuard& g, cudaStream_t s, char* msg, size_t cap);
// True for the errors after which the CUDA context is unusable (every later call fails).
bool is_sticky(cudaError_t e);
// Driver API version (e.g. 13000) or 0, and whether it is new enough for this build.
int driver_version();
constexpr int kMinDriverVersion = 13000;  // CUDA 13.0: driver R580 or newer

// Makes the engine's device current for the scope of an entry point and restores the caller's.
class DeviceScope {
 public:
  DeviceScope() = default;
  int enter(const DeviceGuard& g, char* msg, size_t cap);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int prev_ = -1;
};

}  // namespace gc
