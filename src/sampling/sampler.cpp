// lp::Sampler: the stage chain over buffers sized once per vocabulary size.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "llamaprof/error.h"
#include "sampling/stages.h"

namespace lp {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(ErrorKind::InvalidArgument, "sampler: " + what);
}

}  // namespace

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
  require(!std::isnan(params.temperature), "temperature is NaN");
  require(params.top_p >= 0.0f, "top_p = " + std::to_string(params.top_p) + " must be >= 0");
  require(params.min_p <= 1.0f && !std::isnan(params.min_p),
          "min_p = " + std::to_string(params.min_p) + " must be <= 1");
  require(params.repeat_penalty > 0.0f, "repeat_penalty = " + std::to_string(params.repeat_penalty) + " must be > 0");
  require(std::isfinite(params.frequency_penalty) && std::isfinite(params.presence_penalty),
          "frequency and presence penalties must be finite");
  require(params.repeat_last_n >= -1, "repeat_last_n = " + std::to_string(params.repeat_last_n) + " must be >= -1");
}

void Sampler::reset(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history,
                        TokenConstraint* constraint) {
  const size_t n_vocab = logits.size();
  if (n_vocab == 0) require(false, "no logits to sample from");  // message built only on failure
  if (last_.size() != n_vocab) {  // the first step (or a new vocabulary): size the buffers once
    last_.resize(n_vocab);
    cand_.resize(n_vocab);
    counts_.assign(n_vocab, 0);
  }
  for (size_t i = 0; i < n_vocab; ++i) last_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  sampling::apply_penalties(last_, history, params_.repeat_last_n, params_.repeat_penalty,
                            params_.frequency_penalty, params_.presence_penalty, counts_);

  std::span<Candidate> all(last_);  // greedy only reads; the chain cuts a copy
  if (params_.temperature > 0.0f) {
    std::copy(last_.begin(), last_.end(), cand_.begin());
    all = cand_;
  }
  const int32_t id = pick(all);
  if (!constraint || constraint->allows(id)) return id;
  // Rejected: filter the whole vocabulary and run the chain again on what is left.
  std::copy(last_.begin(), last_.end(), cand_.begin());
  const size_t n = constraint->filter(cand_);
  if (n == 0) {
    throw Error(ErrorKind::Runtime, "sampler: the grammar allows no token of the vocabulary here");
  }
  return pick(std::span<Candidate>(cand_).first(n));
}

int32_t Sampler::pick(std::span<Candidate> alive) {
  if (params_.temperature <= 0.0f) return alive[sampling::argmax(alive)].id;
  const size_t k = sampling::top_k(alive, params_.top_k);
  sampling::sort_top(alive, k);  // top-p and min-p below need the order anyway
  alive = alive.first(k);
  alive = alive.first(sampling::top_p(alive, params_.top_p));
  alive = alive.first(sampling::min_p(alive, params_.min_p));
  sampling::apply_temperature(alive, params_.temperature);
  sampling::softmax(alive);
  // 53 random bits -> a double in [0, 1): the same on every platform, unlike std distributions.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return alive[sampling::draw(alive, u)].id;
}

std::vector<Candidate> Sampler::top_candidates(int n) const {
  if (last_.empty() || n <= 0) return {};
  float max_logit = -INFINITY;
  for (const Candidate& c : last_) max_logit = std::max(max_logit, c.logit);
  double sum = 0.0;
  for (const Candidate& c : last_) sum += std::exp(static_cast<double>(c.logit) - max_logit);
  std::vector<Candidate> top(std::min(static_cast<size_t>(n), last_.size()));
  std::partial_sort_copy(last_.begin(), last_.end(), top.begin(), top.end(), [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  for (Candidate& c : top) c.p = static_cast<float>(std::exp(static_cast<double>(c.logit) - max_logit) / sum);
  return top;
}

double log_sum_exp(std::span<const float> logits) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - double(mx));
  return double(mx) + std::log(sum);
}

}  // namespace lp
