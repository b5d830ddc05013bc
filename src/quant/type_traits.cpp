#include "quant/type_traits.h"

#include <array>
#include <cctype>
#include <string>

#include "llamaprof/error.h"
#include "quant/blocks.h"

namespace lp {
namespace {

constexpr std::array<TypeTraits, kTensorTypeLimit> make_table() {
  std::array<TypeTraits, kTensorTypeLimit> t{};
  auto set = [&t](TensorType type, std::string_view name, int block, size_t size, bool quantized,
                  TensorType act) { t[uint32_t(type)] = {name, block, size, quantized, act}; };
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

size_t row_size(TensorType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  return size_t(n / t.block_size) * t.type_size;
}

}  // namespace lp
