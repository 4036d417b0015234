/*
 * gradclip_emu.h - controls of the emulated runtime, exported by libgradclip-emu.so ONLY (never by the CUDA
 * library libgradclip.so): emulated streams and events standing in for a framework's, copies queued on them
 * (a framework's backward pass writing gradients), injected CUDA failures and the hazard counter. For tests
 * of the C API's stream, event and error paths without a GPU (src/main/cuda/emu/runtime.cpp has the model).
 *
 * Streams and events are int64 handles, as in gradclip.h (0 = the default stream). Return values are
 * emulated cudaError_t codes: 0 = success, 400 = not a stream/event of the emulated runtime.
 */
#ifndef GRADCLIP_EMU_H
#define GRADCLIP_EMU_H

#include <stdint.h>

#include "gradclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Call sites where gc_emu_inject_failure can make the emulated runtime fail. */
enum {
  GC_EMU_SITE_LAUNCH = 0,      /* a kernel launch: not run; the launch plan's cudaGetLastError() reports it */
  GC_EMU_SITE_MEMCPY = 1,      /* cudaMemcpyAsync: refused, nothing queued */
  GC_EMU_SITE_STREAM_SYNC = 2, /* cudaStreamSynchronize: fails, the stream's queued work has not run */
  GC_EMU_SITE_EVENT_SYNC = 3,  /* cudaEventSynchronize: fails, the work before the event has not run */
  GC_EMU_SITE_MALLOC = 4       /* cudaMalloc / cudaMallocHost */
};
/** gc_emu_inject_failure flags. */
enum { GC_EMU_LOSE_CONTEXT = 1 /* a sticky error: the queued work is dropped, every later call fails with it */ };

/**
 * The (skip + 1)-th call at `site` from now on fails with `error` (a cudaError_t, e.g. 999 unknown, 700 illegal
 * address), once. error 0 disarms the site. Process-wide, like a CUDA context. Returns 0, or 1 for an unknown site.
 */
GC_API int32_t gc_emu_inject_failure(int32_t site, int32_t error, int32_t skip, int32_t flags);
/** Disarms every site, makes a lost context usable again, zeroes the counters. */
GC_API void gc_emu_reset(void);
/** Queued copies from pinned host memory whose source changed between the enqueue and the copy (a race on a GPU). */
GC_API int64_t gc_emu_hazards(void);
/** cudaStreamWaitEvent calls made (by gc_stream_wait_event). */
GC_API int64_t gc_emu_stream_waits(void);
/** Work queued on `stream` and not run yet; -1 if it is not a stream. */
GC_API int64_t gc_emu_queued(int64_t stream);

/* Streams: gc_stream_create / gc_stream_destroy of gradclip.h make emulated non-blocking streams here. */
/** Runs everything queued on `stream`. */
GC_API int32_t gc_emu_stream_synchronize(int64_t stream);
GC_API int32_t gc_emu_event_create(int64_t* out_event);
GC_API int32_t gc_emu_event_destroy(int64_t event);
/** cudaEventRecord(event, stream). */
GC_API int32_t gc_emu_event_record(int64_t event, int64_t stream);
/**
 * Queues a copy of `bytes` from `src` to `dst` on `stream` and returns without running it (a device-to-device
 * copy in the emulated runtime's terms: neither side is treated as pageable), e.g. a framework writing a
 * gradient on its own stream.
 */
GC_API int32_t gc_emu_enqueue_copy(int64_t dst, int64_t src, int64_t bytes, int64_t stream);

#ifdef __cplusplus
}
#endif

#endif /* GRADCLIP_EMU_H */
