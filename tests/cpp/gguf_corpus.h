// Builds GGUF images byte by byte, without the writer's validation, so that tests can produce a
// valid file and one malformed file per defect the reader must reject. Nothing binary is committed:
// the corpus is generated here (tests, and the fuzzer's seeds).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lp::gguf::testing {

struct Bytes {
  std::vector<uint8_t> b;

  template <typename T>
  Bytes& put(T v) {
    const size_t at = b.size();
    b.resize(at + sizeof(T));
    std::memcpy(b.data() + at, &v, sizeof(T));
    return *this;
  }
  Bytes& str(std::string_view s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& append(const Bytes& other) {
    b.insert(b.end(), other.b.begin(), other.b.end());
    return *this;
  }
};

// GGUF value type ids (gguf_type), repeated here so the corpus does not depend on the reader.
enum : uint32_t { kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };

// One metadata entry: key, type id, payload.
inline Bytes kv(std::string_view key, uint32_t type, const Bytes& payload) {
  Bytes out;
  out.str(key).put<uint32_t>(type).append(payload);
  return out;
}
inline Bytes kv_string(std::string_view key, std::string_view value) { return kv(key, kString, Bytes().str(value)); }
inline Bytes kv_u32(std::string_view key, uint32_t value) { return kv(key, kU32, Bytes().put(value)); }
inline Bytes string_array(const std::vector<std::string>& items) {
  Bytes p;
  p.put<uint32_t>(kString).put<uint64_t>(items.size());
  for (const auto& s : items) p.str(s);
  return p;
}

struct RawTensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type;
  uint64_t offset;
};

struct RawSpec {
  uint32_t magic = 0x46554747;  // "GGUF"
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors;  // overrides the real count
  std::optional<uint64_t> n_kv;
  std::vector<Bytes> kvs;
  std::vector<RawTensor> tensors;
  uint64_t alignment = 32;  // header padding only: set general.alignment in kvs to match
  uint64_t data_bytes = 0;  // bytes of data section, filled with data_pattern()
};

inline uint8_t data_pattern(uint64_t i) { return uint8_t(i * 7 + 3); }

inline std::vector<uint8_t> build(const RawSpec& spec) {
  Bytes out;
  out.put(spec.magic).put(spec.version);
  out.put<uint64_t>(spec.n_tensors.value_or(spec.tensors.size()));
  out.put<uint64_t>(spec.n_kv.value_or(spec.kvs.size()));
  for (const Bytes& e : spec.kvs) out.append(e);
  for (const RawTensor& t : spec.tensors) {
    out.str(t.name).put<uint32_t>(uint32_t(t.ne.size()));
    for (uint64_t ne : t.ne) out.put(ne);
    out.put(t.type).put(t.offset);
  }
  out.b.resize((out.b.size() + spec.alignment - 1) / spec.alignment * spec.alignment, 0);
  for (uint64_t i = 0; i < spec.data_bytes; ++i) out.b.push_back(data_pattern(i));
  return out.b;
}

constexpr uint32_t kTypeF32 = 0;
constexpr uint32_t kTypeQ8_0 = 8;  // blocks of 32 elements, 34 bytes

// A small valid llama-ish file: 4 keys, an F32 [8, 2] tensor (64 bytes at data offset 0) and a
// Q8_0 [32, 1] tensor (34 bytes at data offset 64).
inline RawSpec valid_spec() {
  RawSpec s;
  s.kvs.push_back(kv_string("general.architecture", "llama"));
  s.kvs.push_back(kv_u32("general.alignment", 32));
  s.kvs.push_back(kv_u32("llama.block_count", 1));
  s.kvs.push_back(kv("tokenizer.ggml.tokens", kArray, string_array({"<unk>", "a"})));
  s.tensors.push_back({"token_embd.weight", {8, 2}, kTypeF32, 0});
  s.tensors.push_back({"output.weight", {32, 1}, kTypeQ8_0, 64});
  s.data_bytes = 64 + 34;
  return s;
}

struct MalformedCase {
  std::string name;
  std::vector<uint8_t> bytes;
  std::vector<std::string> expect;  // substrings the error message must contain
};

inline std::vector<MalformedCase> malformed_corpus() {
  std::vector<MalformedCase> c;
  auto with = [&c](std::string name, std::vector<std::string> expect, auto&& edit) {
    RawSpec s = valid_spec();
    edit(s);
    c.push_back({std::move(name), build(s), std::move(expect)});
  };

  with("bad_magic", {"bad magic", "byte offset 0"}, [](RawSpec& s) { s.magic = 0x4c4d4747; /* "GGML" */ });
  with("version_1", {"unsupported version", "version 1"}, [](RawSpec& s) { s.version = 1; });
  with("version_4", {"unsupported version", "version 4"}, [](RawSpec& s) { s.version = 4; });
  c.push_back({"empty_file", {}, {"truncated header", "magic", "byte offset 0"}});
  {
    // Cut inside the last field of the header (the last tensor's data offset). Built without
    // padding or data, the image ends exactly where the tensor infos end.
    RawSpec s = valid_spec();
    s.alignment = 1;
    s.data_bytes = 0;
    auto bytes = build(s);
    const uint64_t field = bytes.size() - 8;
    bytes.resize(field + 3);
    c.push_back({"truncated_header",
                 bytes,
                 {"truncated header", "data offset of tensor 'output.weight'",
                  "at byte offset " + std::to_string(field), "file size " + std::to_string(bytes.size())}});
  }
  {
    // Cut inside the last tensor's data.
    auto bytes = build(valid_spec());
    bytes.resize(bytes.size() - 20);
    c.push_back({"truncated_data", bytes, {"truncated data", "'output.weight'"}});
  }
  with("tensor_count_too_large", {"count too large", "tensor count 1099511627776", "byte offset 8"},
       [](RawSpec& s) { s.n_tensors = uint64_t(1) << 40; });
  with("metadata_count_too_large", {"count too large", "metadata count", "byte offset 16"},
       [](RawSpec& s) { s.n_kv = uint64_t(1) << 40; });
  with("array_count_too_large", {"count too large", "'tokenizer.ggml.tokens'"}, [](RawSpec& s) {
    s.kvs[3] = kv("tokenizer.ggml.tokens", kArray, Bytes().put<uint32_t>(kString).put<uint64_t>(uint64_t(1) << 40));
  });
  with("key_length_too_large", {"string too long", "length 4294967296 at byte offset 24"}, [](RawSpec& s) {
    s.kvs[0] = Bytes().put<uint64_t>(uint64_t(1) << 32);
  });
  with("string_value_too_large", {"string too long", "'general.architecture'"}, [](RawSpec& s) {
    s.kvs[0] = kv("general.architecture", kString, Bytes().put<uint64_t>(~uint64_t(0)));
  });
  with("tensor_out_of_range", {"tensor data out of range", "'output.weight'"},
       [](RawSpec& s) { s.tensors[1].offset = uint64_t(1) << 40; });
  with("overlapping_tensors", {"overlapping tensors", "'output.weight'", "'token_embd.weight'"},
       [](RawSpec& s) { s.tensors[1].offset = 32; });
  with("unknown_tensor_type", {"unknown tensor type", "'output.weight'", "type id 99"},
       [](RawSpec& s) { s.tensors[1].type = 99; });
  with("removed_tensor_type", {"unknown tensor type", "type id 4"},  // Q4_2: a gap in the numbering
       [](RawSpec& s) { s.tensors[1].type = 4; });
  with("misaligned_tensor_offset", {"misaligned tensor offset", "'output.weight'", "offset 65"},
       [](RawSpec& s) { s.tensors[1].offset = 65; });
  with("element_count_overflow", {"dimension overflow", "'token_embd.weight'"},
       [](RawSpec& s) { s.tensors[0].ne = {uint64_t(1) << 32, uint64_t(1) << 32}; });
  with("byte_size_overflow", {"dimension overflow", "'token_embd.weight'", "byte size"},
       [](RawSpec& s) { s.tensors[0].ne = {uint64_t(1) << 31, uint64_t(1) << 31}; });
  with("too_many_dimensions", {"invalid dimension count", "'token_embd.weight'", "5 dimensions"},
       [](RawSpec& s) { s.tensors[0].ne = {8, 2, 1, 1, 1}; });
  with("zero_dimensions", {"invalid dimension count", "0 dimensions"}, [](RawSpec& s) { s.tensors[0].ne = {}; });
  with("zero_dimension", {"invalid dimension", "'token_embd.weight' ne[1] = 0"},
       [](RawSpec& s) { s.tensors[0].ne = {8, 0}; });
  with("negative_dimension", {"invalid dimension", "'token_embd.weight' ne[1] = -1"},
       [](RawSpec& s) { s.tensors[0].ne = {8, ~uint64_t(0)}; });
  with("duplicate_key", {"duplicate key", "'general.architecture'"},
       [](RawSpec& s) { s.kvs.push_back(kv_string("general.architecture", "mistral")); });
  with("duplicate_tensor_name", {"duplicate tensor name", "'token_embd.weight'"},
       [](RawSpec& s) { s.tensors[1].name = "token_embd.weight"; });
  with("row_not_multiple_of_block", {"block size mismatch", "'output.weight'", "ne[0] = 33"},
       [](RawSpec& s) { s.tensors[1].ne = {33, 1}; });
  with("unknown_value_type", {"unknown value type", "type id 13", "'llama.block_count'"},
       [](RawSpec& s) { s.kvs[2] = kv("llama.block_count", 13, Bytes().put<uint32_t>(1)); });
  with("alignment_not_power_of_two", {"invalid alignment", "power of two"},
       [](RawSpec& s) { s.kvs[1] = kv_u32("general.alignment", 24); });
  with("alignment_wrong_type", {"invalid alignment", "STRING"},
       [](RawSpec& s) { s.kvs[1] = kv_string("general.alignment", "32"); });
  with("invalid_bool", {"invalid bool", "'general.flag'"},
       [](RawSpec& s) { s.kvs.push_back(kv("general.flag", kBool, Bytes().put<uint8_t>(2))); });
  with("arrays_nested_too_deep", {"array nesting too deep", "'general.nested'"}, [](RawSpec& s) {
    Bytes p;
    for (int i = 0; i < 12; ++i) p.put<uint32_t>(kArray).put<uint64_t>(1);
    p.put<uint32_t>(kU8).put<uint64_t>(0);
    s.kvs.push_back(kv("general.nested", kArray, p));
  });
  return c;
}

}  // namespace lp::gguf::testing
