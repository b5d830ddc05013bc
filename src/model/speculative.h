// Speculative decoding's draft side: proposals for the next tokens that one batched forward pass
// then verifies (generate.cpp). Prompt lookup drafts what followed the latest earlier occurrence
// of the text's last n-gram; a draft model drafts its greedy continuation; an oracle (benchmarks
// only) drafts a given continuation.
#pragma once

#include <span>
#include <vector>

#include "llamaprof/generate.h"

namespace lp {

// Checks the parameters (InvalidArgument naming the field and value); draft_max 0 is "off".
void validate(const SpeculativeParams& params);

// Prompt lookup (n-gram) drafting. For n from ngram_max down to ngram_min, the last n tokens of
// `tokens` are searched for among the earlier tokens, latest first; the tokens that followed the
// match are the draft (at most max_tokens). The latest match with max_tokens followers wins, else
// the one with the most followers for the longest n that matched at all. Empty when none matched.
void prompt_lookup_draft(std::span<const TokenId> tokens, int ngram_min, int ngram_max, int max_tokens,
                         std::vector<TokenId>& draft);

// A draft model's context, kept in step with the text: each call evaluates only what the cache
// does not hold yet (after a rollback, from the first token that differs), then drafts greedily.
class DraftModel {
 public:
  // Clears the draft context. Throws InvalidArgument when its model's vocabulary is not the
  // target's (size, BOS / EOS, or a token's text differs), naming both files.
  DraftModel(Context& draft, const Model& target);
  // Up to max_tokens greedy tokens after `tokens`, ending early after an end-of-generation token
  // or when the draft context is full (none when the text does not fit in it).
  void draft(std::span<const TokenId> tokens, int max_tokens, std::vector<TokenId>& out);

 private:
  Context& ctx_;
  std::vector<TokenId> cached_;  // the tokens in ctx_'s KV cache, in order
};

}  // namespace lp
