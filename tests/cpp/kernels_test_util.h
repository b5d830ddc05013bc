// Shared inputs for the kernel tests: weight rows (quantized from random floats, or random bits
// with sane fp16 scale fields), activation rows quantized by the reference quantizer, and the
// exact dot products of their dequantized values; the per-tier fixture and tolerance.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/kernel_table.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/type_traits.h"
#include "runtime/cpu_features.h"

namespace lp::test {

// A table under test: a tier, or a tier without its extension entries (kernel_table_baseline: the
// kernels a CPU without AVX512-VBMI runs, tested here even on CPUs that have it).
struct TierCase {
  Isa isa;
  bool baseline;
  std::string name() const { return std::string(isa_name(isa)) + (baseline ? "_baseline" : ""); }
  // nullptr when this CPU/OS cannot run the tier.
  const KernelTable* table() const { return baseline ? kernel_table_baseline(isa) : kernel_table(isa); }
};
inline void PrintTo(const TierCase& c, std::ostream* os) { *os << c.name(); }

// A test run once per tier: tier_ is the table; a tier this CPU/OS lacks is skipped with a message,
// never silently passed.
class TierTest : public ::testing::TestWithParam<TierCase> {
 protected:
  void SetUp() override {
    tier_ = GetParam().table();
    if (tier_ == nullptr) {
      GTEST_SKIP() << "this CPU/OS cannot run the " << GetParam().name() << " tier (" << cpu_features().brand
                   << "; usable: " << cpu_feature_names(cpu_features()) << ")";
    }
  }
  const KernelTable* tier_ = nullptr;
};

// SIMD kernels compute the same integer block sums as the reference and differ only in the order
// of float operations: within this fraction of sum |w_i * a_i| (per scale field).
constexpr double kIsaDotRelTol = 2e-6;

// The weight types that have a vec_dot / gemm kernel.
inline const std::vector<TensorType>& weight_types() {
  static const std::vector<TensorType> types = {
      TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
      TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K,
      TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};
  return types;
}

// The activation formats quantize_row produces.
inline const std::vector<TensorType>& activation_types() {
  static const std::vector<TensorType> types = {TensorType::F32, TensorType::F16,  TensorType::BF16,
                                                TensorType::Q8_0, TensorType::Q8_1, TensorType::Q8_K};
  return types;
}

inline std::vector<float> random_floats(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  // A few outliers, as real activations have.
  for (int64_t i = 0; i < n; i += 97) x[size_t(i)] *= 8.0f;
  return x;
}

// Byte offsets of the fp16 scale fields in one block (the rest may hold any bits).
inline std::vector<int> half_fields(TensorType t) {
  switch (t) {
    case TensorType::Q4_0:
    case TensorType::Q5_0:
    case TensorType::Q8_0: return {0};
    case TensorType::Q4_1:
    case TensorType::Q5_1:
    case TensorType::Q4_K:
    case TensorType::Q5_K: return {0, 2};
    case TensorType::Q2_K: return {80, 82};
    case TensorType::Q3_K: return {108};
    case TensorType::Q6_K: return {208};
    default: return {};
  }
}

// `rows` weight rows of n elements. random_bits: every quant bit pattern (incl. 6-bit scales of 63,
// Q6_K scales of -128, Q8_0 quants of -128), scale fields set to small finite halves; otherwise
// quantize_row_ref of random floats.
inline std::vector<uint8_t> make_weights(TensorType t, int64_t rows, int64_t n, uint32_t seed, bool random_bits) {
  const size_t row_bytes = row_size(t, n);
  std::vector<uint8_t> w(row_bytes * size_t(rows));
  const TypeTraits& tt = type_traits(t);
  if (!random_bits || !tt.quantized) {
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<float> x = random_floats(n, seed + uint32_t(r) * 7919u, 0.05f);
      quantize_row_ref(t, x.data(), w.data() + size_t(r) * row_bytes, n);
    }
    return w;
  }
  std::mt19937 rng(seed);
  for (auto& b : w) b = uint8_t(rng());
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  const std::vector<int> halves = half_fields(t);
  for (size_t off = 0; off < w.size(); off += tt.type_size) {
    for (int h : halves) {
      const fp16_t v = fp32_to_fp16(scale(rng));
      std::memcpy(&w[off + size_t(h)], &v, 2);
    }
  }
  return w;
}

// `rows` activation rows of n elements in `act` format, by the reference quantizer.
inline std::vector<uint8_t> make_activations(TensorType act, int64_t rows, int64_t n, uint32_t seed) {
  const size_t row_bytes = row_size(act, n);
  std::vector<uint8_t> a(row_bytes * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> x = random_floats(n, seed + uint32_t(r) * 104729u);
    quantize_row_ref(act, x.data(), a.data() + size_t(r) * row_bytes, n);
  }
  return a;
}

struct ExactDot {
  double value = 0;      // sum of dequant(w) * dequant(a), in double
  double magnitude = 0;  // sum of |dequant(w) * dequant(a)|: the scale of rounding errors
};

inline ExactDot exact_dot(TensorType wt, const void* w, TensorType at, const void* a, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  dequantize_row_ref(wt, w, x.data(), n);
  dequantize_row_ref(at, a, y.data(), n);
  ExactDot d;
  for (int64_t i = 0; i < n; ++i) {
    const double p = double(x[size_t(i)]) * double(y[size_t(i)]);
    d.value += p;
    d.magnitude += std::fabs(p);
  }
  return d;
}

// The scale of rounding errors in a dot product: sum |w_i * a_i|, taken separately for each scale
// field of a weight block (d * q and dmin * min terms cancel, but each is rounded on its own).
inline double dot_error_scale(TensorType wt, const void* w, TensorType at, const void* a, int64_t n) {
  const std::vector<int> halves = half_fields(wt);
  if (halves.size() < 2) return exact_dot(wt, w, at, a, n).magnitude;
  const size_t block_bytes = type_traits(wt).type_size;
  const size_t bytes = row_size(wt, n);
  double scale = 0;
  for (int keep : halves) {
    std::vector<uint8_t> copy(static_cast<const uint8_t*>(w), static_cast<const uint8_t*>(w) + bytes);
    for (size_t off = 0; off < bytes; off += block_bytes) {
      for (int h : halves) {
        if (h != keep) std::memset(&copy[off + size_t(h)], 0, 2);
      }
    }
    scale += exact_dot(wt, copy.data(), at, a, n).magnitude;
  }
  return scale;
}

// Q4_1 / Q5_1 kernels use Q8_1's stored s = fp16(d * sum(q)) for the min term, which is rounded to
// 11 significant bits: this is the most that rounding can move the result (|m| * |s| * 2^-11 per block).
inline double q8_1_sum_rounding(TensorType wt, const void* w, const void* a, int64_t n) {
  if (wt != TensorType::Q4_1 && wt != TensorType::Q5_1) return 0;
  const auto* ab = static_cast<const block_q8_1*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  const size_t block_bytes = type_traits(wt).type_size;
  double bound = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    fp16_t m;
    std::memcpy(&m, wb + size_t(i) * block_bytes + 2, 2);  // d then m in both block_q4_1 and block_q5_1
    bound += std::fabs(fp16_to_fp32(m)) * std::fabs(fp16_to_fp32(ab[i].s)) * 0x1p-11;
  }
  return bound;
}

// Element counts to test per weight type: several blocks, odd block counts, and lengths that are
// not multiples of a SIMD loop's unroll.
inline std::vector<int64_t> test_lengths(TensorType t) {
  const int block = type_traits(t).block_size;
  if (block == 1) return {1, 7, 16, 100, 257, 4099, 8640};
  if (block == 32) return {32, 64, 96, 160, 4160, 8640};
  return {256, 512, 768, 2816, 8448, 11008};
}

}  // namespace lp::test
