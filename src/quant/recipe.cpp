// The recipes and their per-tensor rules, following llama-quantize (llama.cpp's
// llama_tensor_get_type) for the llama architecture, without an importance matrix:
//
//   output.weight (and token_embd.weight when there is no separate output): Q6_K for every
//     quantized recipe except Q8_0, which keeps Q8_0; Q8_0 if the base type's block size does not
//     divide the row.
//   token_embd.weight: the base type.
//   attn_v.weight:   Q2_K   -> Q3_K (Q4_K when n_gqa >= 4)
//                    Q3_K_M -> Q5_K on layers 0 and 1, else Q4_K
//                    Q4_K_M, Q5_K_M -> Q6_K on use_more_bits layers
//   ffn_down.weight: Q2_K   -> Q3_K
//                    Q3_K_M -> Q5_K on the first 1/16 of the layers, else Q4_K
//                    Q4_K_M, Q5_K_M -> Q6_K on use_more_bits layers
//   attn_output.weight: Q2_K -> Q3_K, Q3_K_M -> Q4_K
//   attn_qkv.weight (fused, phi3): Q3_K_M -> Q4_K, Q4_K_M -> Q5_K, Q5_K_M -> Q6_K
//   ffn_down_exps.weight (MoE experts): as ffn_down.weight
//   ffn_gate_inp.weight (the MoE router): F32 in every recipe
//   everything else 2-D: the base type. 1-D tensors (norms): F32. The float recipes (F32, F16,
//   BF16) convert every 2-D tensor to their type and apply none of the rules above.
//
// Row lengths a type's block does not divide: llama-quantize falls back Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0 and Q2_K / Q3_K -> IQ4_NL. llamaprof has no IQ types, so Q2_K / Q3_K fall back to
// Q4_0 (the same 4.5 bits per weight and block of 32 as IQ4_NL). If the fallback (or a legacy base
// type) still does not divide the row, the tensor becomes F16 (llama-quantize refuses legacy types
// there; a working file is more useful than an error).
#include "quant/recipe.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace lp {
namespace {

using T = TensorType;

// llama_ftype numbering (general.file_type).
const std::vector<Recipe> kRecipes = {
    {"Q4_0", T::Q4_0, 2},   {"Q4_1", T::Q4_1, 3},     {"Q5_0", T::Q5_0, 8},     {"Q5_1", T::Q5_1, 9},
    {"Q8_0", T::Q8_0, 7},   {"Q2_K", T::Q2_K, 10},    {"Q3_K_M", T::Q3_K, 12},  {"Q4_K_M", T::Q4_K, 15},
    {"Q5_K_M", T::Q5_K, 17}, {"Q6_K", T::Q6_K, 18},   {"F16", T::F16, 1},       {"F32", T::F32, 0},
    {"BF16", T::BF16, 32},
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "blk.12.ffn_down.weight" -> 12; -1 when the name has no block index.
int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = -1;
  const char* first = name.data() + 4;
  const auto [ptr, ec] = std::from_chars(first, name.data() + name.size(), layer);
  if (ec != std::errc() || ptr == first || *ptr != '.') return -1;
  return layer;
}

// The recipe's rule before the row-length check.
TensorType rule_type(const Recipe& r, std::string_view name, const RecipeModel& m) {
  const int layer = std::max(0, layer_of(name));
  const int n = std::max(1, m.n_layers);
  const bool is_output = name == "output.weight" || (!m.has_output && name == "token_embd.weight");
  if (is_output) return r.base == T::Q8_0 ? T::Q8_0 : T::Q6_K;
  if (name == "token_embd.weight") return r.base;

  const std::string& rn = r.name;
  if (ends_with(name, "attn_v.weight")) {
    if (rn == "Q2_K") return m.n_gqa >= 4 ? T::Q4_K : T::Q3_K;
    if (rn == "Q3_K_M") return layer < 2 ? T::Q5_K : T::Q4_K;
    if ((rn == "Q4_K_M" || rn == "Q5_K_M") && use_more_bits(layer, n)) return T::Q6_K;
  } else if (ends_with(name, "attn_qkv.weight")) {  // fused Q/K/V (phi3)
    if (rn == "Q3_K_M") return T::Q4_K;
    if (rn == "Q4_K_M") return T::Q5_K;
    if (rn == "Q5_K_M") return T::Q6_K;
  } else if (ends_with(name, "ffn_down.weight") || ends_with(name, "ffn_down_exps.weight")) {
    if (rn == "Q2_K") return T::Q3_K;
    if (rn == "Q3_K_M") return layer < n / 16 ? T::Q5_K : T::Q4_K;
    if ((rn == "Q4_K_M" || rn == "Q5_K_M") && use_more_bits(layer, n)) return T::Q6_K;
  } else if (ends_with(name, "attn_output.weight")) {
    if (rn == "Q2_K") return T::Q3_K;
    if (rn == "Q3_K_M") return T::Q4_K;
  }
  return r.base;
}

// A type whose block size divides row_len, per the fallbacks described at the top.
TensorType fit_row(TensorType type, int64_t row_len) {
  auto divides = [row_len](TensorType t) { return row_len % type_traits(t).block_size == 0; };
  if (divides(type)) return type;
  switch (type) {
    case T::Q2_K:
    case T::Q3_K: type = T::Q4_0; break;
    case T::Q4_K: type = T::Q5_0; break;
    case T::Q5_K: type = T::Q5_1; break;
    case T::Q6_K: type = T::Q8_0; break;
    default: break;
  }
  return divides(type) ? type : T::F16;
}

}  // namespace

bool use_more_bits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

const std::vector<Recipe>& recipes() { return kRecipes; }

std::optional<Recipe> find_recipe(std::string_view name) {
  std::string key = upper(name);
  if (key == "Q3_K" || key == "Q4_K" || key == "Q5_K") key += "_M";  // llama-quantize's aliases
  for (const Recipe& r : kRecipes) {
    if (r.name == key) return r;
  }
  return std::nullopt;
}

std::string recipe_names() {
  std::string out;
  for (const Recipe& r : kRecipes) {
    if (!out.empty()) out += ", ";
    out += r.name;
  }
  return out;
}

TensorType recipe_tensor_type(const Recipe& recipe, std::string_view name, int n_layers, int64_t row_len,
                              int n_dims) {
  RecipeModel model;
  model.n_layers = n_layers;
  return recipe_tensor_type(recipe, name, model, row_len, n_dims);
}

TensorType recipe_tensor_type(const Recipe& recipe, std::string_view name, const RecipeModel& model,
                              int64_t row_len, int n_dims) {
  // 1-D tensors, and the MoE router (llama-quantize never quantizes ffn_gate_inp), stay F32.
  if (n_dims < 2 || ends_with(name, "ffn_gate_inp.weight")) return T::F32;
  if (!type_traits(recipe.base).quantized) return recipe.base;
  // llama-quantize checks the output rule against the base type's block size first.
  const bool is_output = name == "output.weight" || (!model.has_output && name == "token_embd.weight");
  if (is_output && row_len % type_traits(recipe.base).block_size != 0) return fit_row(T::Q8_0, row_len);
  return fit_row(rule_type(recipe, name, model), row_len);
}

}  // namespace lp
