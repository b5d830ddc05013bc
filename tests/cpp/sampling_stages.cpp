// Each sampler stage on hand-made candidate arrays: exactly the right set survives, penalties
// change exactly the right logits, and softmax is a distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "llamaprof/error.h"
#include "sampling/stages.h"

namespace {

using lp::Candidate;
namespace s = lp::sampling;

std::vector<Candidate> from_logits(const std::vector<float>& logits) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < logits.size(); ++i) c.push_back({static_cast<int32_t>(i), logits[i], 0.0f});
  return c;
}

std::vector<int32_t> ids(std::span<const Candidate> c) {
  std::vector<int32_t> out;
  for (const auto& x : c) out.push_back(x.id);
  return out;
}

TEST(SamplingStages, PenaltiesFollowLlamaCpp) {
  auto c = from_logits({2.0f, -2.0f, 1.0f, 0.5f, 3.0f});
  std::vector<int32_t> counts(5, 0);
  // Window of the last 4: {1, 0, 0, 2}; token 4 is older and untouched, token 3 never seen.
  const std::vector<int32_t> history{4, 1, 0, 0, 2};
  s::apply_penalties(c, history, 4, 2.0f, 0.25f, 0.5f, counts);
  EXPECT_FLOAT_EQ(c[0].logit, 2.0f / 2 - 2 * 0.25f - 0.5f);  // positive: divided; seen twice
  EXPECT_FLOAT_EQ(c[1].logit, -2.0f * 2 - 1 * 0.25f - 0.5f);  // negative: multiplied
  EXPECT_FLOAT_EQ(c[2].logit, 1.0f / 2 - 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(c[3].logit, 0.5f);
  EXPECT_FLOAT_EQ(c[4].logit, 3.0f);
  EXPECT_EQ(counts, std::vector<int32_t>(5, 0));  // scratch left clean for the next step

  auto all = from_logits({1.0f, 1.0f});
  std::vector<int32_t> counts2(2, 0);
  s::apply_penalties(all, std::vector<int32_t>{0, 1, 1}, -1, 1.0f, 1.0f, 0.0f, counts2);  // -1: all history
  EXPECT_FLOAT_EQ(all[0].logit, 0.0f);
  EXPECT_FLOAT_EQ(all[1].logit, -1.0f);

  auto off = from_logits({1.0f});
  s::apply_penalties(off, std::vector<int32_t>{0}, 0, 2.0f, 0, 0, counts2);  // last_n 0: off
  EXPECT_FLOAT_EQ(off[0].logit, 1.0f);
  EXPECT_THROW(s::apply_penalties(off, std::vector<int32_t>{7}, 4, 2.0f, 0, 0, counts2), lp::Error);
}

TEST(SamplingStages, ArgmaxTiesGoToTheLowestId) {
  EXPECT_EQ(s::argmax(from_logits({1.0f, 5.0f, 5.0f, -1.0f})), 1u);
  EXPECT_EQ(s::argmax(from_logits({7.0f})), 0u);
}

TEST(SamplingStages, SoftmaxIsADistribution) {
  auto c = from_logits({1.0f, 2.0f, 3.0f, 1000.0f, -1000.0f});
  s::softmax(c);
  float sum = 0;
  for (const auto& x : c) {
    EXPECT_GE(x.p, 0.0f);
    sum += x.p;
  }
  EXPECT_NEAR(sum, 1.0f, 1e-6);
  auto d = from_logits({0.0f, std::log(3.0f)});
  s::softmax(d);
  EXPECT_NEAR(d[0].p, 0.25f, 1e-6);
  EXPECT_NEAR(d[1].p, 0.75f, 1e-6);
}

TEST(SamplingStages, TopKKeepsTheKHighest) {
  auto c = from_logits({0.1f, 0.9f, 0.5f, 0.7f, 0.3f});
  const size_t k = s::top_k(c, 3);
  s::sort_top(c, k);
  EXPECT_EQ(k, 3u);
  EXPECT_EQ(ids(std::span(c).first(k)), (std::vector<int32_t>{1, 3, 2}));
  EXPECT_EQ(s::top_k(c, 0), c.size());
  EXPECT_EQ(s::top_k(c, 99), c.size());
}

TEST(SamplingStages, TopPKeepsTheSmallestPrefixReachingP) {
  // Probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs), already sorted.
  auto c = from_logits({std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)});
  EXPECT_EQ(s::top_p(c, 0.4f), 1u);
  EXPECT_EQ(s::top_p(c, 0.6f), 2u);
  EXPECT_EQ(s::top_p(c, 0.8f), 3u);
  EXPECT_EQ(s::top_p(c, 1.0f), 4u);
  EXPECT_EQ(s::top_p(c, 0.0f), 1u);  // always at least one
}

TEST(SamplingStages, MinPKeepsThoseWithinAFractionOfTheBest) {
  // Probabilities proportional to 8, 4, 2, 1: min_p 0.3 keeps p >= 0.3 * p_max, i.e. 8 and 4.
  auto c = from_logits({std::log(8.0f), std::log(4.0f), std::log(2.0f), std::log(1.0f)});
  EXPECT_EQ(s::min_p(c, 0.3f), 2u);
  EXPECT_EQ(s::min_p(c, 0.2f), 3u);
  EXPECT_EQ(s::min_p(c, 0.1f), 4u);
  EXPECT_EQ(s::min_p(c, 0.9f), 1u);
  EXPECT_EQ(s::min_p(c, 0.0f), 4u);
}

TEST(SamplingStages, TemperatureSharpensOrFlattens) {
  auto cold = from_logits({1.0f, 2.0f});
  auto hot = cold;
  s::apply_temperature(cold, 0.5f);
  s::apply_temperature(hot, 2.0f);
  EXPECT_FLOAT_EQ(cold[1].logit, 4.0f);
  s::softmax(cold);
  s::softmax(hot);
  EXPECT_GT(cold[1].p, hot[1].p);
}

TEST(SamplingStages, DrawFollowsCumulativeMass) {
  std::vector<Candidate> c{{0, 0, 0.2f}, {1, 0, 0.5f}, {2, 0, 0.3f}};
  EXPECT_EQ(s::draw(c, 0.0), 0u);
  EXPECT_EQ(s::draw(c, 0.19), 0u);
  EXPECT_EQ(s::draw(c, 0.21), 1u);
  EXPECT_EQ(s::draw(c, 0.69), 1u);
  EXPECT_EQ(s::draw(c, 0.71), 2u);
  EXPECT_EQ(s::draw(c, 0.999999999), 2u);
}

}  // namespace
