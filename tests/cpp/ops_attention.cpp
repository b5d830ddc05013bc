// Attention over the F16 KV cache against a naive double-precision computation: causal mask,
// sliding window, GQA, batches of query rows at an offset, every thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "runtime/cpu_features.h"
#include "runtime/thread_pool.h"

namespace {

struct Case {
  int n_head, n_head_kv, head_dim, window, nq, p0, threads;
};

void check_attention_once(const Case& c, lp::AttentionPrecision precision = lp::AttentionPrecision::F32);

// Both inner-loop paths: the portable one, and AVX2/F16C where the CPU has it.
void check_attention(const Case& c) {
  for (int mode : {0, 1}) {
    if (mode == 1 && !lp::cpu_features().usable_avx2()) continue;
    SCOPED_TRACE(mode ? "avx2 loops" : "portable loops");
    lp::ops_detail::set_attention_simd(mode);
    check_attention_once(c);
  }
  lp::ops_detail::set_attention_simd(-1);
}

void check_attention_once(const Case& c, lp::AttentionPrecision precision) {
  const int n_ctx = c.p0 + c.nq + 3;  // a few unused slots at the end
  const int kv_width = c.n_head_kv * c.head_dim;
  const int q_width = c.n_head * c.head_dim;
  std::mt19937 rng(uint32_t(c.n_head * 131 + c.nq * 7 + c.p0 + c.window));
  // Sharp attention (scores spread over several units) so that a wrong mask cannot pass.
  std::normal_distribution<float> dist(0.0f, 1.5f);
  std::vector<lp::fp16_t> k(size_t(n_ctx) * kv_width), v(size_t(n_ctx) * kv_width);
  for (auto& x : k) x = lp::fp32_to_fp16(dist(rng));
  for (auto& x : v) x = lp::fp32_to_fp16(dist(rng));
  std::vector<float> q(size_t(c.nq) * q_width);
  for (auto& x : q) x = dist(rng);

  lp::AttentionShape shape;
  shape.n_head = c.n_head;
  shape.n_head_kv = c.n_head_kv;
  shape.head_dim = c.head_dim;
  shape.sliding_window = c.window;
  shape.precision = precision;
  lp::ThreadPool pool(c.threads);
  const size_t scratch_n = lp::attention_scratch_floats(shape, n_ctx, pool.size());
  std::vector<float> scratch(scratch_n);
  std::vector<float> out(size_t(c.nq) * q_width, NAN);
  lp::attention(q.data(), q_width, k.data(), v.data(), kv_width, c.nq, c.p0, shape, out.data(), q_width,
                scratch.data(), scratch.size(), pool);

  const double scale = 1.0 / std::sqrt(double(c.head_dim));
  const int group = c.n_head / c.n_head_kv;
  for (int i = 0; i < c.nq; ++i) {
    const int p = c.p0 + i;
    for (int h = 0; h < c.n_head; ++h) {
      const int g = h / group;
      std::vector<double> s(n_ctx, -INFINITY);
      double m = -INFINITY;
      for (int t = 0; t < n_ctx; ++t) {
        const bool visible = t <= p && (c.window == 0 || p - t < c.window);
        if (!visible) continue;
        double dot = 0;
        for (int d = 0; d < c.head_dim; ++d)
          dot += double(q[size_t(i) * q_width + h * c.head_dim + d]) *
                 lp::fp16_to_fp32(k[size_t(t) * kv_width + g * c.head_dim + d]);
        s[t] = dot * scale;
        m = std::max(m, s[t]);
      }
      double sum = 0;
      for (int t = 0; t < n_ctx; ++t) sum += s[t] = std::exp(s[t] - m);
      for (int d = 0; d < c.head_dim; ++d) {
        double want = 0;
        for (int t = 0; t < n_ctx; ++t)
          want += s[t] / sum * lp::fp16_to_fp32(v[size_t(t) * kv_width + g * c.head_dim + d]);
        const float got = out[size_t(i) * q_width + h * c.head_dim + d];
        // F16Accumulate rounds the query and the running V sum to F16 (11 significant bits).
        const double tol = precision == lp::AttentionPrecision::F32 ? 2e-5 : 1e-2;
        ASSERT_NEAR(got, want, tol * std::max(1.0, std::fabs(want)))
            << "row " << i << " head " << h << " dim " << d << " (n_head " << c.n_head << ", n_head_kv "
            << c.n_head_kv << ", window " << c.window << ", nq " << c.nq << ", p0 " << c.p0 << ", threads "
            << c.threads << ")";
      }
    }
  }
}

TEST(Attention, DecodeOneRowMatchesNaive) { check_attention({4, 4, 64, 0, 1, 40, 2}); }
// Model head sizes: 128 (two passes of 64 outputs in registers), 144 (a pass plus 8-wide ones), 100
// (a pass, 8-wide ones and a scalar rest).
TEST(Attention, ModelHeadDimsMatchNaive) {
  check_attention({4, 4, 128, 0, 1, 40, 2});
  check_attention({4, 2, 144, 0, 9, 5, 2});
  check_attention({2, 2, 100, 0, 5, 3, 1});
}
TEST(Attention, FirstTokenSeesOnlyItself) { check_attention({2, 2, 16, 0, 1, 0, 1}); }
TEST(Attention, PromptBatchIsCausal) { check_attention({4, 4, 32, 0, 21, 0, 2}); }
TEST(Attention, BatchAtAnOffset) { check_attention({4, 4, 32, 0, 13, 17, 3}); }
TEST(Attention, GroupedQueryHeadsShareKvHeads) {
  check_attention({8, 2, 32, 0, 11, 5, 2});
  check_attention({6, 1, 16, 0, 9, 3, 1});
}
TEST(Attention, SlidingWindowMasksOldKeys) {
  check_attention({4, 2, 32, 5, 19, 0, 2});
  check_attention({4, 4, 32, 7, 3, 30, 2});
  check_attention({2, 1, 16, 1, 4, 2, 1});  // window 1: each query sees only itself
}
TEST(Attention, F16AccumulateIsCloseToExactAndMasksTheSame) {
  // llama.cpp's flash-attention rounding: same softmax, causal mask, GQA and window; head dims
  // below, at and above the 64-element step of its dot-product order.
  for (const Case& c : {Case{4, 4, 64, 0, 1, 40, 2}, Case{8, 2, 32, 0, 11, 5, 2}, Case{4, 2, 32, 5, 19, 0, 2},
                        Case{2, 2, 128, 0, 6, 9, 1}, Case{3, 3, 24, 0, 5, 2, 3}}) {
    check_attention_once(c, lp::AttentionPrecision::F16Accumulate);
  }
}
TEST(Attention, HeadDimNotAMultipleOfTheVectorWidth) { check_attention({3, 3, 24, 0, 5, 2, 2}); }
TEST(Attention, MoreThreadsThanWork) { check_attention({2, 1, 16, 0, 1, 3, 5}); }

TEST(Attention, ScaleOverride) {
  // With scale 0 the softmax is uniform: the output is the mean of the visible V rows.
  lp::AttentionShape shape{1, 1, 4, 0, 1e-30f};
  std::vector<lp::fp16_t> k(3 * 4, lp::fp32_to_fp16(1.0f)), v(3 * 4);
  for (int t = 0; t < 3; ++t)
    for (int d = 0; d < 4; ++d) v[t * 4 + d] = lp::fp32_to_fp16(float(t + d));
  std::vector<float> q(4, 100.0f), out(4);
  lp::ThreadPool pool(1);
  std::vector<float> scratch(lp::attention_scratch_floats(shape, 3, 1));
  lp::attention(q.data(), 4, k.data(), v.data(), 4, 1, 2, shape, out.data(), 4, scratch.data(),
                scratch.size(), pool);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], 1.0f + d, 1e-5);
}

TEST(Attention, RejectsSmallScratchAndBadShapes) {
  lp::AttentionShape shape{4, 3, 8, 0, 0};
  EXPECT_ANY_THROW(lp::attention_scratch_floats(shape, 8, 1));
  shape.n_head_kv = 2;
  lp::ThreadPool pool(1);
  std::vector<float> q(32), out(32), scratch(lp::attention_scratch_floats(shape, 4, 1));
  std::vector<lp::fp16_t> k(16 * 16), v(16 * 16);
  EXPECT_ANY_THROW(lp::attention(q.data(), 32, k.data(), v.data(), 16, 1, 10, shape, out.data(), 32,
                                 scratch.data(), scratch.size(), pool));
}

}  // namespace
