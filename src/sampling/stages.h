// The sampler's stages, each a small function over a candidate array {id, logit, p}. Stages that
// cut the set keep the survivors at the front and return how many there are; none allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sampling/sampler.h"

namespace lp::sampling {

// llama.cpp's penalties over the last `last_n` tokens of `history` (-1: all of it), on
// `by_id` (candidates indexed by token id): a token seen c times gets
//   logit = logit > 0 ? logit / repeat : logit * repeat;  logit -= c * frequency + presence.
// `counts` is scratch of n_vocab zeros, left zeroed. Throws InvalidArgument for an id outside by_id.
void apply_penalties(std::span<Candidate> by_id, std::span<const int32_t> history, int last_n, float repeat,
                     float frequency, float presence, std::span<int32_t> counts);

// Index of the highest logit, the lowest id on ties.
size_t argmax(std::span<const Candidate> cands);

// Orders cands[0..k) by logit descending (lowest id first on ties) with the k best at the front.
void sort_top(std::span<Candidate> cands, size_t k);

// Sets p to the softmax of the logits. Returns the sum of exp(logit - max) (> 0).
double softmax(std::span<Candidate> cands);

// The cutting stages expect cands sorted by sort_top (descending) and keep at least one.
size_t top_k(std::span<Candidate> cands, int k);          // k <= 0: all
size_t top_p(std::span<Candidate> cands, float p);        // smallest prefix with mass >= p; p >= 1: all
size_t min_p(std::span<Candidate> cands, float min_p);    // p_i >= min_p * p_max; min_p <= 0: all

void apply_temperature(std::span<Candidate> cands, float temperature);  // logit /= temperature

// Draws an index with probability p (softmax already applied) from u in [0, 1).
size_t draw(std::span<const Candidate> cands, double u);

}  // namespace lp::sampling
