// Drafting for speculative decoding. Prompt lookup is a plain backwards scan: the text is at most
// n_ctx tokens and the key at most a few, so a scan per forward pass costs microseconds against
// milliseconds of forward pass; an index would have to be kept in step with rollbacks for no
// measurable gain. A draft model is a second context that follows the text.
#include "model/speculative.h"

#include <algorithm>
#include <string>

#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"

namespace lp {

void validate(const SpeculativeParams& p) {
  auto bad = [](const std::string& what) { throw Error(ErrorKind::InvalidArgument, "speculative decoding: " + what); };
  if (p.draft_max < 0) bad("draft_max = " + std::to_string(p.draft_max) + " must be >= 0 (0: off)");
  if (p.ngram_min < 1) bad("ngram_min = " + std::to_string(p.ngram_min) + " must be >= 1");
  if (p.ngram_max < p.ngram_min) {
    bad("ngram_max = " + std::to_string(p.ngram_max) + " must be >= ngram_min = " + std::to_string(p.ngram_min));
  }
  if (p.draft_context && p.draft_max == 0) bad("a draft model needs draft_max > 0");
  if (!p.oracle.empty() && p.draft_max == 0) bad("an oracle needs draft_max > 0");
  if (p.draft_context && !p.oracle.empty()) bad("a draft model and an oracle exclude each other");
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

DraftModel::DraftModel(Context& draft, const Model& target) : ctx_(draft) {
  const Model& m = draft.model();
  auto mismatch = [&](const std::string& what) {
    throw Error(ErrorKind::InvalidArgument, "the draft model " + m.path() + " has another vocabulary than " +
                                                target.path() + " (" + what + ")");
  };
  if (m.n_vocab() != target.n_vocab()) {
    mismatch(std::to_string(m.n_vocab()) + " tokens against " + std::to_string(target.n_vocab()));
  }
  if (m.bos() != target.bos() || m.eos() != target.eos()) mismatch("BOS / EOS ids differ");
  // Drafts are token ids: the same id must mean the same text in both.
  for (TokenId id = 0; id < m.n_vocab(); ++id) {
    if (m.token_to_piece(id) != target.token_to_piece(id)) mismatch("token " + std::to_string(id) + " differs");
  }
  ctx_.kv_clear();
}

void DraftModel::draft(std::span<const TokenId> tokens, int max_tokens, std::vector<TokenId>& out) {
  out.clear();
  if (max_tokens <= 0 || tokens.empty()) return;
  // Keep the common prefix; the text's last token is evaluated again if cached, for its logits.
  size_t keep = 0;
  while (keep < cached_.size() && keep < tokens.size() && cached_[keep] == tokens[keep]) ++keep;
  keep = std::min(keep, tokens.size() - 1);
  ctx_.kv_truncate(int(keep));
  cached_.resize(keep);
  if (tokens.size() > size_t(ctx_.n_ctx())) return;  // the text does not fit
  std::span<const float> logits = ctx_.eval(tokens.subspan(keep));
  cached_.insert(cached_.end(), tokens.begin() + ptrdiff_t(keep), tokens.end());
  const Tokenizer& tok = ctx_.model().tokenizer();
  for (;;) {
    const TokenId d = TokenId(std::max_element(logits.begin(), logits.end()) - logits.begin());  // lowest id on ties
    out.push_back(d);
    if (int(out.size()) >= max_tokens || tok.is_eog(d) || ctx_.n_past() >= ctx_.n_ctx()) return;
    logits = ctx_.eval(std::span<const TokenId>(&d, 1));
    cached_.push_back(d);
  }
}

}  // namespace lp
