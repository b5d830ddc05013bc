// ISA parity: the same inputs through each tier this machine can run, against the scalar
// reference tier, for every weight type (vec_dot, gemm) and activation type (quantize_row).
// A tier the CPU/OS lacks is skipped with a message, never silently passed.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels_test_util.h"
#include "runtime/cpu_features.h"

namespace lp {

namespace {

using test::kIsaDotRelTol;
using test::TierCase;
// BF16 x BF16 with AVX512_BF16's vdpbf16ps: products are exact in fp32, but the instruction
// accumulates pairs with its own rounding (and flushes denormals).
constexpr double kIsaBf16DotRelTol = 1e-5;

class KernelsParity : public ::testing::TestWithParam<TierCase> {
 protected:
  void SetUp() override {
    const Isa isa = GetParam().isa;
    ref_ = kernel_table(Isa::Ref);
    tier_ = GetParam().baseline ? kernel_table_baseline(isa) : kernel_table(isa);
    if (tier_ == nullptr) {
      GTEST_SKIP() << "this CPU/OS cannot run the " << isa_name(isa) << " tier (" << cpu_features().brand
                   << "; usable: " << cpu_feature_names(cpu_features()) << ")";
    }
    if (!GetParam().baseline && !cpu_features().avx512_vbmi && isa == Isa::Avx512) {
      std::cout << "note: no AVX512-VBMI here, so avx512 is the same table as avx512_baseline\n";
    }
  }
  double tolerance(TensorType wt, const void* w, const void* a, int64_t n) const {
    const double rel = wt == TensorType::BF16 ? kIsaBf16DotRelTol : kIsaDotRelTol;
    return rel * test::dot_error_scale(wt, w, type_traits(wt).vec_dot_type, a, n) + 1e-30;
  }
  // gemm output `got` for weight row wr x activation row ar against the reference vec_dot.
  ::testing::AssertionResult gemm_cell_matches(TensorType wt, const uint8_t* wr, const uint8_t* ar, int64_t n,
                                               float got) const {
    const float want = ref_->vec_dot[uint32_t(wt)](n, wr, ar);
    const double tol = tolerance(wt, wr, ar, n);
    if (std::fabs(double(got) - want) <= tol) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << type_traits(wt).name << ": got " << got << " want " << want << " (tolerance " << tol << ")";
  }
  const KernelTable* ref_ = nullptr;
  const KernelTable* tier_ = nullptr;
};

TEST_P(KernelsParity, VecDotMatchesRef) {
  for (TensorType wt : test::weight_types()) {
    const TensorType at = type_traits(wt).vec_dot_type;
    for (int64_t n : test::test_lengths(wt)) {
      for (bool random_bits : {false, true}) {
        const auto w = test::make_weights(wt, 1, n, 101u + uint32_t(n), random_bits);
        const auto a = test::make_activations(at, 1, n, 202u + uint32_t(n));
        const float want = ref_->vec_dot[uint32_t(wt)](n, w.data(), a.data());
        const float got = tier_->vec_dot[uint32_t(wt)](n, w.data(), a.data());
        EXPECT_NEAR(got, want, tolerance(wt, w.data(), a.data(), n))
            << type_traits(wt).name << " n=" << n << (random_bits ? " random-bits" : " quantized");
      }
    }
  }
}

// gemm over an odd row range and every batch size up to past the register tile, plus rows
// outside [r0, r1) and columns past nb untouched.
TEST_P(KernelsParity, GemmMatchesRef) {
  for (TensorType wt : test::weight_types()) {
    const TensorType at = type_traits(wt).vec_dot_type;
    const int block = type_traits(wt).block_size;
    // 672 = 21 blocks of 32: two 8-block groups of the zmm Q4_0 mat-vec plus a remainder.
    const int64_t n = block == 256 ? 768 : block == 32 ? 672 : 100;
    const int64_t rows = 37, r0 = 3, r1 = 37, max_nb = 13, ldc = 41;
    const auto w = test::make_weights(wt, rows, n, 7, true);
    const auto a = test::make_activations(at, max_nb, n, 8);
    const size_t wrb = row_size(wt, n), arb = row_size(at, n);
    for (int64_t nb = 1; nb <= max_nb; ++nb) {
      std::vector<float> c(size_t(max_nb * ldc), -7.0f);
      tier_->gemm[uint32_t(wt)](n, r0, r1, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
      for (int64_t j = 0; j < max_nb; ++j) {
        for (int64_t r = 0; r < ldc; ++r) {
          const float got = c[size_t(j * ldc + r)];
          if (j >= nb || r < r0 || r >= r1) {
            ASSERT_EQ(got, -7.0f) << type_traits(wt).name << " wrote outside: r=" << r << " j=" << j;
            continue;
          }
          ASSERT_TRUE(gemm_cell_matches(wt, w.data() + r * wrb, a.data() + j * arb, n, got))
              << "nb=" << nb << " r=" << r << " j=" << j;
        }
      }
    }
  }
}

// Batches large enough for the repacking gemm (avx512: 16-row tiles, K in chunks of 1024
// elements, activation rows in passes of 64): K spanning two full chunks and a partial one, a row
// range that starts and ends mid-tile, and batches below the sweep width and past one pass (67 rows).
TEST_P(KernelsParity, GemmPackedChunksMatchRef) {
  for (TensorType wt : test::weight_types()) {
    const TensorType at = type_traits(wt).vec_dot_type;
    const int block = type_traits(wt).block_size;
    if (block == 1) continue;  // the float types have no packed path (and head_dim-sized rows)
    const int64_t n = block == 256 ? 9 * 256 : 70 * 32;
    const int64_t rows = 40, r0 = 5, r1 = 39, ldc = 43;
    const auto w = test::make_weights(wt, rows, n, 17, true);
    const auto a = test::make_activations(at, 67, n, 18);
    const size_t wrb = row_size(wt, n), arb = row_size(at, n);
    for (int64_t nb : {5, 67}) {
      std::vector<float> c(size_t(nb * ldc), -7.0f);
      tier_->gemm[uint32_t(wt)](n, r0, r1, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
      for (int64_t j = 0; j < nb; ++j) {
        // Past 8 rows: one row per sweep of 8, and every row around the pass boundary at 64.
        if (j >= 8 && j % 8 != 3 && j < 62) continue;
        for (int64_t r = 0; r < ldc; ++r) {
          const float got = c[size_t(j * ldc + r)];
          if (r < r0 || r >= r1) {
            ASSERT_EQ(got, -7.0f) << type_traits(wt).name << " wrote outside: r=" << r << " j=" << j;
            continue;
          }
          ASSERT_TRUE(gemm_cell_matches(wt, w.data() + r * wrb, a.data() + j * arb, n, got))
              << "nb=" << nb << " r=" << r << " j=" << j;
        }
      }
    }
  }
}

// Model-sized shapes: 3200 rows of 8640 (8704 for K-quants: a multiple of 256), and head_dim 100
// for the float types (the attention products), through gemm with a small batch.
TEST_P(KernelsParity, GemmLargeShapesMatchRef) {
  for (TensorType wt :
       {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::F16, TensorType::F32}) {
    const TensorType at = type_traits(wt).vec_dot_type;
    const int block = type_traits(wt).block_size;
    const int64_t n = block == 256 ? 8704 : block == 32 ? 8640 : 100;
    const int64_t rows = block == 1 ? 3201 : 3200;
    const auto w = test::make_weights(wt, rows, n, 9, true);
    const auto a = test::make_activations(at, 3, n, 10);
    const size_t wrb = row_size(wt, n), arb = row_size(at, n);
    for (const int64_t nb : {1, 3}) {  // decode's mat-vec path and a small batch
      std::vector<float> c(size_t(nb * rows));
      tier_->gemm[uint32_t(wt)](n, 0, rows, w.data(), wrb, a.data(), arb, nb, c.data(), rows);
      int failures = 0;
      for (int64_t j = 0; j < nb && failures < 5; ++j) {
        for (int64_t r = 0; r < rows && failures < 5;
             r = (r + 1 == rows || r + 41 < rows) ? r + 41 : rows - 1) {
          const float got = c[size_t(j * rows + r)];
          const auto match = gemm_cell_matches(wt, w.data() + r * wrb, a.data() + j * arb, n, got);
          if (!match) {
            ++failures;
            ADD_FAILURE() << match.message() << " nb=" << nb << " r=" << r << " j=" << j;
          }
        }
      }
    }
  }
}

// The SIMD quantizers reproduce the reference bytes exactly: same absmax, same IEEE divisions,
// same round-to-nearest-even, same fp16 rounding.
TEST_P(KernelsParity, QuantizeRowMatchesRefBytes) {
  for (TensorType at : test::activation_types()) {
    const int block = type_traits(at).block_size;
    for (int64_t blocks : {1, 3, 17, 34}) {
      const int64_t n = block == 1 ? blocks * 16 + 3 : blocks * block;
      auto x = test::random_floats(n, 31u + uint32_t(blocks));
      // Edge cases: an all-zero block, exact ties, a huge and a tiny block.
      if (n >= 64) {
        for (int i = 0; i < 32; ++i) x[size_t(i)] = 0.0f;
        x[32] = 127.0f;
        x[33] = 0.5f;
        x[34] = -1.5f;
        x[35] = 2.5f;
      }
      if (n >= 128) {
        for (int i = 64; i < 96; ++i) x[size_t(i)] *= 1e4f;
        for (int i = 96; i < 128; ++i) x[size_t(i)] *= 1e-6f;
      }
      std::vector<uint8_t> got(row_size(at, n), 0xAB), want(row_size(at, n), 0xCD);
      tier_->quantize_row[uint32_t(at)](x.data(), got.data(), n);
      ref_->quantize_row[uint32_t(at)](x.data(), want.data(), n);
      ASSERT_EQ(got, want) << type_traits(at).name << " n=" << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, KernelsParity,
                         ::testing::Values(TierCase{Isa::Avx2, false}, TierCase{Isa::Avx512, false},
                                           TierCase{Isa::Avx512, true}),
                         [](const ::testing::TestParamInfo<TierCase>& info) { return info.param.name(); });

}  // namespace
}  // namespace lp
