// `llamaprof info` on a small llama-like file: the text summary and the --json object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gguf/writer.h"
#include "gguf_test_util.h"

namespace lp::gguf {
namespace {

std::string write_model(const testing::ScratchDir& dir) {
  Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("general.name", Value::str("tiny test"));
  w.set("general.file_type", Value::u32(2));
  w.set("llama.context_length", Value::u32(2048));
  w.set("llama.embedding_length", Value::u32(64));
  w.set("llama.block_count", Value::u32(1));
  w.set("llama.feed_forward_length", Value::u32(128));
  w.set("llama.attention.head_count", Value::u32(4));
  w.set("llama.attention.head_count_kv", Value::u32(2));
  w.set("llama.rope.freq_base", Value::f32(10000.0f));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
  w.set("llama.rope.scaling.type", Value::str("linear"));
  std::vector<std::string> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back("tok" + std::to_string(i));
  w.set("tokenizer.ggml.model", Value::str("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array(tokens));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(2));
  auto zeros = [](uint8_t* dst, uint64_t n) { std::fill(dst, dst + n, uint8_t(0)); };
  w.add_tensor("token_embd.weight", TensorType::Q4_0, {64, 100}, zeros);
  w.add_tensor("output_norm.weight", TensorType::F32, {64}, zeros);
  const std::string path = dir.file("tiny.gguf");
  w.write(path);
  return path;
}

TEST(GgufInfoCli, PrintsTheSummaryAsText) {
  testing::ScratchDir dir;
  const std::string path = write_model(dir);
  const testing::CliResult r = testing::run_cli({"info", path}, dir);
  ASSERT_TRUE(r.exited);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"architecture  llama", "supported     yes (llamaprof runs llama, qwen2, qwen3, gemma2, gemma3, phi3, qwen3moe)", "context_length", "2048", "attention.head_count_kv",
                           "layer_norm_rms_epsilon", "1e-05", "rope.scaling.type", "general.name", "tiny test",
                           "vocab size  100", "bos id      1", "token_embd.weight", "Q4_0", "[64, 100]",
                           "output_norm.weight", "parameters       6464", "bits per weight"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
}

TEST(GgufInfoCli, PrintsOneJsonObjectWithAllMetadata) {
  testing::ScratchDir dir;
  const std::string path = write_model(dir);
  const testing::CliResult r = testing::run_cli({"info", path, "--json"}, dir);
  ASSERT_TRUE(r.exited);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["architecture_supported"], true);
  EXPECT_EQ(j["supported_architectures"], (nlohmann::json{"llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "qwen3moe"}));
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["hyperparameters"]["context_length"], 2048);
  EXPECT_EQ(j["hyperparameters"]["attention.layer_norm_rms_epsilon"], 1e-5);
  EXPECT_EQ(j["general"]["name"], "tiny test");
  EXPECT_EQ(j["vocab_size"], 100);
  EXPECT_EQ(j["tokenizer"]["model"], "llama");
  EXPECT_EQ(j["tokenizer"]["eos_token_id"], 2);
  EXPECT_EQ(j["metadata"].size(), 16u);
  EXPECT_EQ(j["metadata"]["llama.rope.freq_base"], 10000.0);
  EXPECT_EQ(j["metadata_types"]["llama.rope.freq_base"], "FLOAT32");
  EXPECT_EQ(j["metadata"]["llama.rope.scaling.type"], "linear");
  // The 100 tokens are summarized, not listed.
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"],
            (nlohmann::json{{"type", "array"}, {"elem_type", "STRING"}, {"length", 100}}));
  EXPECT_EQ(j["metadata_types"]["tokenizer.ggml.tokens"], "ARRAY");
  ASSERT_EQ(j["tensors"].size(), 2u);
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["type"], "Q4_0");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::array({64, 100}));
  EXPECT_EQ(j["tensors"][0]["bytes"], 100 * 2 * 18);
  EXPECT_EQ(j["tensors"][1]["offset"], 3616);  // 3600 bytes padded to 32
  EXPECT_EQ(j["totals"]["parameters"], 6464);
  EXPECT_EQ(j["totals"]["bytes"], 3600 + 256);
  EXPECT_NEAR(j["bits_per_weight"].get<double>(), 8.0 * 3856 / 6464, 1e-9);
}

TEST(GgufInfoCli, NeedsAFileOrSystem) {
  testing::ScratchDir dir;
  const testing::CliResult r = testing::run_cli({"info"}, dir);
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("FILE is required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lp::gguf
