// GGUF v3 writer: any metadata and tensors, data aligned to general.alignment.
// Tensor data can come from a producer callback, so a 7B file is written without holding it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gguf/value.h"
#include "quant/type_traits.h"

namespace lp::gguf {

class File;

class Writer {
 public:
  // Fills exactly nbytes at dst with the tensor's data.
  using Producer = std::function<void(uint8_t* dst, uint64_t nbytes)>;

  // Adds or replaces a key (kept in insertion order).
  void set(const std::string& key, Value value);
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                  std::span<const uint8_t> data);  // data must outlive write()
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                  Producer producer);
  // Copies every key and tensor of an open file (read -> write is byte-identical).
  void copy_from(const File& file);

  // Writes to path (via a temporary file renamed into place). Throws lp::Error on failure.
  void write(const std::string& path) const;
  // The whole file image in memory (tests, the fuzzer); producers are called as for write().
  std::vector<uint8_t> to_bytes() const;

  // general.alignment if set (must be a UINT32 power of two), else kDefaultAlignment (32).
  uint64_t alignment() const;

 private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    std::span<const uint8_t> data;
    Producer producer;
  };
  // Feeds the file's bytes, in order, to sink.
  void emit(const std::function<void(const uint8_t*, uint64_t)>& sink) const;

  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace lp::gguf
