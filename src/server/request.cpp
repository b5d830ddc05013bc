#include "server/request.h"

#include <cmath>
#include <random>
#include <set>

#include "llamaprof/chat_session.h"
#include "llamaprof/error.h"
#include "sampling/json_schema.h"
#include "server/api_error.h"

namespace lp::server {
namespace {

using json = nlohmann::ordered_json;  // RequestBody

[[noreturn]] void bad(const std::string& field, const std::string& message, const std::string& code = "invalid_value") {
  throw ApiError(400, message, field, code);
}

// "'name'" built by appending: GCC 12 warns falsely (-Wrestrict) on "'" + std::string(...) at -O3.
std::string quoted(const char* name) {
  std::string q = "'";
  q += name;
  q += "'";
  return q;
}

[[noreturn]] void wrong_type(const std::string& field, const char* expected, const json& v) {
  bad(field, "'" + field + "' must be " + expected + ", not " + std::string(v.type_name()), "invalid_type");
}

// A field that is absent or null gives nullopt.
const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const json& body, const char* name, double lo, double hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "a number", *v);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    bad(name, quoted(name) + " must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + v->dump());
  }
  return x;
}

std::optional<int64_t> integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) wrong_type(name, "an integer", *v);
  // Unsigned values above INT64_MAX are out of range too.
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) {
    bad(name, quoted(name) + " is out of range: " + v->dump());
  }
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) {
    bad(name, quoted(name) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                  std::to_string(x));
  }
  return x;
}

std::optional<bool> boolean(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(name, "a boolean", *v);
  return v->get<bool>();
}

// Fields each endpoint understands. Anything else is answered with a 400 naming it (OpenAI does the
// same for unrecognized arguments), so that a client never believes a setting took effect.
const std::set<std::string>& known_fields(Endpoint e) {
  static const std::set<std::string> common = {
      "model", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "stream_options", "n",
      "presence_penalty", "frequency_penalty", "logprobs", "user", "response_format", "grammar",
      "json_schema", "logit_bias",
      // llama.cpp's extensions
      "top_k", "min_p", "repeat_penalty", "repeat_last_n", "ignore_eos"};
  static const std::set<std::string> completions = [] {
    auto s = common;
    s.insert({"prompt", "echo", "suffix", "best_of"});
    return s;
  }();
  static const std::set<std::string> chat = [] {
    auto s = common;
    s.insert({"messages", "top_logprobs", "max_completion_tokens", "tools", "tool_choice", "functions",
              "function_call", "parallel_tool_calls"});
    return s;
  }();
  return e == Endpoint::Chat ? chat : completions;
}


// A JSON schema given as an object (or `true`) -> its grammar; errors name the field.
void schema_grammar(const json& schema, const std::string& name, GenRequest& r) {
  if (!schema.is_object() && !schema.is_boolean()) wrong_type(name, "a JSON schema (an object)", schema);
  try {
    JsonSchemaGrammar g = json_schema_value_to_gbnf(schema);
    r.grammar = Grammar::parse(g.gbnf);
    for (std::string& w : g.warnings) r.grammar_warnings.push_back(name + ": " + w);
  } catch (const Error& e) {
    throw ApiError(400, "'" + name + "': " + e.what(), name,
                   e.kind() == ErrorKind::Unsupported ? "unsupported_parameter" : "invalid_value");
  }
}

// "grammar" (GBNF text, llama-server's extension), "json_schema" (llama-server's) and OpenAI's
// response_format: at most one of them.
void request_grammar(const json& body, GenRequest& r) {
  const json* gbnf = field(body, "grammar");
  const json* schema = field(body, "json_schema");
  const json* rf = field(body, "response_format");
  const json* format_schema = nullptr;
  bool json_object = false;
  if (rf) {
    if (!rf->is_object()) wrong_type("response_format", "an object", *rf);
    const auto t = rf->find("type");
    if (t == rf->end() || !t->is_string()) bad("response_format", "'response_format' needs a string 'type'");
    const std::string type = t->get<std::string>();
    if (type == "json_object") {
      json_object = true;
      if (const json* sch = field(*rf, "schema")) format_schema = sch;  // llama-server's extension
    } else if (type == "json_schema") {
      const json* spec = field(*rf, "json_schema");
      if (!spec || !spec->is_object() || !field(*spec, "schema")) {
        bad("response_format", "response_format {\"type\": \"json_schema\"} needs \"json_schema\": {\"schema\": ...}");
      }
      format_schema = field(*spec, "schema");
    } else if (type != "text") {
      bad("response_format", "response_format type '" + type + "' is not supported (text, json_object, json_schema)");
    }
  }
  const int given = int(gbnf != nullptr) + int(schema != nullptr) + int(json_object || format_schema != nullptr);
  if (given > 1) {
    bad(gbnf ? "grammar" : "json_schema", "give one of 'grammar', 'json_schema' and a JSON 'response_format', not several");
  }
  if (gbnf) {
    if (!gbnf->is_string()) wrong_type("grammar", "a string (GBNF)", *gbnf);
    try {
      r.grammar = Grammar::parse(gbnf->get<std::string>());
    } catch (const Error& e) {
      bad("grammar", std::string("'grammar': ") + e.what());
    }
  } else if (schema) {
    schema_grammar(*schema, "json_schema", r);
  } else if (format_schema) {
    schema_grammar(*format_schema, "response_format", r);
  } else if (json_object) {
    r.grammar = Grammar::parse(json_object_gbnf());
  }
}

// Fields that belong to parts llamaprof does not have yet: refused by name rather than ignored.
void refuse_unsupported(const json& body, Endpoint e) {
  if (const json* lb = field(body, "logit_bias"); lb && !(lb->is_object() && lb->empty())) {
    throw ApiError(400, "'logit_bias' is not supported", "logit_bias", "unsupported_parameter");
  }
  if (e == Endpoint::Chat) {
    for (const char* name : {"tools", "tool_choice", "functions", "function_call", "parallel_tool_calls"}) {
      if (field(body, name)) {
        throw ApiError(400, "'" + std::string(name) + "' (tool calls) is not supported", name, "unsupported_parameter");
      }
    }
  } else {
    if (boolean(body, "echo").value_or(false)) {
      throw ApiError(400, "'echo' is not supported", "echo", "unsupported_parameter");
    }
    if (const json* s = field(body, "suffix"); s && !(s->is_string() && s->get<std::string>().empty())) {
      throw ApiError(400, "'suffix' (fill in the middle) is not supported", "suffix", "unsupported_parameter");
    }
    if (integer(body, "best_of", 1, 1 << 20).value_or(1) != 1) {
      throw ApiError(400, "'best_of' other than 1 is not supported", "best_of", "unsupported_parameter");
    }
  }
  if (integer(body, "n", 1, 128).value_or(1) != 1) {
    throw ApiError(400, "'n' other than 1 is not supported: send the request n times", "n", "unsupported_parameter");
  }
}

std::vector<TokenId> completion_prompt(const json& body, const Model& model) {
  const json* p = field(body, "prompt");
  if (!p) bad("prompt", "'prompt' is required", "missing_required_parameter");
  auto from_ids = [&](const json& arr) {
    std::vector<TokenId> ids;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_number_integer()) wrong_type("prompt", "a string, an array of token ids or of one string", arr[i]);
      const int64_t id = arr[i].get<int64_t>();
      if (id < 0 || id >= model.n_vocab()) {
        bad("prompt", "token id " + std::to_string(id) + " at index " + std::to_string(i) +
                          " is outside the vocabulary (0.." + std::to_string(model.n_vocab() - 1) + ")");
      }
      ids.push_back(TokenId(id));
    }
    return ids;
  };
  // Prompts may name special tokens (<s>, <|im_start|>...), as llama-server allows.
  auto from_text = [&](const std::string& s) { return model.tokenize(s, model.add_bos_default(), true); };
  if (p->is_string()) return from_text(p->get<std::string>());
  if (p->is_array()) {
    if (p->empty()) bad("prompt", "'prompt' is an empty array");
    if ((*p)[0].is_string()) {
      if (p->size() != 1) {
        throw ApiError(400, "several prompts in one request are not supported: send one request per prompt", "prompt",
                       "unsupported_parameter");
      }
      return from_text((*p)[0].get<std::string>());
    }
    if ((*p)[0].is_array()) {
      throw ApiError(400, "several prompts in one request are not supported: send one request per prompt", "prompt",
                     "unsupported_parameter");
    }
    return from_ids(*p);
  }
  wrong_type("prompt", "a string or an array of token ids", *p);
}

std::vector<TokenId> chat_prompt(const json& body, const ChatFormat* format) {
  const json* m = field(body, "messages");
  if (!m) bad("messages", "'messages' is required", "missing_required_parameter");
  if (!m->is_array()) wrong_type("messages", "an array", *m);
  if (m->empty()) bad("messages", "'messages' must not be empty");
  if (!format) {
    throw ApiError(400,
                   "the model has no chat template (tokenizer.chat_template): start the server with --chat-format "
                   "NAME or FILE, or use /v1/completions",
                   "messages", "no_chat_template");
  }
  try {
    return format->prompt_tokens(*m);
  } catch (const Error& e) {
    // Bad messages (a missing role, non-text parts) and the template's raise_exception.
    throw ApiError(400, e.what(), "messages", e.kind() == ErrorKind::Unsupported ? "unsupported_parameter" : "invalid_value");
  }
}

}  // namespace

void check_model(const json& body, const RequestLimits& limits) {
  const json* v = field(body, "model");
  if (!v) return;
  if (!v->is_string()) wrong_type("model", "a string", *v);
  const std::string name = v->get<std::string>();
  if (name == limits.alias || name == limits.model_path) return;
  throw ApiError(404, "The model '" + name + "' does not exist; this server serves '" + limits.alias + "'", "model",
                 "model_not_found");
}

json parse_json_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
  }
  if (!j.is_object()) {
    throw ApiError(400, std::string("the request body must be a JSON object, not ") + j.type_name(), "", "invalid_json");
  }
  return j;
}

GenRequest parse_generation_request(Endpoint endpoint, const json& body, const RequestLimits& limits,
                                    const Model& model, const ChatFormat* chat_format) {
  for (const auto& [key, value] : body.items()) {
    if (!known_fields(endpoint).count(key)) {
      throw ApiError(400, "Unrecognized request argument supplied: " + key, key, "unknown_parameter");
    }
  }
  check_model(body, limits);
  refuse_unsupported(body, endpoint);
  GenRequest r;
  r.endpoint = endpoint;

  const int max_limit = limits.max_tokens_limit > 0 ? limits.max_tokens_limit : limits.n_ctx;
  std::optional<int64_t> max_tokens = integer(body, "max_tokens", 1, max_limit);
  if (endpoint == Endpoint::Chat) {
    if (auto m = integer(body, "max_completion_tokens", 1, max_limit)) max_tokens = m;
  }
  r.max_tokens = int(max_tokens.value_or(limits.default_max_tokens));

  SamplerParams& s = r.sampling;
  s = limits.sampling;
  if (auto v = number(body, "temperature", 0, 2)) s.temperature = float(*v);
  if (auto v = number(body, "top_p", 0, 1)) s.top_p = float(*v);
  if (auto v = number(body, "min_p", 0, 1)) s.min_p = float(*v);
  if (auto v = integer(body, "top_k", 0, 1 << 30)) s.top_k = int(*v);
  if (auto v = number(body, "presence_penalty", -2, 2)) s.presence_penalty = float(*v);
  if (auto v = number(body, "frequency_penalty", -2, 2)) s.frequency_penalty = float(*v);
  if (auto v = number(body, "repeat_penalty", 0.01, 100)) s.repeat_penalty = float(*v);
  if (auto v = integer(body, "repeat_last_n", -1, 1 << 30)) s.repeat_last_n = int(*v);
  if (const json* v = field(body, "seed")) {
    if (!v->is_number_integer()) wrong_type("seed", "an integer", *v);
    s.seed = v->is_number_unsigned() ? v->get<uint64_t>() : uint64_t(v->get<int64_t>());
  } else if (limits.random_seed) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    s.seed = rng();
  }
  r.ignore_eos = boolean(body, "ignore_eos").value_or(false);
  request_grammar(body, r);

  if (const json* st = field(body, "stop")) {
    if (st->is_string()) {
      r.stop.push_back(st->get<std::string>());
    } else if (st->is_array()) {
      if (st->size() > limits.max_stop) {
        bad("stop", "at most " + std::to_string(limits.max_stop) + " stop strings, got " + std::to_string(st->size()));
      }
      for (const json& x : *st) {
        if (!x.is_string()) wrong_type("stop", "a string or an array of strings", x);
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      wrong_type("stop", "a string or an array of strings", *st);
    }
  }

  r.stream = boolean(body, "stream").value_or(false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) wrong_type("stream_options", "an object", *so);
    if (!r.stream) bad("stream_options", "'stream_options' is only allowed with \"stream\": true");
    for (const auto& [key, value] : so->items()) {
      if (key != "include_usage") bad("stream_options", "unknown stream option '" + key + "'", "unknown_parameter");
    }
    r.include_usage = boolean(*so, "include_usage").value_or(false);
  }

  if (endpoint == Endpoint::Chat) {
    const bool want = boolean(body, "logprobs").value_or(false);
    const auto top = integer(body, "top_logprobs", 0, limits.max_top_logprobs);
    if (top && !want) bad("top_logprobs", "'top_logprobs' needs \"logprobs\": true");
    r.logprobs = want ? int(top.value_or(0)) : -1;
  } else {
    // Completions: logprobs is the number of alternatives per token (0: the chosen token only).
    if (auto v = integer(body, "logprobs", 0, limits.max_top_logprobs)) r.logprobs = int(*v);
  }
  if (const json* u = field(body, "user"); u && !u->is_string()) wrong_type("user", "a string", *u);

  r.prompt = endpoint == Endpoint::Chat ? chat_prompt(body, chat_format) : completion_prompt(body, model);
  const char* prompt_field = endpoint == Endpoint::Chat ? "messages" : "prompt";
  if (r.prompt.empty()) bad(prompt_field, "the prompt is empty (no tokens to evaluate)");
  if (int64_t(r.prompt.size()) >= limits.n_ctx) {
    bad(prompt_field,
        "the prompt is " + std::to_string(r.prompt.size()) + " tokens but the context holds " +
            std::to_string(limits.n_ctx) + " tokens (one is needed for the reply)",
        "context_length_exceeded");
  }
  return r;
}

json tokenize_response(const json& body, const Model& model) {
  const json* c = field(body, "content");
  if (!c) bad("content", "'content' is required", "missing_required_parameter");
  if (!c->is_string()) wrong_type("content", "a string", *c);
  const bool add_special = boolean(body, "add_special").value_or(false);
  const bool parse_special = boolean(body, "parse_special").value_or(true);
  const bool with_pieces = boolean(body, "with_pieces").value_or(false);
  for (const auto& [key, value] : body.items()) {
    if (key != "content" && key != "add_special" && key != "parse_special" && key != "with_pieces") {
      throw ApiError(400, "Unrecognized request argument supplied: " + key, key, "unknown_parameter");
    }
  }
  const std::vector<TokenId> ids = model.tokenize(c->get<std::string>(), add_special, parse_special);
  json tokens = json::array();
  for (TokenId id : ids) {
    if (with_pieces) {
      tokens.push_back({{"id", id}, {"piece", model.token_to_piece(id)}});
    } else {
      tokens.push_back(id);
    }
  }
  return {{"tokens", tokens}};
}

json detokenize_response(const json& body, const Model& model) {
  const json* t = field(body, "tokens");
  if (!t) bad("tokens", "'tokens' is required", "missing_required_parameter");
  if (!t->is_array()) wrong_type("tokens", "an array of token ids", *t);
  for (const auto& [key, value] : body.items()) {
    if (key != "tokens") throw ApiError(400, "Unrecognized request argument supplied: " + key, key, "unknown_parameter");
  }
  std::vector<TokenId> ids;
  for (size_t i = 0; i < t->size(); ++i) {
    const json& x = (*t)[i];
    if (!x.is_number_integer()) wrong_type("tokens", "an array of token ids", x);
    const int64_t id = x.get<int64_t>();
    if (id < 0 || id >= model.n_vocab()) {
      bad("tokens", "token id " + std::to_string(id) + " at index " + std::to_string(i) +
                        " is outside the vocabulary (0.." + std::to_string(model.n_vocab() - 1) + ")");
    }
    ids.push_back(TokenId(id));
  }
  return {{"content", model.detokenize(ids)}};
}

}  // namespace lp::server
