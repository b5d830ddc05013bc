// Recipes: the per-tensor rules of llama-quantize for llama models, the row-length fallbacks, and
// name lookup.
#include <gtest/gtest.h>

#include <vector>

#include "quant/recipe.h"

namespace {

using lp::TensorType;
using T = lp::TensorType;

lp::Recipe recipe(const char* name) {
  auto r = lp::find_recipe(name);
  EXPECT_TRUE(r.has_value()) << name;
  return *r;
}

T type_of(const char* recipe_name, const std::string& tensor, int n_layers = 32, int64_t row = 4096,
          int n_dims = 2) {
  return lp::recipe_tensor_type(recipe(recipe_name), tensor, n_layers, row, n_dims);
}

TEST(QuantRecipe, UseMoreBitsLayers) {
  // 28 layers: 0-2, 24-27, and every third layer in between starting at 5.
  std::vector<int> more;
  for (int i = 0; i < 28; ++i) {
    if (lp::use_more_bits(i, 28)) more.push_back(i);
  }
  EXPECT_EQ(more, (std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27}));
  int count = 0;
  for (int i = 0; i < 32; ++i) count += lp::use_more_bits(i, 32);
  EXPECT_EQ(count, 16);  // Llama 2 7B Q4_K_M: 16 of 32 attn_v / ffn_down at Q6_K
}

TEST(QuantRecipe, Q4_K_M) {
  EXPECT_EQ(type_of("Q4_K_M", "output.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q4_K_M", "token_embd.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.0.attn_v.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.4.attn_v.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.6.attn_v.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.31.ffn_down.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.5.ffn_down.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.0.attn_q.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.0.ffn_gate.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.0.attn_norm.weight", 32, 4096, 1), T::F32);
  EXPECT_EQ(type_of("Q4_K_M", "output_norm.weight", 32, 4096, 1), T::F32);
}

TEST(QuantRecipe, Q5_K_MAndQ6_K) {
  EXPECT_EQ(type_of("Q5_K_M", "blk.0.attn_v.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q5_K_M", "blk.4.ffn_down.weight"), T::Q5_K);
  EXPECT_EQ(type_of("Q5_K_M", "output.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q6_K", "blk.4.attn_q.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q6_K", "output.weight"), T::Q6_K);
  EXPECT_EQ(type_of("Q6_K", "token_embd.weight"), T::Q6_K);
}

TEST(QuantRecipe, Q3_K_M) {
  EXPECT_EQ(type_of("Q3_K_M", "blk.0.attn_v.weight"), T::Q5_K);
  EXPECT_EQ(type_of("Q3_K_M", "blk.1.attn_v.weight"), T::Q5_K);
  EXPECT_EQ(type_of("Q3_K_M", "blk.2.attn_v.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q3_K_M", "blk.1.ffn_down.weight"), T::Q5_K);  // 32 / 16 = 2 layers
  EXPECT_EQ(type_of("Q3_K_M", "blk.2.ffn_down.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q3_K_M", "blk.9.attn_output.weight"), T::Q4_K);
  EXPECT_EQ(type_of("Q3_K_M", "blk.9.attn_q.weight"), T::Q3_K);
  EXPECT_EQ(type_of("Q3_K_M", "output.weight"), T::Q6_K);
}

TEST(QuantRecipe, Q2_K) {
  EXPECT_EQ(type_of("Q2_K", "blk.3.attn_v.weight"), T::Q3_K);
  EXPECT_EQ(type_of("Q2_K", "blk.3.ffn_down.weight"), T::Q3_K);
  EXPECT_EQ(type_of("Q2_K", "blk.3.attn_output.weight"), T::Q3_K);
  EXPECT_EQ(type_of("Q2_K", "blk.3.ffn_up.weight"), T::Q2_K);
  lp::RecipeModel gqa;
  gqa.n_layers = 32;
  gqa.n_gqa = 4;
  EXPECT_EQ(lp::recipe_tensor_type(recipe("Q2_K"), "blk.3.attn_v.weight", gqa, 4096, 2), T::Q4_K);
}

TEST(QuantRecipe, LegacyTypesKeepOutputAtQ6_KExceptQ8_0) {
  for (const char* name : {"Q4_0", "Q4_1", "Q5_0", "Q5_1"}) {
    EXPECT_EQ(type_of(name, "output.weight"), T::Q6_K) << name;
    EXPECT_EQ(type_of(name, "blk.0.attn_v.weight"), recipe(name).base) << name;
    EXPECT_EQ(type_of(name, "blk.0.ffn_down.weight"), recipe(name).base) << name;
    EXPECT_EQ(type_of(name, "token_embd.weight"), recipe(name).base) << name;
  }
  EXPECT_EQ(type_of("Q8_0", "output.weight"), T::Q8_0);
  EXPECT_EQ(type_of("Q8_0", "token_embd.weight"), T::Q8_0);
}

TEST(QuantRecipe, TiedEmbeddingsGetTheOutputRule) {
  lp::RecipeModel tied;
  tied.n_layers = 22;
  tied.has_output = false;
  EXPECT_EQ(lp::recipe_tensor_type(recipe("Q4_K_M"), "token_embd.weight", tied, 2048, 2), T::Q6_K);
}

TEST(QuantRecipe, FloatRecipesConvertEveryMatrix) {
  EXPECT_EQ(type_of("F16", "output.weight"), T::F16);
  EXPECT_EQ(type_of("F16", "blk.0.attn_v.weight"), T::F16);
  EXPECT_EQ(type_of("F16", "blk.0.attn_norm.weight", 32, 4096, 1), T::F32);
  EXPECT_EQ(type_of("BF16", "blk.0.ffn_down.weight"), T::BF16);
  EXPECT_EQ(type_of("F32", "blk.0.ffn_down.weight"), T::F32);
}

TEST(QuantRecipe, RowLengthFallbacks) {
  // 11008 = 43 * 256: fine. 4000 is a multiple of 32 but not of 256.
  EXPECT_EQ(type_of("Q4_K_M", "blk.4.ffn_up.weight", 32, 11008), T::Q4_K);
  EXPECT_EQ(type_of("Q4_K_M", "blk.4.ffn_up.weight", 32, 4000), T::Q5_0);
  EXPECT_EQ(type_of("Q5_K_M", "blk.4.ffn_up.weight", 32, 4000), T::Q5_1);
  EXPECT_EQ(type_of("Q6_K", "blk.4.ffn_up.weight", 32, 4000), T::Q8_0);
  EXPECT_EQ(type_of("Q2_K", "blk.4.ffn_up.weight", 32, 4000), T::Q4_0);
  EXPECT_EQ(type_of("Q3_K_M", "blk.4.attn_q.weight", 32, 4000), T::Q4_0);
  EXPECT_EQ(type_of("Q4_K_M", "blk.0.attn_v.weight", 32, 4000), T::Q8_0);  // Q6_K -> Q8_0
  EXPECT_EQ(type_of("Q4_K_M", "output.weight", 32, 4000), T::Q8_0);
  EXPECT_EQ(type_of("Q4_0", "output.weight", 32, 4000), T::Q8_0);   // Q6_K does not fit
  EXPECT_EQ(type_of("Q4_0", "output.weight", 32, 100), T::F16);     // neither does Q8_0
  EXPECT_EQ(type_of("Q4_K_M", "blk.4.ffn_up.weight", 32, 100), T::F16);
  EXPECT_EQ(type_of("Q4_0", "blk.4.ffn_up.weight", 32, 100), T::F16);
}

TEST(QuantRecipe, LookupAndFileTypes) {
  EXPECT_EQ(recipe("q4_k_m").name, "Q4_K_M");
  EXPECT_EQ(recipe("Q4_K").name, "Q4_K_M");
  EXPECT_EQ(recipe("q3_k").name, "Q3_K_M");
  EXPECT_FALSE(lp::find_recipe("Q4_K_S").has_value());
  EXPECT_FALSE(lp::find_recipe("Q8_K").has_value());
  const std::pair<const char*, uint32_t> kFtypes[] = {
      {"F32", 0},  {"F16", 1},     {"Q4_0", 2},    {"Q4_1", 3},    {"Q8_0", 7},  {"Q5_0", 8},   {"Q5_1", 9},
      {"Q2_K", 10}, {"Q3_K_M", 12}, {"Q4_K_M", 15}, {"Q5_K_M", 17}, {"Q6_K", 18}, {"BF16", 32},
  };
  for (const auto& [name, ftype] : kFtypes) EXPECT_EQ(recipe(name).file_type, ftype) << name;
  EXPECT_NE(lp::recipe_names().find("Q4_K_M"), std::string::npos);
}

}  // namespace
