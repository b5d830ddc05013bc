#include "quant/type_traits.h"

#include <array>
#include <cctype>
#include <string>

#include "llamaprof/error.h"
#include "quant/blocks.h"
#include "quant/interleave.h"

namespace lp {
namespace {

constexpr std::array<TypeTraits, kTensorTypeLimit> make_table() {
  std::array<TypeTraits, kTensorTypeLimit> t{};
  auto set = [&t](TensorType type, std::string_view name, int block, size_t size, bool quantized, TensorType act,
                  int row_group = 1, TensorType plain = TensorType::F32) {
    t[uint32_t(type)] = {name, block, size, quantized, act, row_group, row_group == 1 ? type : plain};
  };
  set(TensorType::F32, "F32", 1, 4, false, TensorType::F32);
  set(TensorType::F16, "F16", 1, 2, false, TensorType::F16);
  set(TensorType::BF16, "BF16", 1, 2, false, TensorType::BF16);
  set(TensorType::Q4_0, "Q4_0", QK4_0, sizeof(block_q4_0), true, TensorType::Q8_0);
  set(TensorType::Q4_1, "Q4_1", QK4_1, sizeof(block_q4_1), true, TensorType::Q8_1);
  set(TensorType::Q5_0, "Q5_0", QK5_0, sizeof(block_q5_0), true, TensorType::Q8_0);
  set(TensorType::Q5_1, "Q5_1", QK5_1, sizeof(block_q5_1), true, TensorType::Q8_1);
  set(TensorType::Q8_0, "Q8_0", QK8_0, sizeof(block_q8_0), true, TensorType::Q8_0);
  set(TensorType::Q8_1, "Q8_1", QK8_1, sizeof(block_q8_1), true, TensorType::Q8_1);
  set(TensorType::Q2_K, "Q2_K", QK_K, sizeof(block_q2_K), true, TensorType::Q8_K);
  set(TensorType::Q3_K, "Q3_K", QK_K, sizeof(block_q3_K), true, TensorType::Q8_K);
  set(TensorType::Q4_K, "Q4_K", QK_K, sizeof(block_q4_K), true, TensorType::Q8_K);
  set(TensorType::Q5_K, "Q5_K", QK_K, sizeof(block_q5_K), true, TensorType::Q8_K);
  set(TensorType::Q6_K, "Q6_K", QK_K, sizeof(block_q6_K), true, TensorType::Q8_K);
  set(TensorType::Q8_K, "Q8_K", QK_K, sizeof(block_q8_K), true, TensorType::Q8_K);
  // Per row, the same bytes as Q4_K: a group of 16 rows' super-blocks i is one block_q4_K_r16.
  set(TensorType::Q4_K_R16, "Q4_K_R16", QK_K, sizeof(block_q4_K), true, TensorType::Q8_K, kQ4KR16Rows,
      TensorType::Q4_K);
  return t;
}

constexpr auto kTable = make_table();

}  // namespace

const TypeTraits* type_traits(uint32_t type_id) {
  if (type_id >= kTensorTypeLimit || kTable[type_id].block_size == 0) return nullptr;
  return &kTable[type_id];
}

const TypeTraits& type_traits(TensorType type) {
  const TypeTraits* t = type_traits(uint32_t(type));
  if (!t) throw Error(ErrorKind::Unsupported, "unsupported tensor type id " + std::to_string(uint32_t(type)));
  return *t;
}

std::optional<TensorType> parse_tensor_type(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (uint32_t id = 0; id < kTensorTypeLimit; ++id) {
    if (kTable[id].block_size != 0 && kTable[id].name == upper) return TensorType(id);
  }
  return std::nullopt;
}

uint32_t gguf_type_id(TensorType type) {
  const uint32_t id = uint32_t(type);
  return id >= uint32_t(TensorType::Q4_K_R16) ? kLlamaprofTypeIdBase + id : id;
}

std::optional<TensorType> tensor_type_from_gguf(uint32_t gguf_id) {
  uint32_t id = gguf_id;
  if (gguf_id >= kLlamaprofTypeIdBase) {
    id = gguf_id - kLlamaprofTypeIdBase;
    if (id < uint32_t(TensorType::Q4_K_R16)) return std::nullopt;
  } else if (gguf_id >= uint32_t(TensorType::Q4_K_R16)) {
    return std::nullopt;  // ids above GGUF's own are another engine's, never llamaprof's layouts
  }
  if (!type_traits(id)) return std::nullopt;
  return TensorType(id);
}

size_t row_size(TensorType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  return size_t(n / t.block_size) * t.type_size;
}

}  // namespace lp
