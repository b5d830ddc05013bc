// Tokenizer::StreamDecoder: characters split across byte tokens, the first-space rule, and
// invalid UTF-8 turned into U+FFFD. The invariant: the streamed text equals decode() for valid text.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

using lp::TokenId;
using lp::Tokenizer;

const std::string kSp = "\xE2\x96\x81";  // "▁"
const std::string kFffd = "\xEF\xBF\xBD";

// <unk> <s> </s>, bytes at 3..258, then "▁hi" (259), "▁" (260), "é" (261).
Tokenizer small_vocab() {
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) {
    char text[8];
    std::snprintf(text, sizeof text, "<0x%02X>", b);
    tokens.push_back(text);
  }
  tokens.insert(tokens.end(), {kSp + "hi", kSp, "\xC3\xA9"});
  std::vector<int32_t> types(tokens.size(), 1);
  types[0] = 2;
  types[1] = types[2] = 3;
  for (int b = 0; b < 256; ++b) types[3 + b] = 6;
  return Tokenizer::from_vectors(tokens, std::vector<float>(tokens.size(), 0.0f), types, 1, 2, 0);
}

constexpr TokenId byte_id(int b) { return 3 + b; }
constexpr TokenId kHi = 259, kSpace = 260, kEacute = 261;

std::vector<std::string> stream(const Tokenizer& tok, const std::vector<TokenId>& ids, bool continues = false) {
  Tokenizer::StreamDecoder dec(tok, continues);
  std::vector<std::string> out;
  for (TokenId id : ids) out.push_back(dec.push(id));
  out.push_back(dec.flush());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

TEST(TokenizerStream, HoldsBackSplitCharacters) {
  const Tokenizer tok = small_vocab();
  // 🦙 = F0 9F A6 99 as four byte tokens: nothing until the fourth byte arrives.
  const std::vector<TokenId> ids{kHi, byte_id(0xF0), byte_id(0x9F), byte_id(0xA6), byte_id(0x99), kEacute};
  const auto parts = stream(tok, ids);
  EXPECT_EQ(parts, (std::vector<std::string>{"hi", "", "", "", "\xF0\x9F\xA6\x99", "\xC3\xA9", ""}));
  EXPECT_EQ(joined(parts), tok.decode(ids));
}

TEST(TokenizerStream, ACharacterSplitAcrossABytePairThenText) {
  const Tokenizer tok = small_vocab();
  // é as C3 + A9, followed by a normal token in the same push as the completing byte's successor.
  const std::vector<TokenId> ids{byte_id(0xC3), byte_id(0xA9), kHi};
  EXPECT_EQ(stream(tok, ids), (std::vector<std::string>{"", "\xC3\xA9", " hi", ""}));
}

TEST(TokenizerStream, FirstSpaceRuleMatchesDecode) {
  const Tokenizer tok = small_vocab();
  EXPECT_EQ(joined(stream(tok, {kHi, kHi})), "hi hi");
  EXPECT_EQ(joined(stream(tok, {1, kHi})), " hi");  // after BOS the space stays, as in llama.cpp
  EXPECT_EQ(joined(stream(tok, {1, kHi})), tok.decode({1, kHi}));
  EXPECT_EQ(joined(stream(tok, {kSpace, kHi})), tok.decode({kSpace, kHi}));
  // Text that continues a prompt keeps its first space.
  EXPECT_EQ(joined(stream(tok, {kHi, kHi}, true)), " hi hi");
}

TEST(TokenizerStream, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer tok = small_vocab();
  // A stray continuation byte can never become valid: replaced at once.
  EXPECT_EQ(stream(tok, {byte_id(0xA9), kHi}), (std::vector<std::string>{kFffd, " hi", ""}));
  // A lead byte followed by a non-continuation: the lead alone is one U+FFFD, then the text.
  EXPECT_EQ(joined(stream(tok, {byte_id(0xE2), kHi})), kFffd + " hi");
  // An incomplete character at the end is flushed as one U+FFFD.
  EXPECT_EQ(stream(tok, {kHi, byte_id(0xE2), byte_id(0x96)}), (std::vector<std::string>{"hi", "", "", kFffd}));
  // Overlong and surrogate encodings are not valid UTF-8.
  EXPECT_EQ(joined(stream(tok, {byte_id(0xC0), byte_id(0x80)})), kFffd + kFffd);
  EXPECT_EQ(joined(stream(tok, {byte_id(0xED), byte_id(0xA0), byte_id(0x80)})), kFffd + kFffd + kFffd);
}

TEST(TokenizerStream, ControlTokensAreSilent) {
  const Tokenizer tok = small_vocab();
  EXPECT_EQ(stream(tok, {kHi, 2}), (std::vector<std::string>{"hi", "", ""}));
}

}  // namespace
