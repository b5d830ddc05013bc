#include "server/embeddings.h"

#include <bit>
#include <cstring>

#include "llamaprof/error.h"
#include "server/api_error.h"

namespace lp::server {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& message, const std::string& code = "invalid_value") {
  throw ApiError(400, message, field, code);
}

// The inputs as token lists: strings are tokenized with BOS as the model adds it (special tokens
// not parsed: input is data), arrays of ids are used as given.
std::vector<std::vector<TokenId>> inputs(const nlohmann::ordered_json& body, const Model& model) {
  const auto it = body.find("input");
  if (it == body.end() || it->is_null()) bad("input", "'input' is required", "missing_required_parameter");
  const nlohmann::ordered_json& in = *it;
  auto ids = [&](const nlohmann::ordered_json& arr) {
    std::vector<TokenId> out;
    for (const nlohmann::ordered_json& x : arr) {
      if (!x.is_number_integer()) bad("input", "'input' arrays must hold token ids (integers) or strings", "invalid_type");
      const int64_t id = x.get<int64_t>();
      if (id < 0 || id >= model.n_vocab()) {
        bad("input", "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                         std::to_string(model.n_vocab() - 1) + ")");
      }
      out.push_back(TokenId(id));
    }
    return out;
  };
  auto text = [&](const nlohmann::ordered_json& s) { return model.tokenize(s.get<std::string>(), model.add_bos_default(), false); };
  std::vector<std::vector<TokenId>> out;
  if (in.is_string()) {
    out.push_back(text(in));
  } else if (in.is_array() && !in.empty() && in[0].is_number_integer()) {
    out.push_back(ids(in));
  } else if (in.is_array() && !in.empty()) {
    for (const nlohmann::ordered_json& x : in) {
      if (x.is_string()) {
        out.push_back(text(x));
      } else if (x.is_array()) {
        out.push_back(ids(x));
      } else {
        bad("input", "'input' must be a string, an array of strings, or token ids", "invalid_type");
      }
    }
  } else {
    bad("input", "'input' must be a non-empty string, an array of strings, or token ids", "invalid_type");
  }
  if (out.size() > 2048) bad("input", "at most 2048 inputs per request, got " + std::to_string(out.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].empty()) bad("input", "input " + std::to_string(i) + " is empty (no tokens to embed)");
  }
  return out;
}

}  // namespace

std::string base64_floats(const std::vector<float>& v) {
  // Ten lines, not a dependency: none of the libraries llamaprof links exposes base64 publicly.
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  std::string bytes(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t w = uint32_t(uint8_t(bytes[i])) << 16;
    if (n > 1) w |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (n > 2) w |= uint32_t(uint8_t(bytes[i + 2]));
    for (size_t k = 0; k < 4; ++k) out += k <= n ? abc[(w >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

Embedder::Embedder(const Model& model, int n_ctx, int n_threads, Pooling pooling)
    : model_(model), n_ctx_(n_ctx), n_threads_(n_threads), pooling_(pooling) {
  if (pooling_ == Pooling::None) {
    throw Error(ErrorKind::InvalidArgument,
                "serve: pooling 'none' gives one vector per token, which /v1/embeddings cannot return; use mean, "
                "cls or last");
  }
}

Embedder::~Embedder() = default;

json Embedder::respond(const nlohmann::ordered_json& body, const std::string& alias) {
  for (const auto& [key, value] : body.items()) {
    if (key != "input" && key != "model" && key != "encoding_format" && key != "dimensions" && key != "user") {
      throw ApiError(400, "Unrecognized request argument supplied: " + key, key, "unknown_parameter");
    }
  }
  bool base64 = false;
  if (const auto f = body.find("encoding_format"); f != body.end() && !f->is_null()) {
    if (!f->is_string() || (*f != "float" && *f != "base64")) {
      bad("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
    }
    base64 = *f == "base64";
  }
  if (const auto d = body.find("dimensions"); d != body.end() && !d->is_null()) {
    if (!d->is_number_integer() || d->get<int64_t>() != model_.hparams().n_embd) {
      throw ApiError(400, "'dimensions' other than the model's " + std::to_string(model_.hparams().n_embd) +
                              " is not supported (the model's embeddings cannot be shortened)",
                     "dimensions", "unsupported_parameter");
    }
  }
  const std::vector<std::vector<TokenId>> in = inputs(body, model_);
  for (size_t i = 0; i < in.size(); ++i) {
    if (int64_t(in[i].size()) > n_ctx_) {
      bad("input", "input " + std::to_string(i) + " is " + std::to_string(in[i].size()) +
                       " tokens but the context holds " + std::to_string(n_ctx_), "context_length_exceeded");
    }
  }
  json data = json::array();
  int64_t n_tokens = 0;
  std::lock_guard lock(mu_);
  if (!ctx_) {
    ContextParams p;
    p.n_ctx = n_ctx_;
    p.n_threads = n_threads_;
    p.embeddings = true;
    ctx_ = std::make_unique<Context>(model_, p);
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const std::vector<float> row = embed(*ctx_, in[i], pooling_, /*normalize=*/true).at(0);
    n_tokens += int64_t(in[i].size());
    data.push_back({{"object", "embedding"}, {"index", i},
                    {"embedding", base64 ? json(base64_floats(row)) : json(row)}});
  }
  return {{"object", "list"}, {"data", data}, {"model", alias},
          {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}};
}

}  // namespace lp::server
