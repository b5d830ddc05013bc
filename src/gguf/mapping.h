// The bytes of a GGUF file: either a read-only mmap of it (zero-copy weights) or an owned,
// 64-byte-aligned copy (--no-mmap, from_bytes). Tensor views point into whichever one holds them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace lp::gguf {

class Mapping {
 public:
  // Maps (use_mmap) or reads path. use_mlock locks the bytes in RAM. Throws lp::Error:
  // FileNotFound when the path cannot be opened, Runtime when mmap/read/mlock fails.
  static Mapping open(const std::string& path, bool use_mmap, bool use_mlock);
  static Mapping copy_of(std::span<const uint8_t> bytes);

  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  bool is_mapped() const { return mapped_; }
  bool is_locked() const { return locked_; }

  // madvise(WILLNEED) on [offset, offset + length) of a mapping, so the kernel starts reading it in;
  // a no-op for an in-memory copy. Failure is ignored: it is only a hint.
  void prefetch(uint64_t offset, uint64_t length) const;

 private:
  void release() noexcept;

  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;  // true: munmap; false: aligned operator delete
  bool locked_ = false;
};

}  // namespace lp::gguf
