// lp::Sampler end to end: greedy, seeded determinism, the sampled distribution, truncation
// respected, penalties steering the choice, top_candidates, parameter checks, and no allocation
// per step once the buffers are sized.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <set>
#include <vector>

#include "llamaprof/error.h"
#include "sampling/sampler.h"

// Counts heap allocations while `g_counting` is set (replaces the global operator new). GCC 12
// cannot see that the replaced new and delete pair up through malloc/free and warns at every
// inlined std::allocator call site.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<bool> g_counting{false};
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using lp::Sampler;
using lp::SamplerParams;

SamplerParams plain(float temperature) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  return p;
}

std::vector<float> ramp(int n) {
  std::vector<float> logits(n);
  for (int i = 0; i < n; ++i) logits[i] = std::sin(i * 0.7f) * 3.0f;
  return logits;
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
  Sampler s(plain(0.0f));
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 2.0f, 2.0f, -5.0f}, {}), 1);
  Sampler negative(plain(-1.0f));
  EXPECT_EQ(negative.sample(std::vector<float>{3.0f, 2.0f}, {}), 0);
}

TEST(Sampler, SameSeedSameTokens) {
  const auto logits = ramp(100);
  SamplerParams p = SamplerParams{};
  p.seed = 1234;
  Sampler a(p), b(p);
  p.seed = 99;
  Sampler c(p);
  std::vector<int32_t> ta, tb, tc;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(logits, ta));
    tb.push_back(b.sample(logits, tb));
    tc.push_back(c.sample(logits, tc));
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
  a.reset(1234);
  std::vector<int32_t> again;
  for (int i = 0; i < 200; ++i) again.push_back(a.sample(logits, again));
  EXPECT_EQ(again, ta);
}

TEST(Sampler, SamplesFollowTheSoftmax) {
  // p = 0.1, 0.2, 0.3, 0.4 at temperature 1; 20000 draws land within a few standard deviations.
  const std::vector<float> logits{std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  SamplerParams p = plain(1.0f);
  p.seed = 7;
  Sampler s(p);
  std::vector<int> hits(4, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++hits[s.sample(logits, {})];
  for (int i = 0; i < 4; ++i) {
    const double expected = 0.1 * (i + 1);
    EXPECT_NEAR(hits[i] / double(n), expected, 5 * std::sqrt(expected * (1 - expected) / n)) << "token " << i;
  }
}

TEST(Sampler, TruncationIsRespected) {
  const auto logits = ramp(50);
  std::vector<std::pair<float, int>> order;
  for (int i = 0; i < 50; ++i) order.push_back({logits[i], i});
  std::sort(order.rbegin(), order.rend());
  SamplerParams p = plain(5.0f);  // hot: without top-k every token would show up
  p.top_k = 3;
  Sampler s(p);
  std::set<int32_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(s.sample(logits, {}));
  EXPECT_EQ(seen, (std::set<int32_t>{order[0].second, order[1].second, order[2].second}));

  // min_p = 1 keeps only the best; top_p tiny keeps only the best.
  SamplerParams m = plain(5.0f);
  m.min_p = 1.0f;
  Sampler sm(m);
  SamplerParams t = plain(5.0f);
  t.top_p = 0.01f;
  Sampler st(t);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sm.sample(logits, {}), order[0].second);
    EXPECT_EQ(st.sample(logits, {}), order[0].second);
  }
}

TEST(Sampler, RepeatPenaltyChangesTheGreedyChoice) {
  const std::vector<float> logits{2.0f, 1.9f, 0.0f};
  SamplerParams p = plain(0.0f);
  p.repeat_penalty = 1.1f;
  Sampler s(p);
  EXPECT_EQ(s.sample(logits, {}), 0);
  const std::vector<int32_t> history{0};
  EXPECT_EQ(s.sample(logits, history), 1);  // 2.0 / 1.1 < 1.9
  p.repeat_last_n = 0;
  Sampler off(p);
  EXPECT_EQ(off.sample(logits, history), 0);
}

TEST(Sampler, TopCandidatesAreTheFullPenalizedSoftmax) {
  const std::vector<float> logits{1.0f, 3.0f, 2.0f, 0.0f};
  SamplerParams p = plain(0.7f);
  p.top_k = 1;  // truncation does not change what top_candidates reports
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  EXPECT_TRUE(s.top_candidates(3).empty());  // nothing sampled yet
  const std::vector<int32_t> history{1};
  s.sample(logits, history);  // token 1: 3.0 -> 1.5
  const auto top = s.top_candidates(10);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].id, 2);
  EXPECT_EQ(top[1].id, 1);
  EXPECT_FLOAT_EQ(top[1].logit, 1.5f);
  EXPECT_EQ(top[2].id, 0);
  double sum = 0, z = std::exp(1.0) + std::exp(1.5) + std::exp(2.0) + 1.0;
  for (const auto& c : top) sum += c.p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_NEAR(top[0].p, std::exp(2.0) / z, 1e-6);
  EXPECT_EQ(s.top_candidates(2).size(), 2u);
}

TEST(Sampler, NoAllocationPerStep) {
  const auto logits = ramp(32000);
  std::vector<int32_t> history(100, 5);
  for (float temperature : {0.0f, 0.8f}) {
    SamplerParams p;
    p.temperature = temperature;
    p.top_k = 0;  // the full sort path too
    Sampler s(p);
    s.sample(logits, history);  // sizes the buffers
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 5; ++i) s.sample(logits, history);
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << "temperature " << temperature;
  }
}

TEST(Sampler, RejectsBadParameters) {
  auto bad = [](auto tweak) {
    SamplerParams p;
    tweak(p);
    EXPECT_THROW(Sampler{p}, lp::Error);
  };
  bad([](SamplerParams& p) { p.repeat_penalty = 0.0f; });
  bad([](SamplerParams& p) { p.top_p = -0.1f; });
  bad([](SamplerParams& p) { p.min_p = 1.5f; });
  bad([](SamplerParams& p) { p.repeat_last_n = -2; });
  bad([](SamplerParams& p) { p.temperature = NAN; });
  Sampler ok{SamplerParams{}};
  EXPECT_THROW(ok.sample(std::vector<float>{}, {}), lp::Error);
  EXPECT_THROW(ok.sample(std::vector<float>{1.0f}, std::vector<int32_t>{3}), lp::Error);
}

}  // namespace
