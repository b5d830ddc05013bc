// Q4_K_R16 (Q4_K with 16 rows interleaved) through every tier's gemm: the same dot products as the
// Q4_K rows it was made from, within the ISA rounding tolerance of the reference, for decode,
// small batches and prompts; each activation row of a small batch bit-identical to the row alone;
// nothing written outside the rows and columns asked for. A tier the CPU/OS lacks is skipped with
// a message, never silently passed.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels_test_util.h"
#include "quant/interleave.h"
#include "runtime/cpu_features.h"

namespace lp {
namespace {

using test::kIsaDotRelTol;
using test::TierCase;

using KernelsInterleaved = test::TierTest;

constexpr float kUntouched = -7.0f;

TEST_P(KernelsInterleaved, MatchesTheQ4KRowsItHolds) {
  const KernelTable* ref = kernel_table(Isa::Ref);
  const auto gemm = tier_->gemm[uint32_t(TensorType::Q4_K_R16)];
  ASSERT_NE(gemm, nullptr);
  for (int64_t n : {768, 4096}) {
    // Rows [16, 64) of 80: work items start and end on group boundaries, never at the tensor's ends.
    const int64_t rows = 80, r0 = 16, r1 = 64, ldc = 83, max_nb = 20;
    for (bool random_bits : {true, false}) {
      const auto plain = test::make_weights(TensorType::Q4_K, rows, n, 21u + uint32_t(n), random_bits);
      std::vector<uint8_t> w(plain.size());
      interleave_q4_k_rows(plain.data(), w.data(), rows, n);
      const auto a = test::make_activations(TensorType::Q8_K, max_nb, n, 22u + uint32_t(n));
      const size_t wrb = row_size(TensorType::Q4_K_R16, n), arb = row_size(TensorType::Q8_K, n);
      for (int64_t nb : {1, 2, 3, 5, 8, 9, 16, 20}) {
        std::vector<float> c(size_t(max_nb * ldc), kUntouched);
        gemm(n, r0, r1, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
        for (int64_t j = 0; j < max_nb; ++j) {
          for (int64_t r = 0; r < ldc; ++r) {
            const float got = c[size_t(j * ldc + r)];
            if (j >= nb || r < r0 || r >= r1) {
              ASSERT_EQ(got, kUntouched) << "wrote outside: nb=" << nb << " r=" << r << " j=" << j;
              continue;
            }
            const uint8_t* wr = plain.data() + size_t(r) * wrb;
            const uint8_t* aj = a.data() + size_t(j) * arb;
            const float want = ref->vec_dot[uint32_t(TensorType::Q4_K)](n, wr, aj);
            const double tol = kIsaDotRelTol * test::dot_error_scale(TensorType::Q4_K, wr, TensorType::Q8_K, aj, n);
            ASSERT_NEAR(got, want, tol) << "n=" << n << " nb=" << nb << " r=" << r << " j=" << j
                                        << (random_bits ? " (random bits)" : "");
          }
        }
      }
    }
  }
}

TEST_P(KernelsInterleaved, BatchRowsEqualSingleRowsBitwise) {
  const auto gemm = tier_->gemm[uint32_t(TensorType::Q4_K_R16)];
  const int64_t n = 1024, rows = 48, ldc = 48, max_nb = 8;
  const auto plain = test::make_weights(TensorType::Q4_K, rows, n, 31u, true);
  std::vector<uint8_t> w(plain.size());
  interleave_q4_k_rows(plain.data(), w.data(), rows, n);
  const auto a = test::make_activations(TensorType::Q8_K, max_nb, n, 32u);
  const size_t wrb = row_size(TensorType::Q4_K_R16, n), arb = row_size(TensorType::Q8_K, n);
  std::vector<float> single(size_t(max_nb * ldc));
  for (int64_t j = 0; j < max_nb; ++j)
    gemm(n, 0, rows, w.data(), wrb, a.data() + size_t(j) * arb, arb, 1, single.data() + j * ldc, ldc);
  for (int64_t nb = 2; nb <= max_nb; ++nb) {
    std::vector<float> c(size_t(max_nb * ldc), kUntouched);
    gemm(n, 0, rows, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
    for (int64_t j = 0; j < nb; ++j) {
      for (int64_t r = 0; r < rows; ++r) {
        const float got = c[size_t(j * ldc + r)], want = single[size_t(j * ldc + r)];
        ASSERT_EQ(std::memcmp(&got, &want, sizeof(float)), 0)
            << "nb=" << nb << " r=" << r << " j=" << j << ": batched " << got << " alone " << want;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, KernelsInterleaved,
                         ::testing::Values(TierCase{Isa::Ref, false}, TierCase{Isa::Avx2, false},
                                           TierCase{Isa::Avx512, false}, TierCase{Isa::Avx512, true}),
                         [](const ::testing::TestParamInfo<TierCase>& info) { return info.param.name(); });

}  // namespace
}  // namespace lp
