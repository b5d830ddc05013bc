#include "server/responses.h"

#include <random>

namespace lp::server {
namespace {

using nlohmann::json;

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

// The logprobs object of the tokens: chat's {"content": [...]}, or completions' parallel arrays.
json logprobs_json(const ResponseMeta& meta, const std::vector<TokenOut>& tokens, size_t text_offset0) {
  if (meta.logprobs < 0) return nullptr;
  if (meta.endpoint == Endpoint::Chat) {
    json content = json::array();
    for (const TokenOut& t : tokens) {
      json top = json::array();
      for (const TokenCandidate& c : t.top) {
        top.push_back({{"token", c.text}, {"logprob", c.logprob}, {"bytes", bytes_of(c.text)}});
      }
      content.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", bytes_of(t.text)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  json toks = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = text_offset0;
  for (const TokenOut& t : tokens) {
    toks.push_back(t.text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const TokenCandidate& c : t.top) top[c.text] = c.logprob;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += t.text.size();
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json finish_json(const std::string& reason) { return reason.empty() ? json(nullptr) : json(reason); }

// The fields every response object and chunk starts with.
json envelope(const ResponseMeta& meta, bool chunk) {
  const char* object = meta.endpoint != Endpoint::Chat ? "text_completion"
                       : chunk                         ? "chat.completion.chunk"
                                                       : "chat.completion";
  return {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model},
          {"system_fingerprint", "llamaprof"}};
}

}  // namespace

std::string new_response_id(Endpoint endpoint) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[25];
  const uint64_t a = rng(), b = rng();
  std::snprintf(hex, sizeof hex, "%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b & 0xffffffffu));
  return (endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + std::string(hex);
}

json usage_json(int prompt_tokens, int completion_tokens, int cached_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

json full_response(const ResponseMeta& meta, const std::string& text, const std::vector<TokenOut>& tokens,
                   const std::string& finish_reason, int prompt_tokens, int cached_tokens) {
  json choice = {{"index", 0}};
  if (meta.endpoint == Endpoint::Chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs_json(meta, tokens, 0);
  choice["finish_reason"] = finish_json(finish_reason);
  json r = envelope(meta, false);
  r["choices"] = json::array({choice});
  r["usage"] = usage_json(prompt_tokens, int(tokens.size()), cached_tokens);
  return r;
}

json stream_chunk(const ResponseMeta& meta, const std::string& text, const std::vector<TokenOut>& tokens,
                  const std::string& finish_reason, bool first, size_t text_offset) {
  json choice = {{"index", 0}};
  if (meta.endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish_reason.empty())) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = tokens.empty() ? json(nullptr) : logprobs_json(meta, tokens, text_offset);
  choice["finish_reason"] = finish_json(finish_reason);
  json r = envelope(meta, true);
  r["choices"] = json::array({choice});
  return r;
}

json usage_chunk(const ResponseMeta& meta, int prompt_tokens, int completion_tokens, int cached_tokens) {
  json r = envelope(meta, true);
  r["choices"] = json::array();
  r["usage"] = usage_json(prompt_tokens, completion_tokens, cached_tokens);
  return r;
}

std::string json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_event(const json& j) { return "data: " + json_text(j) + "\n\n"; }

}  // namespace lp::server
