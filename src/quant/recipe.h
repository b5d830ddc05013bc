// Quantization recipes: the per-tensor type choices users know from llama-quantize
// (e.g. Q4_K_M keeps output.weight at Q6_K and part of attn_v / ffn_down at Q6_K).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/type_traits.h"

namespace lp {

struct Recipe {
  std::string name;        // "Q4_K_M", "Q4_0", "F16", ...
  TensorType base;         // the type most weight matrices get
};

// Every recipe `quantize` and `make-model` accept.
const std::vector<Recipe>& recipes();
std::optional<Recipe> find_recipe(std::string_view name);  // case-insensitive

// The type for one tensor. `name` is the GGUF tensor name ("blk.3.attn_v.weight"), n_layers the
// block count, row_len its ne[0]. 1-D tensors (norms) stay F32; a type whose block size does
// not divide row_len falls back to a compatible one.
TensorType recipe_tensor_type(const Recipe& recipe, std::string_view name, int n_layers,
                              int64_t row_len, int n_dims);

}  // namespace lp
