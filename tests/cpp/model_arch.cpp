// Architectures other than Llama 2: qwen2 (Q/K/V biases, tied output), qwen3 (per-head Q/K norm,
// head_dim from attention.key_length), llama with rope_freqs.weight; and the named errors for files
// that do not fit their architecture.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model/arch.h"
#include "model/weights.h"
#include "model_test_util.h"

namespace lp {
namespace {

using test::expect_error;

test::TinyModelSpec qwen2_spec() {
  test::TinyModelSpec s;
  s.arch = "qwen2";
  s.qkv_bias = true;
  s.tie_output = true;
  return s;
}

test::TinyModelSpec qwen3_spec() {
  test::TinyModelSpec s;
  s.arch = "qwen3";
  s.qk_norm = true;
  s.key_length = 24;  // q is 4 x 24 = 96 wide, n_embd 64
  return s;
}

// Logits of a short prompt, evaluated in one batch and token by token (they must agree).
void expect_runs(const Model& m) { test::expect_batch_matches_single(m, {1, 40, 77, 200, 262, 9}, 32, 1.0f, 2e-3f); }

TEST(ModelArch, DescriptionsListTheSupportedArchitectures) {
  EXPECT_EQ(supported_arch_names(), "llama, qwen2, qwen3, gemma2, gemma3, phi3, qwen3moe");
  EXPECT_EQ(find_arch("llama")->rope_layout, RopeLayout::Normal);
  EXPECT_EQ(find_arch("qwen2")->rope_layout, RopeLayout::Neox);
  EXPECT_EQ(find_arch("qwen3")->rope_layout, RopeLayout::Neox);
  EXPECT_EQ(find_arch("qwen2")->qkv_bias, Need::Required);
  EXPECT_EQ(find_arch("qwen3")->qk_norm, Need::Required);
  EXPECT_EQ(find_arch("gemma2")->post_norms, Need::Required);
  EXPECT_EQ(find_arch("phi3")->fused_qkv, Need::Required);
  EXPECT_EQ(find_arch("qwen3moe")->moe, Need::Required);
  EXPECT_EQ(find_arch("gemma"), nullptr);  // Gemma 1: not described
}

TEST(ModelArch, Qwen2BindsBiasesAndTiesTheOutput) {
  Model m = Model::load(test::write_tiny_model(test::temp_path("qwen2.gguf"), qwen2_spec()));
  EXPECT_EQ(m.hparams().arch, "qwen2");
  const ModelWeights& w = m.weights();
  EXPECT_TRUE(w.output_tied);
  EXPECT_TRUE(w.layers[1].bq.present());
  EXPECT_EQ(w.layers[1].bk.n_cols, 32);  // n_head_kv * head_dim
  EXPECT_FALSE(w.layers[0].q_norm.present());
  expect_runs(m);
}

TEST(ModelArch, Qwen3HeadDimFromKeyLengthAndQkNorm) {
  Model m = Model::load(test::write_tiny_model(test::temp_path("qwen3.gguf"), qwen3_spec()));
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.head_dim, 24);
  EXPECT_EQ(hp.n_rot, 24);
  EXPECT_EQ(hp.n_embd_q(), 96);
  EXPECT_EQ(hp.n_embd_kv(), 48);
  const LayerWeights& l = m.weights().layers[0];
  EXPECT_EQ(l.wq.n_rows, 96);
  EXPECT_EQ(l.wo.n_cols, 96);
  EXPECT_EQ(l.q_norm.n_cols, 24);
  EXPECT_FALSE(l.bq.present());
  expect_runs(m);
}

TEST(ModelArch, LlamaBindsRopeFreqs) {
  test::TinyModelSpec spec;
  spec.rope_freqs = 8;  // head_dim 16 / 2
  Model m = Model::load(test::write_tiny_model(test::temp_path("llama3.gguf"), spec));
  EXPECT_TRUE(m.weights().rope_freqs.present());
  EXPECT_EQ(m.weights().rope_freqs.n_cols, 8);
  expect_runs(m);
}

TEST(ModelArch, RopeFreqsOfTheWrongLength) {
  test::TinyModelSpec spec;
  spec.rope_freqs = 16;
  const std::string path = test::write_tiny_model(test::temp_path("freqs_len.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"rope_freqs.weight", "[16]", "expected [8]"});
}

TEST(ModelArch, MissingBiasIsNamed) {
  test::TinyModelSpec spec = qwen2_spec();
  spec.omit_tensor = "blk.1.attn_k.bias";
  const std::string path = test::write_tiny_model(test::temp_path("nobias.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"missing tensor", "blk.1.attn_k.bias"});
}

TEST(ModelArch, MissingQkNormIsNamed) {
  test::TinyModelSpec spec = qwen3_spec();
  spec.omit_tensor = "blk.0.attn_q_norm.weight";
  const std::string path = test::write_tiny_model(test::temp_path("noqknorm.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"missing tensor", "blk.0.attn_q_norm.weight"});
}

TEST(ModelArch, WronglyShapedTensorsNameExpectedAndFound) {
  test::TinyModelSpec spec = qwen3_spec();
  spec.reshape_tensor = "blk.0.attn_q.weight";
  spec.reshape_to = {64, 64};  // n_embd rows: wrong when key_length makes q 96 wide
  std::string path = test::write_tiny_model(test::temp_path("qshape.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"blk.0.attn_q.weight", "[64, 64]", "expected [64, 96]"});

  spec = qwen3_spec();
  spec.reshape_tensor = "blk.1.attn_k_norm.weight";
  spec.reshape_to = {64};
  path = test::write_tiny_model(test::temp_path("normshape.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"blk.1.attn_k_norm.weight", "expected [24]"});

  spec = qwen2_spec();
  spec.reshape_tensor = "blk.0.attn_v.bias";
  spec.reshape_to = {64};
  path = test::write_tiny_model(test::temp_path("biasshape.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"blk.0.attn_v.bias", "expected [32]"});
}

TEST(ModelArch, TokenCountMustAgreeWithTheEmbedding) {
  test::TinyModelSpec spec;
  spec.tie_output = true;
  spec.reshape_tensor = "token_embd.weight";
  spec.reshape_to = {64, int64_t(test::tiny_vocab().size()) + 3};
  std::string path = test::write_tiny_model(test::temp_path("vocab_rows.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile,
               {"vocabulary has " + std::to_string(test::tiny_vocab().size()) + " tokens", "token_embd.weight has " +
                                                                           std::to_string(test::tiny_vocab().size() + 3)});

  spec = {};
  spec.vocab_size_key = 1000;
  path = test::write_tiny_model(test::temp_path("vocab_key.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"llama.vocab_size = 1000", "token_embd.weight"});
}

TEST(ModelArch, UnknownArchitectureListsTheSupportedOnes) {
  test::TinyModelSpec spec;
  spec.arch = "gemma";  // Gemma 1: not described
  const std::string path = test::write_tiny_model(test::temp_path("gemma.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"'gemma'", "llama, qwen2, qwen3, gemma2"});
}

TEST(ModelArch, TensorsOfAnotherArchitectureAreRefused) {
  test::TinyModelSpec spec;  // llama has no Q/K norm
  spec.extra_tensors = {"blk.0.attn_q_norm.weight"};
  std::string path = test::write_tiny_model(test::temp_path("llama_qknorm.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"blk.0.attn_q_norm.weight", "not used", "llama"});

  spec = qwen2_spec();
  spec.rope_freqs = 8;
  path = test::write_tiny_model(test::temp_path("qwen2_freqs.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"rope_freqs.weight", "qwen2"});
}

TEST(ModelArch, ValueLengthOtherThanKeyLengthIsUnsupported) {
  test::TinyModelSpec spec = qwen3_spec();
  spec.value_length = 16;
  const std::string path = test::write_tiny_model(test::temp_path("vlen.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"qwen3.attention.value_length 16", "24"});
}

}  // namespace
}  // namespace lp
