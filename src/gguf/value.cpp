#include "gguf/value.h"

#include <limits>
#include <string>

#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

[[noreturn]] void mismatch(const Value& v, const char* wanted) {
  throw Error(ErrorKind::InvalidFile,
              std::string("metadata value of type ") + value_type_name(v.type) + " is not " + wanted);
}

bool is_unsigned(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 || t == ValueType::UINT64;
}
bool is_signed(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}
bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

// The stored alternative must agree with the declared type; a hand-built Value may not.
template <typename T>
const T& stored(const Value& v, const char* wanted) {
  const T* p = std::get_if<T>(&v.data);
  if (!p) mismatch(v, wanted);
  return *p;
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "UINT8";
    case ValueType::INT8: return "INT8";
    case ValueType::UINT16: return "UINT16";
    case ValueType::INT16: return "INT16";
    case ValueType::UINT32: return "UINT32";
    case ValueType::INT32: return "INT32";
    case ValueType::FLOAT32: return "FLOAT32";
    case ValueType::BOOL: return "BOOL";
    case ValueType::STRING: return "STRING";
    case ValueType::ARRAY: return "ARRAY";
    case ValueType::UINT64: return "UINT64";
    case ValueType::INT64: return "INT64";
    case ValueType::FLOAT64: return "FLOAT64";
  }
  return "UNKNOWN";
}

bool is_valid_value_type(uint32_t id) { return id <= uint32_t(ValueType::FLOAT64); }

uint64_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL: return 1;
    case ValueType::UINT16:
    case ValueType::INT16: return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32: return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64: return 8;
    case ValueType::STRING:
    case ValueType::ARRAY: return 0;
  }
  return 0;
}

Value Value::string_array(const std::vector<std::string>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (const auto& s : v) items.push_back(str(s));
  return array(ValueType::STRING, std::move(items));
}

Value Value::f32_array(const std::vector<float>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (float x : v) items.push_back(f32(x));
  return array(ValueType::FLOAT32, std::move(items));
}

Value Value::i32_array(const std::vector<int32_t>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (int32_t x : v) items.push_back(i32(x));
  return array(ValueType::INT32, std::move(items));
}

uint64_t Value::as_u64() const {
  if (is_unsigned(type)) return stored<uint64_t>(*this, "an unsigned integer");
  if (is_signed(type)) {
    int64_t v = stored<int64_t>(*this, "an integer");
    if (v < 0) throw Error(ErrorKind::InvalidFile, "metadata value " + std::to_string(v) + " is negative");
    return uint64_t(v);
  }
  mismatch(*this, "an integer");
}

int64_t Value::as_i64() const {
  if (is_signed(type)) return stored<int64_t>(*this, "an integer");
  if (is_unsigned(type)) {
    uint64_t v = stored<uint64_t>(*this, "an integer");
    if (v > uint64_t(std::numeric_limits<int64_t>::max())) {
      throw Error(ErrorKind::InvalidFile, "metadata value " + std::to_string(v) + " does not fit in INT64");
    }
    return int64_t(v);
  }
  mismatch(*this, "an integer");
}

double Value::as_f64() const {
  if (is_float(type)) return stored<double>(*this, "a number");
  if (is_unsigned(type)) return double(stored<uint64_t>(*this, "a number"));
  if (is_signed(type)) return double(stored<int64_t>(*this, "a number"));
  mismatch(*this, "a number");
}

bool Value::as_bool() const {
  if (type != ValueType::BOOL) mismatch(*this, "a BOOL");
  return stored<bool>(*this, "a BOOL");
}

const std::string& Value::as_string() const {
  if (type != ValueType::STRING) mismatch(*this, "a STRING");
  return stored<std::string>(*this, "a STRING");
}

const Array& Value::as_array() const {
  if (type != ValueType::ARRAY) mismatch(*this, "an ARRAY");
  return stored<Array>(*this, "an ARRAY");
}

std::vector<std::string> Value::as_string_vector() const {
  const Array& a = as_array();
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const Value& v : a.items) out.push_back(v.as_string());
  return out;
}

std::vector<float> Value::as_f32_vector() const {
  const Array& a = as_array();
  std::vector<float> out;
  out.reserve(a.items.size());
  for (const Value& v : a.items) out.push_back(float(v.as_f64()));
  return out;
}

std::vector<int32_t> Value::as_i32_vector() const {
  const Array& a = as_array();
  std::vector<int32_t> out;
  out.reserve(a.items.size());
  for (const Value& v : a.items) {
    int64_t x = v.as_i64();
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      throw Error(ErrorKind::InvalidFile, "metadata value " + std::to_string(x) + " does not fit in INT32");
    }
    out.push_back(int32_t(x));
  }
  return out;
}

bool operator==(const Array& a, const Array& b) { return a.elem_type == b.elem_type && a.items == b.items; }

bool operator==(const Value& a, const Value& b) { return a.type == b.type && a.data == b.data; }

}  // namespace lp::gguf
