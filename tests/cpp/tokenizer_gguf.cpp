// Tokenizer::from_gguf: the tokenizer.ggml.* keys, their defaults, and clear errors for a missing
// or mistyped key or an unsupported tokenizer model. Files are built in memory with the writer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

namespace {

using lp::gguf::Value;
using lp::gguf::ValueType;

const std::string kSp = "\xE2\x96\x81";

lp::gguf::Writer llama_vocab_writer() {
  lp::gguf::Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("tokenizer.ggml.model", Value::str("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "</s>", "<0x0A>", kSp, "a", kSp + "a"}));
  w.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0, 0, -3, -2, -1}));
  w.set("tokenizer.ggml.token_type", Value::i32_array({2, 3, 3, 6, 1, 1, 1}));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", Value::u32(0));
  return w;
}

lp::Tokenizer load(const lp::gguf::Writer& w) { return lp::test::load_tokenizer(w); }
lp::Error load_error(const lp::gguf::Writer& w) { return lp::test::tokenizer_load_error(w); }

TEST(TokenizerGguf, LoadsTheLlamaKeys) {
  const lp::Tokenizer tok = load(llama_vocab_writer());
  EXPECT_EQ(tok.n_vocab(), 7);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.model(), "llama");
  EXPECT_EQ(tok.kind(3), lp::TokenKind::Byte);
  EXPECT_FLOAT_EQ(tok.score(6), -1.0f);
  EXPECT_EQ(tok.encode("a\na", true), (std::vector<lp::TokenId>{1, 6, 3, 5}));
}

TEST(TokenizerGguf, HonoursTheFlags) {
  auto w = llama_vocab_writer();
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(false));
  w.set("tokenizer.ggml.add_eos_token", Value::boolean(true));
  w.set("tokenizer.ggml.add_space_prefix", Value::boolean(false));
  const lp::Tokenizer tok = load(w);
  EXPECT_EQ(tok.encode("a", true), (std::vector<lp::TokenId>{5, 2}));
}

TEST(TokenizerGguf, ScoresAndTypesAreOptional) {
  lp::gguf::Writer w;
  w.set("tokenizer.ggml.model", Value::str("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "</s>", kSp + "a"}));
  const lp::Tokenizer tok = load(w);
  EXPECT_EQ(tok.kind(1), lp::TokenKind::Normal);  // no types: everything NORMAL, as in llama.cpp
  EXPECT_EQ(tok.encode("a", false), (std::vector<lp::TokenId>{3}));
}

TEST(TokenizerGguf, UnsupportedModelIsNamed) {
  auto w = llama_vocab_writer();
  w.set("tokenizer.ggml.model", Value::str("t5"));
  const lp::Error e = load_error(w);
  EXPECT_EQ(e.kind(), lp::ErrorKind::Unsupported);
  EXPECT_NE(std::string(e.what()).find("t5"), std::string::npos) << e.what();
}

TEST(TokenizerGguf, MissingKeysAreNamed) {
  lp::gguf::Writer no_model;
  no_model.set("tokenizer.ggml.tokens", Value::string_array({"a"}));
  lp::Error e = load_error(no_model);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();

  lp::gguf::Writer no_tokens;
  no_tokens.set("tokenizer.ggml.model", Value::str("llama"));
  e = load_error(no_tokens);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.tokens"), std::string::npos) << e.what();
}

TEST(TokenizerGguf, MalformedKeysAreNamed) {
  auto mistyped = llama_vocab_writer();
  mistyped.set("tokenizer.ggml.scores", Value::str("not scores"));
  lp::Error e = load_error(mistyped);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.scores"), std::string::npos) << e.what();

  auto short_types = llama_vocab_writer();
  short_types.set("tokenizer.ggml.token_type", Value::i32_array({2, 3, 3}));
  e = load_error(short_types);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.token_type"), std::string::npos) << e.what();

  auto bad_bos = llama_vocab_writer();
  bad_bos.set("tokenizer.ggml.bos_token_id", Value::u32(70000));
  e = load_error(bad_bos);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.bos_token_id"), std::string::npos) << e.what();
}

}  // namespace
