// Layout cross-check against llama.cpp itself: the prebuilt libggml-base.so that node-llama-cpp
// ships exports its reference quantize_row_*_ref / dequantize_row_* functions. Blocks written by
// our quantizer must decode identically in ggml, and blocks written by ggml must decode identically
// in ours. Skipped when the npm packages are not installed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ggml_library.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/type_traits.h"

namespace {

using lp::TensorType;

lp::test::GgmlLibrary g_ggml_base("libggml-base.so");

using QuantizeFn = void (*)(const float*, void*, int64_t);
using DequantizeFn = void (*)(const void*, float*, int64_t);

class GgmlOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_ggml_base.handle())
      GTEST_SKIP() << "libggml-base.so not found (run scripts/setup): " << g_ggml_base.path();
  }
  template <class Fn>
  static Fn sym(const std::string& name) {
    return g_ggml_base.template symbol<Fn>(name);
  }
};

std::vector<float> test_data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = g(rng);
  // A few outliers and an all-positive and all-negative stretch, so mins and signs matter.
  x[5] = 9.0f;
  x[300] = -7.5f;
  for (int64_t i = 512; i < 768; ++i) x[size_t(i)] = std::fabs(x[size_t(i)]) + 0.5f;
  for (int64_t i = 768; i < 1024; ++i) x[size_t(i)] = -std::fabs(x[size_t(i)]) - 0.25f;
  return x;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    // Same arithmetic up to the order of float multiplications.
    ASSERT_NEAR(a[i], b[i], 1e-6f * (1.0f + std::fabs(a[i]))) << what << " element " << i;
  }
}

struct Case {
  TensorType type;
  const char* ggml_name;  // suffix of quantize_row_<name>_ref / dequantize_row_<name>
};

const Case kCases[] = {
    {TensorType::Q4_0, "q4_0"}, {TensorType::Q4_1, "q4_1"}, {TensorType::Q5_0, "q5_0"},
    {TensorType::Q5_1, "q5_1"}, {TensorType::Q8_0, "q8_0"}, {TensorType::Q2_K, "q2_K"},
    {TensorType::Q3_K, "q3_K"}, {TensorType::Q4_K, "q4_K"}, {TensorType::Q5_K, "q5_K"},
    {TensorType::Q6_K, "q6_K"}, {TensorType::Q8_K, "q8_K"},
};

TEST_F(GgmlOracle, OurBlocksDecodeIdenticallyInGgml) {
  const int64_t n = 4096;
  const auto x = test_data(n, 1);
  for (const Case& c : kCases) {
    std::vector<uint8_t> blocks(lp::row_size(c.type, n));
    lp::quantize_row_ref(c.type, x.data(), blocks.data(), n);
    std::vector<float> ours(static_cast<size_t>(n)), theirs(static_cast<size_t>(n));
    lp::dequantize_row_ref(c.type, blocks.data(), ours.data(), n);
    sym<DequantizeFn>(std::string("dequantize_row_") + c.ggml_name)(blocks.data(), theirs.data(), n);
    expect_close(ours, theirs, c.ggml_name);
  }
}

TEST_F(GgmlOracle, GgmlBlocksDecodeIdenticallyInOurs) {
  const int64_t n = 4096;
  const auto x = test_data(n, 2);
  for (const Case& c : kCases) {
    std::vector<uint8_t> blocks(lp::row_size(c.type, n));
    sym<QuantizeFn>(std::string("quantize_row_") + c.ggml_name + "_ref")(x.data(), blocks.data(), n);
    std::vector<float> ours(static_cast<size_t>(n)), theirs(static_cast<size_t>(n));
    lp::dequantize_row_ref(c.type, blocks.data(), ours.data(), n);
    sym<DequantizeFn>(std::string("dequantize_row_") + c.ggml_name)(blocks.data(), theirs.data(), n);
    expect_close(ours, theirs, c.ggml_name);
  }
}

TEST_F(GgmlOracle, Q8_1SumMeansTheSameInBoth) {
  // ggml has no Q8_1 dequantizer; check its blocks against our reading: x = d * q, s = d * sum(q).
  const int64_t n = 1024;
  const auto x = test_data(n, 3);
  std::vector<lp::block_q8_1> theirs(static_cast<size_t>(n / 32)), ours(static_cast<size_t>(n / 32));
  sym<QuantizeFn>("quantize_row_q8_1_ref")(x.data(), theirs.data(), n);
  lp::quantize_row_ref(TensorType::Q8_1, x.data(), ours.data(), n);
  for (size_t b = 0; b < theirs.size(); ++b) {
    EXPECT_EQ(theirs[b].d, ours[b].d) << "block " << b;
    int sum_theirs = 0;
    for (int j = 0; j < 32; ++j) {
      sum_theirs += theirs[b].qs[j];
      EXPECT_NEAR(theirs[b].qs[j], ours[b].qs[j], 1) << "block " << b << " element " << j;
    }
    const float d = lp::fp16_to_fp32(theirs[b].d);
    EXPECT_NEAR(lp::fp16_to_fp32(theirs[b].s), d * float(sum_theirs),
                1e-3f * (1 + std::fabs(d * sum_theirs)));
  }
}

TEST_F(GgmlOracle, HalfConversionsMatchBitForBit) {
  using ToF32 = float (*)(uint16_t);
  auto fp16_to_fp32 = sym<ToF32>("ggml_fp16_to_fp32");
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = lp::fp16_to_fp32(uint16_t(h)), b = fp16_to_fp32(uint16_t(h));
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(a)) << h;
    } else {
      EXPECT_EQ(lp::float_bits(a), lp::float_bits(b)) << h;
    }
  }
  // Every float whose bits step through the whole range, plus the halfway cases of the rounding.
  using RowF16 = void (*)(const float*, uint16_t*, int64_t);
  auto to_f16 = sym<RowF16>("ggml_fp32_to_fp16_row");
  auto to_bf16 = sym<RowF16>("ggml_fp32_to_bf16_row_ref");
  std::vector<float> xs;
  for (uint64_t u = 0; u < (1ull << 32); u += 4099) xs.push_back(lp::bits_float(uint32_t(u)));
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // exact halfway points between consecutive halves
    const float lo = lp::fp16_to_fp32(uint16_t(h)), hi = lp::fp16_to_fp32(uint16_t(h + 1));
    xs.push_back(0.5f * (lo + hi));
    xs.push_back(-0.5f * (lo + hi));
  }
  std::vector<uint16_t> theirs(xs.size());
  to_f16(xs.data(), theirs.data(), int64_t(xs.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::isnan(xs[i])) continue;  // nan payloads may differ; both stay nan (tested in quant_fp16)
    ASSERT_EQ(lp::fp32_to_fp16(xs[i]), theirs[i]) << "f16 of bits 0x" << std::hex << lp::float_bits(xs[i]);
  }
  to_bf16(xs.data(), theirs.data(), int64_t(xs.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::isnan(xs[i])) continue;
    ASSERT_EQ(lp::fp32_to_bf16(xs[i]), theirs[i]) << "bf16 of bits 0x" << std::hex << lp::float_bits(xs[i]);
  }
}

}  // namespace

namespace {

double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += double(x[i] - y[i]) * double(x[i] - y[i]);
    s += double(x[i]) * x[i];
  }
  return std::sqrt(e / s);
}

// Our quantizers need not choose ggml's values, but they should be about as good: relative RMS
// error on gaussian data within a few percent of ggml's reference quantizer (or better).
TEST_F(GgmlOracle, QualityIsCloseToGgmlsReferenceQuantizers) {
  const int64_t n = 64 * 256;
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = g(rng);
  for (const Case& c : kCases) {
    std::vector<uint8_t> blocks(lp::row_size(c.type, n));
    std::vector<float> y(static_cast<size_t>(n));
    lp::quantize_row_ref(c.type, x.data(), blocks.data(), n);
    lp::dequantize_row_ref(c.type, blocks.data(), y.data(), n);
    const double ours = relative_rmse(x, y);
    sym<QuantizeFn>(std::string("quantize_row_") + c.ggml_name + "_ref")(x.data(), blocks.data(), n);
    lp::dequantize_row_ref(c.type, blocks.data(), y.data(), n);
    const double theirs = relative_rmse(x, y);
    if (std::getenv("LP_QUANT_VERBOSE")) std::printf("%-5s ours %.5f ggml %.5f\n", c.ggml_name, ours, theirs);
    EXPECT_LE(ours, theirs * 1.05) << c.ggml_name;
  }
}

}  // namespace
