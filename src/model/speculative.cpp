// Prompt lookup drafting: a plain backwards scan. The text is at most n_ctx tokens and the key at
// most a few, so a scan per forward pass costs microseconds against milliseconds of forward pass;
// an index would have to be kept in step with rollbacks for no measurable gain.
#include "model/speculative.h"

#include <algorithm>
#include <string>

#include "llamaprof/error.h"

namespace lp {

void validate(const SpeculativeParams& p) {
  auto bad = [](const std::string& what) { throw Error(ErrorKind::InvalidArgument, "speculative decoding: " + what); };
  if (p.draft_max < 0) bad("draft_max = " + std::to_string(p.draft_max) + " must be >= 0 (0: off)");
  if (p.ngram_min < 1) bad("ngram_min = " + std::to_string(p.ngram_min) + " must be >= 1");
  if (p.ngram_max < p.ngram_min) {
    bad("ngram_max = " + std::to_string(p.ngram_max) + " must be >= ngram_min = " + std::to_string(p.ngram_min));
  }
}

void prompt_lookup_draft(std::span<const TokenId> tokens, int ngram_min, int ngram_max, int max_tokens,
                         std::vector<TokenId>& draft) {
  draft.clear();
  const int64_t len = int64_t(tokens.size());
  if (max_tokens <= 0) return;
  for (int64_t n = std::min<int64_t>(ngram_max, len - 1); n >= ngram_min; --n) {
    const std::span<const TokenId> key = tokens.subspan(size_t(len - n));
    int64_t best_start = -1, best_follow = 0;
    // Candidate match at [s, s + n), followed by tokens [s + n, len): latest first.
    for (int64_t s = len - n - 1; s >= 0; --s) {
      if (!std::equal(key.begin(), key.end(), tokens.begin() + s)) continue;
      const int64_t follow = std::min<int64_t>(max_tokens, len - (s + n));
      if (follow > best_follow) {
        best_follow = follow;
        best_start = s + n;
      }
      if (follow == max_tokens) break;
    }
    if (best_start >= 0) {
      draft.assign(tokens.begin() + best_start, tokens.begin() + best_start + best_follow);
      return;
    }
  }
}

}  // namespace lp
