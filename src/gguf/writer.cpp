// Writes GGUF v3 (little-endian): header, metadata, tensor infos, zero padding to the alignment,
// then each tensor's data followed by zero padding to the alignment (so every offset is aligned and
// the file size is a multiple of the alignment, as llama.cpp writes it).
#include "gguf/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gguf/reader.h"
#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

constexpr uint32_t kWriteVersion = 3;
constexpr size_t kMaxDims = 4;  // GGML_MAX_DIMS

[[noreturn]] void bad_argument(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "gguf writer: " + message);
}

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

class Encoder {
 public:
  // Reserving up front also keeps GCC 12 from a false -Wstringop-overflow on the first put().
  Encoder() { bytes.reserve(4096); }

  std::vector<uint8_t> bytes;

  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }

  // The payload of a value (without its type id), checked against its declared type.
  void put_value(const Value& v, const std::string& key) {
    switch (v.type) {
      case ValueType::UINT8: put<uint8_t>(uint8_t(unsigned_in_range(v, 0xff, key))); return;
      case ValueType::UINT16: put<uint16_t>(uint16_t(unsigned_in_range(v, 0xffff, key))); return;
      case ValueType::UINT32: put<uint32_t>(uint32_t(unsigned_in_range(v, 0xffffffffu, key))); return;
      case ValueType::UINT64: put<uint64_t>(v.as_u64()); return;
      case ValueType::INT8: put<int8_t>(int8_t(signed_in_range(v, INT8_MIN, INT8_MAX, key))); return;
      case ValueType::INT16: put<int16_t>(int16_t(signed_in_range(v, INT16_MIN, INT16_MAX, key))); return;
      case ValueType::INT32: put<int32_t>(int32_t(signed_in_range(v, INT32_MIN, INT32_MAX, key))); return;
      case ValueType::INT64: put<int64_t>(v.as_i64()); return;
      case ValueType::FLOAT32: put<float>(float(v.as_f64())); return;
      case ValueType::FLOAT64: put<double>(v.as_f64()); return;
      case ValueType::BOOL: put<uint8_t>(v.as_bool() ? 1 : 0); return;
      case ValueType::STRING: put_string(v.as_string()); return;
      case ValueType::ARRAY: {
        const Array& a = v.as_array();
        put<uint32_t>(uint32_t(a.elem_type));
        put<uint64_t>(a.items.size());
        for (const Value& item : a.items) {
          if (item.type != a.elem_type) {
            bad_argument("key '" + key + "': array of " + value_type_name(a.elem_type) + " holds a " +
                         value_type_name(item.type));
          }
          put_value(item, key);
        }
        return;
      }
    }
    bad_argument("key '" + key + "' has an unknown value type");
  }

 private:
  static uint64_t unsigned_in_range(const Value& v, uint64_t max, const std::string& key) {
    const uint64_t x = v.as_u64();
    if (x > max) bad_argument("key '" + key + "': " + std::to_string(x) + " does not fit " + value_type_name(v.type));
    return x;
  }
  static int64_t signed_in_range(const Value& v, int64_t min, int64_t max, const std::string& key) {
    const int64_t x = v.as_i64();
    if (x < min || x > max) {
      bad_argument("key '" + key + "': " + std::to_string(x) + " does not fit " + value_type_name(v.type));
    }
    return x;
  }
};

uint64_t tensor_bytes(TensorType type, const std::vector<int64_t>& shape, const std::string& name) {
  const TypeTraits& traits = type_traits(type);
  if (shape.empty() || shape.size() > kMaxDims) {
    bad_argument("tensor '" + name + "' has " + std::to_string(shape.size()) + " dimensions (must be 1 to 4)");
  }
  uint64_t rows = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) bad_argument("tensor '" + name + "' has dimension " + std::to_string(shape[i]));
    if (i > 0 && __builtin_mul_overflow(rows, uint64_t(shape[i]), &rows)) {
      bad_argument("tensor '" + name + "' is too large");
    }
  }
  if (shape[0] % traits.block_size != 0) {
    bad_argument("tensor '" + name + "' ne[0] = " + std::to_string(shape[0]) + " is not a multiple of the " +
                 std::string(traits.name) + " block size " + std::to_string(traits.block_size));
  }
  if ((shape.size() > 1 ? shape[1] : 1) % traits.row_group != 0) {
    bad_argument("tensor '" + name + "' has " + std::to_string(shape.size() > 1 ? shape[1] : 1) +
                 " rows, not a multiple of the " + std::to_string(traits.row_group) + " rows " +
                 std::string(traits.name) + " interleaves");
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(uint64_t(shape[0] / traits.block_size) * traits.type_size, rows, &nbytes)) {
    bad_argument("tensor '" + name + "' is too large");
  }
  return nbytes;
}

// The output file: a temporary next to the destination, renamed into place only when complete.
class TempFile {
 public:
  explicit TempFile(const std::string& path)
      : path_(path), temp_(path + ".partial-" + std::to_string(::getpid())) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(ErrorKind::FileNotFound, temp_ + ": cannot create: " + std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }

  void write(const uint8_t* p, uint64_t n) {
    while (n > 0) {
      const ssize_t done = ::write(fd_, p, n);
      if (done < 0 && errno == EINTR) continue;
      if (done < 0) {
        throw Error(ErrorKind::Runtime, temp_ + ": write failed after " + std::to_string(written_) +
                                            " bytes: " + std::strerror(errno));
      }
      p += done;
      n -= uint64_t(done);
      written_ += uint64_t(done);
    }
  }

  void commit() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw Error(ErrorKind::Runtime, temp_ + ": close failed: " + std::strerror(errno));
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      throw Error(ErrorKind::Runtime, path_ + ": rename from " + temp_ + " failed: " + std::strerror(errno));
    }
    committed_ = true;
  }

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace

void Writer::set(const std::string& key, Value value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void Writer::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                        std::span<const uint8_t> data) {
  const uint64_t nbytes = tensor_bytes(type, shape, name);
  if (data.size() != nbytes) {
    bad_argument("tensor '" + name + "': " + std::to_string(data.size()) + " bytes of data given, its shape needs " +
                 std::to_string(nbytes));
  }
  add_tensor(name, type, std::move(shape), Producer{});
  tensors_.back().data = data;
}

void Writer::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                        Producer producer) {
  tensor_bytes(type, shape, name);  // validates the shape and type now rather than at write()
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) bad_argument("duplicate tensor name '" + name + "'");
  }
  tensors_.push_back(PendingTensor{name, type, std::move(shape), {}, std::move(producer)});
}

void Writer::copy_from(const File& file) {
  for (const auto& [key, value] : file.metadata()) set(key, value);
  for (const TensorInfo& t : file.tensors()) {
    add_tensor(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, t.nbytes));
  }
}

uint64_t Writer::alignment() const {
  for (const auto& [key, value] : metadata_) {
    if (key != "general.alignment") continue;
    if (value.type != ValueType::UINT32) {
      bad_argument(std::string("general.alignment must be UINT32, not ") + value_type_name(value.type));
    }
    const uint64_t a = value.as_u64();
    if (a == 0 || (a & (a - 1)) != 0) bad_argument("general.alignment " + std::to_string(a) + " is not a power of two");
    return a;
  }
  return kDefaultAlignment;
}

void Writer::emit(const std::function<void(const uint8_t*, uint64_t)>& sink) const {
  const uint64_t align = alignment();
  Encoder header;
  header.put<uint32_t>(kMagic);
  header.put<uint32_t>(kWriteVersion);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    header.put_string(key);
    header.put<uint32_t>(uint32_t(value.type));
    header.put_value(value, key);
  }
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    header.put_string(t.name);
    header.put<uint32_t>(uint32_t(t.shape.size()));
    for (int64_t ne : t.shape) header.put<uint64_t>(uint64_t(ne));
    header.put<uint32_t>(gguf_type_id(t.type));
    header.put<uint64_t>(offset);
    sizes.push_back(tensor_bytes(t.type, t.shape, t.name));
    offset += align_up(sizes.back(), align);
  }
  // Padding is fed from a small zero buffer, so a large alignment costs no memory.
  const std::vector<uint8_t> zeros(std::min<uint64_t>(align, 64 * 1024), 0);
  auto pad = [&](uint64_t n) {
    for (; n > zeros.size(); n -= zeros.size()) sink(zeros.data(), zeros.size());
    sink(zeros.data(), n);
  };
  sink(header.bytes.data(), header.bytes.size());
  pad(align_up(header.bytes.size(), align) - header.bytes.size());

  std::vector<uint8_t> buffer;  // reused by producers: holds one tensor at a time
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    if (t.producer) {
      buffer.assign(sizes[i], 0);
      t.producer(buffer.data(), sizes[i]);
      sink(buffer.data(), sizes[i]);
    } else {
      sink(t.data.data(), sizes[i]);
    }
    pad(align_up(sizes[i], align) - sizes[i]);
  }
}

void Writer::write(const std::string& path) const {
  TempFile out(path);
  emit([&out](const uint8_t* p, uint64_t n) { out.write(p, n); });
  out.commit();
}

std::vector<uint8_t> Writer::to_bytes() const {
  std::vector<uint8_t> out;
  emit([&out](const uint8_t* p, uint64_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

}  // namespace lp::gguf
