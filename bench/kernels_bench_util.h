// Shared set-up of the kernel benchmarks: weight matrices that do not fit in any cache, the
// measured read bandwidth they are compared with, and a thread pool to split rows.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/kernel_table.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/type_traits.h"
#include "runtime/membw.h"
#include "runtime/thread_pool.h"

namespace lp::bench {

// Weight copies together at least this large, cycled through so that every timed mat-vec reads
// its weights from DRAM (the L3 cache this VM reports is hundreds of MiB).
constexpr size_t kWeightPoolBytes = size_t(1) << 30;

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

// 2 MiB aligned and advised to transparent huge pages: the engine's weights are mapped from a page
// cache of 2 MiB folios once a file was read cold (Linux 6.x, ext4/xfs), and membw's probe measures
// the bandwidth on huge pages too; on 4 KiB pages the mat-vecs lose ~5-7% (docs/benchmarks.md).
inline Buffer alloc_bytes(size_t n) {
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t bytes = (n + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
#ifdef MADV_HUGEPAGE
  if (!std::getenv("LLAMAPROF_BENCH_SMALL_PAGES")) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return Buffer(static_cast<uint8_t*>(p));
}

// Valid blocks with random quants: random bytes, then sane fp16 scales at each block's scale
// offsets (performance does not depend on the values).
inline void fill_random_weights(TensorType t, uint8_t* w, size_t bytes, uint32_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t v = rng();
    std::memcpy(w + i, &v, 8);
  }
  const TypeTraits& tt = type_traits(t);
  std::vector<int> halves;
  switch (t) {
    case TensorType::Q4_0: case TensorType::Q5_0: case TensorType::Q8_0: halves = {0}; break;
    case TensorType::Q4_1: case TensorType::Q5_1: case TensorType::Q4_K: case TensorType::Q5_K: halves = {0, 2}; break;
    case TensorType::Q2_K: halves = {80, 82}; break;
    case TensorType::Q3_K: halves = {108}; break;
    case TensorType::Q6_K: halves = {208}; break;
    default: break;
  }
  if (!tt.quantized) {  // floats: small values of the type
    for (size_t i = 0; i < bytes; i += tt.type_size) {
      const float v = float(int(rng() % 2001) - 1000) * 1e-4f;
      if (t == TensorType::F32) std::memcpy(w + i, &v, 4);
      if (t == TensorType::F16) { const fp16_t h = fp32_to_fp16(v); std::memcpy(w + i, &h, 2); }
      if (t == TensorType::BF16) { const bf16_t h = fp32_to_bf16(v); std::memcpy(w + i, &h, 2); }
    }
    return;
  }
  const fp16_t scale = fp32_to_fp16(0.001f);
  if (tt.row_group > 1) {  // Q4_K_R16: the group block starts with 16 d and 16 dmin
    const size_t group_block = tt.type_size * size_t(tt.row_group);
    for (size_t off = 0; off + group_block <= bytes; off += group_block) {
      for (int h = 0; h < 2 * tt.row_group; ++h) std::memcpy(w + off + 2 * size_t(h), &scale, 2);
    }
    return;
  }
  for (size_t off = 0; off + tt.type_size <= bytes; off += tt.type_size) {
    for (int h : halves) std::memcpy(w + off + size_t(h), &scale, 2);
  }
}

// Enough copies of one rows x cols weight matrix to exceed kWeightPoolBytes; kept for the next
// benchmark of the same type and shape (benchmarks are registered in that order).
struct WeightPool {
  TensorType type{};
  int64_t rows = 0, cols = 0;
  size_t matrix_bytes = 0;
  int copies = 0;
  Buffer data;
  const uint8_t* matrix(int i) const { return data.get() + size_t(i % copies) * matrix_bytes; }
};

inline const WeightPool& weight_pool(TensorType t, int64_t rows, int64_t cols) {
  static WeightPool pool;
  if (pool.data && pool.type == t && pool.rows == rows && pool.cols == cols) return pool;
  pool.data.reset();
  pool.type = t;
  pool.rows = rows;
  pool.cols = cols;
  pool.matrix_bytes = row_size(t, cols) * size_t(rows);
  pool.copies = int((kWeightPoolBytes + pool.matrix_bytes - 1) / pool.matrix_bytes);
  if (pool.copies < 2) pool.copies = 2;
  pool.data = alloc_bytes(pool.matrix_bytes * size_t(pool.copies));
  fill_random_weights(t, pool.data.get(), pool.matrix_bytes, 42);
  for (int i = 1; i < pool.copies; ++i) {
    std::memcpy(pool.data.get() + size_t(i) * pool.matrix_bytes, pool.data.get(), pool.matrix_bytes);
  }
  return pool;
}

inline ThreadPool& thread_pool(int n) {
  static std::unique_ptr<ThreadPool> pools[9];
  if (!pools[n]) pools[n] = std::make_unique<ThreadPool>(n);
  return *pools[n];
}

// Read bandwidth with n threads: the figure `llamaprof membw` reports (runtime/membw.h: the
// best of 5 passes over a 1 GiB buffer), so that "% of bandwidth" here means what it means in the
// profiler. Measured once per thread count per process.
inline double measure_read_bandwidth(int n_threads) {
  static double cached[9] = {};
  if (cached[n_threads] > 0) return cached[n_threads];
  MembwOptions options;
  options.thread_counts = {n_threads};
  options.buffer_bytes = size_t(1) << 30;
  options.repeats = 5;
  cached[n_threads] = lp::measure_read_bandwidth(options).points.front().gbps_best * 1e9;
  return cached[n_threads];
}

}  // namespace lp::bench
