/*
 * gradclip_cpu_jni.h - the JNI side of libgradclip-cpu, compiled into the JavaCPP glue library of
 * dev.gradclip.backend.cpu.NativeCpuLibrary (not into libgradclip-cpu, which stays a plain C library).
 *
 * One call runs one pass over a range of chunks of a tensor table given as parallel Java arrays
 * (Object[] arrays, long[] addrs, long[] counts, int[] dtypes, int[] lengths; tensor t of the table is a
 * heap array arrays[t] of lengths[t] elements, starting at element addrs[t], or, when arrays[t] is null,
 * off-heap memory at address addrs[t]; a null `arrays` means every tensor is off-heap, and `lengths` may
 * then be null too). `arrays` may be a float[][], short[][] or
 * double[][] when every heap tensor has that storage class: the JVM then guarantees each element's type,
 * which saves an IsInstanceOf per tensor (a JNI call, ~20 ns: bench/NOTES.md item 26). Heap arrays are used in place, without
 * copies: every array of the range is pinned with
 * GetPrimitiveArrayCritical for the duration of the pass (no other JNI call happens inside that
 * region), off-heap memory is used at its address. Only the range's slice of the tables is read
 * (Get<Type>ArrayRegion), so a call costs O(tensors in the range), never O(table).
 *
 * Every index, length and array type is checked before any native memory is touched; a bad table gives
 * GCCPU_ERR_INVALID_ARGUMENT and changes nothing. A heap tensor's view is checked against lengths[t], the
 * array's length as the caller read it from the array (NativeKernels.Layout, once per set), not by
 * GetArrayLength: that was one JNI call, a thread-state transition, per heap tensor (~25 ns; bench/NOTES.md
 * item 33), and it made the glue read every array's header inside the serialized calls.
 */
#ifndef GRADCLIP_CPU_JNI_H
#define GRADCLIP_CPU_JNI_H

#include <jni.h>
#include <stdint.h>
#include <vector>
#include "gradclip_cpu.h"

#define GCCPU_JNI_NORMS 0
#define GCCPU_JNI_COUNT_NONFINITE 1
#define GCCPU_JNI_CLAMP 2
#define GCCPU_JNI_SCALE 3
#define GCCPU_JNI_ERR_OUT_OF_MEMORY 4

namespace gccpu_jni {

struct Scratch {
  std::vector<jlong> addr, count;
  std::vector<jint> dtype, length;
  std::vector<jobject> refs;
  std::vector<void*> pinned;
  std::vector<gccpu_tensor> table;
  std::vector<double> doubles;
};

inline Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

inline int elem_size(jint dtype) { return dtype == GCCPU_F64 ? 8 : dtype == GCCPU_F32 ? 4 : 2; }

// A class looked up once by name and kept as a global reference in *slot (a benign race: every thread
// stores an equivalent global reference).
inline jclass cached_class(JNIEnv* env, const char* name, jclass* slot) {
  if (*slot == nullptr) {
    jclass local = env->FindClass(name);
    if (local == nullptr) return nullptr;
    jclass global = static_cast<jclass>(env->NewGlobalRef(local));
    env->DeleteLocalRef(local);
    *slot = global;
  }
  return *slot;
}

// The primitive array class each dtype needs ([F, [D, [S).
inline jclass array_class(JNIEnv* env, jint dtype) {
  static jclass f = nullptr, d = nullptr, s = nullptr;
  return dtype == GCCPU_F32 ? cached_class(env, "[F", &f) : dtype == GCCPU_F64 ? cached_class(env, "[D", &d) : cached_class(env, "[S", &s);
}

// The table class of heap arrays all of one storage class ([[F, [[D, [[S).
inline jclass table_class(JNIEnv* env, jint dtype) {
  static jclass f = nullptr, d = nullptr, s = nullptr;
  return dtype == GCCPU_F32 ? cached_class(env, "[[F", &f) : dtype == GCCPU_F64 ? cached_class(env, "[[D", &d) : cached_class(env, "[[S", &s);
}

// The storage class every element of `arrays` has by its Java type (GCCPU_F32 for a float[][], GCCPU_F64
// for a double[][], GCCPU_F16 for a short[][], which holds fp16 and bf16 alike), or -1 for an Object[]:
// the JVM's array store check guarantees every non-null element of a float[][] is a float[], so a typed
// table needs one type check per call instead of one per tensor.
inline jint typed_table(JNIEnv* env, jobject arrays) {
  const jint kinds[3] = {GCCPU_F32, GCCPU_F16, GCCPU_F64};
  for (jint k : kinds) {
    jclass c = table_class(env, k);
    if (c != nullptr && env->IsInstanceOf(arrays, c)) return k;
  }
  return -1;
}

inline bool same_storage(jint table, jint dtype) {
  return table == GCCPU_F16 ? (dtype == GCCPU_F16 || dtype == GCCPU_BF16) : dtype == table;
}

inline bool length_at_least(JNIEnv* env, jobject array, jlong n) {
  return array != nullptr && static_cast<jlong>(env->GetArrayLength(static_cast<jarray>(array))) >= n;
}

}  // namespace gccpu_jni

/*
 * (env, the calling class: what JavaCPP passes for @Raw(withEnv = true) on a static method.)
 * op: GCCPU_JNI_*; tensors [t0, t1) of the table; the range: chunk `first` of tensor t0, `nchunks`
 * chunks. kind: the norm kind (NORMS). params: CLAMP: double[8] {lo64, hi64, lo32, hi32, lo16, hi16,
 * lobf, hibf} (the 16-bit bounds as their bit patterns); SCALE: double[] of per-tensor scales indexed by
 * table index. outD: NORMS: partial of range chunk c goes to outD[outOff + c]. outL: long[3], added to:
 * NORMS/COUNT {non-finite, 0, 0}; CLAMP {clipped, non-finite, chunks written}; SCALE {elements written, 0, 0}.
 */
static inline jint gccpu_jni_run(JNIEnv* env, jclass, jobject arrays, jobject addrs, jobject counts, jobject dtypes,
                                 jobject lengths, jint t0, jint t1, jlong first, jlong nchunks, jint op, jint kind, jobject params, jobject outD,
                                 jint outOff, jobject outL) {
  using namespace gccpu_jni;
  if (op < GCCPU_JNI_NORMS || op > GCCPU_JNI_SCALE) return GCCPU_ERR_INVALID_ARGUMENT;
  if (t0 < 0 || t1 < t0 || first < 0 || nchunks < 0 || outOff < 0) return GCCPU_ERR_INVALID_ARGUMENT;
  if ((arrays != nullptr && (!length_at_least(env, arrays, t1) || !length_at_least(env, lengths, t1))) || !length_at_least(env, addrs, t1) || !length_at_least(env, counts, t1) ||
      !length_at_least(env, dtypes, t1) || !length_at_least(env, outL, 3))
    return GCCPU_ERR_INVALID_ARGUMENT;
  if (op == GCCPU_JNI_NORMS && !length_at_least(env, outD, static_cast<jlong>(outOff) + nchunks)) return GCCPU_ERR_INVALID_ARGUMENT;
  if (op == GCCPU_JNI_CLAMP && !length_at_least(env, params, 8)) return GCCPU_ERR_INVALID_ARGUMENT;
  if (op == GCCPU_JNI_SCALE && !length_at_least(env, params, t1)) return GCCPU_ERR_INVALID_ARGUMENT;
  const jint n = t1 - t0;
  Scratch& s = scratch();
  s.addr.resize(n);
  s.count.resize(n);
  s.dtype.resize(n);
  s.length.resize(n);
  s.refs.assign(n, nullptr);
  s.pinned.assign(n, nullptr);
  s.table.resize(n);
  if (n > 0) {
    env->GetLongArrayRegion(static_cast<jlongArray>(addrs), t0, n, s.addr.data());
    env->GetLongArrayRegion(static_cast<jlongArray>(counts), t0, n, s.count.data());
    env->GetIntArrayRegion(static_cast<jintArray>(dtypes), t0, n, s.dtype.data());
    if (arrays != nullptr) env->GetIntArrayRegion(static_cast<jintArray>(lengths), t0, n, s.length.data());
  }
  gccpu_bounds bounds{};
  if (op == GCCPU_JNI_CLAMP) {
    double b[8];
    env->GetDoubleArrayRegion(static_cast<jdoubleArray>(params), 0, 8, b);
    bounds.lo64 = b[0];
    bounds.hi64 = b[1];
    bounds.lo32 = static_cast<float>(b[2]);
    bounds.hi32 = static_cast<float>(b[3]);
    for (int i = 4; i < 8; ++i)
      if (!(b[i] >= 0 && b[i] <= 65535)) return GCCPU_ERR_INVALID_ARGUMENT;
    bounds.lo16 = static_cast<uint16_t>(b[4]);
    bounds.hi16 = static_cast<uint16_t>(b[5]);
    bounds.lobf = static_cast<uint16_t>(b[6]);
    bounds.hibf = static_cast<uint16_t>(b[7]);
  } else if (op == GCCPU_JNI_SCALE) {
    s.doubles.resize(n);
    if (n > 0) env->GetDoubleArrayRegion(static_cast<jdoubleArray>(params), t0, n, s.doubles.data());
  }
  if (env->PushLocalFrame(n + 4) != 0) return GCCPU_JNI_ERR_OUT_OF_MEMORY;
  // every check and every JNI call that is not a critical one happens before the first pin
  jint rc = GCCPU_OK;
  const jint typed = arrays != nullptr && n > 0 ? typed_table(env, arrays) : -1;
  for (jint i = 0; i < n && rc == GCCPU_OK; ++i) {
    const jint dt = s.dtype[i];
    if (dt < GCCPU_F32 || dt > GCCPU_BF16 || s.count[i] < 0) { rc = GCCPU_ERR_INVALID_ARGUMENT; break; }
    if (arrays == nullptr) continue;  // every tensor off-heap: no JNI call per tensor
    jobject a = env->GetObjectArrayElement(static_cast<jobjectArray>(arrays), t0 + i);
    if (a == nullptr) continue;  // off-heap: addr is the address of element 0
    if (typed >= 0) {
      if (!same_storage(typed, dt)) { rc = GCCPU_ERR_INVALID_ARGUMENT; break; }
    } else {
      jclass want = array_class(env, dt);
      if (want == nullptr || !env->IsInstanceOf(a, want)) { rc = GCCPU_ERR_INVALID_ARGUMENT; break; }
    }
    const jlong len = s.length[i];
    if (s.addr[i] < 0 || s.addr[i] > len || s.count[i] > len - s.addr[i]) { rc = GCCPU_ERR_INVALID_ARGUMENT; break; }
    s.refs[i] = a;
  }
  if (rc != GCCPU_OK) {
    env->PopLocalFrame(nullptr);
    return rc;
  }
  jint pinned = 0;
  for (; pinned < n; ++pinned) {
    const jint i = pinned;
    if (s.refs[i] == nullptr) {
      s.table[i] = gccpu_tensor{reinterpret_cast<void*>(static_cast<intptr_t>(s.addr[i])), s.count[i], s.dtype[i], 0};
      continue;
    }
    void* p = env->GetPrimitiveArrayCritical(static_cast<jarray>(s.refs[i]), nullptr);
    if (p == nullptr) { rc = GCCPU_JNI_ERR_OUT_OF_MEMORY; break; }
    s.pinned[i] = p;
    s.table[i] = gccpu_tensor{static_cast<char*>(p) + s.addr[i] * elem_size(s.dtype[i]), s.count[i], s.dtype[i], 0};
  }
  int64_t out[3] = {0, 0, 0};
  if (rc == GCCPU_OK) {
    switch (op) {
      case GCCPU_JNI_NORMS:
        s.doubles.resize(static_cast<size_t>(nchunks));
        rc = gccpu_norms(s.table.data(), n, first, nchunks, kind, s.doubles.data(), &out[0]);
        break;
      case GCCPU_JNI_COUNT_NONFINITE:
        rc = gccpu_count_nonfinite(s.table.data(), n, first, nchunks, &out[0]);
        break;
      case GCCPU_JNI_CLAMP:
        rc = gccpu_clamp(s.table.data(), n, first, nchunks, &bounds, out);
        break;
      default:
        rc = gccpu_scale(s.table.data(), n, first, nchunks, s.doubles.data(), &out[0]);
        break;
    }
  }
  const bool writes = op == GCCPU_JNI_CLAMP || op == GCCPU_JNI_SCALE;
  for (jint i = pinned - 1; i >= 0; --i)
    if (s.pinned[i] != nullptr) env->ReleasePrimitiveArrayCritical(static_cast<jarray>(s.refs[i]), s.pinned[i], writes ? 0 : JNI_ABORT);
  env->PopLocalFrame(nullptr);
  if (rc != GCCPU_OK) return rc;
  if (op == GCCPU_JNI_NORMS && nchunks > 0)
    env->SetDoubleArrayRegion(static_cast<jdoubleArray>(outD), outOff, static_cast<jsize>(nchunks), s.doubles.data());
  jlong acc[3];
  env->GetLongArrayRegion(static_cast<jlongArray>(outL), 0, 3, acc);
  for (int i = 0; i < 3; ++i) acc[i] += out[i];
  env->SetLongArrayRegion(static_cast<jlongArray>(outL), 0, 3, acc);
  return GCCPU_OK;
}

#endif /* GRADCLIP_CPU_JNI_H */
