// The tensor types llamaprof knows, numbered as in GGUF, and their traits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lp {

// Numbering is the GGUF file format's (ggml_type); gaps are types llamaprof does not support. The
// llamaprof-only layouts (from 48) are written to GGUF as kLlamaprofTypeIdBase + their value, an id
// no other engine uses, so that llama.cpp and its forks reject such a file instead of misreading it.
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
  // Q4_K with 16 rows interleaved (quant/interleave.h): opt-in, written by `quantize --interleave`.
  Q4_K_R16 = 48,
};

constexpr uint32_t kTensorTypeLimit = 64;  // one past the largest TensorType value
constexpr uint32_t kLlamaprofTypeIdBase = 0x4C500000;  // "LP" in the top bytes

// The id a GGUF file stores for `type`, and back (nullopt: an id llamaprof does not know).
uint32_t gguf_type_id(TensorType type);
std::optional<TensorType> tensor_type_from_gguf(uint32_t gguf_id);

struct TypeTraits {
  std::string_view name;  // as llama.cpp spells it: "Q4_K", "F16"
  int block_size;         // elements per block (1 for float types)
  size_t type_size;       // bytes per block
  bool quantized;
  // The activation type a mat-vec on this weight type quantizes its input to.
  TensorType vec_dot_type;
  // Rows stored together (interleaved) in one group: 1 for GGUF's own types. A row of an interleaved
  // type cannot be addressed alone; a tensor's row count must be a multiple of this.
  int row_group = 1;
  // The row-major type an interleaved type holds (itself for the others).
  TensorType plain = TensorType::F32;
};

// Traits of a supported type; nullptr when the id is unknown or unsupported.
const TypeTraits* type_traits(uint32_t type_id);
const TypeTraits& type_traits(TensorType type);

// "Q4_K" -> TensorType::Q4_K (case-insensitive); nullopt when unknown.
std::optional<TensorType> parse_tensor_type(std::string_view name);

// Bytes of a row of n elements; n must be a multiple of the block size.
size_t row_size(TensorType type, int64_t n);

}  // namespace lp
