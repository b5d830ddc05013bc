// Every GGUF metadata value type survives write -> read unchanged (type and value), and the typed
// accessors convert or refuse as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

std::vector<std::pair<std::string, Value>> every_type() {
  using L8 = std::numeric_limits<int8_t>;
  using L16 = std::numeric_limits<int16_t>;
  using L32 = std::numeric_limits<int32_t>;
  using L64 = std::numeric_limits<int64_t>;
  return {
      {"t.u8", Value::u8(255)},
      {"t.i8", Value::i8(L8::min())},
      {"t.u16", Value::u16(65535)},
      {"t.i16", Value::i16(L16::min())},
      {"t.u32", Value::u32(0xfffffffeu)},
      {"t.i32", Value::i32(L32::min())},
      {"t.u64", Value::u64(std::numeric_limits<uint64_t>::max())},
      {"t.i64", Value::i64(L64::min())},
      {"t.f32", Value::f32(1e-5f)},
      {"t.f32_inf", Value::f32(-std::numeric_limits<float>::infinity())},
      {"t.f64", Value::f64(3.141592653589793)},
      {"t.bool_true", Value::boolean(true)},
      {"t.bool_false", Value::boolean(false)},
      {"t.string", Value::str("héllo\nwörld")},
      {"t.empty_string", Value::str("")},
      {"t.strings", Value::string_array({"<unk>", "<s>", "", "▁the"})},
      {"t.f32s", Value::f32_array({0.5f, -2.25f, 1e30f})},
      {"t.i32s", Value::i32_array({L32::min(), 0, L32::max()})},
      {"t.u8s", Value::array(ValueType::UINT8, {Value::u8(0), Value::u8(255)})},
      {"t.i8s", Value::array(ValueType::INT8, {Value::i8(-1)})},
      {"t.u16s", Value::array(ValueType::UINT16, {Value::u16(7)})},
      {"t.i16s", Value::array(ValueType::INT16, {Value::i16(-7)})},
      {"t.u32s", Value::array(ValueType::UINT32, {Value::u32(1), Value::u32(2)})},
      {"t.u64s", Value::array(ValueType::UINT64, {Value::u64(1ull << 60)})},
      {"t.i64s", Value::array(ValueType::INT64, {Value::i64(-(1ll << 60))})},
      {"t.f64s", Value::array(ValueType::FLOAT64, {Value::f64(-0.0), Value::f64(1e300)})},
      {"t.bools", Value::array(ValueType::BOOL, {Value::boolean(true), Value::boolean(false)})},
      {"t.empty_array", Value::array(ValueType::UINT32, {})},
      {"t.nested", Value::array(ValueType::ARRAY, {Value::i32_array({1, 2}), Value::string_array({"a", "b", "c"}),
                                                   Value::array(ValueType::ARRAY, {Value::f32_array({1.5f})})})},
  };
}

TEST(GgufValues, EveryTypeRoundTripsWithItsType) {
  Writer w;
  const auto values = every_type();
  for (const auto& [k, v] : values) w.set(k, v);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::from_bytes(bytes);
  ASSERT_EQ(f.metadata().size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].first, values[i].first);
    EXPECT_EQ(f.metadata()[i].second.type, values[i].second.type) << values[i].first;
    EXPECT_TRUE(f.metadata()[i].second == values[i].second) << values[i].first;
  }
  EXPECT_EQ(f.find("t.f32")->as_f64(), double(1e-5f));
  EXPECT_EQ(f.find("t.strings")->as_string_vector(), (std::vector<std::string>{"<unk>", "<s>", "", "▁the"}));
  EXPECT_EQ(f.find("t.nested")->as_array().items[1].as_string_vector()[2], "c");
  // Written again from what was read, the bytes are the same.
  Writer again;
  again.copy_from(f);
  EXPECT_EQ(again.to_bytes(), bytes);
}

TEST(GgufValues, SetReplacesAKeyInPlace) {
  Writer w;
  w.set("a", Value::u32(1));
  w.set("b", Value::u32(2));
  w.set("a", Value::str("x"));
  const File f = File::from_bytes(w.to_bytes());
  ASSERT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "a");
  EXPECT_EQ(f.metadata()[0].second.as_string(), "x");
}

TEST(GgufValues, AccessorsConvertNumbersAndRefuseMismatches) {
  EXPECT_EQ(Value::u8(200).as_u64(), 200u);
  EXPECT_EQ(Value::i32(-3).as_i64(), -3);
  EXPECT_EQ(Value::i32(7).as_u64(), 7u);
  EXPECT_DOUBLE_EQ(Value::u32(5).as_f64(), 5.0);
  EXPECT_EQ(Value::i16(-2).as_f64(), -2.0);
  EXPECT_THROW(Value::i32(-1).as_u64(), Error);
  EXPECT_THROW(Value::u64(~0ull).as_i64(), Error);
  EXPECT_THROW(Value::str("12").as_u64(), Error);
  EXPECT_THROW(Value::f32(1.0f).as_u64(), Error);
  EXPECT_THROW(Value::u8(1).as_bool(), Error);
  EXPECT_THROW(Value::u8(1).as_string(), Error);
  EXPECT_THROW(Value::i64(1ll << 40).as_i32_vector(), Error);
  EXPECT_THROW(Value::array(ValueType::INT64, {Value::i64(1ll << 40)}).as_i32_vector(), Error);
  try {
    Value::str("x").as_f64();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFile);
    EXPECT_NE(std::string(e.what()).find("STRING"), std::string::npos) << e.what();
  }
}

TEST(GgufValues, WriterRefusesValuesThatDoNotFitTheirType) {
  Writer w;
  w.set("bad", Value{ValueType::UINT8, uint64_t(300)});
  EXPECT_THROW(w.to_bytes(), Error);
  Writer mixed;
  mixed.set("mixed", Value::array(ValueType::UINT32, {Value::u32(1), Value::str("x")}));
  EXPECT_THROW(mixed.to_bytes(), Error);
}

}  // namespace
}  // namespace lp::gguf
