// Writes the fuzzer's seed corpus into DIR: small valid files (hand-built v2 and v3, and one from
// the writer with every value type) plus the malformed corpus of the tests.
#include <cstdio>
#include <fstream>
#include <string>

#include "gguf/writer.h"
#include "gguf_corpus.h"

namespace {

void save(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> every_value_type() {
  using lp::gguf::Value;
  using lp::gguf::ValueType;
  lp::gguf::Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("general.alignment", Value::u32(64));
  w.set("u8", Value::u8(1));
  w.set("i8", Value::i8(-1));
  w.set("u16", Value::u16(2));
  w.set("i16", Value::i16(-2));
  w.set("u32", Value::u32(3));
  w.set("i32", Value::i32(-3));
  w.set("u64", Value::u64(4));
  w.set("i64", Value::i64(-4));
  w.set("f32", Value::f32(0.5f));
  w.set("f64", Value::f64(0.25));
  w.set("bool", Value::boolean(true));
  w.set("tokens", Value::string_array({"<unk>", "<s>", "</s>"}));
  w.set("scores", Value::f32_array({0.0f, -1.0f}));
  w.set("nested", Value::array(ValueType::ARRAY, {Value::i32_array({1, 2}), Value::string_array({"x"})}));
  std::vector<uint8_t> f16(2 * 32 * 2, 0x3c), q4k(144, 0x11);
  w.add_tensor("f16", lp::TensorType::F16, {32, 2}, f16);
  w.add_tensor("q4k", lp::TensorType::Q4_K, {256}, q4k);
  return w.to_bytes();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  namespace t = lp::gguf::testing;
  const std::string dir = argv[1];
  save(dir + "/valid_v3.gguf", t::build(t::valid_spec()));
  t::RawSpec v2 = t::valid_spec();
  v2.version = 2;
  save(dir + "/valid_v2.gguf", t::build(v2));
  save(dir + "/every_value_type.gguf", every_value_type());
  for (const t::MalformedCase& c : t::malformed_corpus()) save(dir + "/" + c.name + ".gguf", c.bytes);
  return 0;
}
