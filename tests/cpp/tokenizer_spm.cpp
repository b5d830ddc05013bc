// SentencePiece encoding and decoding on small hand-built vocabularies: merge order by score,
// leftmost ties, byte fallback, whitespace, special tokens, BOS/EOS and the vocabulary checks.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"

namespace {

using lp::TokenId;
using lp::Tokenizer;

// <unk> <s> </s>, the 256 byte tokens (ids 3..258), then `normal` {text, score} from id 259.
struct VocabBuilder {
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0, 0, 0};
  std::vector<int32_t> types{2, 3, 3};

  VocabBuilder() {
    for (int b = 0; b < 256; ++b) {
      char text[8];
      std::snprintf(text, sizeof text, "<0x%02X>", b);
      add(text, 0, 6);
    }
  }
  TokenId add(const std::string& text, float score, int32_t type = 1) {
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(type);
    return static_cast<TokenId>(tokens.size() - 1);
  }
  TokenId id(const std::string& text) const {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == text) return static_cast<TokenId>(i);
    }
    ADD_FAILURE() << "no token " << text;
    return -1;
  }
  Tokenizer build(lp::TokenizerFlags flags = {}) const {
    return Tokenizer::from_vectors(tokens, scores, types, 1, 2, 0, flags);
  }
};

constexpr TokenId byte_id(int b) { return 3 + b; }
const std::string kSp = "\xE2\x96\x81";  // "▁"

TEST(TokenizerSpm, HigherScoreMergesFirst) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("a", -10);
  v.add("b", -10);
  v.add("c", -10);
  v.add(kSp + "a", -3);
  v.add("ab", -2);
  v.add("bc", -1);
  // "bc" (-1) beats "ab" (-2): ▁ a bc, then "▁a" (-3); "abc" is not a token.
  EXPECT_EQ(v.build().encode("abc", false), (std::vector<TokenId>{v.id(kSp + "a"), v.id("bc")}));

  VocabBuilder w = v;
  w.scores[w.id("ab")] = 0;  // now "ab" first: ▁ ab c, and "▁ab" is not a token
  EXPECT_EQ(w.build().encode("abc", false), (std::vector<TokenId>{w.id(kSp), w.id("ab"), w.id("c")}));
}

TEST(TokenizerSpm, MergedPairsKeepMerging) {
  VocabBuilder v;
  v.add(kSp, -10);
  for (const char* t : {"a", "b", "c", "d"}) v.add(t, -10);
  v.add("ab", -1);
  v.add("cd", -2);
  v.add("abcd", -3);
  v.add(kSp + "abcd", -4);
  EXPECT_EQ(v.build().encode("abcd", false), (std::vector<TokenId>{v.id(kSp + "abcd")}));
}

TEST(TokenizerSpm, EqualScoresMergeLeftmostFirst) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("a", -10);
  v.add("aa", -1);
  // ▁ a a a: both "aa" pairs score -1; the left one merges, leaving the last "a" alone.
  EXPECT_EQ(v.build().encode("aaa", false), (std::vector<TokenId>{v.id(kSp), v.id("aa"), v.id("a")}));
}

TEST(TokenizerSpm, UnknownCharactersFallBackToBytes) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("x", -10);
  // é (C3 A9) and 🦙 (F0 9F A6 99) are not in the vocabulary: one byte token per UTF-8 byte.
  EXPECT_EQ(v.build().encode("x\xC3\xA9\xF0\x9F\xA6\x99", false),
            (std::vector<TokenId>{v.id(kSp), v.id("x"), byte_id(0xC3), byte_id(0xA9), byte_id(0xF0), byte_id(0x9F),
                                  byte_id(0xA6), byte_id(0x99)}));
  // A multi-byte character that is a token is used whole.
  VocabBuilder w = v;
  w.add("\xC3\xA9", -5);
  EXPECT_EQ(w.build().encode("\xC3\xA9", false), (std::vector<TokenId>{w.id(kSp), w.id("\xC3\xA9")}));
  // Malformed UTF-8 still encodes, byte by byte.
  EXPECT_EQ(v.build().encode("\xA9", false), (std::vector<TokenId>{v.id(kSp), byte_id(0xA9)}));
}

TEST(TokenizerSpm, WhitespaceRunsNewlinesAndTabs) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("a", -10);
  v.add("b", -10);
  v.add(kSp + kSp, -1);
  v.add(kSp + "a", -2);
  v.add(kSp + "b", -2);
  const Tokenizer tok = v.build();
  // Spaces become ▁; a run of them merges pairwise from the left (▁▁ beats ▁b).
  EXPECT_EQ(tok.encode("a   b", false), (std::vector<TokenId>{v.id(kSp + "a"), v.id(kSp + kSp), v.id(kSp + "b")}));
  // Only ' ' is a space to SentencePiece: newline and tab fall back to their byte tokens.
  EXPECT_EQ(tok.encode("a\n\tb", false),
            (std::vector<TokenId>{v.id(kSp + "a"), byte_id('\n'), byte_id('\t'), v.id("b")}));
  // A leading space adds to the dummy prefix; trailing spaces stay.
  EXPECT_EQ(tok.encode(" a ", false), (std::vector<TokenId>{v.id(kSp + kSp), v.id("a"), v.id(kSp)}));
}

TEST(TokenizerSpm, BosEosAndEmptyText) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("a", -10);
  const Tokenizer tok = v.build();
  EXPECT_EQ(tok.encode("", false), std::vector<TokenId>{});
  EXPECT_EQ(tok.encode("", true), std::vector<TokenId>{1});
  EXPECT_EQ(tok.encode("a", true), (std::vector<TokenId>{1, v.id(kSp), v.id("a")}));

  lp::TokenizerFlags flags;
  flags.add_bos = false;
  flags.add_eos = true;
  flags.add_space_prefix = false;
  const Tokenizer other = v.build(flags);
  EXPECT_EQ(other.encode("a", true), (std::vector<TokenId>{v.id("a"), 2}));
  EXPECT_EQ(other.encode("a", false), (std::vector<TokenId>{v.id("a")}));
}

TEST(TokenizerSpm, SpecialTokensOnlyWhenParsed) {
  VocabBuilder v;
  v.add(kSp, -10);
  for (const char* t : {"a", "<", "s", ">", "/"}) v.add(t, -10);
  const Tokenizer tok = v.build();
  // Parsed: "<s>" and "</s>" are their control tokens, and raw text after one gets the space prefix.
  EXPECT_EQ(tok.encode("a<s>a</s>", false, true),
            (std::vector<TokenId>{v.id(kSp), v.id("a"), 1, v.id(kSp), v.id("a"), 2}));
  EXPECT_EQ(tok.encode("<s>", false, true), (std::vector<TokenId>{1}));
  EXPECT_EQ(tok.encode("<s>", true, true), (std::vector<TokenId>{1, 1}));
  // Not parsed: plain characters. <unk> is special too (llama.cpp matches it only when parsing).
  EXPECT_EQ(tok.encode("<s>", false, false), (std::vector<TokenId>{v.id(kSp), v.id("<"), v.id("s"), v.id(">")}));
  EXPECT_EQ(tok.encode("<unk>", false, true), (std::vector<TokenId>{0}));
}

TEST(TokenizerSpm, UserDefinedTokensAlwaysMatchAndLongestWins) {
  VocabBuilder v;
  v.add(kSp, -10);
  v.add("a", -10);
  const TokenId user = v.add("<|x|>", 0, 4);
  const TokenId longer = v.add("<|x|>a", 0, 4);
  const Tokenizer tok = v.build();
  EXPECT_EQ(tok.encode("<|x|>a<|x|>", false, false), (std::vector<TokenId>{longer, user}));
  EXPECT_EQ(tok.encode("a<|x|>", false, false), (std::vector<TokenId>{v.id(kSp), v.id("a"), user}));
}

TEST(TokenizerSpm, PiecesAndDecode) {
  VocabBuilder v;
  const TokenId sp = v.add(kSp, -10);
  const TokenId hello = v.add(kSp + "hi", -1);
  const TokenId there = v.add(kSp + "there", -1);
  const Tokenizer tok = v.build();
  EXPECT_EQ(tok.token_to_piece(hello), " hi");
  EXPECT_EQ(tok.token_to_piece(byte_id('\n')), "\n");
  EXPECT_EQ(tok.token_to_piece(1), "<s>");
  EXPECT_EQ(tok.token_to_piece(1, false), "");
  EXPECT_EQ(tok.token_text(hello), kSp + "hi");
  // llama.cpp's detokenize: the first token loses one leading space, nothing else does...
  EXPECT_EQ(tok.decode({hello, there}), "hi there");
  EXPECT_EQ(tok.decode({sp, sp, hello}), "  hi");
  // ...and a leading BOS is that first token, so the space after it stays.
  EXPECT_EQ(tok.decode({1, hello, there}), " hi there");
  EXPECT_EQ(tok.decode({1, hello, 2}, true), "<s> hi</s>");
  EXPECT_EQ(tok.decode({byte_id(0xC3), byte_id(0xA9)}), "\xC3\xA9");
  EXPECT_TRUE(tok.is_eog(2));
  EXPECT_FALSE(tok.is_eog(hello));
  EXPECT_THROW(tok.token_to_piece(tok.n_vocab()), lp::Error);
}

TEST(TokenizerSpm, RejectsInconsistentVocabularies) {
  VocabBuilder v;
  v.add("a", -1);
  auto kind_of = [](auto&& make) {
    try {
      make();
    } catch (const lp::Error& e) {
      return e.kind();
    }
    return lp::ErrorKind::Runtime;
  };
  auto short_scores = v;
  short_scores.scores.pop_back();
  EXPECT_EQ(kind_of([&] { short_scores.build(); }), lp::ErrorKind::InvalidFile);
  auto bad_byte = v;
  bad_byte.types[bad_byte.id("a")] = 6;  // BYTE but not spelled <0xNN>
  EXPECT_EQ(kind_of([&] { bad_byte.build(); }), lp::ErrorKind::InvalidFile);
  auto bad_type = v;
  bad_type.types[bad_type.id("a")] = 9;
  EXPECT_EQ(kind_of([&] { bad_type.build(); }), lp::ErrorKind::InvalidFile);
  EXPECT_EQ(kind_of([&] { Tokenizer::from_vectors(v.tokens, v.scores, v.types, 99999, 2, 0); }),
            lp::ErrorKind::InvalidFile);
}

}  // namespace
