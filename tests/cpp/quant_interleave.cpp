// Q4_K_R16, the 16-row interleaved Q4_K (quant/interleave.h): the relayout is lossless and puts
// every element, scale and min where the header says; `quantize --interleave` writes it for the
// Q4_K matrix weights (from float tensors and from a Q4_K file) and converts it back byte for byte;
// the GGUF reader and writer keep its rows in whole groups and its type id in llamaprof's range;
// a model whose token embeddings are interleaved is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "cli_test_util.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "gguf_corpus.h"
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model_test_util.h"
#include "quant/blocks.h"
#include "quant/convert.h"
#include "quant/interleave.h"
#include "quant/quantize.h"
#include "quant/quantize_file.h"
#include "quant/quantize_rows.h"
#include "quant/recipe.h"
#include "quant/type_traits.h"

namespace {

namespace fs = std::filesystem;
using lp::TensorType;
using lp::block_q4_K;
using lp::block_q4_K_r16;
using lp::gguf::Value;

constexpr uint32_t kR16FileId = lp::kLlamaprofTypeIdBase + 48;

std::vector<block_q4_K> random_q4_k_blocks(size_t n, uint32_t seed) {
  std::vector<block_q4_K> blocks(n);
  std::mt19937 rng(seed);
  auto* bytes = reinterpret_cast<uint8_t*>(blocks.data());
  for (size_t i = 0; i < n * sizeof(block_q4_K); ++i) bytes[i] = uint8_t(rng());
  return blocks;
}

// Element x (0..255) of a Q4_K block, from the GGUF layout: the 256 elements are 4 chunks of 64;
// qs[32c + j] holds element 64c + j in its low nibble and element 64c + 32 + j in its high nibble.
int q4_k_quant(const block_q4_K& b, int x) {
  const int chunk = x / 64, j = x % 32;
  const uint8_t byte = b.qs[32 * chunk + j];
  return (x % 64) < 32 ? (byte & 0xf) : (byte >> 4);
}

// ---- The layout itself ----

TEST(QuantInterleave, RoundTripRestoresRandomQ4KBytesAndReordersThem) {
  constexpr int64_t rows = 32, row_len = 512;  // 2 groups of 16 rows, 2 super-blocks per row
  const size_t n_blocks = size_t(rows * row_len / lp::QK_K);
  const std::vector<block_q4_K> src = random_q4_k_blocks(n_blocks, 11);
  const size_t nbytes = n_blocks * sizeof(block_q4_K);
  ASSERT_EQ(nbytes, lp::row_size(TensorType::Q4_K_R16, row_len) * size_t(rows));

  std::vector<uint8_t> r16(nbytes), back(nbytes, 0xAA);
  lp::interleave_q4_k_rows(src.data(), r16.data(), rows, row_len);
  EXPECT_NE(0, std::memcmp(src.data(), r16.data(), nbytes)) << "interleaving must reorder the bytes";
  lp::deinterleave_q4_k_rows(r16.data(), back.data(), rows, row_len);
  EXPECT_EQ(0, std::memcmp(src.data(), back.data(), nbytes));

  // The same through convert_rows on several threads (split at groups): Q4_K -> R16 -> Q4_K.
  std::vector<uint8_t> r16_threaded(nbytes), back_threaded(nbytes);
  lp::quant::convert_rows(TensorType::Q4_K, src.data(), TensorType::Q4_K_R16, r16_threaded.data(), rows, row_len, 4);
  EXPECT_EQ(r16, r16_threaded);
  lp::quant::convert_rows(TensorType::Q4_K_R16, r16.data(), TensorType::Q4_K, back_threaded.data(), rows, row_len, 4);
  EXPECT_EQ(0, std::memcmp(src.data(), back_threaded.data(), nbytes));
}

TEST(QuantInterleave, EveryElementScaleAndMinIsWhereTheHeaderSays) {
  constexpr int64_t rows = 16, row_len = 512;
  constexpr int64_t bpr = row_len / lp::QK_K;
  std::vector<block_q4_K> src = random_q4_k_blocks(size_t(rows * bpr), 12);
  // One element set by hand: row 5, super-block 1, s = 3, l = 2, e = 1 -> elements 113 (low
  // nibble) and 117 (high nibble) of that block, i.e. the high nibbles of qs[49] and qs[53].
  block_q4_K& hand = src[size_t(5 * bpr + 1)];
  hand.qs[49] = uint8_t((hand.qs[49] & 0x0f) | (0x9 << 4));
  hand.qs[53] = uint8_t((hand.qs[53] & 0x0f) | (0x6 << 4));

  std::vector<block_q4_K_r16> groups(static_cast<size_t>(bpr));
  lp::interleave_q4_k_rows(src.data(), groups.data(), rows, row_len);
  EXPECT_EQ(groups[1].qs[4 * 3 + 2][4 * 5 + 1], 0x69);

  for (int64_t i = 0; i < bpr; ++i) {
    const block_q4_K_r16& g = groups[size_t(i)];
    for (int r = 0; r < 16; ++r) {
      const block_q4_K& b = src[size_t(r * bpr + i)];
      EXPECT_EQ(g.d[r], b.d);
      EXPECT_EQ(g.dmin[r], b.dmin);
      for (int s = 0; s < 8; ++s) {
        uint8_t sc = 0, mn = 0;
        lp::quant::unpack_scale_min_k4(b.scales, s, &sc, &mn);
        EXPECT_EQ(g.scales_lo[s][r] & 0x0f, sc & 0x0f) << "row " << r << " sub-block " << s;
        EXPECT_EQ(g.scales_lo[s][r] >> 4, mn & 0x0f) << "row " << r << " sub-block " << s;
        const int hi = g.scales_hi[s / 2][r] >> (4 * (s % 2));
        EXPECT_EQ(hi & 3, sc >> 4) << "row " << r << " sub-block " << s;
        EXPECT_EQ((hi >> 2) & 3, mn >> 4) << "row " << r << " sub-block " << s;
        for (int l = 0; l < 4; ++l) {
          for (int e = 0; e < 4; ++e) {
            const uint8_t byte = g.qs[4 * s + l][4 * r + e];
            ASSERT_EQ(byte & 0x0f, q4_k_quant(b, 32 * s + 8 * l + e)) << i << " " << r << " " << s << " " << l;
            ASSERT_EQ(byte >> 4, q4_k_quant(b, 32 * s + 8 * l + 4 + e)) << i << " " << r << " " << s << " " << l;
          }
        }
      }
    }
  }
}

TEST(QuantInterleave, ConvertRowsRefusesPartialGroupsAndForeignSources) {
  std::vector<uint8_t> src(24 * lp::row_size(TensorType::Q4_K, 256)), dst(src.size());
  EXPECT_THROW(lp::quant::convert_rows(TensorType::Q4_K, src.data(), TensorType::Q4_K_R16, dst.data(), 24, 256, 1),
               lp::Error);
  std::vector<uint8_t> q8(16 * lp::row_size(TensorType::Q8_0, 256));
  EXPECT_THROW(lp::quant::convert_rows(TensorType::Q8_0, q8.data(), TensorType::Q4_K_R16, dst.data(), 16, 256, 1),
               lp::Error);
}

TEST(QuantInterleave, PlanPicksInterleavedMatricesOnly) {
  const lp::Recipe recipe = *lp::find_recipe("Q4_K_M");
  lp::RecipeModel model;
  model.n_layers = 2;
  lp::quant::PlanOptions on;
  on.interleave = true;
  auto plan = [&](const char* name, TensorType from, std::vector<int64_t> shape, lp::quant::PlanOptions o) {
    return lp::quant::plan_tensor(recipe, model, name, from, shape, o);
  };
  const auto q = plan("blk.0.attn_q.weight", TensorType::F32, {256, 256}, on);
  EXPECT_EQ(q.to, TensorType::Q4_K_R16);
  EXPECT_FALSE(q.copy);
  EXPECT_FALSE(q.relayout);
  const auto relayout = plan("blk.0.attn_q.weight", TensorType::Q4_K, {256, 256}, on);
  EXPECT_EQ(relayout.to, TensorType::Q4_K_R16);
  EXPECT_TRUE(relayout.relayout);
  const auto back = plan("blk.0.attn_q.weight", TensorType::Q4_K_R16, {256, 256}, {});
  EXPECT_EQ(back.to, TensorType::Q4_K);
  EXPECT_TRUE(back.relayout);
  EXPECT_TRUE(plan("blk.0.attn_q.weight", TensorType::Q4_K_R16, {256, 256}, on).copy);
  EXPECT_EQ(plan("token_embd.weight", TensorType::F32, {256, 64}, on).to, TensorType::Q4_K);
  EXPECT_EQ(plan("blk.0.attn_q.weight", TensorType::F32, {256, 40}, on).to, TensorType::Q4_K);  // 40 % 16 != 0
  EXPECT_EQ(plan("blk.0.attn_q.weight", TensorType::F32, {256, 32, 1}, on).to, TensorType::Q4_K_R16);
  EXPECT_EQ(plan("blk.0.ffn_up_exps.weight", TensorType::F32, {256, 32, 4}, on).to, TensorType::Q4_K);  // 3-D
  EXPECT_EQ(plan("output.weight", TensorType::F32, {256, 64}, on).to, TensorType::Q6_K);
  // Q4_K_R16 converts to Q4_K only.
  lp::test::expect_error(
      [&] {
        lp::quant::plan_tensor(*lp::find_recipe("Q8_0"), model, "blk.0.attn_q.weight", TensorType::Q4_K_R16,
                               {256, 256});
      },
      lp::ErrorKind::Unsupported, {"'blk.0.attn_q.weight'", "Q4_K_R16", "Q8_0"});
}

// ---- quantize_file ----

struct Source {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// A 2-layer llama-like file: F32 matrices plus F16 and BF16 ones, a matrix of 40 rows (no whole
// groups), a 3-D expert tensor, a 96-wide tensor no K-quant fits, norms, embeddings and output.
class QuantInterleaveFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lp_quant_interleave_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 0.05f);
    auto add = [&](std::string name, std::vector<int64_t> shape, TensorType type = TensorType::F32) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<float> x(static_cast<size_t>(n));
      for (float& v : x) v = g(rng);
      Source s{std::move(name), type, std::move(shape), std::vector<uint8_t>(lp::row_size(type, n))};
      lp::quantize_row_ref(type, x.data(), s.bytes.data(), n);
      sources_.push_back(std::move(s));
    };
    add("token_embd.weight", {256, 64});
    for (int l = 0; l < 2; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      add(p + "attn_norm.weight", {256});
      add(p + "attn_q.weight", {256, 256});
      add(p + "attn_k.weight", {256, 128}, TensorType::F16);
      add(p + "attn_v.weight", {256, 128}, TensorType::BF16);
      add(p + "attn_output.weight", {256, 40});
      add(p + "ffn_norm.weight", {256});
      add(p + "ffn_gate.weight", {96, 16});
      add(p + "ffn_up.weight", {256, 1024});  // 4 threads' worth: groups split over threads
      add(p + "ffn_down.weight", {512, 256});
      add(p + "ffn_up_exps.weight", {256, 32, 2});
    }
    add("output_norm.weight", {256});
    add("output.weight", {256, 64});
    lp::gguf::Writer w;
    w.set("general.architecture", Value::str("llama"));
    w.set("general.name", Value::str("interleave test"));
    w.set("llama.block_count", Value::u32(2));
    w.set("llama.attention.head_count", Value::u32(4));
    w.set("llama.attention.head_count_kv", Value::u32(2));
    for (const Source& s : sources_) w.add_tensor(s.name, s.type, s.shape, std::span<const uint8_t>(s.bytes));
    input_ = path("in.gguf");
    w.write(input_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static lp::quant::PlanOptions interleaved() {
    lp::quant::PlanOptions o;
    o.interleave = true;
    return o;
  }

  // The type --interleave should give a tensor: the recipe's, Q4_K_R16 for eligible Q4_K matrices.
  static TensorType expected_type(const lp::Recipe& recipe, const Source& s) {
    lp::RecipeModel model;
    model.n_layers = 2;
    model.n_gqa = 2;
    size_t n_dims = s.shape.size();
    while (n_dims > 1 && s.shape[n_dims - 1] == 1) --n_dims;
    const TensorType t = lp::recipe_tensor_type(recipe, s.name, model, s.shape[0], int(n_dims));
    const bool matrix = n_dims == 2 && s.name != "token_embd.weight" && s.shape[1] % 16 == 0;
    return t == TensorType::Q4_K && matrix ? TensorType::Q4_K_R16 : t;
  }

  // The tensor-info type id stored in the file for `name`, read from the raw bytes.
  static uint32_t raw_type_id(const std::string& file, const std::string& name) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<uint8_t> needle(8);
    const uint64_t len = name.size();
    std::memcpy(needle.data(), &len, 8);
    needle.insert(needle.end(), name.begin(), name.end());
    // Skip metadata: the tensor infos follow it, so take the last occurrence of the name.
    auto it = std::find_end(bytes.begin(), bytes.end(), needle.begin(), needle.end());
    if (it == bytes.end()) return ~0u;
    size_t at = size_t(it - bytes.begin()) + needle.size();
    uint32_t n_dims = 0;
    std::memcpy(&n_dims, bytes.data() + at, 4);
    at += 4 + 8 * size_t(n_dims);
    uint32_t id = 0;
    std::memcpy(&id, bytes.data() + at, 4);
    return id;
  }

  static void expect_same_tensor_data(const lp::gguf::File& a, const lp::gguf::File& b) {
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
      const auto &x = a.tensors()[i], &y = b.tensors()[i];
      ASSERT_EQ(x.name, y.name);
      EXPECT_EQ(x.type, y.type) << x.name;
      EXPECT_EQ(x.shape, y.shape) << x.name;
      ASSERT_EQ(x.nbytes, y.nbytes) << x.name;
      EXPECT_EQ(0, std::memcmp(x.data, y.data, x.nbytes)) << x.name;
    }
  }

  // A copy of f with only its Q4_K_R16 and F32 tensors, at out_path.
  static std::string interleaved_and_float_only(const lp::gguf::File& f, const std::string& out_path) {
    lp::gguf::Writer w;
    for (const auto& [key, value] : f.metadata()) w.set(key, value);
    for (const lp::gguf::TensorInfo& t : f.tensors()) {
      if (t.type == TensorType::Q4_K_R16 || t.type == TensorType::F32) {
        w.add_tensor(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, t.nbytes));
      }
    }
    w.write(out_path);
    return out_path;
  }

  fs::path dir_;
  std::string input_;
  std::vector<Source> sources_;
};

TEST_F(QuantInterleaveFile, FloatInputWritesInterleavedMatricesThatDecodeToThePlainQuantization) {
  const lp::Recipe recipe = *lp::find_recipe("Q4_K_M");
  const std::string plain_path = path("plain.gguf"), r16_path = path("r16.gguf"), r16_one = path("r16_1.gguf");
  lp::quant::quantize_file(input_, plain_path, recipe, 1);
  std::vector<lp::quant::TensorPlan> plans;
  lp::quant::quantize_file(
      input_, r16_path, recipe, 3, [&](const lp::quant::TensorProgress& p) { plans.push_back(p.plan); },
      interleaved());
  lp::quant::quantize_file(input_, r16_one, recipe, 1, {}, interleaved());

  const auto plain = lp::gguf::File::open(plain_path), r16 = lp::gguf::File::open(r16_path);
  expect_same_tensor_data(r16, lp::gguf::File::open(r16_one));  // the thread count does not matter
  ASSERT_EQ(r16.tensors().size(), sources_.size());
  ASSERT_EQ(plans.size(), sources_.size());
  int interleaved_count = 0;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    const auto &t = r16.tensors()[i], &p = plain.tensors()[i];
    ASSERT_EQ(t.name, s.name);
    EXPECT_EQ(t.type, expected_type(recipe, s)) << s.name;
    EXPECT_EQ(plans[i].to, t.type) << s.name;
    EXPECT_FALSE(plans[i].relayout) << s.name;  // float sources are quantized
    ASSERT_EQ(t.nbytes, p.nbytes) << s.name;
    if (t.type == TensorType::Q4_K_R16) {
      ++interleaved_count;
      EXPECT_EQ(p.type, TensorType::Q4_K) << s.name;
      EXPECT_NE(0, std::memcmp(t.data, p.data, t.nbytes)) << s.name;
      std::vector<uint8_t> back(t.nbytes);
      lp::deinterleave_q4_k_rows(t.data, back.data(), t.rows(), t.shape[0]);
      EXPECT_EQ(0, std::memcmp(back.data(), p.data, t.nbytes)) << s.name << ": not the plain Q4_K, reordered";
    } else {
      EXPECT_EQ(t.type, p.type) << s.name;
      EXPECT_EQ(0, std::memcmp(t.data, p.data, t.nbytes)) << s.name;
    }
  }
  EXPECT_GE(interleaved_count, 8);

  // Spot checks of the rules, and the id on disk.
  auto type_of = [&](const char* name) { return r16.find_tensor(name)->type; };
  EXPECT_EQ(type_of("blk.0.attn_q.weight"), TensorType::Q4_K_R16);
  EXPECT_EQ(type_of("blk.1.attn_k.weight"), TensorType::Q4_K_R16);     // from F16
  EXPECT_EQ(type_of("blk.0.attn_v.weight"), TensorType::Q4_K_R16);     // from BF16
  EXPECT_EQ(type_of("blk.1.ffn_up.weight"), TensorType::Q4_K_R16);
  EXPECT_EQ(type_of("token_embd.weight"), TensorType::Q4_K);           // looked up by row
  EXPECT_EQ(type_of("blk.0.attn_output.weight"), TensorType::Q4_K);    // 40 rows
  EXPECT_EQ(type_of("blk.0.ffn_up_exps.weight"), plain.find_tensor("blk.0.ffn_up_exps.weight")->type);  // 3-D
  EXPECT_EQ(type_of("output.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of("blk.0.attn_norm.weight"), TensorType::F32);
  EXPECT_EQ(raw_type_id(r16_path, "blk.0.attn_q.weight"), kR16FileId);
  EXPECT_EQ(raw_type_id(r16_path, "token_embd.weight"), uint32_t(TensorType::Q4_K));
  EXPECT_EQ(r16.get_string("general.name"), "interleave test");
  EXPECT_EQ(r16.get_u64("general.file_type"), recipe.file_type);
}

TEST_F(QuantInterleaveFile, Q4KMFileRelaysOutAndComesBackByteIdentical) {
  const lp::Recipe recipe = *lp::find_recipe("Q4_K_M");
  const std::string q4km = path("q4km.gguf"), r16_path = path("r16.gguf"), back_path = path("back.gguf");
  lp::quant::quantize_file(input_, q4km, recipe, 2);

  std::vector<lp::quant::TensorPlan> plans;
  lp::quant::quantize_file(
      q4km, r16_path, recipe, 3, [&](const lp::quant::TensorProgress& p) { plans.push_back(p.plan); },
      interleaved());
  const auto original = lp::gguf::File::open(q4km), r16 = lp::gguf::File::open(r16_path);
  ASSERT_EQ(plans.size(), original.tensors().size());
  int relayouts = 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto &o = original.tensors()[i], &t = r16.tensors()[i];
    EXPECT_EQ(t.type, expected_type(recipe, sources_[i])) << t.name;
    if (t.type == TensorType::Q4_K_R16) {
      ++relayouts;
      EXPECT_TRUE(plans[i].relayout) << t.name;
      EXPECT_EQ(plans[i].from, TensorType::Q4_K) << t.name;
    } else {  // every other tensor is copied unchanged
      EXPECT_TRUE(plans[i].copy) << t.name;
      ASSERT_EQ(o.nbytes, t.nbytes);
      EXPECT_EQ(0, std::memcmp(o.data, t.data, o.nbytes)) << t.name;
    }
  }
  EXPECT_GE(relayouts, 8);

  // Without --interleave the recipe wants Q4_K again: relaid out back, byte for byte.
  lp::quant::quantize_file(r16_path, back_path, recipe, 3);
  expect_same_tensor_data(original, lp::gguf::File::open(back_path));

  // With --interleave again every tensor already has its type: copied.
  const std::string again = path("again.gguf");
  lp::quant::quantize_file(r16_path, again, recipe, 2, {}, interleaved());
  expect_same_tensor_data(r16, lp::gguf::File::open(again));

  // Any other conversion of an interleaved tensor is refused, naming it; nothing is written. (The
  // Q4_K_R16 and F32 tensors alone, so that the first tensor refused is an interleaved one.)
  const std::string only = interleaved_and_float_only(r16, path("r16_only.gguf"));
  lp::test::expect_error([&] { lp::quant::quantize_file(only, path("q8.gguf"), *lp::find_recipe("Q8_0"), 2); },
                         lp::ErrorKind::Unsupported, {"'blk.0.attn_q.weight'", "Q4_K_R16", "interleaved", "Q8_0"});
  EXPECT_FALSE(fs::exists(path("q8.gguf")));
}

// The CLI: the flag, the progress line and the help text.
using lp::test::RunResult;
using lp::test::run_cli;

TEST_F(QuantInterleaveFile, CliInterleavesAQ4KMFileAndBack) {
  const std::string q4km = path("q4km.gguf"), r16 = path("r16.gguf"), back = path("back.gguf");
  lp::quant::quantize_file(input_, q4km, *lp::find_recipe("Q4_K_M"), 2);
  const RunResult r = run_cli("quantize " + q4km + " " + r16 + " Q4_K_M --interleave --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Q4_K -> Q4_K_R16 (relayout)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(copied)"), std::string::npos) << r.output;
  EXPECT_EQ(lp::gguf::File::open(r16).find_tensor("blk.0.attn_q.weight")->type, TensorType::Q4_K_R16);

  const RunResult b = run_cli("quantize " + r16 + " " + back + " Q4_K_M");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_NE(b.output.find("Q4_K_R16 -> Q4_K (relayout)"), std::string::npos) << b.output;
  expect_same_tensor_data(lp::gguf::File::open(q4km), lp::gguf::File::open(back));

  const std::string only = interleaved_and_float_only(lp::gguf::File::open(r16), path("r16_only.gguf"));
  const RunResult bad = run_cli("quantize " + only + " " + path("q8.gguf") + " Q8_0");
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("'blk.0.attn_q.weight' is Q4_K_R16"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(path("q8.gguf")));

  const RunResult help = run_cli("quantize --help");
  EXPECT_NE(help.output.find("--interleave"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("Q4_K_R16"), std::string::npos) << help.output;
}

// ---- GGUF reader and writer ----

std::vector<uint8_t> raw_r16_file(uint64_t rows, uint32_t type_id) {
  using namespace lp::gguf::testing;
  RawSpec s;
  s.kvs.push_back(kv_string("general.architecture", "llama"));
  s.tensors.push_back({"blk.0.attn_q.weight", {256, rows}, type_id, 0});
  s.data_bytes = rows * sizeof(block_q4_K);
  return build(s);
}

TEST(QuantInterleaveGguf, ReaderTranslatesTheIdAndChecksRowGroups) {
  const auto ok = lp::gguf::File::from_bytes(raw_r16_file(32, kR16FileId));
  EXPECT_EQ(ok.tensors()[0].type, TensorType::Q4_K_R16);
  EXPECT_EQ(ok.tensors()[0].nbytes, 32 * sizeof(block_q4_K));

  lp::test::expect_error([] { lp::gguf::File::from_bytes(raw_r16_file(24, kR16FileId)); },
                         lp::ErrorKind::InvalidFile, {"row group", "'blk.0.attn_q.weight'", "24"});
  // 48 without llamaprof's base is another engine's id, never Q4_K_R16.
  lp::test::expect_error([] { lp::gguf::File::from_bytes(raw_r16_file(32, 48)); }, lp::ErrorKind::InvalidFile,
                         {"unknown tensor type", "type id 48"});
}

TEST(QuantInterleaveGguf, WriterRefusesPartialGroupsAndWritesTheLlamaprofId) {
  std::vector<uint8_t> data(32 * sizeof(block_q4_K));
  {
    lp::gguf::Writer w;
    EXPECT_THROW(
        {
          w.add_tensor("blk.0.attn_q.weight", TensorType::Q4_K_R16, {256, 24},
                       std::span<const uint8_t>(data.data(), 24 * sizeof(block_q4_K)));
          (void)w.to_bytes();
        },
        lp::Error);
  }
  lp::gguf::Writer w;
  w.add_tensor("blk.0.attn_q.weight", TensorType::Q4_K_R16, {256, 32}, std::span<const uint8_t>(data));
  const auto bytes = w.to_bytes();
  const auto f = lp::gguf::File::from_bytes(bytes);
  EXPECT_EQ(f.tensors()[0].type, TensorType::Q4_K_R16);
  // The stored id: after the name, n_dims and two dimensions.
  const std::string name = "blk.0.attn_q.weight";
  auto it = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  ASSERT_NE(it, bytes.end());
  uint32_t id = 0;
  std::memcpy(&id, &*(it + std::ptrdiff_t(name.size() + 4 + 16)), 4);
  EXPECT_EQ(id, kR16FileId);
}

// ---- Model loading ----

TEST(QuantInterleaveModel, InterleavedTokenEmbeddingsAreRefused) {
  lp::test::TinyModelSpec spec;
  spec.n_embd = 256;  // a Q4_K row
  spec.n_layer = 1;
  spec.n_ff = 64;
  spec.type_override["token_embd.weight"] = TensorType::Q4_K;
  const std::string plain = lp::test::write_tiny_model(lp::test::temp_path("r16_embd_plain.gguf"), spec);
  const auto f = lp::gguf::File::open(plain);
  const lp::gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  ASSERT_EQ(embd->rows() % 16, 0) << "the tiny vocabulary must fill whole row groups";
  std::vector<uint8_t> r16(embd->nbytes);
  lp::interleave_q4_k_rows(embd->data, r16.data(), embd->rows(), embd->shape[0]);

  lp::gguf::Writer w;
  for (const auto& [key, value] : f.metadata()) w.set(key, value);
  for (const lp::gguf::TensorInfo& t : f.tensors()) {
    if (t.name == "token_embd.weight") {
      w.add_tensor(t.name, TensorType::Q4_K_R16, t.shape, std::span<const uint8_t>(r16));
    } else {
      w.add_tensor(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, t.nbytes));
    }
  }
  const std::string path = lp::test::temp_path("r16_embd.gguf");
  w.write(path);
  lp::test::expect_error([&] { lp::Model::load(path); }, lp::ErrorKind::Unsupported,
                         {"token_embd.weight", "interleaved"});
}

}  // namespace

namespace {

// The same model as Q4_K_M and as Q4_K_M --interleave: the interleaved matrices hold the same
// values, so prompt logits (gemm), decode logits (mat-vec) and greedy tokens agree to the float
// rounding of the kernels' different summation orders.
TEST(QuantInterleaveModel, InterleavedModelComputesWhatThePlainOneDoes) {
  lp::test::TinyModelSpec spec;
  spec.n_embd = 256;  // one Q4_K super-block per row
  spec.n_ff = 512;
  spec.n_layer = 2;
  const std::string f32 = lp::test::write_tiny_model(lp::test::temp_path("r16_model_f32.gguf"), spec);
  const std::string plain = lp::test::temp_path("r16_model_q4km.gguf"), r16 = lp::test::temp_path("r16_model_r16.gguf");
  const lp::Recipe recipe = *lp::find_recipe("Q4_K_M");
  lp::quant::quantize_file(f32, plain, recipe, 1);
  lp::quant::PlanOptions options;
  options.interleave = true;
  lp::quant::quantize_file(f32, r16, recipe, 1, {}, options);
  int interleaved = 0;
  const lp::gguf::File r16_file = lp::gguf::File::open(r16);
  for (const auto& t : r16_file.tensors()) interleaved += t.type == TensorType::Q4_K_R16;
  ASSERT_GE(interleaved, 4) << "the recipe must leave Q4_K matrices to interleave";

  const lp::Model a = lp::Model::load(plain), b = lp::Model::load(r16);
  lp::ContextParams p;
  p.n_ctx = 64;
  p.n_threads = 2;
  p.logits_all = true;
  lp::Context ca(a, p), cb(b, p);
  const std::vector<lp::TokenId> prompt = {1, 40, 77, 200, 30, 100, 7, 9, 250, 11, 50, 51, 52, 90, 91, 3, 4, 5};
  ca.eval(prompt);
  cb.eval(prompt);
  for (int i = 0; i < int(prompt.size()); ++i) {
    const auto la = ca.logits_at(i), lb = cb.logits_at(i);
    float diff = 0, scale = 0;
    for (size_t k = 0; k < la.size(); ++k) {
      diff = std::max(diff, std::fabs(la[k] - lb[k]));
      scale = std::max(scale, std::fabs(la[k]));
    }
    ASSERT_GT(scale, 0.1f);
    EXPECT_LT(diff, 1e-3f * scale) << "prompt position " << i;
  }
  // Greedy decode, one token at a time (the mat-vec path).
  for (int step = 0; step < 12; ++step) {
    const auto la = ca.logits(), lb = cb.logits();
    const auto ta = lp::TokenId(std::max_element(la.begin(), la.end()) - la.begin());
    const auto tb = lp::TokenId(std::max_element(lb.begin(), lb.end()) - lb.begin());
    ASSERT_EQ(ta, tb) << "greedy step " << step;
    ca.eval(std::span<const lp::TokenId>(&ta, 1));
    cb.eval(std::span<const lp::TokenId>(&tb, 1));
  }
}

}  // namespace
