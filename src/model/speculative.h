// Speculative decoding's draft side: proposals for the next tokens that one batched forward pass
// then verifies (generate.cpp). Prompt lookup drafts what followed the latest earlier occurrence
// of the text's last n-gram; an oracle (benchmarks only) drafts a given continuation.
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

}  // namespace lp
