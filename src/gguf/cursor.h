// A bounds-checked little-endian reader over a file image. Every read checks the bytes left first,
// so a malformed file fails with a message naming the defect and the byte offset, never reads past
// the end.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "llamaprof/error.h"

namespace lp::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF is read as little-endian");

// Every InvalidFile message has the form "FILE: DEFECT: DETAIL", DEFECT from a fixed list
// ("truncated header", "bad magic", ...), DETAIL naming the byte offset, key or tensor.
[[noreturn]] inline void fail_invalid(const std::string& file, std::string_view defect,
                                      const std::string& detail) {
  throw Error(ErrorKind::InvalidFile, file + ": " + std::string(defect) + ": " + detail);
}

class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& file)
      : data_(data), size_(size), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  const std::string& file() const { return file_; }

  // Fails with "truncated header" unless n more bytes exist; `what` names the field being read.
  void need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      fail_invalid(file_, "truncated header",
                   "need " + std::to_string(n) + " bytes for " + std::string(what) + " at byte offset " +
                       std::to_string(pos_) + ", file size " + std::to_string(size_));
    }
  }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // A GGUF string: uint64 length, then that many bytes (UTF-8, no terminator).
  std::string read_string(std::string_view what) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>(std::string(what) + " length");
    if (len > remaining()) {
      fail_invalid(file_, "string too long",
                   std::string(what) + " length " + std::to_string(len) + " at byte offset " +
                       std::to_string(at) + " exceeds the " + std::to_string(remaining()) +
                       " bytes left in the file (size " + std::to_string(size_) + ")");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }

  // A count of items that each take at least min_item_bytes: a count the rest of the file cannot
  // hold is rejected before anything is allocated for it.
  void check_count(uint64_t count, uint64_t min_item_bytes, uint64_t count_offset, std::string_view what) const {
    if (min_item_bytes != 0 && count > remaining() / min_item_bytes) {
      fail_invalid(file_, "count too large",
                   std::string(what) + " " + std::to_string(count) + " at byte offset " +
                       std::to_string(count_offset) + " needs at least " + std::to_string(min_item_bytes) +
                       " bytes each, but only " + std::to_string(remaining()) + " bytes are left (file size " +
                       std::to_string(size_) + ")");
    }
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& file_;
};

}  // namespace lp::gguf
