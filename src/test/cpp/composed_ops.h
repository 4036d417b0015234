// composed_ops.h - the operations of the C++ reference (clip by value, norms, clip by norm, clip by
// global norm, renormalize) composed from the per-pass C API of gradclip.h as dev.gradclip.Clipper
// composes them: the passes run in the library under test; the non-finite policy, the canonical total
// (what NormPartials does in Java) and the scales are computed on the host. Same argument order as the
// former gc_run; flags & GC_FLAG_ASYNC runs a global clip through the fused entry point (asynchronous,
// then gc_clip_global_norm_wait). Used by the emulated-kernel harness (harness.cpp) and the GPU check
// driver (scripts/gpu/gc_check.cpp); what they compare its results with is reference.h's ref_run.
// Header-only; everything is in namespace gccompose.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gradclip.h"
#include "reference.h"

namespace gccompose {

using gcref::GC_OP_CLIP_VALUE;
using gcref::GC_OP_NORMS;
using gcref::GC_OP_CLIP_GLOBAL_NORM;
using gcref::Lanes;
using gcref::ref_finish;
using gcref::ref_scale;

// p other than 1, 2 and infinity: the two-pass general-p norm (docs/canonical-reduction.md)
inline bool is_general(double p) { return !(p == 1.0 || p == 2.0 || std::isinf(p)); }

// Returns the C API's status; norms, scales (n each), summary {total norm, scale} and counts3 {clipped
// elements, non-finite elements, skipped} may be NULL.
inline int op_run(gc_engine* e, int op, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, double a,
           double b, double p, int sem, int pol, int64_t stream, int32_t flags, double* norms, double* scales, double* summary,
           int64_t* counts3) {
  const gc_tensor_table table{addresses, counts, dtypes, n};
  const double one = 1.0;
  auto fill = [&](double* arr, double v) { if (arr) for (int64_t k = 0; k < n; ++k) arr[k] = v; };
  if (op == GC_OP_CLIP_VALUE) {
    fill(norms, 0.0);
    fill(scales, one);
    if (summary) { summary[0] = 0.0; summary[1] = 1.0; }
    if (pol != GC_NONFINITE_PROPAGATE) {
      gc_count_result cr{};
      if (int rc = gc_count_nonfinite(e, &table, stream, &cr)) return rc;
      if (cr.nonfinite_elements > 0) {
        if (counts3) { counts3[0] = 0; counts3[1] = cr.nonfinite_elements; counts3[2] = pol == GC_NONFINITE_SKIP; }
        return pol == GC_NONFINITE_ERROR ? GC_ERR_NONFINITE : GC_OK;
      }
    }
    gc_clamp_result r{};
    if (int rc = gc_clamp(e, &table, a, b, stream, &r)) return rc;
    if (counts3) { counts3[0] = r.clipped_elements; counts3[1] = r.nonfinite_elements; counts3[2] = 0; }
    return GC_OK;
  }
  const bool gen = is_general(p);
  if (op == GC_OP_CLIP_GLOBAL_NORM && (flags & GC_FLAG_ASYNC) && !gen && std::isfinite(a)) {
    const gc_norm_kind kind = p == 1.0 ? GC_NORM_L1 : p == 2.0 ? GC_NORM_L2 : GC_NORM_INF;
    gc_global_clip_result r{};
    r.tensor_norms = norms;
    const int rc0 = gc_clip_global_norm(e, &table, kind, a, static_cast<gc_semantics>(sem), static_cast<gc_nonfinite_policy>(pol),
                                        stream, GC_FLAG_ASYNC, &r);
    if (rc0 != GC_OK) return rc0;
    const int rc = gc_clip_global_norm_wait(e, &r);
    fill(scales, r.stopped ? 1.0 : r.scale);
    if (summary) { summary[0] = r.total_norm; summary[1] = r.scale; }
    if (counts3) { counts3[0] = r.clipped_elements; counts3[1] = r.nonfinite_elements; counts3[2] = r.stopped && pol == GC_NONFINITE_SKIP; }
    return rc;
  }
  if (!(p > 0) || std::isnan(p)) return GC_ERR_INVALID_ARGUMENT;
  const gc_norm_kind kind = gen ? GC_NORM_GENERAL : p == 1.0 ? GC_NORM_L1 : p == 2.0 ? GC_NORM_L2 : GC_NORM_INF;
  int64_t nchunks = 0;
  if (int rc = gc_chunk_count(&table, &nchunks)) return rc;
  std::vector<double> chunk(static_cast<size_t>(nchunks)), S(static_cast<size_t>(n)), m(static_cast<size_t>(n));
  gc_norms_result nr{chunk.data(), S.data(), m.data(), 0};
  if (int rc = gc_norms(e, &table, kind, p, stream, &nr)) return rc;
  // the host composition of the canonical total (what NormPartials does in Java)
  const bool inf = std::isinf(p);
  std::vector<double> tn(static_cast<size_t>(n));
  double total;
  if (gen) {
    Lanes mx(true);
    for (int64_t k = 0; k < n; ++k) mx.add(k, m[k]);
    const double M = mx.fold();
    if (!(std::isfinite(M) && M > 0)) total = M;
    else {
      Lanes u(false);
      for (int64_t k = 0; k < n; ++k) u.add(k, m[k] == 0.0 ? 0.0 : S[k] * std::pow(m[k] / M, p));
      total = M * std::pow(u.fold(), 1.0 / p);
    }
    for (int64_t k = 0; k < n; ++k) tn[k] = std::isfinite(m[k]) && m[k] > 0 ? m[k] * std::pow(S[k], 1.0 / p) : m[k];
  } else {
    Lanes all(inf);
    for (int64_t k = 0; k < n; ++k) all.add(k, S[k]);
    total = ref_finish(all.fold(), p);
    for (int64_t k = 0; k < n; ++k) tn[k] = ref_finish(S[k], p);
  }
  if (norms) for (int64_t k = 0; k < n; ++k) norms[k] = tn[k];
  std::vector<double> sc(static_cast<size_t>(n), 1.0);
  bool trig = false;
  double summary_scale = 1.0;
  if (op == GC_OP_NORMS) {
    trig = !std::isfinite(total);
  } else if (op == GC_OP_CLIP_GLOBAL_NORM) {
    const double g = ref_scale(op, sem, total, a);
    trig = !std::isfinite(total) || std::isnan(g);
    sc.assign(static_cast<size_t>(n), g);
    summary_scale = g;
  } else {
    double mn = std::numeric_limits<double>::infinity();
    bool mnan = false;
    for (int64_t k = 0; k < n; ++k) {
      sc[k] = ref_scale(op, sem, tn[k], a);
      if (!std::isfinite(tn[k]) || std::isnan(sc[k])) trig = true;
      if (std::isnan(sc[k])) mnan = true; else mn = std::min(mn, sc[k]);
    }
    summary_scale = n == 0 ? 1.0 : mnan ? std::numeric_limits<double>::quiet_NaN() : mn;
  }
  const bool block = trig && pol != GC_NONFINITE_PROPAGATE;
  int64_t written = 0;
  if (op != GC_OP_NORMS && !block) {
    gc_scale_result r{};
    if (int rc = gc_scale(e, &table, sc.data(), stream, &r)) return rc;
    written = r.written_elements;
  }
  if (scales) for (int64_t k = 0; k < n; ++k) scales[k] = block ? 1.0 : sc[k];
  if (summary) { summary[0] = total; summary[1] = block || op == GC_OP_NORMS ? 1.0 : summary_scale; }
  if (counts3) { counts3[0] = written; counts3[1] = nr.nonfinite_elements; counts3[2] = block && pol == GC_NONFINITE_SKIP; }
  return block && pol == GC_NONFINITE_ERROR ? GC_ERR_NONFINITE : GC_OK;
}

}  // namespace gccompose
