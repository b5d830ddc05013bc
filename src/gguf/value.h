// A GGUF metadata value: a scalar, a string, or an array of them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace lp::gguf {

// Numbering is the file format's (gguf_type).
enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

const char* value_type_name(ValueType t);
// True for the 13 ids the format defines (0..12).
bool is_valid_value_type(uint32_t id);
// Bytes a scalar of this type takes in the file; 0 for STRING and ARRAY (variable length).
uint64_t scalar_size(ValueType t);

struct Value;
struct Array {
  ValueType elem_type = ValueType::UINT8;
  std::vector<Value> items;
};

// The stored type is kept exactly, so that read -> write is byte-identical; the accessors convert
// between numeric types and throw lp::Error (InvalidFile) on a mismatch such as string-as-number.
struct Value {
  ValueType type = ValueType::UINT32;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

  static Value u8(uint8_t v) { return {ValueType::UINT8, uint64_t(v)}; }
  static Value i8(int8_t v) { return {ValueType::INT8, int64_t(v)}; }
  static Value u16(uint16_t v) { return {ValueType::UINT16, uint64_t(v)}; }
  static Value i16(int16_t v) { return {ValueType::INT16, int64_t(v)}; }
  static Value u32(uint32_t v) { return {ValueType::UINT32, uint64_t(v)}; }
  static Value i32(int32_t v) { return {ValueType::INT32, int64_t(v)}; }
  static Value u64(uint64_t v) { return {ValueType::UINT64, v}; }
  static Value i64(int64_t v) { return {ValueType::INT64, v}; }
  static Value f32(float v) { return {ValueType::FLOAT32, double(v)}; }
  static Value f64(double v) { return {ValueType::FLOAT64, v}; }
  static Value boolean(bool v) { return {ValueType::BOOL, v}; }
  static Value str(std::string v) { return {ValueType::STRING, std::move(v)}; }
  static Value array(ValueType elem_type, std::vector<Value> items) {
    return {ValueType::ARRAY, Array{elem_type, std::move(items)}};
  }
  static Value string_array(const std::vector<std::string>& v);
  static Value f32_array(const std::vector<float>& v);
  static Value i32_array(const std::vector<int32_t>& v);

  bool is_array() const { return type == ValueType::ARRAY; }
  uint64_t as_u64() const;
  int64_t as_i64() const;
  double as_f64() const;
  bool as_bool() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  std::vector<std::string> as_string_vector() const;
  std::vector<float> as_f32_vector() const;
  std::vector<int32_t> as_i32_vector() const;
};

// Equal when the stored type and the value (elements, recursively) are equal.
bool operator==(const Array& a, const Array& b);
bool operator==(const Value& a, const Value& b);

}  // namespace lp::gguf
