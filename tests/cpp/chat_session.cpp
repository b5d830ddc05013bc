// The chat layer: built-in formats against llama.cpp's layouts (src/llama-chat.cpp), BOS handling,
// message checks and errors, and a two-turn session that reuses the KV cache's common prefix.
#include <gtest/gtest.h>

#include <fstream>

#include "llamaprof/chat_session.h"
#include "model_test_util.h"

namespace lp {
namespace {

using nlohmann::ordered_json;
using test::expect_error;

const Model& tiny() {
  static Model m = Model::load(test::write_tiny_model(test::temp_path("chat_tiny.gguf")));
  return m;
}

ordered_json conversation() {
  return ordered_json::parse(R"([{"role":"system","content":"You are kind."},{"role":"user","content":"Hi"},
    {"role":"assistant","content":"Hello!"},{"role":"user","content":"Bye "}])");
}

// Expected texts written from llm_chat_apply_template's layouts (add_ass = true).
TEST(ChatFormat, BuiltinsMatchLlamaCppLayouts) {
  const std::map<std::string, std::string> expected = {
      {"chatml",
       "<|im_start|>system\nYou are kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
       "Hello!<|im_end|>\n<|im_start|>user\nBye <|im_end|>\n<|im_start|>assistant\n"},
      {"llama2", "[INST] You are kind.\nHi [/INST]Hello!</s>[INST] Bye  [/INST]"},
      {"llama3",
       "<|start_header_id|>system<|end_header_id|>\n\nYou are kind.<|eot_id|><|start_header_id|>user<|end_header_id|>"
       "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user"
       "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
      {"mistral-v7", "[SYSTEM_PROMPT] You are kind.[/SYSTEM_PROMPT][INST] Hi[/INST] Hello!</s>[INST] Bye [/INST]"},
      {"gemma",
       "<start_of_turn>user\nYou are kind.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
       "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"},
      {"phi3",
       "<|system|>\nYou are kind.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye <|end|>\n"
       "<|assistant|>\n"},
      {"zephyr",
       "<|system|>\nYou are kind.<|endoftext|>\n<|user|>\nHi<|endoftext|>\n<|assistant|>\nHello!<|endoftext|>\n"
       "<|user|>\nBye <|endoftext|>\n<|assistant|>\n"},
  };
  for (const auto& [name, text] : expected) {
    EXPECT_EQ(ChatFormat::for_model(tiny(), name).render(conversation()), text) << name;
  }
  std::vector<std::string> names;
  for (const auto& [name, text] : expected) names.push_back(name);
  EXPECT_EQ(builtin_chat_formats(), names);
  // Without the generation prompt the formats that have one leave it out.
  EXPECT_EQ(ChatFormat::for_model(tiny(), "chatml").render(ordered_json::parse(R"([{"role":"user","content":"x"}])"),
                                                            false),
            "<|im_start|>user\nx<|im_end|>\n");
}

TEST(ChatFormat, ListContentJoinsTextParts) {
  auto msgs = ordered_json::parse(
      R"([{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}])");
  EXPECT_EQ(ChatFormat::for_model(tiny(), "chatml").render(msgs, false), "<|im_start|>user\na\nb<|im_end|>\n");
}

TEST(ChatFormat, BosIsNotDoubled) {
  const TokenId bos = tiny().bos();
  auto msgs = ordered_json::parse(R"([{"role":"user","content":"the"}])");
  // A template that writes bos_token itself: no BOS from the tokenizer.
  ChatFormat with_bos = ChatFormat::from_source(tiny(), "{{ bos_token }}{{ messages[0]['content'] }}", "t");
  EXPECT_EQ(with_bos.render(msgs), "<s>the");
  EXPECT_FALSE(with_bos.add_bos("<s>the"));
  std::vector<TokenId> ids = with_bos.prompt_tokens(msgs);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[0], bos);
  EXPECT_NE(ids[1], bos);
  // A template without it: the tokenizer prepends one (add_bos_token is true for the tiny model).
  ChatFormat chatml = ChatFormat::for_model(tiny(), "chatml");
  ids = chatml.prompt_tokens(msgs);
  EXPECT_EQ(ids[0], bos);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), bos), 1);
  // eos_token is the vocabulary's text, and special tokens in the text are parsed.
  ChatFormat eos = ChatFormat::from_source(tiny(), "{{ messages[0]['content'] }}{{ eos_token }}", "t");
  ids = eos.prompt_tokens(msgs);
  EXPECT_EQ(ids.back(), tiny().eos());
}

TEST(ChatFormat, LlamaCppPythonNamesAreAliases) {
  auto msgs = ordered_json::parse(R"([{"role":"system","content":"s"},{"role":"user","content":"u"}])");
  for (auto [alias, name] : {std::pair{"llama-2", "llama2"}, {"llama-3", "llama3"}, {"phi-3", "phi3"}}) {
    EXPECT_EQ(builtin_chat_template(alias), builtin_chat_template(name)) << alias;
    EXPECT_EQ(ChatFormat::for_model(tiny(), alias).render(msgs), ChatFormat::for_model(tiny(), name).render(msgs));
  }
}

TEST(ChatFormat, Errors) {
  auto msgs = ordered_json::parse(R"([{"role":"user","content":"x"}])");
  expect_error([] { ChatFormat::for_model(tiny()); }, ErrorKind::InvalidArgument,
               {"no tokenizer.chat_template", "chatml", "llama3", "zephyr"});
  expect_error([] { ChatFormat::for_model(tiny(), "chatmll"); }, ErrorKind::InvalidArgument,
               {"chatmll", "neither a built-in format", "chatml"});
  expect_error([] { builtin_chat_template("nope"); }, ErrorKind::InvalidArgument,
               {"unknown chat format 'nope'", "llama3", "llama-cpp-python's names", "llama-2"});
  ChatFormat f = ChatFormat::for_model(tiny(), "chatml");
  expect_error([&] { f.render(ordered_json::parse(R"([{"content":"x"}])")); }, ErrorKind::InvalidArgument,
               {"chat message 0", "role"});
  expect_error([&] { f.render(ordered_json::parse(R"([{"role":"user","content":"x"},{"role":"user"}])")); },
               ErrorKind::InvalidArgument, {"chat message 1", "content"});
  expect_error([&] { f.render(ordered_json::parse(R"([{"role":"user","content":5}])")); },
               ErrorKind::InvalidArgument, {"chat message 0", "string or a list of text parts"});
  expect_error([&] { f.render(ordered_json::parse(R"({"role":"user"})")); }, ErrorKind::InvalidArgument,
               {"JSON array"});
  expect_error([&] { f.render(ordered_json::parse(R"([{"role":"user","content":[{"type":"image_url"}]}])")); },
               ErrorKind::Unsupported, {"content part 0", "image_url"});
  // A template's raise_exception, as real templates do for non-alternating roles.
  ChatFormat strict = ChatFormat::from_source(
      tiny(),
      "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
      "{% endif %}{{ m['content'] }}{% endfor %}",
      "strict");
  expect_error([&] { strict.render(ordered_json::parse(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])")); },
               ErrorKind::InvalidArgument, {"roles must alternate"});
  // A template file that does not parse names the problem.
  const std::string bad = test::temp_path("bad.jinja");
  std::ofstream(bad) << "{% for %}";
  EXPECT_THROW(ChatFormat::for_model(tiny(), bad), Error);
}

// The GGUF's own template, with bos_token written by it (as Llama 2's and Mistral's templates do).
TEST(ChatFormat, GgufTemplate) {
  test::TinyModelSpec spec;
  spec.chat_template = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}"
                       "{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
  Model m = Model::load(test::write_tiny_model(test::temp_path("chat_gguf.gguf"), spec));
  ChatFormat f = ChatFormat::for_model(m);
  EXPECT_EQ(f.name(), "gguf");
  auto msgs = ordered_json::parse(R"([{"role":"user","content":"the"}])");
  EXPECT_EQ(f.render(msgs), "<s>[user] the</s>[assistant] ");
  std::vector<TokenId> ids = f.prompt_tokens(msgs);
  EXPECT_EQ(ids[0], m.bos());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), m.bos()), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), m.eos()), 1);  // "</s>" parsed as the EOS token
  // A built-in name still overrides the GGUF's template.
  EXPECT_EQ(ChatFormat::for_model(m, "zephyr").name(), "zephyr");
}

TEST(ChatFormat, TemplateFile) {
  const std::string path = test::temp_path("t.jinja");
  std::ofstream(path) << "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}";
  ChatFormat f = ChatFormat::for_model(tiny(), path);
  EXPECT_EQ(f.name(), "file:" + path);
  EXPECT_EQ(f.render(ordered_json::parse(R"([{"role":"user","content":"x"}])")), "[user]x");
}

TEST(ChatSession, SecondTurnEvaluatesOnlyItsOwnTokens) {
  ContextParams cp;
  cp.n_ctx = 256;
  cp.n_threads = 1;
  Context ctx(tiny(), cp);
  ChatSession s(ctx, ChatFormat::for_model(tiny(), "chatml"), "Be brief.");
  GenerateParams gp;
  gp.max_tokens = 8;
  gp.sampler.temperature = 0;
  ChatTurn t1 = s.reply("the", gp);
  EXPECT_EQ(t1.reused, 0);
  EXPECT_EQ(t1.result.timings.prompt_tokens, t1.prompt_total);
  ChatTurn t2 = s.reply("a the", gp);
  EXPECT_GT(t2.reused, 0);
  EXPECT_LT(t2.result.timings.prompt_tokens, t2.prompt_total);
  EXPECT_EQ(t2.reused + t2.result.timings.prompt_tokens, t2.prompt_total);
  ASSERT_EQ(s.messages().size(), 5u);
  EXPECT_EQ(s.messages()[4]["role"], "assistant");
  EXPECT_EQ(s.messages()[4]["content"], t2.result.text);

  // The same second turn from an empty cache gives the same tokens (greedy): the reuse is exact.
  ordered_json before = s.messages();
  before.erase(before.size() - 1);
  std::vector<TokenId> ids = ChatFormat::for_model(tiny(), "chatml").prompt_tokens(before);
  Context ctx2(tiny(), cp);
  EXPECT_EQ(generate(ctx2, std::span<const TokenId>(ids), gp).tokens, t2.result.tokens);

  s.clear();
  EXPECT_EQ(ctx.n_past(), 0);
  EXPECT_EQ(s.messages().size(), 1u);
  ChatTurn t3 = s.reply("the", gp);
  EXPECT_EQ(t3.reused, 0);
  EXPECT_EQ(t3.result.tokens, t1.result.tokens);
}

}  // namespace
}  // namespace lp
