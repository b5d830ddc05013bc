// Round trip x -> quantize_row_ref -> dequantize_row_ref stays within roundtrip_error_bound for
// every type on several deterministic distributions, and the quantizers are of decent quality
// (relative RMS error ceilings per type on gaussian data).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "llamaprof/error.h"
#include "quant/quantize.h"
#include "quant/type_traits.h"

namespace {

using lp::TensorType;

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0,
                                TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                                TensorType::Q8_1, TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,
                                TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K};

constexpr int64_t kRowLen = 4096;  // a multiple of every block size
constexpr int kRows = 8;

struct Distribution {
  const char* name;
  std::function<float(std::mt19937&, int64_t)> draw;
};

std::vector<Distribution> distributions() {
  return {
      {"gaussian", [](std::mt19937& r, int64_t) { return std::normal_distribution<float>(0.0f, 1.0f)(r); }},
      {"gaussian_small",  // weight-like magnitudes, where fp16 scales get close to subnormal
       [](std::mt19937& r, int64_t) { return std::normal_distribution<float>(0.0f, 0.02f)(r); }},
      {"uniform", [](std::mt19937& r, int64_t) { return std::uniform_real_distribution<float>(-3.0f, 3.0f)(r); }},
      {"positive", [](std::mt19937& r, int64_t) { return std::uniform_real_distribution<float>(1.0f, 2.0f)(r); }},
      {"outliers",
       [](std::mt19937& r, int64_t i) {
         const float g = std::normal_distribution<float>(0.0f, 1.0f)(r);
         return i % 97 == 0 ? g * 40.0f : g;
       }},
      {"zeros", [](std::mt19937&, int64_t) { return 0.0f; }},
      {"constant", [](std::mt19937&, int64_t) { return 0.75f; }},
      {"negative_constant", [](std::mt19937&, int64_t) { return -1.25f; }},
      {"sparse",  // mostly zeros with a few values: sub-blocks with nothing in them
       [](std::mt19937& r, int64_t i) { return i % 61 == 0 ? std::normal_distribution<float>(0.0f, 1.0f)(r) : 0.0f; }},
  };
}

struct Stats {
  double max_abs = 0, rms = 0, max_err = 0, rmse = 0;
};

Stats roundtrip(TensorType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(lp::row_size(type, kRowLen));
  std::vector<float> y(static_cast<size_t>(kRowLen));
  Stats s;
  double sum_sq = 0, sum_err_sq = 0;
  for (int r = 0; r < kRows; ++r) {
    const float* row = x.data() + r * kRowLen;
    lp::quantize_row_ref(type, row, q.data(), kRowLen);
    lp::dequantize_row_ref(type, q.data(), y.data(), kRowLen);
    for (int64_t i = 0; i < kRowLen; ++i) {
      const double err = std::fabs(double(row[i]) - double(y[size_t(i)]));
      s.max_abs = std::max(s.max_abs, std::fabs(double(row[i])));
      s.max_err = std::max(s.max_err, err);
      sum_sq += double(row[i]) * row[i];
      sum_err_sq += err * err;
    }
  }
  s.rms = std::sqrt(sum_sq / double(kRows * kRowLen));
  s.rmse = std::sqrt(sum_err_sq / double(kRows * kRowLen));
  return s;
}

TEST(QuantRoundtrip, EveryTypeStaysWithinItsBoundOnEveryDistribution) {
  uint32_t seed = 7;
  for (const Distribution& dist : distributions()) {
    std::mt19937 rng(seed++);
    std::vector<float> x(static_cast<size_t>(kRows * kRowLen));
    for (size_t i = 0; i < x.size(); ++i) x[i] = dist.draw(rng, int64_t(i));
    for (TensorType type : kAllTypes) {
      const Stats s = roundtrip(type, x);
      const double bound = lp::roundtrip_error_bound(type, s.max_abs, s.rms);
      if (std::getenv("LP_QUANT_VERBOSE")) {
        std::printf("%-18s %-5s max_err/max_abs %.5f (bound %.5f)  rmse/rms %.5f\n", dist.name,
                    std::string(lp::type_traits(type).name).c_str(), s.max_abs > 0 ? s.max_err / s.max_abs : 0,
                    s.max_abs > 0 ? bound / s.max_abs : 0, s.rms > 0 ? s.rmse / s.rms : 0);
      }
      EXPECT_LE(s.max_err, bound) << dist.name << " " << lp::type_traits(type).name;
    }
  }
}

TEST(QuantRoundtrip, ZerosAndConstantsAreExactWhereTheFormatAllowsIt) {
  std::vector<float> zeros(static_cast<size_t>(kRowLen), 0.0f);
  for (TensorType type : kAllTypes) {
    const Stats s = roundtrip(type, std::vector<float>(static_cast<size_t>(kRows * kRowLen), 0.0f));
    EXPECT_EQ(s.max_err, 0.0) << "zeros " << lp::type_traits(type).name;
  }
  // A constant is one level of every format (after fp16 rounding of the scale), except for the
  // symmetric types, which place the constant at their -2^(bits-1) end exactly.
  for (TensorType type : kAllTypes) {
    const Stats s = roundtrip(type, std::vector<float>(static_cast<size_t>(kRows * kRowLen), 0.75f));
    EXPECT_LE(s.max_err, 0.75 * 0x1p-10) << "constant " << lp::type_traits(type).name;
  }
}

// Quality: relative RMS error on gaussian data, ceilings a little above what the quantizers reach
// (a regression in the scale search shows up here long before a max-error bound is hit).
TEST(QuantRoundtrip, GaussianRelativeRmsErrorIsDecent) {
  const struct {
    TensorType type;
    double ceiling;
  } kCeilings[] = {
      {TensorType::F16, 3e-4},  {TensorType::BF16, 3e-3}, {TensorType::Q8_0, 0.006}, {TensorType::Q8_K, 0.008},
      {TensorType::Q4_0, 0.11}, {TensorType::Q4_1, 0.10}, {TensorType::Q5_0, 0.055}, {TensorType::Q5_1, 0.05},
      {TensorType::Q2_K, 0.40}, {TensorType::Q3_K, 0.20}, {TensorType::Q4_K, 0.10},  {TensorType::Q5_K, 0.05},
      {TensorType::Q6_K, 0.025},
  };
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kRows * kRowLen));
  for (float& v : x) v = g(rng);
  for (const auto& c : kCeilings) {
    const Stats s = roundtrip(c.type, x);
    EXPECT_LE(s.rmse / s.rms, c.ceiling) << lp::type_traits(c.type).name;
  }
}

TEST(QuantRoundtrip, RowNotAMultipleOfTheBlockSizeIsRejected) {
  std::vector<float> x(300, 1.0f);
  std::vector<uint8_t> q(4096);
  try {
    lp::quantize_row_ref(TensorType::Q4_K, x.data(), q.data(), 300);
    FAIL() << "expected an error";
  } catch (const lp::Error& e) {
    EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
}

}  // namespace
