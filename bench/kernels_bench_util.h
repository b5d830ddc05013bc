// Shared set-up of the kernel benchmarks: weight matrices that do not fit in any cache, the
// measured read bandwidth they are compared with, and a thread pool to split rows.
#pragma once

#include <benchmark/benchmark.h>

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
#include "runtime/thread_pool.h"

namespace lp::bench {

// Weight copies together at least this large, cycled through so that every timed mat-vec reads
// its weights from DRAM (the L3 cache this VM reports is hundreds of MiB).
constexpr size_t kWeightPoolBytes = size_t(1) << 30;

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

inline Buffer alloc_bytes(size_t n) {
  void* p = std::aligned_alloc(4096, (n + 4095) / 4096 * 4096);
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

// Read bandwidth: n threads summing 64 MiB slices of a 1 GiB buffer (each thread its part of a
// slice), all slices 3 times; the best slice's bytes / s. Taking the best slice rather than the
// mean keeps the figure meaningful when other processes share the cores, and matches the
// "best call" figure of the kernels it is compared with.
inline double measure_read_bandwidth(int n_threads) {
  static double cached[9] = {};
  if (cached[n_threads] > 0) return cached[n_threads];
  const size_t bytes = size_t(1) << 30, slice = size_t(64) << 20;
  Buffer buf = alloc_bytes(bytes);
  std::memset(buf.get(), 1, bytes);
  ThreadPool& pool = thread_pool(n_threads);
  std::vector<uint64_t> sums(size_t(n_threads) * 8);
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t off = 0; off < bytes; off += slice) {
      const auto t0 = std::chrono::steady_clock::now();
      pool.run([&](int ith, int nth) {
        const size_t words = slice / 8, begin = words * size_t(ith) / size_t(nth), end = words * size_t(ith + 1) / size_t(nth);
        const auto* p = reinterpret_cast<const uint64_t*>(buf.get() + off);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (size_t i = begin; i + 8 <= end; i += 8) {
          s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3];
          s4 += p[i + 4]; s5 += p[i + 5]; s6 += p[i + 6]; s7 += p[i + 7];
        }
        sums[size_t(ith) * 8] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
      });
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      benchmark::DoNotOptimize(sums.data());
      if (double(slice) / s > best) best = double(slice) / s;
    }
  }
  cached[n_threads] = best;
  return best;
}

}  // namespace lp::bench
