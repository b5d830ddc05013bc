// OpenAI response bodies for completions and chat completions, whole and as stream chunks
// (server-sent events: "data: <json>\n\n", ending with "data: [DONE]\n\n").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/request.h"
#include "server/scheduler.h"

namespace lp::server {

struct ResponseMeta {
  std::string id;       // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;    // the alias
  Endpoint endpoint = Endpoint::Completions;
  int logprobs = -1;    // the request's: -1 none
};

// A new response id for the endpoint: "cmpl-" / "chatcmpl-" and 24 random hex digits.
std::string new_response_id(Endpoint endpoint);

nlohmann::json usage_json(int prompt_tokens, int completion_tokens, int cached_tokens);

// The whole response of a non-streaming request.
nlohmann::json full_response(const ResponseMeta& meta, const std::string& text, const std::vector<TokenOut>& tokens,
                             const std::string& finish_reason, int prompt_tokens, int cached_tokens);

// One stream chunk: text (may be empty) with the logprobs of `tokens`; finish_reason "" for none.
// Chat chunks carry the role in the first one. text_offset: where the chunk's first token starts
// in the generated text (completions' logprobs.text_offset).
nlohmann::json stream_chunk(const ResponseMeta& meta, const std::string& text, const std::vector<TokenOut>& tokens,
                            const std::string& finish_reason, bool first, size_t text_offset = 0);
// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk(const ResponseMeta& meta, int prompt_tokens, int completion_tokens, int cached_tokens);

// "data: <json>\n\n"; invalid UTF-8 (a byte token's piece) is replaced, never thrown on.
std::string sse_event(const nlohmann::json& j);
// JSON text for a response body, with the same replacement.
std::string json_text(const nlohmann::json& j);

}  // namespace lp::server
