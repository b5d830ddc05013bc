// GGUF v2/v3 reader. The file is mapped (mmap) and tensors are views into the mapping.
// Every read is bounds-checked; a defect throws lp::Error(InvalidFile) naming the defect and where
// it is (byte offset, key or tensor).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gguf/value.h"
#include "quant/type_traits.h"

namespace lp::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kDefaultAlignment = 32;

struct TensorInfo {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;  // ne[0] first: ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;         // relative to the start of the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping (or the in-memory copy)

  int64_t n_elements() const;
  int64_t rows() const;  // product of shape[1..]
};

struct OpenOptions {
  bool use_mmap = true;   // false: read the whole file into memory (--no-mmap)
  bool use_mlock = false; // lock the mapping in RAM (--mlock)
  bool prefetch = false;  // madvise(WILLNEED) the data section
};

class File {
 public:
  // Maps and parses path. Throws lp::Error(FileNotFound) or lp::Error(InvalidFile).
  static File open(const std::string& path, const OpenOptions& options = {});
  // Parses an in-memory image (copied); used by tests and the fuzzer.
  static File from_bytes(std::span<const uint8_t> bytes, std::string name = "<memory>");

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const;
  uint32_t version() const;
  uint64_t alignment() const;
  uint64_t data_offset() const;  // byte offset of the data section in the file
  uint64_t file_size() const;
  const uint8_t* base() const;  // the whole file's bytes
  bool is_mapped() const;       // false after use_mmap=false or from_bytes (an owned copy)
  bool is_locked() const;       // mlock succeeded (use_mlock)

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const;
  const Value* find(std::string_view key) const;
  // The value of key; throws lp::Error(InvalidFile) "FILE: missing key: 'KEY'" when absent.
  const Value& require(std::string_view key) const;
  // Typed lookups: throw lp::Error(InvalidFile) naming the key if missing (no default) or mistyped.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string fallback) const;
  uint64_t get_u64(std::string_view key) const;
  uint64_t get_u64(std::string_view key, uint64_t fallback) const;
  double get_f64(std::string_view key) const;
  double get_f64(std::string_view key, double fallback) const;

  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  struct Impl;
  explicit File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp::gguf
