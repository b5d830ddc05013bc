// Sampler stages. The semantics are llama.cpp's (src/llama-sampling.cpp) so that the same
// parameters keep the same candidate set; the random draw is ours.
#include "sampling/stages.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "llamaprof/error.h"

namespace lp::sampling {

namespace {

bool better(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

}  // namespace

void apply_penalties(std::span<Candidate> by_id, std::span<const int32_t> history, int last_n, float repeat,
                     float frequency, float presence, std::span<int32_t> counts) {
  if (last_n == 0 || (repeat == 1.0f && frequency == 0.0f && presence == 0.0f)) return;
  size_t window = history.size();
  if (last_n > 0) window = std::min(window, static_cast<size_t>(last_n));
  const auto recent = history.subspan(history.size() - window);
  for (int32_t id : recent) {
    if (id < 0 || static_cast<size_t>(id) >= by_id.size()) {
      throw Error(ErrorKind::InvalidArgument, "history token " + std::to_string(id) + " is outside the vocabulary of " +
                                                  std::to_string(by_id.size()) + " tokens");
    }
    ++counts[id];
  }
  // Each distinct token once: its count is consumed (reset to 0) when it is penalized.
  for (int32_t id : recent) {
    const int32_t count = counts[id];
    if (count == 0) continue;
    counts[id] = 0;
    float& logit = by_id[id].logit;
    logit = logit > 0.0f ? logit / repeat : logit * repeat;
    logit -= static_cast<float>(count) * frequency + presence;
  }
}

size_t argmax(std::span<const Candidate> cands) {
  size_t best = 0;
  for (size_t i = 1; i < cands.size(); ++i) {
    if (better(cands[i], cands[best])) best = i;
  }
  return best;
}

void sort_top(std::span<Candidate> cands, size_t k) {
  k = std::min(k, cands.size());
  if (k == cands.size()) {
    std::sort(cands.begin(), cands.end(), better);
  } else {
    std::partial_sort(cands.begin(), cands.begin() + k, cands.end(), better);
  }
}

double softmax(std::span<Candidate> cands) {
  float max_logit = -INFINITY;
  for (const Candidate& c : cands) max_logit = std::max(max_logit, c.logit);
  double sum = 0.0;
  for (Candidate& c : cands) {
    c.p = std::exp(c.logit - max_logit);
    sum += c.p;
  }
  for (Candidate& c : cands) c.p = static_cast<float>(c.p / sum);
  return sum;
}

size_t top_k(std::span<Candidate> cands, int k) {
  if (k <= 0) return cands.size();
  return std::min(cands.size(), static_cast<size_t>(k));
}

size_t top_p(std::span<Candidate> cands, float p) {
  if (p >= 1.0f || cands.empty()) return cands.size();
  softmax(cands);
  double mass = 0.0;
  for (size_t i = 0; i < cands.size(); ++i) {
    mass += cands[i].p;
    if (mass >= p) return i + 1;
  }
  return cands.size();
}

size_t min_p(std::span<Candidate> cands, float min_p) {
  if (min_p <= 0.0f || cands.empty()) return cands.size();
  // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p): no exponentials needed.
  const float floor = cands[0].logit + std::log(min_p);
  size_t keep = 1;
  while (keep < cands.size() && cands[keep].logit >= floor) ++keep;
  return keep;
}

void apply_temperature(std::span<Candidate> cands, float temperature) {
  for (Candidate& c : cands) c.logit /= temperature;
}

size_t draw(std::span<const Candidate> cands, double u) {
  double mass = 0.0;
  for (size_t i = 0; i < cands.size(); ++i) {
    mass += cands[i].p;
    if (u < mass) return i;
  }
  return cands.size() - 1;  // rounding left the total a hair under u
}

}  // namespace lp::sampling
