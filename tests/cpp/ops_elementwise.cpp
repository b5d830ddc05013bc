// Element-wise ops and RoPE against straightforward double-precision references.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ops_internal.h"

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -3, float hi = 3) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Relative tolerance for single-precision results of double-precision formulas.
constexpr double kRelTol = 2e-6;

void expect_close(double got, double want, double rel, const char* what, size_t i) {
  EXPECT_NEAR(got, want, rel * std::max(1.0, std::fabs(want))) << what << " at " << i;
}

TEST(Ops, ExpApproxMatchesExpAcrossTheRange) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.01173f) {
    const double want = std::exp(double(x));
    worst = std::max(worst, std::fabs(lp::ops_detail::exp_approx(x) - want) / want);
  }
  EXPECT_LT(worst, 4e-7);  // ~3 ulp
  EXPECT_EQ(lp::ops_detail::exp_approx(-INFINITY), 0.0f);
  EXPECT_EQ(lp::ops_detail::exp_approx(-100.0f), 0.0f);
  EXPECT_EQ(lp::ops_detail::exp_approx(0.0f), 1.0f);
}

TEST(Ops, F16ToF32CoversNormalsSubnormalsAndSpecials) {
  std::vector<lp::fp16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = lp::fp16_t(i);
  std::vector<float> got(65536);
  lp::convert_f16_to_f32(all.data(), got.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    const float want = lp::fp16_to_fp32(lp::fp16_t(i));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << i;
    } else {
      EXPECT_EQ(lp::float_bits(got[i]), lp::float_bits(want)) << "half bits " << i;
    }
  }
  std::vector<float> back = {0.0f, -1.5f, 65504.0f, 1e-7f, 3.14159f};
  std::vector<lp::fp16_t> h(back.size());
  lp::convert_f32_to_f16(back.data(), h.data(), int64_t(back.size()));
  for (size_t i = 0; i < back.size(); ++i) EXPECT_EQ(h[i], lp::fp32_to_fp16(back[i]));
}

TEST(Ops, RmsNormMatchesReference) {
  const int64_t rows = 3, n = 4096 + 7;
  const auto x = random_vector(rows * n, 1);
  const auto w = random_vector(n, 2, 0.5f, 1.5f);
  std::vector<float> y(rows * n);
  const float eps = 1e-5f;
  lp::rms_norm(x.data(), w.data(), y.data(), rows, n, eps);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i)
      expect_close(y[r * n + i], x[r * n + i] * inv * w[i], 1e-5, "rms_norm", size_t(r * n + i));
  }
  // In place gives the same result.
  auto z = x;
  lp::rms_norm(z.data(), w.data(), z.data(), rows, n, eps);
  EXPECT_EQ(z, y);
}

TEST(Ops, SoftmaxMatchesReferenceAndIsStable) {
  for (int64_t n : {1, 5, 16, 33, 1000}) {
    auto x = random_vector(n, uint32_t(n), -20, 20);
    x[0] = 1000.0f;  // exp(1000) overflows unless the max is subtracted
    if (n > 2) x[2] = -INFINITY;  // a masked entry
    std::vector<double> want(n);
    double m = -INFINITY, sum = 0;
    for (float v : x) m = std::max(m, double(v));
    for (int64_t i = 0; i < n; ++i) sum += want[i] = std::exp(double(x[i]) - m);
    lp::softmax(x.data(), n);
    for (int64_t i = 0; i < n; ++i) expect_close(x[i], want[i] / sum, 1e-6, "softmax", size_t(i));
    if (n > 2) {
      EXPECT_EQ(x[2], 0.0f);
    }
  }
}

TEST(Ops, SiluMulAndAddMatchReference) {
  const int64_t n = 11008 + 3;
  auto gate = random_vector(n, 3, -12, 12);
  gate[0] = -100.0f;
  gate[1] = 100.0f;
  const auto up = random_vector(n, 4);
  std::vector<float> out(n), sum(n);
  lp::silu_mul(gate.data(), up.data(), out.data(), n);
  lp::add(gate.data(), up.data(), sum.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    const double want = g / (1.0 + std::exp(-g)) * up[i];
    EXPECT_NEAR(out[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << "silu_mul at " << i;
    EXPECT_EQ(sum[i], gate[i] + up[i]);
  }
}

// Reference RoPE in double, straight from the formula in ops.h.
std::vector<double> rope_reference(const std::vector<float>& x, int64_t rows, int n_head, int head_dim, int p0,
                                   const lp::RopeParams& p) {
  std::vector<double> y(x.begin(), x.end());
  const int half = p.n_rot / 2;
  for (int64_t r = 0; r < rows; ++r) {
    for (int h = 0; h < n_head; ++h) {
      double* v = y.data() + r * n_head * head_dim + h * head_dim;
      for (int k = 0; k < half; ++k) {
        const double f = p.freq_factors ? double(p.freq_factors[k]) : 1.0;
        const double theta = double(p0 + r) * p.freq_scale * std::pow(double(p.freq_base), -2.0 * k / p.n_rot) / f;
        const int ia = p.layout == lp::RopeLayout::Normal ? 2 * k : k;
        const int ib = p.layout == lp::RopeLayout::Normal ? 2 * k + 1 : k + half;
        const double a = v[ia], b = v[ib];
        v[ia] = a * std::cos(theta) - b * std::sin(theta);
        v[ib] = a * std::sin(theta) + b * std::cos(theta);
      }
    }
  }
  return y;
}

void check_rope(lp::RopeLayout layout, int n_rot, float freq_base, float freq_scale,
                const float* freq_factors = nullptr) {
  const int n_head = 4, head_dim = 64, rows = 5, p0 = 37;
  const auto x = random_vector(size_t(rows) * n_head * head_dim, 5);
  lp::RopeParams params;
  params.n_rot = n_rot;
  params.freq_base = freq_base;
  params.freq_scale = freq_scale;
  params.layout = layout;
  params.freq_factors = freq_factors;
  auto y = x;
  lp::rope(y.data(), rows, n_head * head_dim, n_head, head_dim, p0, params);
  const auto want = rope_reference(x, rows, n_head, head_dim, p0, params);
  for (size_t i = 0; i < y.size(); ++i) {
    // llama.cpp's running float product of theta_scale drifts a little from the exact power.
    EXPECT_NEAR(y[i], want[i], 5e-5 * std::max(1.0, std::fabs(want[i]))) << "rope at " << i;
    if (int(i % head_dim) >= n_rot) {
      EXPECT_EQ(y[i], x[i]) << "unrotated dimension changed at " << i;
    }
  }
}

TEST(Ops, RopeNormalMatchesReference) { check_rope(lp::RopeLayout::Normal, 64, 10000, 1); }
TEST(Ops, RopeNeoxMatchesReference) { check_rope(lp::RopeLayout::Neox, 64, 1000000, 1); }
TEST(Ops, RopePartialRotationAndLinearScaling) {
  check_rope(lp::RopeLayout::Normal, 32, 10000, 0.25f);
  check_rope(lp::RopeLayout::Neox, 48, 500000, 0.5f);
}

// rope_freqs.weight (Llama 3.1+): pair k's angle divided by f_k; all ones is exactly no factors.
TEST(Ops, RopeFrequencyFactors) {
  std::vector<float> f(32);
  for (size_t k = 0; k < f.size(); ++k) f[k] = 1.0f + 7.0f * float(k) / 31.0f;  // 1 .. 8, like llama3
  check_rope(lp::RopeLayout::Normal, 64, 500000, 1, f.data());
  check_rope(lp::RopeLayout::Neox, 64, 500000, 0.5f, f.data());

  const std::vector<float> ones(32, 1.0f);
  const auto x = random_vector(2 * 64, 9);
  lp::RopeParams p;
  p.n_rot = 64;
  auto plain = x, with_ones = x, with_f = x;
  lp::rope(plain.data(), 2, 64, 1, 64, 11, p);
  p.freq_factors = ones.data();
  lp::rope(with_ones.data(), 2, 64, 1, 64, 11, p);
  EXPECT_EQ(plain, with_ones);
  p.freq_factors = f.data();
  lp::rope(with_f.data(), 2, 64, 1, 64, 11, p);
  EXPECT_NE(plain, with_f);
}

TEST(Ops, RopeLayoutsDiffer) {
  const int head_dim = 8;
  const auto x = random_vector(head_dim, 6);
  auto normal = x, neox = x;
  lp::RopeParams p;
  p.n_rot = head_dim;
  lp::rope(normal.data(), 1, head_dim, 1, head_dim, 3, p);
  p.layout = lp::RopeLayout::Neox;
  lp::rope(neox.data(), 1, head_dim, 1, head_dim, 3, p);
  double diff = 0;
  for (int i = 0; i < head_dim; ++i) diff += std::fabs(normal[i] - neox[i]);
  EXPECT_GT(diff, 0.1);
  // Position 0 is the identity in both layouts.
  auto at0 = x;
  lp::rope(at0.data(), 1, head_dim, 1, head_dim, 0, p);
  EXPECT_EQ(at0, x);
}

TEST(Ops, RopeRejectsBadRotation) {
  std::vector<float> x(64);
  lp::RopeParams p;
  p.n_rot = 65;
  EXPECT_ANY_THROW(lp::rope(x.data(), 1, 64, 1, 64, 0, p));
  p.n_rot = 3;
  EXPECT_ANY_THROW(lp::rope(x.data(), 1, 64, 1, 64, 0, p));
}

}  // namespace
