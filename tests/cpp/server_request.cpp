// `llamaprof serve` request parsing: every field checked for type and range, errors in OpenAI's
// shape naming the field, unsupported fields refused by name, prompts against the context.
#include <gtest/gtest.h>

#include "llamaprof/chat_session.h"
#include "model_test_util.h"
#include "server/api_error.h"
#include "server/http_server.h"
#include "server/request.h"

namespace lp::server {
namespace {

using nlohmann::json;

const Model& tiny() {
  static Model m = Model::load(test::write_tiny_model(test::temp_path("server_request_tiny.gguf")));
  return m;
}

RequestLimits limits() {
  RequestLimits l;
  l.alias = "tiny";
  l.model_path = "/models/tiny.gguf";
  l.n_ctx = 64;
  l.max_tokens_limit = 32;
  return l;
}

GenRequest parse(Endpoint e, const std::string& body, const ChatFormat* chat = nullptr) {
  return parse_generation_request(e, parse_json_body(body), limits(), tiny(), chat);
}

// Expects an ApiError with this status naming `param` (and code, when given).
void expect_api_error(Endpoint e, const std::string& body, int status, const std::string& param,
                      const std::string& code = {}, const ChatFormat* chat = nullptr) {
  try {
    parse(e, body, chat);
    FAIL() << "accepted: " << body;
  } catch (const ApiError& err) {
    EXPECT_EQ(err.status(), status) << body << ": " << err.what();
    EXPECT_EQ(err.param(), param) << body << ": " << err.what();
    if (!code.empty()) {
      EXPECT_EQ(err.code(), code) << body;
    }
    const json b = err.body();
    EXPECT_TRUE(b["error"]["message"].is_string());
    EXPECT_TRUE(b["error"]["type"].is_string());
    EXPECT_TRUE(b["error"].contains("param") && b["error"].contains("code"));
  }
}

TEST(ServerRequest, CompletionFields) {
  const GenRequest r = parse(Endpoint::Completions,
                             R"({"model":"tiny","prompt":"the a","max_tokens":5,"temperature":0,"top_p":0.5,
                                 "seed":42,"stop":["\n","th"],"stream":true,"stream_options":{"include_usage":true},
                                 "logprobs":3,"top_k":7,"min_p":0.1,"repeat_penalty":1.0})");
  EXPECT_EQ(r.prompt, tiny().tokenize("the a", tiny().add_bos_default(), true));
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.sampling.top_k, 7);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "th"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.logprobs, 3);
  // The model may be named by its path too, or left out; token-id prompts are taken as given.
  EXPECT_EQ(parse(Endpoint::Completions, R"({"model":"/models/tiny.gguf","prompt":[1,5,6]})").prompt,
            (std::vector<TokenId>{1, 5, 6}));
  EXPECT_EQ(parse(Endpoint::Completions, R"({"prompt":["the"]})").max_tokens, 0);
}

TEST(ServerRequest, SeedWhenAbsent) {
  // Without "seed": a fresh one per request (as llama-server and OpenAI), unless serve --seed fixed it.
  EXPECT_NE(parse(Endpoint::Completions, R"({"prompt":"x"})").sampling.seed,
            parse(Endpoint::Completions, R"({"prompt":"x"})").sampling.seed);
  RequestLimits fixed = limits();
  fixed.random_seed = false;
  fixed.sampling.seed = 1234;
  EXPECT_EQ(parse_generation_request(Endpoint::Completions, json::parse(R"({"prompt":"x"})"), fixed, tiny(), nullptr)
                .sampling.seed,
            1234u);
}

TEST(ServerRequest, MalformedAndWrongTypes) {
  for (const char* body : {"{", "[1,2]", "\"x\"", "{\"prompt\": }"}) {
    try {
      parse_json_body(body);
      FAIL() << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code(), "invalid_json");
    }
  }
  const Endpoint C = Endpoint::Completions;
  expect_api_error(C, R"({"prompt":"x","max_tokens":"5"})", 400, "max_tokens", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","max_tokens":1.5})", 400, "max_tokens", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","max_tokens":0})", 400, "max_tokens");
  expect_api_error(C, R"({"prompt":"x","max_tokens":33})", 400, "max_tokens");  // over the server's limit
  expect_api_error(C, R"({"prompt":"x","temperature":"hot"})", 400, "temperature", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","temperature":3})", 400, "temperature");
  expect_api_error(C, R"({"prompt":"x","top_p":-0.1})", 400, "top_p");
  expect_api_error(C, R"({"prompt":"x","seed":"1"})", 400, "seed", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","stop":5})", 400, "stop", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","stop":["a",1]})", 400, "stop", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","stream":"yes"})", 400, "stream", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","stream_options":{"include_usage":true}})", 400, "stream_options");
  expect_api_error(C, R"({"prompt":"x","logprobs":21})", 400, "logprobs");
  expect_api_error(C, R"({"prompt":5})", 400, "prompt", "invalid_type");
  expect_api_error(C, R"({"prompt":[1,99999]})", 400, "prompt");
  expect_api_error(C, R"({"prompt":["a","b"]})", 400, "prompt", "unsupported_parameter");
  expect_api_error(C, R"({"max_tokens":3})", 400, "prompt", "missing_required_parameter");
  expect_api_error(C, R"({"prompt":"x","model":7})", 400, "model", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","frobnicate":1})", 400, "frobnicate", "unknown_parameter");
}

// grammar (GBNF), json_schema and response_format become the request's grammar; a bad one is a 400
// naming its field, and only one of them may be given.
TEST(ServerRequest, GrammarsFromGbnfSchemasAndResponseFormat) {
  const Endpoint C = Endpoint::Completions;
  EXPECT_EQ(parse(C, R"({"prompt":"x"})").grammar, nullptr);
  EXPECT_EQ(parse(C, R"({"prompt":"x","response_format":{"type":"text"}})").grammar, nullptr);
  EXPECT_NE(parse(C, R"({"prompt":"x","grammar":"root ::= \"a\""})").grammar, nullptr);
  EXPECT_NE(parse(C, R"({"prompt":"x","response_format":{"type":"json_object"}})").grammar, nullptr);
  EXPECT_NE(parse(C, R"({"prompt":"x","json_schema":{"type":"integer"}})").grammar, nullptr);
  const lp::server::GenRequest r = parse(
      C, R"({"prompt":"x","response_format":{"type":"json_schema","json_schema":{"schema":{"type":"string","frobs":1}}}})");
  ASSERT_NE(r.grammar, nullptr);
  ASSERT_EQ(r.grammar_warnings.size(), 1u);
  EXPECT_NE(r.grammar_warnings[0].find("frobs"), std::string::npos) << r.grammar_warnings[0];

  expect_api_error(C, R"({"prompt":"x","grammar":"root ::= undefined_rule"})", 400, "grammar", "invalid_value");
  expect_api_error(C, R"({"prompt":"x","grammar":5})", 400, "grammar", "invalid_type");
  expect_api_error(C, R"({"prompt":"x","json_schema":{"type":"string","not":{}}})", 400, "json_schema",
                   "unsupported_parameter");
  expect_api_error(C, R"({"prompt":"x","response_format":{"type":"xml"}})", 400, "response_format");
  expect_api_error(C, R"({"prompt":"x","response_format":{"type":"json_schema"}})", 400, "response_format");
  expect_api_error(C, R"({"prompt":"x","grammar":"root ::= \"a\"","json_schema":{}})", 400, "grammar");
}

TEST(ServerRequest, UnknownModelIs404) {
  expect_api_error(Endpoint::Completions, R"({"prompt":"x","model":"gpt-4"})", 404, "model", "model_not_found");
}

TEST(ServerRequest, UnsupportedFieldsAreRefusedByName) {
  const Endpoint C = Endpoint::Completions, H = Endpoint::Chat;
  expect_api_error(C, R"({"prompt":"x","n":2})", 400, "n", "unsupported_parameter");
  EXPECT_NO_THROW(parse(C, R"({"prompt":"x","n":1})"));
  expect_api_error(C, R"({"prompt":"x","logit_bias":{"5":1}})", 400, "logit_bias", "unsupported_parameter");
  expect_api_error(C, R"({"prompt":"x","echo":true})", 400, "echo", "unsupported_parameter");
  expect_api_error(C, R"({"prompt":"x","best_of":2})", 400, "best_of", "unsupported_parameter");
  expect_api_error(H, R"({"messages":[{"role":"user","content":"x"}],"tools":[]})", 400, "tools", "unsupported_parameter");
}

TEST(ServerRequest, PromptLongerThanTheContext) {
  std::vector<int> ids(64, 5);
  expect_api_error(Endpoint::Completions, json{{"prompt", ids}}.dump(), 400, "prompt", "context_length_exceeded");
  ids.resize(63);  // leaves one position for the reply
  EXPECT_NO_THROW(parse(Endpoint::Completions, json{{"prompt", ids}}.dump()));
}

TEST(ServerRequest, Chat) {
  const ChatFormat chatml = ChatFormat::for_model(tiny(), "chatml");
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  const GenRequest r = parse(Endpoint::Chat, "{" + msgs + R"(,"logprobs":true,"top_logprobs":2,"max_completion_tokens":4})",
                             &chatml);
  EXPECT_EQ(r.prompt, chatml.prompt_tokens(nlohmann::ordered_json::parse(R"([{"role":"user","content":"hi"}])")));
  EXPECT_EQ(r.logprobs, 2);
  EXPECT_EQ(r.max_tokens, 4);
  expect_api_error(Endpoint::Chat, "{" + msgs + R"(,"top_logprobs":2})", 400, "top_logprobs", {}, &chatml);
  expect_api_error(Endpoint::Chat, R"({"messages":"hi"})", 400, "messages", "invalid_type", &chatml);
  expect_api_error(Endpoint::Chat, R"({"messages":[]})", 400, "messages", {}, &chatml);
  expect_api_error(Endpoint::Chat, R"({"messages":[{"content":"x"}]})", 400, "messages", {}, &chatml);
  // Without a template chat requests say how to get one.
  expect_api_error(Endpoint::Chat, "{" + msgs + "}", 400, "messages", "no_chat_template", nullptr);
}

TEST(ServerRequest, TokenizeAndDetokenize) {
  const json t = tokenize_response(json::parse(R"({"content":"the a","with_pieces":true})"), tiny());
  ASSERT_TRUE(t["tokens"].is_array());
  std::vector<TokenId> ids;
  for (const json& x : t["tokens"]) ids.push_back(x["id"].get<TokenId>());
  EXPECT_EQ(ids, tiny().tokenize("the a", false, true));
  EXPECT_EQ(detokenize_response(json{{"tokens", ids}}, tiny())["content"], tiny().detokenize(ids));
  EXPECT_THROW(tokenize_response(json::parse(R"({"content":1})"), tiny()), ApiError);
  EXPECT_THROW(detokenize_response(json::parse(R"({"tokens":[-1]})"), tiny()), ApiError);
}

TEST(ServerRequest, ApiKeyComparison) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret1"));
  EXPECT_FALSE(constant_time_equal("secret", "secre"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal("", ""));  // no key configured never matches
}

}  // namespace
}  // namespace lp::server
