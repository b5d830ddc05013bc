// Quantization recipes: the per-tensor type choices users know from llama-quantize
// (e.g. Q4_K_M keeps output.weight at Q6_K and part of attn_v / ffn_down at Q6_K).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/type_traits.h"

namespace lp {

struct Recipe {
  std::string name;        // "Q4_K_M", "Q4_0", "F16", ...
  TensorType base;         // the type most weight matrices get
  uint32_t file_type = 0;  // general.file_type (llama_ftype numbering: MOSTLY_Q4_K_M = 15, ...)
};

// Every recipe `quantize` and `make-model` accept.
const std::vector<Recipe>& recipes();
// Case-insensitive; also accepts llama-quantize's aliases Q3_K, Q4_K, Q5_K (= the _M recipes).
std::optional<Recipe> find_recipe(std::string_view name);
// "Q4_0, Q4_1, ..." for error messages.
std::string recipe_names();

// Model facts some rules depend on (llama-quantize looks at the same ones).
struct RecipeModel {
  int n_layers = 0;
  int n_gqa = 1;            // n_head / n_head_kv: Q2_K gives attn_v Q4_K instead of Q3_K when >= 4
  bool has_output = true;   // false when output.weight is tied to token_embd, which then gets its rule
};

// The type for one tensor. `name` is the GGUF tensor name ("blk.3.attn_v.weight"), n_layers the
// block count, row_len its ne[0]. 1-D tensors (norms) stay F32; a type whose block size does
// not divide row_len falls back to a compatible one.
TensorType recipe_tensor_type(const Recipe& recipe, std::string_view name, int n_layers,
                              int64_t row_len, int n_dims);
TensorType recipe_tensor_type(const Recipe& recipe, std::string_view name, const RecipeModel& model,
                              int64_t row_len, int n_dims);

// llama-quantize's choice of layers that get more bits in the _M recipes: the first and last eighth
// of the layers and every third layer in between.
bool use_more_bits(int layer, int n_layers);

}  // namespace lp
