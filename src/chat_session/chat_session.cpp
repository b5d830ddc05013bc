// ChatSession: multi-turn chat that keeps the KV cache's common prefix between turns.
#include <algorithm>

#include "llamaprof/chat_session.h"
#include "llamaprof/error.h"

namespace lp {

ChatSession::ChatSession(Context& ctx, ChatFormat format, std::string system)
    : ctx_(ctx), format_(std::move(format)), system_(std::move(system)) {
  clear();
}

void ChatSession::clear() {
  messages_ = nlohmann::ordered_json::array();
  if (!system_.empty()) messages_.push_back({{"role", "system"}, {"content", system_}});
  ctx_.kv_clear();
  cached_.clear();
}

ChatTurn ChatSession::reply(const std::string& user, GenerateParams params) {
  messages_.push_back({{"role", "user"}, {"content", user}});
  std::vector<TokenId> prompt;
  try {
    prompt = format_.prompt_tokens(messages_, /*add_generation_prompt=*/true);
  } catch (...) {
    messages_.erase(messages_.size() - 1);
    throw;
  }
  // Someone else may have used the context since the last turn: trust only what it still holds.
  if (int(cached_.size()) > ctx_.n_past()) cached_.resize(size_t(ctx_.n_past()));
  size_t common = 0;
  while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) ++common;
  // At least one token must be evaluated: its logits give the first reply token.
  if (common == prompt.size() && common > 0) --common;
  if (int(common) != ctx_.n_past()) ctx_.kv_truncate(int(common));
  cached_.resize(common);

  params.keep_cache = true;
  ChatTurn turn;
  turn.prompt_total = int(prompt.size());
  turn.reused = int(common);
  try {
    turn.result = generate(ctx_, std::span<const TokenId>(prompt.data() + common, prompt.size() - common), params);
  } catch (...) {
    messages_.erase(messages_.size() - 1);
    cached_.clear();
    ctx_.kv_clear();  // a failed eval may leave the cache anywhere
    throw;
  }
  // The cache now holds the prompt and the generated tokens except the unevaluated last one(s).
  cached_ = prompt;
  cached_.insert(cached_.end(), turn.result.tokens.begin(), turn.result.tokens.end());
  cached_.resize(std::min(cached_.size(), size_t(ctx_.n_past())));
  turn.ttft_ms = turn.result.timings.prompt_ms + (turn.result.steps.empty() ? 0 : turn.result.steps[0].latency_ms);
  messages_.push_back({{"role", "assistant"}, {"content", turn.result.text}});
  return turn;
}

}  // namespace lp
