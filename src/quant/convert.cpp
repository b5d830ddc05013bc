#include "quant/convert.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "llamaprof/error.h"
#include "quant/quantize.h"

namespace lp::quant {
namespace {

// Converts rows [begin, end).
void convert_range(TensorType from, const uint8_t* src, TensorType to, uint8_t* dst, int64_t begin, int64_t end,
                   int64_t row_len) {
  const size_t src_row = row_size(from, row_len), dst_row = row_size(to, row_len);
  if (from == to) {
    std::memcpy(dst + size_t(begin) * dst_row, src + size_t(begin) * src_row, size_t(end - begin) * src_row);
    return;
  }
  std::vector<float> scratch(from == TensorType::F32 ? 0 : size_t(row_len));
  for (int64_t r = begin; r < end; ++r) {
    const uint8_t* in = src + size_t(r) * src_row;
    const float* row = reinterpret_cast<const float*>(in);  // F32 rows are read in place
    if (from != TensorType::F32) {
      dequantize_row_ref(from, in, scratch.data(), row_len);
      row = scratch.data();
    }
    quantize_row_ref(to, row, dst + size_t(r) * dst_row, row_len);
  }
}

}  // namespace

bool is_convertible_source(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}

TensorPlan plan_tensor(const Recipe& recipe, const RecipeModel& model, std::string_view name, TensorType from,
                       const std::vector<int64_t>& shape) {
  const int64_t row_len = shape.empty() ? 1 : shape[0];
  int n_dims = int(shape.size());
  while (n_dims > 1 && shape[size_t(n_dims) - 1] == 1) --n_dims;  // trailing 1s do not count (as ggml_n_dims)
  const TensorType to = recipe_tensor_type(recipe, name, model, row_len, n_dims);
  if (from == to) return {from, to, true};
  if (!is_convertible_source(from)) {
    throw Error(ErrorKind::Unsupported,
                "tensor '" + std::string(name) + "' is " + std::string(type_traits(from).name) + " and recipe " +
                    recipe.name + " wants " + std::string(type_traits(to).name) +
                    ": only F32, F16 and BF16 tensors can be converted (a quantized tensor is copied only when "
                    "the recipe keeps its type)");
  }
  return {from, to, false};
}

void convert_rows(TensorType from, const void* src, TensorType to, void* dst, int64_t n_rows, int64_t row_len,
                  int n_threads) {
  if (from != to && !is_convertible_source(from)) {
    throw Error(ErrorKind::Unsupported, "cannot convert from " + std::string(type_traits(from).name));
  }
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  // Small tensors are not worth a thread; below ~64k elements per thread the start-up dominates.
  const int64_t max_useful = std::max<int64_t>(1, n_rows * row_len / 65536);
  const int threads = int(std::clamp<int64_t>(n_threads, 1, std::min(n_rows, max_useful)));
  if (threads <= 1) {
    convert_range(from, in, to, out, 0, n_rows, row_len);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = n_rows * t / threads, end = n_rows * (t + 1) / threads;
    workers.emplace_back([&, t, begin, end] {
      try {
        convert_range(from, in, to, out, begin, end, row_len);
      } catch (...) {
        errors[size_t(t)] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out;
  for (int64_t d : shape) {
    if (!out.empty()) out += 'x';
    out += std::to_string(d);
  }
  return out;
}

}  // namespace lp::quant
