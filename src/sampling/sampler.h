// Samplers: a chain of small stages over a candidate array {id, logit, p}.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace lp {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // probability after softmax over the surviving candidates
};

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.1f;  // 1: off
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int repeat_last_n = 64;       // 0: penalties off, -1: the whole history
  uint64_t seed = 0xFFFFFFFF;  // the same seed gives the same tokens (every value is a fixed seed)
};

// A constraint on the next token (the grammar stage). The sampler checks its pick first and
// filters the whole vocabulary only when the pick is rejected, then samples again from the
// survivors: the same distribution as filtering first (the pick is kept with probability equal to
// its share of the allowed mass) at a fraction of the cost (llama.cpp's common sampler does this).
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual bool allows(int32_t id) = 0;
  // Keeps the allowed candidates at the front (in order); returns how many.
  virtual size_t filter(std::span<Candidate> cands) = 0;
};

// Per step: penalties -> (temperature <= 0: argmax) -> top-k -> top-p -> min-p -> temperature ->
// softmax -> one draw from the seeded generator. The stage order is llama.cpp's default chain.
class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);  // throws lp::Error(InvalidArgument) for bad values
  // Picks the next token from logits[n_vocab]; `history` is the tokens so far (prompt +
  // generated) for the penalties.
  // With a constraint, only a token it allows is returned; throws lp::Error(Runtime) when it
  // allows none.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                 TokenConstraint* constraint = nullptr);
  // The top-n candidates of the last sample() call by probability, from the full softmax of the
  // penalized logits (before temperature truncation and before any constraint) — what the
  // seed's "top 10" log shows.
  std::vector<Candidate> top_candidates(int n) const;
  void reset(uint64_t seed);
  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  int32_t pick(std::span<Candidate> alive);  // the chain after the penalties: greedy or a draw
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;   // working buffer, sized once
  std::vector<Candidate> last_;   // [n_vocab] penalized logits of the last step, by id
  std::vector<int32_t> counts_;   // [n_vocab] zeros: scratch for counting the penalty window
};

// log(sum(exp(logits))), computed stably: log-probabilities over the whole vocabulary are
// logits[i] - log_sum_exp(logits).
double log_sum_exp(std::span<const float> logits);

}  // namespace lp
