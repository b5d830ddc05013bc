// The tensor types llamaprof knows, numbered as in GGUF, and their traits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lp {

// Numbering is the GGUF file format's (ggml_type); gaps are types llamaprof does not support.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

constexpr uint32_t kTensorTypeLimit = 40;  // one past the largest GGUF type id we look at

struct TypeTraits {
  std::string_view name;  // as llama.cpp spells it: "Q4_K", "F16"
  int block_size;         // elements per block (1 for float types)
  size_t type_size;       // bytes per block
  bool quantized;
  // The activation type a mat-vec on this weight type quantizes its input to.
  TensorType vec_dot_type;
};

// Traits of a supported type; nullptr when the id is unknown or unsupported.
const TypeTraits* type_traits(uint32_t type_id);
const TypeTraits& type_traits(TensorType type);

// "Q4_K" -> TensorType::Q4_K (case-insensitive); nullopt when unknown.
std::optional<TensorType> parse_tensor_type(std::string_view name);

// Bytes of a row of n elements; n must be a multiple of the block size.
size_t row_size(TensorType type, int64_t n);

}  // namespace lp
