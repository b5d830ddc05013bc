// quantize_file and `llamaprof quantize`: a small F32/F16/BF16 GGUF written with the Writer is
// converted with every recipe; tensor types must follow the recipe, values must dequantize close to
// the input, metadata must be copied and file_type set; bad requests fail clearly.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "cli_test_util.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/quantize_file.h"
#include "quant/recipe.h"

namespace {

namespace fs = std::filesystem;
using lp::TensorType;
using lp::gguf::Value;

struct SourceTensor {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;
  std::vector<float> values;  // what the stored bytes decode to
  std::vector<uint8_t> bytes;
};

// A 2-layer llama-shaped model: n_embd 256, n_ff 512, vocab 64, plus a tensor with 96-element rows
// (no K-quant fits it) and F16 / BF16 source tensors.
std::vector<SourceTensor> make_tensors() {
  std::vector<SourceTensor> ts;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 0.05f);
  auto add = [&](std::string name, std::vector<int64_t> shape, TensorType type = TensorType::F32) {
    SourceTensor t{std::move(name), type, std::move(shape), {}, {}};
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = g(rng);
    t.bytes.resize(lp::row_size(type, n));
    lp::quantize_row_ref(type, x.data(), t.bytes.data(), n);
    t.values.resize(x.size());
    lp::dequantize_row_ref(type, t.bytes.data(), t.values.data(), n);
    ts.push_back(std::move(t));
  };
  add("token_embd.weight", {256, 64});
  for (int l = 0; l < 2; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {256});
    add(p + "attn_q.weight", {256, 256});
    add(p + "attn_k.weight", {256, 256}, TensorType::F16);
    add(p + "attn_v.weight", {256, 256}, TensorType::BF16);
    add(p + "attn_output.weight", {256, 256});
    add(p + "ffn_norm.weight", {256});
    add(p + "ffn_gate.weight", {96, 8});
    add(p + "ffn_up.weight", {256, 512});
    add(p + "ffn_down.weight", {512, 256});
  }
  add("output_norm.weight", {256});
  add("output.weight", {256, 64});
  return ts;
}

class QuantFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lp_quant_file_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    tensors_ = make_tensors();
    lp::gguf::Writer w;
    w.set("general.architecture", Value::str("llama"));
    w.set("general.name", Value::str("quant test"));
    w.set("general.file_type", Value::u32(0));
    w.set("llama.block_count", Value::u32(2));
    w.set("llama.embedding_length", Value::u32(256));
    w.set("llama.attention.head_count", Value::u32(4));
    w.set("llama.attention.head_count_kv", Value::u32(4));
    w.set("test.custom_array", Value::i32_array({1, 2, 3}));
    for (const SourceTensor& t : tensors_) {
      w.add_tensor(t.name, t.type, t.shape, std::span<const uint8_t>(t.bytes));
    }
    input_ = (dir_ / "in.gguf").string();
    w.write(input_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Checks types and values of out against the recipe and the source tensors.
  void check_output(const std::string& out_path, const lp::Recipe& recipe) {
    const auto out = lp::gguf::File::open(out_path);
    EXPECT_EQ(out.get_u64("general.file_type"), recipe.file_type);
    EXPECT_EQ(out.get_u64("general.quantization_version"), 2u);
    EXPECT_EQ(out.get_string("general.name"), "quant test");
    EXPECT_EQ(out.require("test.custom_array").as_i32_vector(), (std::vector<int32_t>{1, 2, 3}));
    ASSERT_EQ(out.tensors().size(), tensors_.size());
    lp::RecipeModel model;
    model.n_layers = 2;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const SourceTensor& src = tensors_[i];
      const lp::gguf::TensorInfo& t = out.tensors()[i];
      ASSERT_EQ(t.name, src.name);
      EXPECT_EQ(t.shape, src.shape);
      const TensorType want = lp::recipe_tensor_type(recipe, src.name, model, src.shape[0], int(src.shape.size()));
      EXPECT_EQ(t.type, want) << recipe.name << " " << src.name;
      std::vector<float> y(src.values.size());
      lp::dequantize_row_ref(t.type, t.data, y.data(), int64_t(y.size()));
      double max_abs = 0, max_err = 0;
      for (size_t j = 0; j < y.size(); ++j) {
        max_abs = std::max(max_abs, double(std::fabs(src.values[j])));
        max_err = std::max(max_err, double(std::fabs(src.values[j] - y[j])));
      }
      EXPECT_LE(max_err, lp::roundtrip_error_bound(t.type, max_abs, 0)) << recipe.name << " " << src.name;
    }
  }

  fs::path dir_;
  std::string input_;
  std::vector<SourceTensor> tensors_;
};

TEST_F(QuantFile, EveryRecipeFollowsItsRulesAndStaysClose) {
  for (const lp::Recipe& recipe : lp::recipes()) {
    const std::string out = path("out_" + recipe.name + ".gguf");
    int calls = 0;
    lp::quant::quantize_file(input_, out, recipe, 2, [&](const lp::quant::TensorProgress& p) {
      ++calls;
      EXPECT_EQ(p.index, calls);
      EXPECT_EQ(p.count, int(tensors_.size()));
    });
    EXPECT_EQ(calls, int(tensors_.size()));
    check_output(out, recipe);
  }
}

TEST_F(QuantFile, SpecificRuleFactsOnTheOutput) {
  const std::string out = path("q4km.gguf");
  lp::quant::quantize_file(input_, out, *lp::find_recipe("Q4_K_M"), 1);
  const auto f = lp::gguf::File::open(out);
  auto type_of = [&](const char* name) { return f.find_tensor(name)->type; };
  EXPECT_EQ(type_of("output.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of("token_embd.weight"), TensorType::Q4_K);
  // With 2 layers, use_more_bits picks only layer 1 (7 * 2 / 8 = 1; 2 / 8 = 0).
  EXPECT_EQ(type_of("blk.0.attn_v.weight"), TensorType::Q4_K);
  EXPECT_EQ(type_of("blk.1.attn_v.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of("blk.0.ffn_down.weight"), TensorType::Q4_K);
  EXPECT_EQ(type_of("blk.1.ffn_down.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of("blk.1.attn_q.weight"), TensorType::Q4_K);
  EXPECT_EQ(type_of("blk.0.ffn_gate.weight"), TensorType::Q5_0);  // 96-element rows
  EXPECT_EQ(type_of("blk.0.attn_norm.weight"), TensorType::F32);
}

TEST_F(QuantFile, QuantizedInputIsCopiedWhenTheTypeMatchesAndRefusedOtherwise) {
  const std::string q4 = path("q4_0.gguf");
  lp::quant::quantize_file(input_, q4, *lp::find_recipe("Q4_0"), 2);
  // Same recipe again: every tensor already has its type, so the bytes are copied.
  const std::string again = path("q4_0_again.gguf");
  lp::quant::quantize_file(q4, again, *lp::find_recipe("Q4_0"), 2);
  const auto a = lp::gguf::File::open(q4), b = lp::gguf::File::open(again);
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    ASSERT_EQ(a.tensors()[i].nbytes, b.tensors()[i].nbytes);
    EXPECT_EQ(0, std::memcmp(a.tensors()[i].data, b.tensors()[i].data, a.tensors()[i].nbytes)) << a.tensors()[i].name;
  }
  // Another recipe would need to convert a Q4_0 tensor: refused, naming it.
  try {
    lp::quant::quantize_file(q4, path("q8.gguf"), *lp::find_recipe("Q8_0"), 2);
    FAIL() << "expected an error";
  } catch (const lp::Error& e) {
    EXPECT_EQ(e.kind(), lp::ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Q4_0"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("q8.gguf")));
}

TEST_F(QuantFile, RefusesToOverwriteItsInput) {
  const auto size_before = fs::file_size(input_);
  try {
    lp::quant::quantize_file(input_, input_, *lp::find_recipe("Q4_0"), 1);
    FAIL() << "expected an error";
  } catch (const lp::Error& e) {
    EXPECT_EQ(e.kind(), lp::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("refusing to overwrite"), std::string::npos) << e.what();
  }
  // The same file through another name (a hard link) is recognised too.
  fs::create_hard_link(input_, path("link.gguf"));
  EXPECT_THROW(lp::quant::quantize_file(input_, path("link.gguf"), *lp::find_recipe("Q4_0"), 1), lp::Error);
  EXPECT_EQ(fs::file_size(input_), size_before);
}

// The CLI: exit codes and messages.
using lp::test::RunResult;
using lp::test::run_cli;

TEST_F(QuantFile, CliQuantizesAndReportsProgress) {
  const std::string out = path("cli_q4km.gguf");
  const RunResult r = run_cli("quantize " + input_ + " " + out + " q4_k_m --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("blk.0.attn_q.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("F32 -> Q4_K"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[ 1/" + std::to_string(tensors_.size()) + "]"), std::string::npos) << r.output;
  check_output(out, *lp::find_recipe("Q4_K_M"));
}

TEST_F(QuantFile, CliRejectsUnknownTypeListingTheValidOnes) {
  const RunResult r = run_cli("quantize " + input_ + " " + path("x.gguf") + " Q4_K_S");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown quantization type 'Q4_K_S'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Q4_K_M"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("x.gguf")));
}

TEST_F(QuantFile, CliRefusesToOverwriteItsInput) {
  const RunResult r = run_cli("quantize " + input_ + " " + input_ + " Q8_0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("refusing to overwrite"), std::string::npos) << r.output;
  EXPECT_NO_THROW(lp::gguf::File::open(input_));
}

TEST_F(QuantFile, CliReportsAMissingInput) {
  const RunResult r = run_cli("quantize " + path("missing.gguf") + " " + path("x.gguf") + " Q8_0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing.gguf"), std::string::npos) << r.output;
}

}  // namespace
