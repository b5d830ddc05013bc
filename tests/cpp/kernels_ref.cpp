// The scalar reference tier against first principles: each vec_dot equals the double-precision
// dot product of the dequantized weight and activation rows; gemm equals vec_dot per pair; the
// activation quantizers are the quant library's reference ones.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels_test_util.h"

namespace lp {
namespace {

// Reference kernels accumulate in float per block: the difference from the double-precision dot
// of the dequantized rows stays within this fraction of sum |w_i * a_i| (per scale field).
constexpr double kRefDotRelTol = 2e-6;

std::string label(TensorType t, int64_t n, bool random_bits) {
  return std::string(type_traits(t).name) + " n=" + std::to_string(n) + (random_bits ? " random-bits" : " quantized");
}

TEST(KernelsRef, VecDotMatchesDequantizedDoubleDot) {
  const KernelTable* ref = kernel_table(Isa::Ref);
  ASSERT_NE(ref, nullptr);
  for (TensorType wt : test::weight_types()) {
    const TensorType at = type_traits(wt).vec_dot_type;
    ASSERT_NE(ref->vec_dot[uint32_t(wt)], nullptr) << type_traits(wt).name;
    for (int64_t n : test::test_lengths(wt)) {
      for (bool random_bits : {false, true}) {
        const auto w = test::make_weights(wt, 1, n, 11u + uint32_t(n), random_bits);
        const auto a = test::make_activations(at, 1, n, 23u + uint32_t(n));
        const test::ExactDot exact = test::exact_dot(wt, w.data(), at, a.data(), n);
        const double tol = kRefDotRelTol * test::dot_error_scale(wt, w.data(), at, a.data(), n) +
                           test::q8_1_sum_rounding(wt, w.data(), a.data(), n) + 1e-30;
        const float got = ref->vec_dot[uint32_t(wt)](n, w.data(), a.data());
        EXPECT_NEAR(got, exact.value, tol) << label(wt, n, random_bits);
      }
    }
  }
}

TEST(KernelsRef, GemmIsVecDotPerPair) {
  const KernelTable* ref = kernel_table(Isa::Ref);
  for (TensorType wt : test::weight_types()) {
    const TensorType at = type_traits(wt).vec_dot_type;
    const int64_t n = type_traits(wt).block_size == 256 ? 512 : 96;
    const int64_t rows = 7, nb = 3, ldc = 9;
    const auto w = test::make_weights(wt, rows, n, 5, false);
    const auto a = test::make_activations(at, nb, n, 6);
    const size_t wrb = row_size(wt, n), arb = row_size(at, n);
    std::vector<float> c(size_t(nb * ldc), -1.0f);
    ref->gemm[uint32_t(wt)](n, 2, 7, w.data(), wrb, a.data(), arb, nb, c.data(), ldc);
    for (int64_t j = 0; j < nb; ++j) {
      for (int64_t r = 0; r < ldc; ++r) {
        const float want = r >= 2 && r < 7 ? ref->vec_dot[uint32_t(wt)](n, w.data() + r * wrb, a.data() + j * arb)
                                           : -1.0f;  // rows outside [r0, r1) untouched
        EXPECT_EQ(c[size_t(j * ldc + r)], want) << type_traits(wt).name << " r=" << r << " j=" << j;
      }
    }
  }
}

TEST(KernelsRef, QuantizeRowIsTheReferenceQuantizer) {
  const KernelTable* ref = kernel_table(Isa::Ref);
  for (TensorType at : test::activation_types()) {
    const int64_t n = 512;
    const auto x = test::random_floats(n, 3);
    std::vector<uint8_t> got(row_size(at, n)), want(row_size(at, n));
    ASSERT_NE(ref->quantize_row[uint32_t(at)], nullptr) << type_traits(at).name;
    ref->quantize_row[uint32_t(at)](x.data(), got.data(), n);
    quantize_row_ref(at, x.data(), want.data(), n);
    EXPECT_EQ(got, want) << type_traits(at).name;
  }
}

// Every weight type's activation format has a quantizer in every table.
TEST(KernelsRef, EveryWeightTypeHasKernelsInEveryTier) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
    const KernelTable* t = kernel_table(isa);
    if (t == nullptr) continue;
    EXPECT_EQ(t->isa, isa);
    for (TensorType wt : test::weight_types()) {
      EXPECT_NE(t->vec_dot[uint32_t(wt)], nullptr) << isa_name(isa) << " " << type_traits(wt).name;
      EXPECT_NE(t->gemm[uint32_t(wt)], nullptr) << isa_name(isa) << " " << type_traits(wt).name;
      EXPECT_NE(t->quantize_row[uint32_t(type_traits(wt).vec_dot_type)], nullptr) << isa_name(isa);
    }
  }
}

}  // namespace
}  // namespace lp
