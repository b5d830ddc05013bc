// Tensor-level conversion for `quantize` and `make-model`: which type each tensor becomes under a
// recipe (and whether that is possible from its current type), and a multithreaded row converter.
// Independent of the GGUF reader/writer; quantize_file.h puts the two together.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/recipe.h"
#include "quant/type_traits.h"

namespace lp::quant {

// Types convert_rows reads from: the float types. A quantized tensor is only ever copied.
bool is_convertible_source(TensorType type);

struct TensorPlan {
  TensorType from;
  TensorType to;
  bool copy;  // from == to: the bytes are copied unchanged
};

// The plan for one tensor of shape (ne[0] first) under recipe. Throws lp::Error(Unsupported) naming
// the tensor when it is quantized and the recipe wants another type, or when its type cannot be read.
TensorPlan plan_tensor(const Recipe& recipe, const RecipeModel& model, std::string_view name,
                       TensorType from, const std::vector<int64_t>& shape);

// Converts n_rows rows of row_len elements from `from` (a float type, or equal to `to`) into `to`,
// splitting the rows over n_threads std::threads (1 = on the calling thread).
void convert_rows(TensorType from, const void* src, TensorType to, void* dst, int64_t n_rows, int64_t row_len,
                  int n_threads);

// "4096x32000" (ne[0] first, as llama.cpp prints shapes).
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace lp::quant
