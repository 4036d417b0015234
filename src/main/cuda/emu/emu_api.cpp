// emu_api.cpp - the C entry points of gradclip_emu.h (libgradclip-emu.so only) over the emulated runtime.
#ifndef GC_EMULATED
#error "emu_api.cpp is only for the emulated backend"
#endif
#include "gradclip_emu.h"

#include "cuda_emu.h"

namespace {
cudaStream_t as_stream(int64_t s) { return reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(s)); }
cudaEvent_t as_event(int64_t e) { return reinterpret_cast<cudaEvent_t>(static_cast<intptr_t>(e)); }
}  // namespace

extern "C" {

int32_t gc_emu_inject_failure(int32_t site, int32_t error, int32_t skip, int32_t flags) {
  if (site < 0 || site >= gc_emu::kSiteCount) return 1;
  gc_emu::inject_failure(site, error, skip, (flags & GC_EMU_LOSE_CONTEXT) != 0);
  return 0;
}

void gc_emu_reset(void) { gc_emu::reset(); }

int64_t gc_emu_hazards(void) { return gc_emu::hazards(); }

int64_t gc_emu_stream_waits(void) { return gc_emu::stream_waits(); }

int64_t gc_emu_queued(int64_t stream) { return gc_emu::queued(as_stream(stream)); }

int32_t gc_emu_stream_synchronize(int64_t stream) { return cudaStreamSynchronize(as_stream(stream)); }

int32_t gc_emu_event_create(int64_t* out_event) {
  if (!out_event) return cudaErrorInvalidValue;
  cudaEvent_t e = nullptr;
  const cudaError_t rc = cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
  *out_event = static_cast<int64_t>(reinterpret_cast<intptr_t>(e));
  return rc;
}

int32_t gc_emu_event_destroy(int64_t event) { return cudaEventDestroy(as_event(event)); }

int32_t gc_emu_event_record(int64_t event, int64_t stream) { return cudaEventRecord(as_event(event), as_stream(stream)); }

int32_t gc_emu_enqueue_copy(int64_t dst, int64_t src, int64_t bytes, int64_t stream) {
  if (bytes < 0 || (bytes > 0 && (dst == 0 || src == 0))) return cudaErrorInvalidValue;
  return cudaMemcpyAsync(reinterpret_cast<void*>(static_cast<intptr_t>(dst)), reinterpret_cast<const void*>(static_cast<intptr_t>(src)),
                         static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, as_stream(stream));
}

}  // extern "C"
