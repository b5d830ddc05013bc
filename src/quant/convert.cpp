#include "quant/convert.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "llamaprof/error.h"
#include "quant/interleave.h"
#include "quant/quantize.h"

namespace lp::quant {
namespace {

int row_group_of(TensorType type) { return type_traits(type).row_group; }

// n_rows rows of `interleaved`'s plain type at `plain` -> the interleaved layout at `out`, and back.
void interleave_rows(TensorType interleaved, const void* plain, void* out, int64_t n_rows, int64_t row_len) {
  switch (interleaved) {
    case TensorType::Q4_K_R16: return interleave_q4_k_rows(plain, out, n_rows, row_len);
    default: break;
  }
  throw Error(ErrorKind::Unsupported, "no interleaver for " + std::string(type_traits(interleaved).name));
}

void deinterleave_rows(TensorType interleaved, const void* in, void* plain, int64_t n_rows, int64_t row_len) {
  switch (interleaved) {
    case TensorType::Q4_K_R16: return deinterleave_q4_k_rows(in, plain, n_rows, row_len);
    default: break;
  }
  throw Error(ErrorKind::Unsupported, "no deinterleaver for " + std::string(type_traits(interleaved).name));
}

// Quantizes n rows of the float type `from` at src into the row-major type `to` at dst. scratch
// holds a row when from is not F32 (F32 rows are read in place).
void quantize_float_rows(TensorType from, const uint8_t* src, TensorType to, uint8_t* dst, int64_t n,
                         int64_t row_len, std::vector<float>& scratch) {
  const size_t src_row = row_size(from, row_len), dst_row = row_size(to, row_len);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* in = src + size_t(r) * src_row;
    const float* row = reinterpret_cast<const float*>(in);
    if (from != TensorType::F32) {
      scratch.resize(size_t(row_len));
      dequantize_row_ref(from, in, scratch.data(), row_len);
      row = scratch.data();
    }
    quantize_row_ref(to, row, dst + size_t(r) * dst_row, row_len);
  }
}

// Converts rows [begin, end); both are multiples of the row group of an interleaved side. A row of
// an interleaved type takes as many bytes as a row of its plain type, so row r starts at
// r * row_size on either side, whatever the layout inside its group.
void convert_range(TensorType from, const uint8_t* src, TensorType to, uint8_t* dst, int64_t begin, int64_t end,
                   int64_t row_len) {
  const size_t src_row = row_size(from, row_len), dst_row = row_size(to, row_len);
  const uint8_t* in = src + size_t(begin) * src_row;
  uint8_t* out = dst + size_t(begin) * dst_row;
  const int64_t n = end - begin;
  if (from == to) {
    std::memcpy(out, in, size_t(n) * src_row);
    return;
  }
  if (row_group_of(from) > 1) {  // a relayout back to the plain type (convert_rows checked)
    deinterleave_rows(from, in, out, n, row_len);
    return;
  }
  if (row_group_of(to) > 1 && from == type_traits(to).plain) {
    interleave_rows(to, in, out, n, row_len);
    return;
  }
  std::vector<float> scratch;
  if (row_group_of(to) == 1) {
    quantize_float_rows(from, in, to, out, n, row_len, scratch);
    return;
  }
  // Float -> interleaved: quantize one group of rows to the plain type, then interleave it.
  const TensorType plain = type_traits(to).plain;
  const int64_t group = row_group_of(to);
  std::vector<uint8_t> plain_rows(size_t(group) * row_size(plain, row_len));
  for (int64_t r = 0; r < n; r += group) {
    quantize_float_rows(from, in + size_t(r) * src_row, plain, plain_rows.data(), group, row_len, scratch);
    interleave_rows(to, plain_rows.data(), out + size_t(r) * dst_row, group, row_len);
  }
}

}  // namespace

bool is_convertible_source(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}

bool is_relayout(TensorType from, TensorType to) {
  if (from == to) return false;
  const TypeTraits &f = type_traits(from), &t = type_traits(to);
  return (t.row_group > 1 && t.plain == from) || (f.row_group > 1 && f.plain == to);
}

bool is_interleavable_weight(std::string_view name, const std::vector<int64_t>& shape) {
  constexpr std::string_view suffix = ".weight";
  if (name.size() < suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return false;
  if (name == "token_embd.weight") return false;  // the embedding lookup reads single rows
  size_t n_dims = shape.size();
  while (n_dims > 1 && shape[n_dims - 1] == 1) --n_dims;
  return n_dims == 2 && shape[1] % type_traits(TensorType::Q4_K_R16).row_group == 0;
}

TensorPlan plan_tensor(const Recipe& recipe, const RecipeModel& model, std::string_view name, TensorType from,
                       const std::vector<int64_t>& shape, const PlanOptions& options) {
  const int64_t row_len = shape.empty() ? 1 : shape[0];
  int n_dims = int(shape.size());
  while (n_dims > 1 && shape[size_t(n_dims) - 1] == 1) --n_dims;  // trailing 1s do not count (as ggml_n_dims)
  TensorType to = recipe_tensor_type(recipe, name, model, row_len, n_dims);
  if (options.interleave && to == TensorType::Q4_K && is_interleavable_weight(name, shape)) {
    to = TensorType::Q4_K_R16;
  }
  if (from == to) return {from, to, true, false};
  if (is_relayout(from, to)) return {from, to, false, true};
  const TypeTraits& f = type_traits(from);
  if (f.row_group > 1) {
    const std::string plain(type_traits(f.plain).name);
    throw Error(ErrorKind::Unsupported,
                "tensor '" + std::string(name) + "' is " + std::string(f.name) + " (llamaprof's " +
                    std::to_string(f.row_group) + "-row interleaved " + plain + ") and recipe " + recipe.name +
                    " wants " + std::string(type_traits(to).name) + ": an interleaved tensor is only relaid out to " +
                    plain + " (or kept with --interleave), never requantized");
  }
  if (!is_convertible_source(from)) {
    throw Error(ErrorKind::Unsupported,
                "tensor '" + std::string(name) + "' is " + std::string(f.name) + " and recipe " + recipe.name +
                    " wants " + std::string(type_traits(to).name) +
                    ": only F32, F16 and BF16 tensors can be converted (a quantized tensor is copied only when "
                    "the recipe keeps its type)");
  }
  return {from, to, false, false};
}

void convert_rows(TensorType from, const void* src, TensorType to, void* dst, int64_t n_rows, int64_t row_len,
                  int n_threads) {
  if (from != to && !is_relayout(from, to) && !is_convertible_source(from)) {
    throw Error(ErrorKind::Unsupported, "cannot convert from " + std::string(type_traits(from).name) + " to " +
                                            std::string(type_traits(to).name));
  }
  // Rows move in whole groups of an interleaved side (1 row otherwise).
  const int64_t group = std::max(row_group_of(from), row_group_of(to));
  if (n_rows % group != 0) {
    throw Error(ErrorKind::InvalidArgument,
                std::to_string(n_rows) + " rows do not split into the " + std::to_string(group) + "-row groups of " +
                    std::string(type_traits(row_group_of(from) > 1 ? from : to).name));
  }
  const int64_t n_groups = n_rows / group;
  if (n_groups <= 0) return;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  // Small tensors are not worth a thread; below ~64k elements per thread the start-up dominates.
  const int64_t max_useful = std::max<int64_t>(1, n_rows * row_len / 65536);
  const int threads = int(std::clamp<int64_t>(n_threads, 1, std::min(n_groups, max_useful)));
  if (threads <= 1) {
    convert_range(from, in, to, out, 0, n_rows, row_len);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = n_groups * t / threads * group, end = n_groups * (t + 1) / threads * group;
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
