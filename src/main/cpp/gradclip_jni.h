/*
 * gradclip_jni.h - the flat-array shims the Java bindings call (dev.gradclip.backend.nativeapi.CudaLibrary and
 * EmulatedLibrary, through JavaCPP). Each builds the gc_tensor_table and the result struct of one entry point
 * of gradclip.h from Java arrays and copies the results back; no logic of its own. Header-only: compiled into
 * each binding's JNI library, against the library it links (libgradclip or libgradclip-emu).
 */
#ifndef GRADCLIP_JNI_H
#define GRADCLIP_JNI_H

#include "gradclip.h"

static inline gc_tensor_table gcj_table(const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n) {
  gc_tensor_table t;
  t.addresses = addresses;
  t.counts = counts;
  t.dtypes = dtypes;
  t.n = n;
  return t;
}

/* out[0] = nonfinite */
static inline int gcj_count_nonfinite(int64_t engine, const int64_t* a, const int64_t* c, const int32_t* d, int64_t n, int64_t stream,
                                      int64_t* out) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_tensor_table t = gcj_table(a, c, d, n);
  gc_count_result r = {0};
  int rc = gc_count_nonfinite(e, &t, stream, &r);
  out[0] = r.nonfinite_elements;
  return rc;
}

/* out[0] = clipped, out[1] = nonfinite */
static inline int gcj_clamp(int64_t engine, const int64_t* a, const int64_t* c, const int32_t* d, int64_t n, double lo, double hi,
                            int64_t stream, int64_t* out) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_tensor_table t = gcj_table(a, c, d, n);
  gc_clamp_result r = {0, 0};
  int rc = gc_clamp(e, &t, lo, hi, stream, &r);
  out[0] = r.clipped_elements;
  out[1] = r.nonfinite_elements;
  return rc;
}

/* nonfinite[0] = nonfinite; the arrays may be NULL */
static inline int gcj_norms(int64_t engine, const int64_t* a, const int64_t* c, const int32_t* d, int64_t n, int32_t kind, double p,
                            int64_t stream, double* chunk_sums, double* tensor_sums, double* tensor_max_abs, int64_t* nonfinite) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_tensor_table t = gcj_table(a, c, d, n);
  gc_norms_result r;
  r.chunk_sums = chunk_sums;
  r.tensor_sums = tensor_sums;
  r.tensor_max_abs = tensor_max_abs;
  r.nonfinite_elements = 0;
  int rc = gc_norms(e, &t, (gc_norm_kind)kind, p, stream, &r);
  nonfinite[0] = r.nonfinite_elements;
  return rc;
}

/* written[0] = written elements */
static inline int gcj_scale(int64_t engine, const int64_t* a, const int64_t* c, const int32_t* d, int64_t n, const double* scales,
                            int64_t stream, int64_t* written) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_tensor_table t = gcj_table(a, c, d, n);
  gc_scale_result r = {0};
  int rc = gc_scale(e, &t, scales, stream, &r);
  written[0] = r.written_elements;
  return rc;
}

static inline void gcj_unpack(const gc_global_clip_result* r, double* summary, int64_t* counts) {
  if (summary) { summary[0] = r->total_norm; summary[1] = r->scale; }
  if (counts) { counts[0] = r->clipped_elements; counts[1] = r->nonfinite_elements; counts[2] = r->stopped; }
}

/* summary[2] = {total_norm, scale}, counts[3] = {clipped, nonfinite, stopped}; with GC_FLAG_ASYNC nothing is written */
static inline int gcj_clip_global_norm(int64_t engine, const int64_t* a, const int64_t* c, const int32_t* d, int64_t n, int32_t kind,
                                       double max_norm, int32_t semantics, int32_t policy, int64_t stream, int32_t flags,
                                       double* tensor_norms, double* summary, int64_t* counts) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_tensor_table t = gcj_table(a, c, d, n);
  gc_global_clip_result r;
  r.tensor_norms = tensor_norms;
  r.total_norm = 0;
  r.scale = 1;
  r.clipped_elements = 0;
  r.nonfinite_elements = 0;
  r.stopped = 0;
  int rc = gc_clip_global_norm(e, &t, (gc_norm_kind)kind, max_norm, (gc_semantics)semantics, (gc_nonfinite_policy)policy, stream, flags,
                               (flags & GC_FLAG_ASYNC) ? (gc_global_clip_result*)0 : &r);
  if (!(flags & GC_FLAG_ASYNC)) gcj_unpack(&r, summary, counts);
  return rc;
}

static inline int gcj_clip_global_norm_wait(int64_t engine, double* tensor_norms, double* summary, int64_t* counts) {
  gc_engine* e = (gc_engine*)(intptr_t)engine;
  gc_global_clip_result r;
  r.tensor_norms = tensor_norms;
  int rc = gc_clip_global_norm_wait(e, &r);
  if (rc == GC_OK || rc == GC_ERR_NONFINITE) gcj_unpack(&r, summary, counts);
  return rc;
}

static inline int gcj_engine_create(int64_t* out) {
  gc_engine* e = 0;
  int rc = gc_engine_create(&e);
  out[0] = (int64_t)(intptr_t)e;
  return rc;
}

static inline void gcj_engine_destroy(int64_t engine) { gc_engine_destroy((gc_engine*)(intptr_t)engine); }

static inline int gcj_memcpy(int64_t dst, int64_t src, int64_t bytes, int32_t kind, int64_t stream) {
  return gc_memcpy(dst, src, bytes, (gc_copy_kind)kind, stream);
}

#endif /* GRADCLIP_JNI_H */
