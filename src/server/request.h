// OpenAI request bodies -> what the scheduler runs. Every field is checked for its type and range;
// a field llamaprof cannot honour is a 400 naming it, never silently ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llamaprof/model.h"
#include "sampling/grammar.h"
#include "sampling/sampler.h"

namespace lp {
class ChatFormat;
}

namespace lp::server {

// Server-wide settings the requests are checked against, and the defaults they fall back to.
struct RequestLimits {
  std::string alias;            // the model's name in /v1/models; "model" must name it (or be absent)
  std::string model_path;       // also accepted as "model"
  int n_ctx = 0;                // tokens per slot: the prompt must leave room for one generated token
  int max_tokens_limit = 0;     // largest max_tokens accepted (0: n_ctx)
  int default_max_tokens = 0;   // max_tokens when absent (0: until EOS or the context is full)
  size_t max_stop = 16;         // stop strings per request
  int max_top_logprobs = 20;
  SamplerParams sampling;       // the server's sampling defaults (--temp, --top-k, ...)
  bool random_seed = true;      // a request without "seed" gets a fresh random one (as llama-server
                                // and OpenAI); false: sampling.seed (serve --seed given)
};

enum class Endpoint { Completions, Chat };

// A request body keeps the client's key order: JSON schemas list properties in the order the
// output should have them, and chat templates may iterate a message's keys.
using RequestBody = nlohmann::ordered_json;

struct GenRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::vector<TokenId> prompt;
  int max_tokens = 0;           // 0: until EOS / stop / full context
  SamplerParams sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;   // stream_options.include_usage
  int logprobs = -1;            // -1: none; else how many alternatives per token (0: only the chosen one)
  bool ignore_eos = false;      // llama.cpp's extension
  // "grammar" (GBNF), "json_schema", or response_format json_object / json_schema: every token
  // keeps the text in the grammar's language; null: unconstrained.
  std::shared_ptr<const Grammar> grammar;
  std::vector<std::string> grammar_warnings;  // schema keywords the grammar does not use
};

// Parses a /v1/completions or /v1/chat/completions body. Throws ApiError (400 naming the field,
// 404 for an unknown model). chat_format is null when the model has no usable template: chat
// requests then get a 400 saying how to start the server with one.
GenRequest parse_generation_request(Endpoint endpoint, const RequestBody& body, const RequestLimits& limits,
                                    const Model& model, const ChatFormat* chat_format);

// "model", when given, must name the served model (its alias or file path): 404 otherwise.
void check_model(const RequestBody& body, const RequestLimits& limits);

// The body as JSON: 400 for malformed JSON or a body that is not an object.
RequestBody parse_json_body(const std::string& body);

// /tokenize {"content", "add_special" = false, "parse_special" = true, "with_pieces" = false} and
// /detokenize {"tokens"}: the responses llama-server gives.
RequestBody tokenize_response(const RequestBody& body, const Model& model);
RequestBody detokenize_response(const RequestBody& body, const Model& model);

}  // namespace lp::server
