// make-model: the vocabulary TSV reader, the tensor plan of the presets, determinism for a seed
// (independent of the thread count) and the weight scales it promises.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "model/make_model.h"
#include "model/presets.h"
#include "quant/quantize.h"
#include "quant/recipe.h"

namespace lp::model {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  // The process id in the name: ctest runs this file's tests as parallel processes.
  const auto path = std::filesystem::temp_directory_path() /
                    ("llamaprof_make_model_test_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// A small vocabulary: the three special tokens, then n - 3 normal ones.
TokenizerKeys small_vocab(int n) {
  std::string tsv = "# test vocabulary\n0\t0\t2\t<unk>\n1\t0\t3\t<s>\n2\t0\t3\t</s>\n";
  for (int i = 3; i < n; ++i)
    tsv += std::to_string(i) + "\t" + std::to_string(-i) + "\t1\ttok" + std::to_string(i) + "\n";
  const std::string path = write_temp("small.tsv", tsv);
  TokenizerKeys keys = read_vocab_tsv(path);
  std::filesystem::remove(path);
  return keys;
}

const gguf::Value& key(const TokenizerKeys& keys, const std::string& name) {
  for (const auto& [k, v] : keys) {
    if (k == name) return v;
  }
  throw std::runtime_error("missing key " + name);
}

// Small enough to build in milliseconds, with every dimension a multiple of 256 (K-quants apply).
constexpr ModelPreset kMicro{"micro", "test", 256, 1, 512, 4, 2, 256, 10000.0f, 1e-5f, 0, true};

std::vector<uint8_t> build(const Recipe& recipe, uint64_t seed, int threads, const TokenizerKeys& vocab,
                           bool pooled = false) {
  gguf::Writer w;
  add_model(w, kMicro, recipe, vocab, {seed, threads, pooled});
  return w.to_bytes();
}

TEST(VocabTsv, ReadsEscapedTextScoresAndTypes) {
  const std::string path =
      write_temp("escapes.tsv",
                 "# id score type text\n0\t0\t2\t<unk>\n1\t0\t3\t<s>\n2\t0\t3\t</s>\n3\t0\t6\t<0x0A>\n"
                 "4\t-1.5\t1\ta\\tb\\nc\\\\d\\r\n5\t-7\t1\t\xE2\x96\x81the\n");
  const TokenizerKeys keys = read_vocab_tsv(path);
  EXPECT_EQ(key(keys, "tokenizer.ggml.model").as_string(), "llama");
  const auto tokens = key(keys, "tokenizer.ggml.tokens").as_string_vector();
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[4], "a\tb\nc\\d\r");
  EXPECT_EQ(tokens[5], "\xE2\x96\x81the");
  const auto scores = key(keys, "tokenizer.ggml.scores").as_f32_vector();
  EXPECT_FLOAT_EQ(scores[4], -1.5f);
  EXPECT_FLOAT_EQ(scores[5], -7.0f);
  EXPECT_EQ(key(keys, "tokenizer.ggml.token_type").as_i32_vector(), (std::vector<int32_t>{2, 3, 3, 6, 1, 1}));
  EXPECT_EQ(key(keys, "tokenizer.ggml.bos_token_id").as_u64(), 1u);
  EXPECT_EQ(key(keys, "tokenizer.ggml.eos_token_id").as_u64(), 2u);
  EXPECT_EQ(key(keys, "tokenizer.ggml.unknown_token_id").as_u64(), 0u);
  EXPECT_TRUE(key(keys, "tokenizer.ggml.add_bos_token").as_bool());
  EXPECT_FALSE(key(keys, "tokenizer.ggml.add_eos_token").as_bool());
  EXPECT_EQ(vocab_size(keys), 6);
}

TEST(VocabTsv, DefectsNameTheFileAndLine) {
  auto expect_error = [](const std::string& text, ErrorKind kind, const std::string& needle) {
    const std::string path = write_temp("bad.tsv", text);
    try {
      read_vocab_tsv(path);
      ADD_FAILURE() << "no error for: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string head = "0\t0\t2\t<unk>\n1\t0\t3\t<s>\n2\t0\t3\t</s>\n";
  expect_error(head + "4\t0\t1\tx\n", ErrorKind::InvalidFile, "bad.tsv:4: id 4 out of order");
  expect_error(head + "3\t0\t1\tx\\q\n", ErrorKind::InvalidFile, "bad.tsv:4: unknown escape");
  expect_error(head + "3\t0\t1\n", ErrorKind::InvalidFile, "bad.tsv:4: expected 4");
  expect_error(head + "3\tzero\t1\tx\n", ErrorKind::InvalidFile, "bad score");
  expect_error(head + "3\t0\t9\tx\n", ErrorKind::InvalidFile, "token type 9");
  expect_error("0\t0\t1\t<unk>\n1\t0\t3\t<s>\n2\t0\t3\t</s>\n", ErrorKind::InvalidFile, "ids 0, 1, 2");
  EXPECT_THROW(read_vocab_tsv("/nonexistent/llama2-vocab.tsv"), Error);
}

TEST(Presets, RealShapesHaveTheRealParameterCounts) {
  // Published parameter counts (embeddings and output counted separately, untied).
  EXPECT_EQ(parameter_count(*find_preset("llama2-7b"), 32000), 6738415616u);
  EXPECT_EQ(parameter_count(*find_preset("mistral-7b"), 32000), 7241732096u);
  EXPECT_EQ(parameter_count(*find_preset("tinyllama-1.1b"), 32000), 1100048384u);
  EXPECT_EQ(find_preset("nope"), nullptr);
  // Published counts of the newer families (tied ones count the embedding once).
  EXPECT_EQ(parameter_count(*find_preset("llama3.2-1b"), 128256), 1235814400u + 32u);  // + rope_freqs
  EXPECT_EQ(parameter_count(*find_preset("llama3.1-8b"), 128256), 8030261248u + 64u);  // + rope_freqs
  EXPECT_EQ(parameter_count(*find_preset("qwen2.5-0.5b"), 151936), 494032768u);
  EXPECT_EQ(parameter_count(*find_preset("qwen3-0.6b"), 151936), 596049920u);
  EXPECT_EQ(parameter_count(*find_preset("smollm2-135m"), 49152), 134515008u);
  // Part 2 (published counts with the models' own vocabulary sizes; rope factors add 2 x 48).
  EXPECT_EQ(parameter_count(*find_preset("gemma3-270m"), 262144), 268098176u);
  EXPECT_EQ(parameter_count(*find_preset("gemma3-1b"), 262144), 999885952u);
  EXPECT_EQ(parameter_count(*find_preset("gemma2-2b"), 256000), 2614341888u);
  EXPECT_EQ(parameter_count(*find_preset("phi3-mini"), 32064), 3821079552u);
  EXPECT_EQ(parameter_count(*find_preset("phi3.5-mini"), 32064), 3821079552u + 96u);
  EXPECT_EQ(parameter_count(*find_preset("qwen3-30b-a3b"), 151936), 30532122624u);
  for (const ModelPreset& p : presets()) {
    if (p.arch == "llama" && p.vocab.empty() && p.key_length == 0 && p.llama3_rope.factor == 0) {
      EXPECT_EQ(p.n_embd % 256, 0) << p.name;  // the Llama 2 family: every K-quant applies
      EXPECT_EQ(p.n_ff % 256, 0) << p.name;
    }
    EXPECT_EQ(p.n_head % p.n_head_kv, 0) << p.name;
    const auto f32 = find_recipe("F32");
    ASSERT_TRUE(f32);
    EXPECT_EQ(tensor_data_size(p, *f32, 32000), 4 * parameter_count(p, 32000)) << p.name;
  }
}

TEST(Presets, PlanUsesGgufNamesAndShapes) {
  const auto recipe = find_recipe("Q4_K_M");
  ASSERT_TRUE(recipe);
  const ModelPreset& p = *find_preset("mistral-7b");
  const auto plan = plan_tensors(p, *recipe, 32000);
  ASSERT_EQ(plan.size(), 3u + 9u * 32u);
  EXPECT_EQ(plan.front().name, "token_embd.weight");
  EXPECT_EQ(plan.front().shape, (std::vector<int64_t>{4096, 32000}));
  EXPECT_EQ(plan[3].name, "blk.0.attn_k.weight");
  EXPECT_EQ(plan[3].shape, (std::vector<int64_t>{4096, 1024}));  // 8 KV heads x 128
  EXPECT_EQ(plan[9].name, "blk.0.ffn_down.weight");
  EXPECT_EQ(plan[9].shape, (std::vector<int64_t>{14336, 4096}));
  EXPECT_EQ(plan.back().name, "output.weight");
  EXPECT_EQ(plan[1].type, TensorType::F32);  // attn_norm
  EXPECT_EQ(llama_file_type(*recipe), 15u);
  EXPECT_EQ(llama_file_type(*find_recipe("BF16")), 32u);
}

TEST(Presets, PlanFollowsTheArchitecture) {
  const auto recipe = find_recipe("Q4_K_M");
  ASSERT_TRUE(recipe);
  auto names = [](const std::vector<TensorPlan>& plan) {
    std::vector<std::string> n;
    for (const auto& t : plan) n.push_back(t.name);
    return n;
  };
  auto find = [](const std::vector<TensorPlan>& plan, const std::string& name) -> const TensorPlan& {
    for (const auto& t : plan) {
      if (t.name == name) return t;
    }
    throw std::runtime_error("no tensor " + name);
  };
  // qwen2: biases after V, tied output (token_embd gets the output rule: Q6_K, Q8_0 for 480 rows).
  const auto q2 = plan_tensors(*find_preset("tiny-qwen2"), *recipe, 32000);
  EXPECT_EQ(q2.size(), 2u + 12u * 2u);
  const std::vector<std::string> n2 = names(q2);
  EXPECT_EQ(std::vector<std::string>(n2.begin() + 1, n2.begin() + 9),
            (std::vector<std::string>{"blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
                                      "blk.0.attn_v.weight", "blk.0.attn_q.bias", "blk.0.attn_k.bias",
                                      "blk.0.attn_v.bias", "blk.0.attn_output.weight"}));
  EXPECT_EQ(find(q2, "blk.1.attn_k.bias").shape, (std::vector<int64_t>{80}));
  EXPECT_EQ(find(q2, "blk.1.attn_k.bias").type, TensorType::F32);
  EXPECT_EQ(find(q2, "token_embd.weight").type, TensorType::Q8_0);
  EXPECT_EQ(find(q2, "blk.0.attn_q.weight").type, TensorType::Q5_0);  // 480 is no multiple of 256
  EXPECT_EQ(n2.back(), "output_norm.weight");
  // qwen3: q/k norms [head_dim], q and Wo n_head * head_dim wide.
  const auto q3 = plan_tensors(*find_preset("qwen3-0.6b"), *recipe, 151936);
  EXPECT_EQ(q3.size(), 2u + 11u * 28u);
  EXPECT_EQ(find(q3, "blk.3.attn_q_norm.weight").shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(find(q3, "blk.3.attn_q.weight").shape, (std::vector<int64_t>{1024, 2048}));
  EXPECT_EQ(find(q3, "blk.3.attn_output.weight").shape, (std::vector<int64_t>{2048, 1024}));
  // llama 3: rope_freqs [head_dim / 2] F32 after the embedding; no biases (optional for llama).
  const auto l3 = plan_tensors(*find_preset("llama3.1-8b"), *recipe, 128256);
  EXPECT_EQ(l3.size(), 4u + 9u * 32u);
  EXPECT_EQ(l3[1].name, "rope_freqs.weight");
  EXPECT_EQ(l3[1].shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(l3[1].type, TensorType::F32);
}

TEST(Presets, Llama3RopeFactorsFollowTheConverter) {
  // Llama 3.1 8B: theta 5e5, factor 8, low 1, high 4, original context 8192, head dim 128.
  const auto f = llama3_rope_factors(*find_preset("llama3.1-8b"));
  ASSERT_EQ(f.size(), 64u);
  EXPECT_EQ(f.front(), 1.0f);  // short wavelengths keep their frequency
  EXPECT_EQ(f.back(), 8.0f);   // long ones are slowed by the factor
  for (size_t k = 1; k < f.size(); ++k) EXPECT_GE(f[k], f[k - 1]) << k;
  // Pair k has wavelength 2 pi * 5e5^(2k/128): pairs between 8192/4 and 8192 blend.
  int blended = 0;
  for (float x : f) blended += x > 1.0f && x < 8.0f;
  EXPECT_GT(blended, 0);
  EXPECT_TRUE(llama3_rope_factors(*find_preset("tiny-llama3")).size() == 32u);
}

TEST(MakeModel, SameSeedSameBytesWhateverTheThreadCount) {
  const TokenizerKeys vocab = small_vocab(512);
  for (const char* type : {"Q4_K_M", "F16", "Q4_0"}) {
    const auto recipe = find_recipe(type);
    ASSERT_TRUE(recipe) << type;
    const auto one = build(*recipe, 7, 1, vocab);
    EXPECT_EQ(one, build(*recipe, 7, 3, vocab)) << type;
    EXPECT_NE(one, build(*recipe, 8, 1, vocab)) << type;
  }
}

TEST(MakeModel, MetadataAndTensorsReadBack) {
  const TokenizerKeys vocab = small_vocab(512);
  const auto recipe = find_recipe("Q4_K_M");
  ASSERT_TRUE(recipe);
  const auto bytes = build(*recipe, 1, 2, vocab);
  const gguf::File f = gguf::File::from_bytes(bytes);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_string("general.name"), "micro");
  EXPECT_EQ(f.get_u64("llama.embedding_length"), 256u);
  EXPECT_EQ(f.get_u64("llama.block_count"), 1u);
  EXPECT_EQ(f.get_u64("llama.feed_forward_length"), 512u);
  EXPECT_EQ(f.get_u64("llama.attention.head_count"), 4u);
  EXPECT_EQ(f.get_u64("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(f.get_u64("llama.rope.dimension_count"), 64u);
  EXPECT_EQ(f.get_u64("llama.context_length"), 256u);
  EXPECT_FLOAT_EQ(float(f.get_f64("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_FLOAT_EQ(float(f.get_f64("llama.rope.freq_base")), 10000.0f);
  EXPECT_EQ(f.find("llama.attention.sliding_window"), nullptr);
  EXPECT_EQ(f.get_u64("general.file_type"), 15u);
  EXPECT_EQ(f.get_u64("general.quantization_version"), 2u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->as_array().items.size(), 512u);
  const auto plan = plan_tensors(kMicro, *recipe, 512);
  ASSERT_EQ(f.tensors().size(), plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(f.tensors()[i].name, plan[i].name);
    EXPECT_EQ(f.tensors()[i].shape, plan[i].shape);
    EXPECT_EQ(f.tensors()[i].type, plan[i].type);
    EXPECT_EQ(f.tensors()[i].nbytes, plan[i].nbytes);
  }
}

// Mean and standard deviation of an F32 tensor.
std::pair<double, double> stats(const gguf::File& f, const std::string& name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {0, 0};
  std::vector<float> x(size_t(t->n_elements()));
  dequantize_row_ref(t->type, t->data, x.data(), t->n_elements());
  double sum = 0, sum2 = 0;
  for (float v : x) sum += v, sum2 += double(v) * v;
  const double mean = sum / double(x.size());
  return {mean, std::sqrt(sum2 / double(x.size()) - mean * mean)};
}

TEST(MakeModel, WeightScalesAreThePromisedOnes) {
  const auto recipe = find_recipe("F32");
  ASSERT_TRUE(recipe);
  const auto bytes = build(*recipe, 3, 2, small_vocab(2048));
  const gguf::File f = gguf::File::from_bytes(bytes);
  const double inv_sqrt_d = 1.0 / 16.0;  // n_embd 256
  struct Expect {
    const char* name;
    double mean, std;
  } expected[] = {
      {"token_embd.weight", 0, 1},
      {"blk.0.attn_norm.weight", 1, 0.05},
      {"blk.0.attn_q.weight", 0, 2 * inv_sqrt_d},
      {"blk.0.attn_k.weight", 0, 2 * inv_sqrt_d},
      {"blk.0.attn_v.weight", 0, inv_sqrt_d},
      {"blk.0.ffn_up.weight", 0, inv_sqrt_d},
      {"blk.0.ffn_down.weight", 0, 1.0 / std::sqrt(512.0)},
      {"output.weight", 0, 5 * inv_sqrt_d},
  };
  for (const Expect& e : expected) {
    const auto [mean, std] = stats(f, e.name);
    EXPECT_NEAR(mean, e.mean, 0.1 * e.std + 1e-3) << e.name;
    EXPECT_NEAR(std, e.std, 0.1 * e.std) << e.name;
  }
}

// --pooled-blocks: deterministic, other bytes than the default, every block of a row a copy of a
// real quantizer output, and the same weight distribution.
TEST(MakeModel, PooledBlocksKeepTheDistribution) {
  const TokenizerKeys vocab = small_vocab(2048);
  const auto recipe = find_recipe("Q8_0");
  ASSERT_TRUE(recipe);
  const auto pooled = build(*recipe, 3, 2, vocab, true);
  EXPECT_EQ(pooled, build(*recipe, 3, 1, vocab, true));
  EXPECT_NE(pooled, build(*recipe, 3, 2, vocab, false));
  const gguf::File f = gguf::File::from_bytes(pooled);
  const double inv_sqrt_d = 1.0 / 16.0;
  // token_embd and output have 2048 rows, more than the pool: they are the pooled ones.
  const auto [embd_mean, embd_std] = stats(f, "token_embd.weight");
  EXPECT_NEAR(embd_mean, 0, 0.1);
  EXPECT_NEAR(embd_std, 1, 0.1);
  const auto [out_mean, out_std] = stats(f, "output.weight");
  EXPECT_NEAR(out_mean, 0, 0.1 * 5 * inv_sqrt_d);
  EXPECT_NEAR(out_std, 5 * inv_sqrt_d, 0.1 * 5 * inv_sqrt_d);
  // Rows are not copies of each other: the first two rows of output differ.
  const gguf::TensorInfo* out = f.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  const size_t row_bytes = size_t(out->nbytes / uint64_t(out->shape[1]));
  EXPECT_NE(0, std::memcmp(out->data, out->data + row_bytes, row_bytes));
}

}  // namespace
}  // namespace lp::model
