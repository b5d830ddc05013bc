// Part 2's families (gemma2, gemma3, phi3, qwen3moe): their tiny make-model presets load with the
// hyperparameters llama.cpp reads, the fused and stacked tensors are views into the mapping, a
// batch and token-by-token evaluation agree (MoE: tokens grouped by expert vs one at a time), and a
// missing or wrongly shaped tensor of each family is a named InvalidFile error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model/make_model.h"
#include "model/presets.h"
#include "model/weights.h"
#include "model_test_util.h"
#include "profile/model_traffic.h"
#include "quant/recipe.h"

namespace lp {
namespace {

using test::expect_error;

// A SentencePiece vocabulary of a few hundred tokens: the families do not care which.
model::TokenizerKeys small_vocab() {
  const std::vector<std::string> tokens = test::tiny_vocab();
  std::vector<float> scores(tokens.size(), 0.0f);
  std::vector<int32_t> types(tokens.size(), 1);
  types[0] = 2, types[1] = 3, types[2] = 3;
  for (size_t i = 3; i < 259; ++i) types[i] = 6;  // <0xNN>
  model::TokenizerKeys k;
  k.emplace_back("tokenizer.ggml.model", gguf::Value::str("llama"));
  k.emplace_back("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  k.emplace_back("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  k.emplace_back("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  return k;
}

// The preset written by make-model (F16), optionally with one tensor left out or reshaped (its
// data then zeros) or one key removed.
struct Edit {
  std::string omit_tensor{};
  std::string reshape_tensor{};
  std::vector<int64_t> shape{};
  std::string omit_key{};
};

std::string write_preset(const std::string& preset, const Edit& edit = {}) {
  const std::string good = test::temp_path(preset + "-good.gguf");
  if (!std::filesystem::exists(good)) {
    gguf::Writer w;
    model::add_model(w, *model::find_preset(preset), *find_recipe("F16"), small_vocab(), {});
    w.write(good);
  }
  if (edit.omit_tensor.empty() && edit.reshape_tensor.empty() && edit.omit_key.empty()) return good;
  const gguf::File src = gguf::File::open(good);
  gguf::Writer w;
  for (const auto& [key, value] : src.metadata()) {
    if (key != edit.omit_key) w.set(key, value);
  }
  for (const gguf::TensorInfo& t : src.tensors()) {
    if (t.name == edit.omit_tensor) continue;
    if (t.name == edit.reshape_tensor) {
      w.add_tensor(t.name, t.type, edit.shape, [](uint8_t* dst, uint64_t n) { std::memset(dst, 0, n); });
    } else {
      w.add_tensor(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, t.nbytes));
    }
  }
  const std::string path = test::temp_path(preset + "-edited.gguf");
  w.write(path);
  return path;
}

// Logits of a prompt longer than tiny-gemma3's window, in one batch and token by token.
void expect_batch_matches_single(const Model& m) {
  std::vector<TokenId> prompt;
  for (int i = 0; i < 20; ++i) prompt.push_back(TokenId(3 + (i * 37) % 250));
  test::expect_batch_matches_single(m, prompt, 64, 0.5f, 5e-3f);
}

TEST(ModelFamilies, Gemma2HyperparametersAndPostNorms) {
  const Model m = Model::load(write_preset("tiny-gemma2"));
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.sliding_window, 16);
  EXPECT_EQ(hp.swa_period, 2);  // gemma2's default: layers 0, 2, ... are windowed
  EXPECT_TRUE(hp.layer_is_swa(0));
  EXPECT_FALSE(hp.layer_is_swa(1));
  EXPECT_FLOAT_EQ(hp.attn_softcap, 10.0f);
  EXPECT_FLOAT_EQ(hp.final_softcap, 5.0f);
  EXPECT_FLOAT_EQ(hp.attn_scale, 1.0f / std::sqrt(96.0f));
  EXPECT_TRUE(m.weights().output_tied);
  EXPECT_TRUE(m.weights().layers[1].attn_post_norm.present());
  EXPECT_TRUE(m.weights().layers[1].ffn_post_norm.present());
  expect_batch_matches_single(m);
}

TEST(ModelFamilies, Gemma3WindowPatternAndLocalRopeBase) {
  const Model m = Model::load(write_preset("tiny-gemma3"));
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.swa_period, 3);
  EXPECT_TRUE(hp.layer_is_swa(0));
  EXPECT_TRUE(hp.layer_is_swa(1));
  EXPECT_FALSE(hp.layer_is_swa(2));
  EXPECT_FLOAT_EQ(hp.rope_freq_base, 1e6f);
  EXPECT_FLOAT_EQ(hp.rope_freq_base_swa, 10000.0f);  // llama.cpp's default for gemma3
  EXPECT_FLOAT_EQ(hp.attn_softcap, 0.0f);
  EXPECT_TRUE(m.weights().layers[0].q_norm.present());
  expect_batch_matches_single(m);
}

TEST(ModelFamilies, Phi3FusedMatricesAreRowViews) {
  const Model m = Model::load(write_preset("tiny-phi3"));
  const ModelWeights& w = m.weights();
  const LayerWeights& l = w.layers[0];
  // No copies: Q, K, V and gate, up point into the fused tensors' data in the mapping.
  EXPECT_EQ(l.wq.data, l.wqkv.data);
  EXPECT_EQ(l.wk.data, l.wqkv.data + 320 * l.wqkv.row_bytes);
  EXPECT_EQ(l.wv.data, l.wqkv.data + 640 * l.wqkv.row_bytes);
  EXPECT_EQ(l.wv.n_rows, 320);
  EXPECT_EQ(l.ffn_gate.data, l.ffn_gate_up.data);
  EXPECT_EQ(l.ffn_up.data, l.ffn_gate_up.data + 640 * l.ffn_gate_up.row_bytes);
  EXPECT_TRUE(w.rope_long.present() && w.rope_short.present());
  EXPECT_EQ(m.hparams().n_ctx_orig, 256);
  EXPECT_GT(m.hparams().rope_attn_factor, 1.0f);
  expect_batch_matches_single(m);
}

TEST(ModelFamilies, Qwen3MoeExpertsAreStackedViews) {
  const Model m = Model::load(write_preset("tiny-qwen3moe"));
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.n_expert, 8);
  EXPECT_EQ(hp.n_expert_used, 3);
  EXPECT_EQ(hp.n_ff_exp, 192);
  const LayerWeights& l = m.weights().layers[1];
  EXPECT_EQ(l.ffn_up_exps.n_mats, 8);
  EXPECT_EQ(l.ffn_up_exps.matrix(5).data, l.ffn_up_exps.data + 5 * 192 * l.ffn_up_exps.row_bytes);
  EXPECT_EQ(l.ffn_down_exps.matrix(7).n_rows, 256);
  EXPECT_EQ(l.ffn_gate_inp.type, TensorType::F32);  // the router stays F32 in every recipe
  expect_batch_matches_single(m);
}

// The roofline's bytes per token count the experts a decode step really reads: 3 of 8 per layer.
TEST(ModelFamilies, MoeBytesPerTokenCountTheSelectedExperts) {
  const Model m = Model::load(write_preset("tiny-qwen3moe"));
  const profile::ModelTraffic t = profile::model_traffic(m);
  uint64_t experts = 0;
  for (const LayerWeights& l : m.weights().layers) {
    for (const WeightView* e : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps}) experts += e->row_bytes * e->n_rows;
  }
  const WeightView& embd = m.weights().token_embd;
  EXPECT_EQ(t.expert_bytes, experts);
  EXPECT_EQ(t.expert_bytes_per_token, experts / 8 * 3);
  EXPECT_EQ(t.bytes_per_token, m.weight_bytes() - embd.row_bytes * embd.n_rows + embd.row_bytes - experts / 8 * 5);
  // A dense model has no expert share.
  EXPECT_EQ(profile::model_traffic(Model::load(write_preset("tiny-phi3"))).expert_bytes, 0u);
}

// A missing or wrongly shaped tensor of each family: InvalidFile naming it (and the shapes).
TEST(ModelFamilies, MissingOrMisshapenTensorsAreNamed) {
  struct Case {
    const char* preset;
    const char* tensor;
    std::vector<int64_t> wrong_shape;
  };
  const Case cases[] = {
      {"tiny-gemma2", "blk.1.post_ffw_norm.weight", {255}},
      {"tiny-gemma2", "blk.0.post_attention_norm.weight", {384}},
      {"tiny-gemma3", "blk.2.attn_k_norm.weight", {96}},
      {"tiny-phi3", "blk.0.attn_qkv.weight", {320, 900}},
      {"tiny-phi3", "blk.1.ffn_up.weight", {320, 640}},  // gate and up must both be there
      {"tiny-phi3", "rope_factors_short.weight", {16}},
      {"tiny-qwen3moe", "blk.0.ffn_gate_inp.weight", {256, 7}},
      {"tiny-qwen3moe", "blk.1.ffn_down_exps.weight", {192, 256, 6}},
      {"tiny-qwen3moe", "blk.1.ffn_gate_exps.weight", {256, 190, 8}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.preset) + " " + c.tensor);
    const std::string missing = write_preset(c.preset, {.omit_tensor = c.tensor});
    expect_error([&] { Model::load(missing); }, ErrorKind::InvalidFile, {c.tensor});
    const std::string misshapen = write_preset(c.preset, {.reshape_tensor = c.tensor, .shape = c.wrong_shape});
    expect_error([&] { Model::load(misshapen); }, ErrorKind::InvalidFile, {c.tensor, "expected"});
  }
}

TEST(ModelFamilies, MoeKeysAreRequired) {
  const std::string path = write_preset("tiny-qwen3moe", {.omit_key = "qwen3moe.expert_used_count"});
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"qwen3moe.expert_used_count"});
}

TEST(ModelFamilies, Gemma2RefusesAnOutputMatrix) {
  // llama.cpp's gemma2 always reads the output through the embedding: an output.weight would not
  // be used, so the file is refused rather than run differently.
  const gguf::File src = gguf::File::open(write_preset("tiny-gemma2"));
  gguf::Writer w;
  w.copy_from(src);
  w.add_tensor("output.weight", TensorType::F32, {256, int64_t(test::tiny_vocab().size())},
               [](uint8_t* dst, uint64_t n) { std::memset(dst, 0, n); });
  const std::string path = test::temp_path("gemma2-output.gguf");
  w.write(path);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"output.weight"});
}

}  // namespace
}  // namespace lp
