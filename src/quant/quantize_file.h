// quantize_file: GGUF in, GGUF out under a recipe (the library side of `llamaprof quantize`).
//
// Header-only on purpose: lp_gguf links lp_quant, so lp_quant cannot link lp_gguf back; the
// function is compiled into its callers (the CLI, tests), which link both. The work itself is in
// convert.cpp (lp_quant) and the GGUF reader/writer (lp_gguf).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "quant/convert.h"
#include "quant/recipe.h"

namespace lp::quant {

struct TensorProgress {
  int index;  // 1-based
  int count;
  const gguf::TensorInfo* tensor;
  TensorPlan plan;
};
using ProgressFn = std::function<void(const TensorProgress&)>;

// The facts the recipe rules need, from a file's metadata.
inline RecipeModel recipe_model_of(const gguf::File& in) {
  RecipeModel m;
  const std::string arch = in.get_string("general.architecture", "llama");
  m.n_layers = int(in.get_u64(arch + ".block_count", 0));
  const uint64_t n_head = in.get_u64(arch + ".attention.head_count", 1);
  const uint64_t n_head_kv = in.get_u64(arch + ".attention.head_count_kv", n_head);
  m.n_gqa = n_head_kv > 0 ? int(n_head / n_head_kv) : 1;
  m.has_output = in.find_tensor("output.weight") != nullptr;
  return m;
}

// Reads in_path, converts every tensor as `recipe` says, writes out_path (atomically, via the
// writer's temporary file). Metadata is copied in order; general.file_type and
// general.quantization_version (2) are set. Every tensor is planned before anything is written, so
// an unconvertible tensor fails fast. progress (optional) is called as each tensor starts.
// options.interleave writes the Q4_K matrix weights as Q4_K_R16, quantizing float tensors or relaying
// out Q4_K ones; without it a Q4_K_R16 tensor the recipe wants as Q4_K is relaid out back (both
// directions are lossless, plan_tensor in convert.h).
inline void quantize_file(const std::string& in_path, const std::string& out_path, const Recipe& recipe,
                          int n_threads, const ProgressFn& progress = {}, const PlanOptions& options = {}) {
  std::error_code ec;
  if (std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(in_path, out_path, ec)) {
    throw Error(ErrorKind::InvalidArgument,
                "output '" + out_path + "' is the input file '" + in_path + "': refusing to overwrite it");
  }
  const gguf::File in = gguf::File::open(in_path);
  const RecipeModel model = recipe_model_of(in);

  std::vector<TensorPlan> plans;
  for (const gguf::TensorInfo& t : in.tensors()) {
    plans.push_back(plan_tensor(recipe, model, t.name, t.type, t.shape, options));
  }

  gguf::Writer out;
  for (const auto& [key, value] : in.metadata()) out.set(key, value);
  out.set("general.file_type", gguf::Value::u32(recipe.file_type));
  out.set("general.quantization_version", gguf::Value::u32(2));

  const int count = int(in.tensors().size());
  for (int i = 0; i < count; ++i) {
    const gguf::TensorInfo& t = in.tensors()[size_t(i)];
    const TensorPlan plan = plans[size_t(i)];
    const int64_t row_len = t.shape.empty() ? 1 : t.shape[0];
    const int64_t n_rows = row_len > 0 ? t.n_elements() / row_len : 0;
    out.add_tensor(t.name, plan.to, t.shape,
                   [&t, plan, row_len, n_rows, n_threads, i, count, &progress](uint8_t* dst, uint64_t nbytes) {
                     if (progress) progress(TensorProgress{i + 1, count, &t, plan});
                     if (nbytes != uint64_t(n_rows) * row_size(plan.to, row_len)) {
                       throw Error(ErrorKind::Runtime, "tensor '" + t.name + "': writer asked for " +
                                                           std::to_string(nbytes) + " bytes");
                     }
                     convert_rows(plan.from, t.data, plan.to, dst, n_rows, row_len, n_threads);
                   });
  }
  out.write(out_path);
}

}  // namespace lp::quant
