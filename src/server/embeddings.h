// /v1/embeddings: OpenAI's embeddings endpoint on the served model. Each input is evaluated from
// an empty KV cache in a context of its own (not a generation slot), pooled and L2-normalized, as
// llama-server's OpenAI-compatible endpoint answers.
#pragma once

#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "llamaprof/context.h"
#include "llamaprof/embed.h"
#include "llamaprof/model.h"

namespace lp::server {

class Embedder {
 public:
  // pooling: how token rows become one vector (the model's pooling_type when it has one, else
  // mean: OpenAI's endpoint returns one vector per input, so "none" is refused).
  Embedder(const Model& model, int n_ctx, int n_threads, Pooling pooling);
  ~Embedder();

  // {"input": string | [string] | [token ids] | [[token ids]], "model", "encoding_format":
  // "float" | "base64", "dimensions", "user"} -> OpenAI's "list" of "embedding" objects with usage.
  // Throws ApiError (400 naming the field). Inputs are embedded one request at a time.
  nlohmann::json respond(const nlohmann::ordered_json& body, const std::string& alias);

  Pooling pooling() const { return pooling_; }

 private:
  const Model& model_;
  int n_ctx_, n_threads_;
  Pooling pooling_;
  std::mutex mu_;
  std::unique_ptr<Context> ctx_;  // created on the first request: a server that never embeds pays nothing
};

// Little-endian float32 bytes in base64 (OpenAI's encoding_format "base64").
std::string base64_floats(const std::vector<float>& v);

}  // namespace lp::server
