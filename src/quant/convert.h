// Tensor-level conversion for `quantize` and `make-model`: which type each tensor becomes under a
// recipe (and whether that is possible from its current type), and a multithreaded row converter.
// Independent of the GGUF reader/writer; quantize_file.h puts the two together.
//
// Besides quantizing float tensors, a tensor can change layout without changing a value: a plain
// type and its interleaved form (Q4_K <-> Q4_K_R16, quant/interleave.h) convert either way
// losslessly ("relayout"). `quantize --interleave` asks for that form for Q4_K matrix weights.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/recipe.h"
#include "quant/type_traits.h"

namespace lp::quant {

// Types convert_rows quantizes from: the float types. Any other tensor is copied when its type is
// kept, or relaid out (is_relayout); it is never requantized.
bool is_convertible_source(TensorType type);

// from and to hold the same values in two layouts: one is the other's interleaved form.
bool is_relayout(TensorType from, TensorType to);

// Whether --interleave applies to a tensor of this name and shape (ne[0] first): a 2-D matrix
// weight ("*.weight", trailing 1s not counted) whose ne[1] is a multiple of Q4_K_R16's row group,
// except token_embd.weight, whose rows are looked up one at a time.
bool is_interleavable_weight(std::string_view name, const std::vector<int64_t>& shape);

struct PlanOptions {
  // Write the Q4_K matrix weights (is_interleavable_weight) as Q4_K_R16.
  bool interleave = false;
};

struct TensorPlan {
  TensorType from;
  TensorType to;
  bool copy;              // from == to: the bytes are copied unchanged
  bool relayout = false;  // is_relayout(from, to): the same values reordered, bit for bit
};

// The plan for one tensor of shape (ne[0] first) under recipe. Throws lp::Error(Unsupported) naming
// the tensor when it is quantized and the recipe wants another type that is not a relayout of it
// (an interleaved tensor converts only to its plain type), or when its type cannot be read.
TensorPlan plan_tensor(const Recipe& recipe, const RecipeModel& model, std::string_view name,
                       TensorType from, const std::vector<int64_t>& shape, const PlanOptions& options = {});

// Converts n_rows rows of row_len elements from `from` (a float type, equal to `to`, or a relayout
// of it) into `to`, splitting the rows over n_threads std::threads (1 = on the calling thread).
// An interleaved type on either side is converted a whole row group at a time: n_rows must be a
// multiple of its row_group (lp::Error(InvalidArgument) otherwise), and threads split at groups.
void convert_rows(TensorType from, const void* src, TensorType to, void* dst, int64_t n_rows, int64_t row_len,
                  int n_threads);

// "4096x32000" (ne[0] first, as llama.cpp prints shapes).
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace lp::quant
