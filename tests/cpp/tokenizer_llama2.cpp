// The real Llama 2 vocabulary (the TSV that scripts/setup exports from llama-tokenizer-js for
// make-model) against llama-tokenizer-js's own test cases. Its encode() adds BOS and the leading
// space, which is our encode(text, add_bos = true). The node oracle test runs every case of the
// package (and llama.cpp itself); these are the short ones, for a fast signal.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

using lp::TokenId;

const char* kVocabPath = LLAMAPROF_SOURCE_DIR "/tools/oracle/generated/llama2-vocab.tsv";

// TSV lines "id \t score \t type \t text"; text escapes \\ \t \n \r (tools/oracle/export-vocab.mjs).
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
  }
  return out;
}

std::optional<lp::Tokenizer> load_llama2() {
  std::ifstream in(kVocabPath, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    if (c == std::string::npos) throw std::runtime_error("bad vocab line: " + line);
    if (std::stoul(line.substr(0, a)) != tokens.size()) throw std::runtime_error("ids out of order: " + line);
    scores.push_back(std::stof(line.substr(a + 1, b - a - 1)));
    types.push_back(std::stoi(line.substr(b + 1, c - b - 1)));
    tokens.push_back(unescape(line.substr(c + 1)));
  }
  return lp::Tokenizer::from_vectors(std::move(tokens), std::move(scores), std::move(types), 1, 2, 0);
}

class Llama2Vocab : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tok_ = new std::optional<lp::Tokenizer>(load_llama2()); }
  static void TearDownTestSuite() { delete tok_; }
  void SetUp() override {
    if (!tok_->has_value()) GTEST_SKIP() << "no " << kVocabPath << " (scripts/setup exports it)";
  }
  const lp::Tokenizer& tok() const { return **tok_; }
  static std::optional<lp::Tokenizer>* tok_;
};
std::optional<lp::Tokenizer>* Llama2Vocab::tok_ = nullptr;

TEST_F(Llama2Vocab, LlamaTokenizerJsCases) {
  const std::vector<std::pair<std::string, std::vector<TokenId>>> cases = {
      {"grabbed", {1, 2646, 1327, 287}},
      {" grabbed", {1, 29871, 2646, 1327, 287}},
      {"           grabbed", {1, 9651, 2646, 1327, 287}},
      {"\n", {1, 29871, 13}},
      {" \n", {1, 259, 13}},
      {"\ttabs\t\t\t\tout here", {1, 29871, 12, 21175, 12, 12, 12, 12, 449, 1244}},
      {"ax\n####\nboo", {1, 4853, 13, 4136, 13, 833, 29877}},
      {"\xE9\x95\x87", {1, 29871, 30411}},                                      // 镇
      {"\xF0\x9F\xA6\x99", {1, 29871, 243, 162, 169, 156}},                     // 🦙
      {"\xF0\x9F\xA6\x99\xEA\x99\x8A", {1, 29871, 243, 162, 169, 156, 237, 156, 141}},  // 🦙Ꙋ
      {"\xEA\x99\x8A\xF0\x9F\xA6\x99", {1, 29871, 237, 156, 141, 243, 162, 169, 156}},  // Ꙋ🦙
  };
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(tok().encode(text, true), ids) << "text: " << text;
    // llama-tokenizer-js decodes these back to the text once BOS and the dummy space are dropped.
    EXPECT_EQ(tok().decode(std::vector<TokenId>(ids.begin() + 1, ids.end())), text);
  }
}

TEST_F(Llama2Vocab, SpecialTokens) {
  EXPECT_EQ(tok().n_vocab(), 32000);
  EXPECT_EQ(tok().encode("<s>Hi</s>", false, true).front(), 1);
  EXPECT_EQ(tok().encode("<s>Hi</s>", false, true).back(), 2);
  EXPECT_NE(tok().encode("<s>", false, false), (std::vector<TokenId>{1}));
  EXPECT_EQ(tok().token_to_piece(13), "\n");  // <0x0A>
}

}  // namespace
