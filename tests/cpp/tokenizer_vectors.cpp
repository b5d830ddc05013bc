// llama.cpp's own tokenizer test vectors (models/ggml-vocab-*.gguf with .inp/.out beside them,
// extracted by scripts/setup): every string of every supported vocabulary must give exactly the
// expected ids (llama.cpp's test-tokenizer-0: no BOS, no special-token parsing).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

const fs::path kModels = LLAMAPROF_LLAMACPP_MODELS;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Case {
  std::string text;
  std::vector<lp::TokenId> ids;
};

// The .inp/.out pair as test-tokenizer-0 reads it: inputs separated by "\n__ggml_vocab_test__\n",
// one line of space-separated ids per input.
std::vector<Case> read_cases(const fs::path& gguf) {
  const std::string raw = read_all(gguf.string() + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(gguf.string() + ".out");
  std::vector<Case> cases;
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    Case c;
    if (i < inputs.size()) c.text = inputs[i];
    std::istringstream ids(line);
    for (lp::TokenId id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), inputs.size()) << gguf << ": .inp and .out disagree on the number of tests";
  return cases;
}

class TokenizerVectors : public testing::TestWithParam<const char*> {};

TEST_P(TokenizerVectors, AllIdsAreLlamaCpps) {
  ASSERT_TRUE(fs::is_directory(kModels)) << kModels
                                         << " is missing: run scripts/setup (it extracts llama.cpp's "
                                            "vocabularies and test vectors)";
  const fs::path gguf = kModels / (std::string("ggml-vocab-") + GetParam() + ".gguf");
  ASSERT_TRUE(fs::exists(gguf) && fs::exists(gguf.string() + ".inp"))
      << gguf << " or its .inp is missing: run scripts/setup";
  const lp::gguf::File file = lp::gguf::File::open(gguf.string());
  const lp::Tokenizer tok = lp::Tokenizer::from_gguf(file);
  const std::vector<Case> cases = read_cases(gguf);
  ASSERT_GE(cases.size(), 30u);
  int same = 0;
  for (const Case& c : cases) {
    const std::vector<lp::TokenId> got = tok.encode(c.text, false, false);
    if (got == c.ids) {
      ++same;
    } else {
      ADD_FAILURE() << GetParam() << ": \"" << c.text << "\"\n  ours:      " << testing::PrintToString(got)
                    << "\n  llama.cpp: " << testing::PrintToString(c.ids);
    }
  }
  EXPECT_EQ(same, static_cast<int>(cases.size()));
  std::printf("# %s: %d/%zu vectors identical to llama.cpp\n", GetParam(), same, cases.size());
}

std::string param_name(const testing::TestParamInfo<const char*>& info) {
  std::string n = info.param;
  for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Bpe, TokenizerVectors,
                         testing::Values("llama-bpe", "qwen2", "qwen35", "gpt-2", "starcoder",
                                         "deepseek-coder", "deepseek-llm", "falcon", "command-r", "refact",
                                         "mpt"),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Spm, TokenizerVectors, testing::Values("llama-spm", "phi-3"), param_name);
// Gemma 4: BPE merges over SentencePiece pieces (tokenizer.ggml.model "gemma4").
INSTANTIATE_TEST_SUITE_P(Gemma4, TokenizerVectors, testing::Values("gemma-4"), param_name);

}  // namespace
