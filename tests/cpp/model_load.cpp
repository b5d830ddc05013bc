// Model loading: hyperparameters, zero-copy views, tied output, and the named load errors.
#include <gtest/gtest.h>

#include <string>

#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model/weights.h"
#include "model_test_util.h"

namespace lp {
namespace {

using test::expect_error;

TEST(ModelLoad, ReadsHyperparametersAndMapsWeights) {
  test::TinyModelSpec spec;
  spec.sliding_window = 16;
  const std::string path = test::write_tiny_model(test::temp_path("load_ok.gguf"), spec);
  Model m = Model::load(path);
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.arch, "llama");
  EXPECT_EQ(hp.n_embd, 64);
  EXPECT_EQ(hp.n_layer, 2);
  EXPECT_EQ(hp.n_head, 4);
  EXPECT_EQ(hp.n_head_kv, 2);
  EXPECT_EQ(hp.head_dim, 16);
  EXPECT_EQ(hp.n_rot, 16);
  EXPECT_EQ(hp.n_ff, 96);
  EXPECT_EQ(hp.n_ctx_train, 256);
  EXPECT_EQ(hp.sliding_window, 16);
  EXPECT_FLOAT_EQ(hp.rope_freq_base, 10000.0f);
  EXPECT_FLOAT_EQ(hp.rope_freq_scale, 1.0f);
  EXPECT_EQ(hp.n_vocab, int(test::tiny_vocab().size()));
  EXPECT_EQ(m.n_vocab(), hp.n_vocab);
  EXPECT_EQ(m.bos(), 1);
  EXPECT_EQ(m.eos(), 2);

  // Zero copy: every view points inside the mapped file, at the tensor's own offset.
  const gguf::File& f = m.file();
  EXPECT_TRUE(f.is_mapped());
  const uint8_t* lo = f.base();
  const uint8_t* hi = f.base() + f.file_size();
  const ModelWeights& w = m.weights();
  ASSERT_EQ(w.layers.size(), 2u);
  for (const WeightView* v : {&w.token_embd, &w.output, &w.layers[1].ffn_down, &w.layers[0].wk}) {
    EXPECT_GE(v->data, lo);
    EXPECT_LE(v->data + v->row_bytes * size_t(v->n_rows), hi);
    EXPECT_EQ(v->data, f.find_tensor(v->name)->data);
  }
  EXPECT_EQ(w.layers[0].wk.n_rows, 32);  // n_head_kv * head_dim
  EXPECT_EQ(w.layers[0].wk.n_cols, 64);
  EXPECT_FALSE(w.output_tied);
  EXPECT_EQ(m.metadata("general.name").value_or(""), "tiny-test");
  EXPECT_FALSE(m.metadata("no.such.key").has_value());
}

TEST(ModelLoad, TiesOutputToEmbeddingsWhenAbsent) {
  test::TinyModelSpec spec;
  spec.tie_output = true;
  Model m = Model::load(test::write_tiny_model(test::temp_path("tied.gguf"), spec));
  EXPECT_TRUE(m.weights().output_tied);
  EXPECT_EQ(m.weights().output.data, m.weights().token_embd.data);
}

TEST(ModelLoad, ReadsLinearRopeScaling) {
  // Built by hand: the writer spec has no scaling keys, so append them through a copy.
  const std::string base = test::write_tiny_model(test::temp_path("rope_base.gguf"));
  gguf::Writer w;
  gguf::File f = gguf::File::open(base);
  w.copy_from(f);
  w.set("llama.rope.scaling.type", gguf::Value::str("linear"));
  w.set("llama.rope.scaling.factor", gguf::Value::f32(4.0f));
  w.set("llama.rope.freq_base", gguf::Value::f32(500000.0f));
  const std::string path = test::temp_path("rope_linear.gguf");
  w.write(path);
  Model m = Model::load(path);
  EXPECT_FLOAT_EQ(m.hparams().rope_freq_scale, 0.25f);
  EXPECT_FLOAT_EQ(m.hparams().rope_freq_base, 500000.0f);
}

TEST(ModelLoad, MissingTensorIsNamed) {
  test::TinyModelSpec spec;
  spec.omit_tensor = "blk.1.ffn_up.weight";
  const std::string path = test::write_tiny_model(test::temp_path("missing.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile, {"missing tensor", "blk.1.ffn_up.weight"});
}

TEST(ModelLoad, WrongShapeNamesExpectedAndFound) {
  test::TinyModelSpec spec;
  spec.reshape_tensor = "blk.0.attn_k.weight";
  spec.reshape_to = {64, 64};  // MHA-sized K in a GQA model: expected 32 rows
  const std::string path = test::write_tiny_model(test::temp_path("shape.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::InvalidFile,
               {"blk.0.attn_k.weight", "[64, 64]", "expected [64, 32]"});
}

TEST(ModelLoad, UnsupportedArchitectureIsNamed) {
  test::TinyModelSpec spec;
  spec.arch = "gpt2";
  const std::string path = test::write_tiny_model(test::temp_path("arch.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"unsupported architecture", "gpt2"});
}

TEST(ModelLoad, NormWeightMustBeF32) {
  test::TinyModelSpec spec;
  spec.type_override["blk.0.ffn_norm.weight"] = TensorType::F16;
  const std::string path = test::write_tiny_model(test::temp_path("normtype.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"blk.0.ffn_norm.weight", "F16"});
}

TEST(ModelLoad, MatrixTypeWithoutKernelIsUnsupported) {
  // Q8_K is an activation format: a weight stored in it has no mat-mul kernel.
  test::TinyModelSpec spec;
  spec.n_embd = 256;
  spec.n_head = 4;
  spec.n_ff = 256;
  spec.type_override["blk.0.attn_q.weight"] = TensorType::Q8_K;
  const std::string path = test::write_tiny_model(test::temp_path("q8k.gguf"), spec);
  expect_error([&] { Model::load(path); }, ErrorKind::Unsupported, {"blk.0.attn_q.weight", "Q8_K"});
}

TEST(ModelLoad, MissingFileIsFileNotFound) {
  expect_error([&] { Model::load("/nonexistent/model.gguf"); }, ErrorKind::FileNotFound, {"/nonexistent/model.gguf"});
}

}  // namespace
}  // namespace lp
