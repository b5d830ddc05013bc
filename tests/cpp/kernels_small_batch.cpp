// Small batches (2..8 activation rows: several decode sequences, speculative verification) through
// gemm: each activation row's result must be bit-identical to the same row run alone (nb = 1), so
// that batched logits equal single-token logits, and within the ISA tolerance of the reference.
// A tier the CPU/OS lacks is skipped with a message, never silently passed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels_test_util.h"
#include "runtime/cpu_features.h"

namespace lp {
namespace {

using test::kIsaDotRelTol;
using test::TierCase;
constexpr int64_t kMaxBatch = 8;

using KernelsSmallBatch = test::TierTest;

// Lengths per block size: several blocks with a remainder past the SIMD loops' unroll (Q4_0's
// mat-vec takes 8 blocks at a time), and a 7B-like width.
std::vector<int64_t> lengths(TensorType t) {
  if (type_traits(t).block_size == 32) return {672, 4160};
  return {768, 4096};
}

TEST_P(KernelsSmallBatch, BatchRowsEqualSingleRowsBitwise) {
  const KernelTable* ref = kernel_table(Isa::Ref);
  for (TensorType wt : test::weight_types()) {
    if (!type_traits(wt).quantized) continue;
    const TensorType at = type_traits(wt).vec_dot_type;
    for (int64_t n : lengths(wt)) {
      // An odd row range long enough for the mat-vec's prefetching tiles and its remainders.
      const int64_t rows = 45, r0 = 3, r1 = 45, ldc = 47;
      const auto w = test::make_weights(wt, rows, n, 11u + uint32_t(n), true);
      const auto a = test::make_activations(at, kMaxBatch, n, 12u + uint32_t(n));
      const size_t wrb = row_size(wt, n), arb = row_size(at, n);
      // Each activation row alone.
      std::vector<float> single(size_t(kMaxBatch * ldc), -7.0f);
      for (int64_t j = 0; j < kMaxBatch; ++j) {
        tier_->gemm[uint32_t(wt)](n, r0, r1, w.data(), wrb, a.data() + size_t(j) * arb, arb, 1,
                                  single.data() + j * ldc, ldc);
        for (int64_t r = r0; r < r1; ++r) {
          const float want = ref->vec_dot[uint32_t(wt)](n, w.data() + size_t(r) * wrb, a.data() + size_t(j) * arb);
          const double tol = kIsaDotRelTol * test::dot_error_scale(wt, w.data() + size_t(r) * wrb, at,
                                                                    a.data() + size_t(j) * arb, n) +
                             1e-30;
          ASSERT_NEAR(single[size_t(j * ldc + r)], want, tol)
              << type_traits(wt).name << " n=" << n << " r=" << r << " j=" << j;
        }
      }
      for (int64_t nb = 2; nb <= kMaxBatch; ++nb) {
        std::vector<float> c(size_t(kMaxBatch * ldc), -7.0f);
        tier_->gemm[uint32_t(wt)](n, r0, r1, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
        for (int64_t j = 0; j < kMaxBatch; ++j) {
          for (int64_t r = 0; r < ldc; ++r) {
            const float got = c[size_t(j * ldc + r)];
            if (j >= nb || r < r0 || r >= r1) {
              ASSERT_EQ(got, -7.0f) << type_traits(wt).name << " wrote outside: r=" << r << " j=" << j;
              continue;
            }
            const float want = single[size_t(j * ldc + r)];
            ASSERT_EQ(std::memcmp(&got, &want, sizeof(float)), 0)
                << type_traits(wt).name << " n=" << n << " nb=" << nb << " r=" << r << " j=" << j << ": batched "
                << got << " alone " << want;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, KernelsSmallBatch,
                         ::testing::Values(TierCase{Isa::Ref, false}, TierCase{Isa::Avx2, false},
                                           TierCase{Isa::Avx512, false}, TierCase{Isa::Avx512, true}),
                         [](const ::testing::TestParamInfo<TierCase>& info) { return info.param.name(); });

}  // namespace
}  // namespace lp
