// Byte-level BPE ("gpt2"): merge order by rank, the errors for bad vocabularies, llama.cpp's
// end-of-generation set, decoding (exact pieces, clean_spaces in decode), invalid UTF-8, and the
// StreamDecoder over tokens that split UTF-8 characters. Small vocabularies are built in memory;
// the EOG and decoding tests use llama.cpp's real vocabularies (scripts/setup extracts them).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

namespace {

using lp::TokenId;
using lp::gguf::Value;
using Ids = std::vector<TokenId>;

const std::filesystem::path kModels = LLAMAPROF_LLAMACPP_MODELS;

// Tokens: 0 "a", 1 "b", 2 "c", 3 "ab", 4 "bc", 5 "abc", 6 "Ġ" (the space's stand-in), 7 "<|endoftext|>".
// `without` names a key to leave out.
lp::gguf::Writer tiny_bpe(const std::vector<std::string>& merges, const std::string& without = "") {
  lp::gguf::Writer w;
  w.set("tokenizer.ggml.model", Value::str("gpt2"));
  if (without != "tokenizer.ggml.pre") w.set("tokenizer.ggml.pre", Value::str("gpt-2"));
  w.set("tokenizer.ggml.tokens",
        Value::string_array({"a", "b", "c", "ab", "bc", "abc", "\xC4\xA0", "<|endoftext|>"}));
  w.set("tokenizer.ggml.token_type", Value::i32_array({1, 1, 1, 1, 1, 1, 1, 3}));
  if (without != "tokenizer.ggml.merges") w.set("tokenizer.ggml.merges", Value::string_array(merges));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(7));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(7));
  return w;
}

lp::Tokenizer load(const lp::gguf::Writer& w) { return lp::test::load_tokenizer(w); }
lp::Error load_error(const lp::gguf::Writer& w) { return lp::test::tokenizer_load_error(w); }

bool mentions(const lp::Error& e, const std::string& what) {
  return std::string(e.what()).find(what) != std::string::npos;
}

lp::Tokenizer real(const std::string& name) {
  const std::filesystem::path p = kModels / ("ggml-vocab-" + name + ".gguf");
  if (!std::filesystem::exists(p)) throw std::runtime_error(p.string() + " is missing: run scripts/setup");
  const lp::gguf::File file = lp::gguf::File::open(p.string());
  return lp::Tokenizer::from_gguf(file);
}

std::string pieces(const lp::Tokenizer& tok, const Ids& ids) {
  std::string s;
  for (TokenId id : ids) s += tok.token_to_piece(id);
  return s;
}

TEST(TokenizerBpe, MergesApplyLowestRankFirst) {
  // "b c" outranks "a b": a + bc, then "a bc" -> abc.
  const lp::Tokenizer first_bc = load(tiny_bpe({"b c", "a b", "a bc"}));
  EXPECT_EQ(first_bc.model(), "gpt2");
  EXPECT_EQ(first_bc.encode("abc", false), (Ids{5}));
  // Without "a bc" the result stays a + bc; with "a b" first it is ab + c.
  EXPECT_EQ(load(tiny_bpe({"b c", "a b"})).encode("abc", false), (Ids{0, 4}));
  EXPECT_EQ(load(tiny_bpe({"a b", "b c"})).encode("abc", false), (Ids{3, 2}));
  // The pre-tokenizer cuts " abc" into one word " abc" (Ġ stays alone: no merge with it).
  EXPECT_EQ(first_bc.encode(" abc", false), (Ids{6, 5}));
  // No BOS by default for gpt-2 (llama.cpp's BPE default), even when asked for add_special.
  EXPECT_EQ(first_bc.encode("a", true), (Ids{0}));
}

TEST(TokenizerBpe, SpecialTokensOnlyWithParseSpecial) {
  const lp::Tokenizer tok = load(tiny_bpe({"a b"}));
  EXPECT_EQ(tok.encode("ab<|endoftext|>", false, true), (Ids{3, 7}));
  const Ids plain = tok.encode("ab<|endoftext|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 7), 0);
  EXPECT_TRUE(tok.is_eog(7));  // EOS, and <|endoftext|> by its text
}

TEST(TokenizerBpe, BadVocabulariesAreNamedErrors) {
  lp::Error e = load_error(tiny_bpe({"a b", "a zz"}));
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_TRUE(mentions(e, "tokenizer.ggml.merges[1]") && mentions(e, "zz")) << e.what();

  e = load_error(tiny_bpe({"ab"}));
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_TRUE(mentions(e, "tokenizer.ggml.merges[0]")) << e.what();

  auto w = tiny_bpe({"a b"});
  w.set("tokenizer.ggml.pre", Value::str("no-such-pre"));
  e = load_error(w);
  EXPECT_EQ(e.kind(), lp::ErrorKind::Unsupported);
  EXPECT_TRUE(mentions(e, "no-such-pre") && mentions(e, "llama-bpe") && mentions(e, "qwen2")) << e.what();

  e = load_error(tiny_bpe({"a b"}, "tokenizer.ggml.merges"));
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_TRUE(mentions(e, "tokenizer.ggml.merges")) << e.what();

  w = tiny_bpe({"a b"});
  w.set("tokenizer.ggml.merges", Value::i32_array({1, 2}));
  e = load_error(w);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_TRUE(mentions(e, "tokenizer.ggml.merges") && mentions(e, "wrong type")) << e.what();

  w = tiny_bpe({"a b"});
  w.set("tokenizer.ggml.pre", Value::u32(3));
  e = load_error(w);
  EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidFile);
  EXPECT_TRUE(mentions(e, "tokenizer.ggml.pre") && mentions(e, "wrong type")) << e.what();

  w = tiny_bpe({"a b"});
  w.set("tokenizer.ggml.model", Value::str("t5"));  // Unigram: not implemented
  e = load_error(w);
  EXPECT_EQ(e.kind(), lp::ErrorKind::Unsupported);
  EXPECT_TRUE(mentions(e, "t5")) << e.what();
}

TEST(TokenizerBpe, NoPreKeyIsLlamaCppsDefault) {
  const lp::Tokenizer tok = load(tiny_bpe({"a b"}, "tokenizer.ggml.pre"));
  EXPECT_EQ(tok.pre(), "default");
  EXPECT_EQ(tok.encode("ab", false), (Ids{3}));
}

TEST(TokenizerBpe, EndOfGenerationIsLlamaCppsSet) {
  // llama.cpp's vocabulary is Llama 3.0's: 128008 is still a reserved token (3.1 made it
  // <|eom_id|>). These sets are what llama.cpp's llama_vocab_is_eog gives for the two files.
  const lp::Tokenizer llama3 = real("llama-bpe");
  EXPECT_EQ(llama3.pre(), "llama-bpe");
  EXPECT_EQ(llama3.token_text(128001), "<|end_of_text|>");
  EXPECT_EQ(llama3.token_text(128009), "<|eot_id|>");
  EXPECT_EQ(llama3.eog_ids(), (Ids{128001, 128009}));
  EXPECT_FALSE(llama3.is_eog(128000));  // <|begin_of_text|>

  const lp::Tokenizer qwen = real("qwen2");
  std::vector<std::string> texts;
  for (TokenId id : qwen.eog_ids()) texts.push_back(qwen.token_text(id));
  EXPECT_EQ(texts, (std::vector<std::string>{"</s>", "<|endoftext|>", "<|im_end|>"}));
}

TEST(TokenizerBpe, EndOfGenerationRules) {
  // Llama 3.1's specials: EOS by key, <|eom_id|> and <|eot_id|> by text; FIM pad by text; a
  // normal-typed <|eot_id|> becomes control (llama.cpp overrides "control-looking" tokens).
  lp::gguf::Writer w;
  w.set("tokenizer.ggml.model", Value::str("gpt2"));
  w.set("tokenizer.ggml.pre", Value::str("llama-bpe"));
  w.set("tokenizer.ggml.tokens",
        Value::string_array({"a", "b", "<|begin_of_text|>", "<|end_of_text|>", "<|eom_id|>", "<|eot_id|>",
                             "<|fim_pad|>", "<|python_tag|>", "<|end|>"}));
  w.set("tokenizer.ggml.token_type", Value::i32_array({1, 1, 3, 3, 3, 1, 3, 3, 3}));
  w.set("tokenizer.ggml.merges", Value::string_array({"a b"}));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(2));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(3));
  w.set("tokenizer.ggml.eot_token_id", Value::u32(7));  // a key wins over the text rules
  lp::Tokenizer tok = load(w);
  EXPECT_EQ(tok.eog_ids(), (Ids{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(tok.kind(5), lp::TokenKind::Control);
  EXPECT_EQ(tok.encode("a", true), (Ids{2, 0}));  // llama3 pre: BOS by default

  // With <|return|> and <|call|> (gpt-oss), <|end|> no longer ends generation.
  w.set("tokenizer.ggml.tokens",
        Value::string_array({"a", "b", "<|begin_of_text|>", "<|end_of_text|>", "<|return|>", "<|call|>",
                             "<|fim_pad|>", "<|python_tag|>", "<|end|>"}));
  tok = load(w);
  EXPECT_FALSE(tok.is_eog(8));
  EXPECT_EQ(tok.kind(8), lp::TokenKind::UserDefined);
  EXPECT_TRUE(tok.is_eog(4) && tok.is_eog(5));
}

TEST(TokenizerBpe, PiecesAreExactAndDecodeCleansSpacesLikeLlamaCpp) {
  const std::string text = "Hello , world ! It 's  \xF0\x9F\xA6\x99\r\n\t x";
  for (const char* name : {"llama-bpe", "qwen2", "gpt-2"}) {
    const lp::Tokenizer tok = real(name);
    EXPECT_EQ(pieces(tok, tok.encode(text, false)), text) << name;
  }
  // llama-bpe has clean_spaces (llama.cpp): " ," " !" " 's" lose their space; qwen2 does not.
  const lp::Tokenizer llama3 = real("llama-bpe");
  EXPECT_EQ(llama3.decode(llama3.encode(text, false)), "Hello, world! It's  \xF0\x9F\xA6\x99\r\n\t x");
  const lp::Tokenizer qwen = real("qwen2");
  EXPECT_EQ(qwen.decode(qwen.encode(text, false)), text);
}

TEST(TokenizerBpe, InvalidUtf8IsReadAsReplacementCharacters) {
  // llama.cpp reads each invalid byte as U+FFFD before pre-tokenizing.
  const lp::Tokenizer tok = real("llama-bpe");
  EXPECT_EQ(tok.encode("a\xFF"
                       "b",
                       false),
            tok.encode("a\xEF\xBF\xBD"
                       "b",
                       false));
  EXPECT_EQ(tok.encode("\xE2\x82", false), tok.encode("\xEF\xBF\xBD\xEF\xBF\xBD", false));
}

TEST(TokenizerBpe, NextLineIsWhiteSpaceAsInLlamaCpp) {
  // llama.cpp's \s includes U+0085, PCRE2's does not: the pattern rewrite makes them agree
  // (ids from llama.cpp).
  const std::string text = "x  \xC2\x85\xC2\x85 y";
  EXPECT_EQ(real("llama-bpe").encode(text, false), (Ids{87, 256, 116360, 116360, 379}));
  EXPECT_EQ(real("gpt-2").encode(text, false), (Ids{87, 220, 1587, 227, 126, 227, 331}));
}

TEST(TokenizerBpe, ConcurrentEncodesShareOneTokenizer) {
  // One immutable vocabulary, compiled regexes shared; match data and scratch are per thread.
  const lp::Tokenizer tok = real("qwen2");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Hello, world! \xE4\xBD\xA0\xE5\xA5\xBD 12345 it's  x\r\n" + std::to_string(i);
  const Ids expected = tok.encode(text, false);
  std::vector<int> same(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) same[t] += tok.encode(text, false) == expected;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(same, (std::vector<int>{20, 20, 20, 20}));
}

TEST(TokenizerBpe, StreamDecoderHoldsBackSplitCharacters) {
  const lp::Tokenizer tok = real("llama-bpe");
  const std::string text = "\xF0\x9F\xA6\x99 llama \xE4\xBD\xA0\xE5\xA5\xBD";  // "🦙 llama 你好"
  const Ids ids = tok.encode(text, false);
  ASSERT_GT(ids.size(), 4u);
  // The llama emoji is more than one token: the first push must not emit half of it.
  EXPECT_NE(tok.token_to_piece(ids[0]), "\xF0\x9F\xA6\x99");
  lp::Tokenizer::StreamDecoder stream(tok);
  std::string out;
  for (TokenId id : ids) {
    const std::string piece = stream.push(id);
    out += piece;
    EXPECT_TRUE(out.empty() || text.compare(0, out.size(), out) == 0) << "emitted a partial character";
  }
  out += stream.flush();
  EXPECT_EQ(out, text);
}

}  // namespace
