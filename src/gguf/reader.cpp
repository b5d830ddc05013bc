// GGUF layout (v2 and v3 are identical for little-endian files; v3 only added big-endian ones):
//   uint32 magic "GGUF", uint32 version, uint64 n_tensors, uint64 n_kv,
//   n_kv x { string key, uint32 value_type, value },
//   n_tensors x { string name, uint32 n_dims, uint64 ne[n_dims], uint32 type, uint64 offset },
//   zero padding to general.alignment, then the data section; tensor offsets are relative to it.
// A string is uint64 length + bytes; an array is uint32 elem_type, uint64 count, elements.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "gguf/cursor.h"
#include "gguf/mapping.h"
#include "gguf/reader.h"

namespace lp::gguf {
namespace {

constexpr uint32_t kMaxDims = 4;           // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;          // arrays of arrays: real files use at most 1 level
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;             // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one ne, type, offset

std::string quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('\'');
  q.append(s);
  q.push_back('\'');
  return q;
}
std::string at_offset(uint64_t off) { return "at byte offset " + std::to_string(off); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Smallest number of bytes one element of an array of this type can occupy in the file.
uint64_t min_element_bytes(ValueType t) {
  if (t == ValueType::STRING) return 8;
  if (t == ValueType::ARRAY) return 4 + 8;
  return scalar_size(t);
}

ValueType read_value_type(Cursor& c, const std::string& key, std::string_view what) {
  const uint64_t at = c.pos();
  const uint32_t id = c.read<uint32_t>(what);
  if (!is_valid_value_type(id)) {
    fail_invalid(c.file(), "unknown value type",
                 "type id " + std::to_string(id) + " of key " + quoted(key) + " " + at_offset(at));
  }
  return ValueType(id);
}

Value read_value(Cursor& c, ValueType type, const std::string& key, int depth) {
  const std::string what = "value of key " + quoted(key);
  switch (type) {
    case ValueType::UINT8: return Value::u8(c.read<uint8_t>(what));
    case ValueType::INT8: return Value::i8(c.read<int8_t>(what));
    case ValueType::UINT16: return Value::u16(c.read<uint16_t>(what));
    case ValueType::INT16: return Value::i16(c.read<int16_t>(what));
    case ValueType::UINT32: return Value::u32(c.read<uint32_t>(what));
    case ValueType::INT32: return Value::i32(c.read<int32_t>(what));
    case ValueType::UINT64: return Value::u64(c.read<uint64_t>(what));
    case ValueType::INT64: return Value::i64(c.read<int64_t>(what));
    case ValueType::FLOAT32: return Value::f32(c.read<float>(what));
    case ValueType::FLOAT64: return Value::f64(c.read<double>(what));
    case ValueType::BOOL: {
      const uint64_t at = c.pos();
      const uint8_t b = c.read<uint8_t>(what);
      // Only 0 and 1 are written; anything else would not survive read -> write unchanged.
      if (b > 1) {
        fail_invalid(c.file(), "invalid bool", what + " is " + std::to_string(b) + " " + at_offset(at));
      }
      return Value::boolean(b == 1);
    }
    case ValueType::STRING: return Value::str(c.read_string("string " + what));
    case ValueType::ARRAY: {
      const uint64_t at = c.pos();
      if (depth >= kMaxArrayDepth) {
        fail_invalid(c.file(), "array nesting too deep",
                     "key " + quoted(key) + " nests arrays more than " + std::to_string(kMaxArrayDepth) +
                         " levels " + at_offset(at));
      }
      const ValueType elem = read_value_type(c, key, "array element type of key " + quoted(key));
      const uint64_t count_at = c.pos();
      const uint64_t count = c.read<uint64_t>("array length of key " + quoted(key));
      c.check_count(count, min_element_bytes(elem), count_at, "array length of key " + quoted(key));
      std::vector<Value> items;
      items.reserve(size_t(count));
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(c, elem, key, depth + 1));
      return Value::array(elem, std::move(items));
    }
  }
  fail_invalid(c.file(), "unknown value type", "key " + quoted(key));
}

}  // namespace

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t TensorInfo::rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

struct File::Impl {
  std::string path;
  Mapping bytes;
  uint32_t version = 0;
  uint64_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;
  std::vector<std::pair<std::string, Value>> metadata;
  std::map<std::string, size_t, std::less<>> key_index;
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t, std::less<>> tensor_index;

  void parse();
  void parse_metadata(Cursor& c, uint64_t n_kv);
  void parse_alignment();
  void parse_tensor_infos(Cursor& c, uint64_t n_tensors);
  void place_tensors();
};

void File::Impl::parse() {
  Cursor c(bytes.data(), bytes.size(), path);
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != kMagic) {
    char found[32];
    std::snprintf(found, sizeof found, "%02x %02x %02x %02x", magic & 0xff, (magic >> 8) & 0xff,
                  (magic >> 16) & 0xff, magic >> 24);
    fail_invalid(path, "bad magic",
                 std::string("expected \"GGUF\" (47 47 55 46) at byte offset 0, found ") + found);
  }
  version = c.read<uint32_t>("version");
  if (version != 2 && version != 3) {
    std::string detail = "version " + std::to_string(version) + " at byte offset 4 (supported: 2 and 3)";
    if (version == 1) detail += "; v1 files use 32-bit counts, convert them with a newer tool";
    // A big-endian v2/v3 file reads as 0x02000000 / 0x03000000 on a little-endian machine.
    if (version == 0x02000000 || version == 0x03000000) detail += "; this looks like a big-endian file";
    fail_invalid(path, "unsupported version", detail);
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  c.check_count(n_tensors, kMinTensorInfoBytes, 8, "tensor count");
  c.check_count(n_kv, kMinKvBytes, 16, "metadata count");
  parse_metadata(c, n_kv);
  parse_alignment();
  parse_tensor_infos(c, n_tensors);
  // The data section starts at the first multiple of the alignment after the tensor infos.
  const uint64_t header_end = c.pos();
  data_offset = (header_end + alignment - 1) / alignment * alignment;
  place_tensors();
}

void File::Impl::parse_metadata(Cursor& c, uint64_t n_kv) {
  metadata.reserve(size_t(n_kv));
  std::map<std::string, uint64_t, std::less<>> key_offsets;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t key_at = c.pos();
    std::string key = c.read_string("key");
    if (auto it = key_offsets.find(key); it != key_offsets.end()) {
      fail_invalid(path, "duplicate key",
                   quoted(key) + " " + at_offset(key_at) + " was already defined at byte offset " +
                       std::to_string(it->second));
    }
    key_offsets.emplace(key, key_at);
    const ValueType type = read_value_type(c, key, "value type of key " + quoted(key));
    Value value = read_value(c, type, key, 0);
    key_index.emplace(key, metadata.size());
    metadata.emplace_back(std::move(key), std::move(value));
  }
}

void File::Impl::parse_alignment() {
  auto it = key_index.find(std::string_view("general.alignment"));
  if (it == key_index.end()) return;
  const Value& v = metadata[it->second].second;
  // The format fixes the type: general.alignment is a UINT32 power of two.
  if (v.type != ValueType::UINT32) {
    fail_invalid(path, "invalid alignment",
                 std::string("key 'general.alignment' has type ") + value_type_name(v.type) + ", expected UINT32");
  }
  const uint64_t a = v.as_u64();
  if (a == 0 || (a & (a - 1)) != 0) {
    fail_invalid(path, "invalid alignment",
                 "key 'general.alignment' is " + std::to_string(a) + ", expected a power of two");
  }
  alignment = a;
}

void File::Impl::parse_tensor_infos(Cursor& c, uint64_t n_tensors) {
  tensors.reserve(size_t(n_tensors));
  std::map<std::string, uint64_t, std::less<>> name_offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    const uint64_t name_at = c.pos();
    t.name = c.read_string("name of tensor " + std::to_string(i));
    const std::string who = "tensor " + quoted(t.name);
    if (auto it = name_offsets.find(t.name); it != name_offsets.end()) {
      fail_invalid(path, "duplicate tensor name",
                   quoted(t.name) + " " + at_offset(name_at) + " was already defined at byte offset " +
                       std::to_string(it->second));
    }
    name_offsets.emplace(t.name, name_at);

    const uint64_t dims_at = c.pos();
    const uint32_t n_dims = c.read<uint32_t>("dimension count of " + who);
    if (n_dims == 0 || n_dims > kMaxDims) {
      fail_invalid(path, "invalid dimension count",
                   who + " has " + std::to_string(n_dims) + " dimensions " + at_offset(dims_at) +
                       " (must be 1 to " + std::to_string(kMaxDims) + ")");
    }
    int64_t n_elements = 1;
    const uint64_t ne0_at = c.pos();
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne_at = c.pos();
      const uint64_t ne = c.read<uint64_t>("ne[" + std::to_string(d) + "] of " + who);
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max())) {
        fail_invalid(path, "invalid dimension",
                     who + " ne[" + std::to_string(d) + "] = " + std::to_string(int64_t(ne)) + " " +
                         at_offset(ne_at) + " (must be positive)");
      }
      t.shape.push_back(int64_t(ne));
      if (__builtin_mul_overflow(n_elements, int64_t(ne), &n_elements)) {
        fail_invalid(path, "dimension overflow",
                     who + " element count overflows 64 bits at ne[" + std::to_string(d) + "] " +
                         at_offset(ne_at));
      }
    }
    const uint64_t type_at = c.pos();
    const uint32_t type_id = c.read<uint32_t>("type of " + who);
    const std::optional<TensorType> type = tensor_type_from_gguf(type_id);
    if (!type) {
      fail_invalid(path, "unknown tensor type",
                   who + " has type id " + std::to_string(type_id) + " " + at_offset(type_at));
    }
    const TypeTraits* traits = &type_traits(*type);
    t.type = *type;
    if (t.shape[0] % traits->block_size != 0) {
      fail_invalid(path, "block size mismatch",
                   who + " ne[0] = " + std::to_string(t.shape[0]) + " " + at_offset(ne0_at) +
                       " is not a multiple of the " + std::string(traits->name) + " block size " +
                       std::to_string(traits->block_size));
    }
    // An interleaved type stores its rows in groups; every matrix of the tensor holds whole groups.
    const int64_t matrix_rows = t.shape.size() > 1 ? t.shape[1] : 1;
    if (matrix_rows % traits->row_group != 0) {
      fail_invalid(path, "row group mismatch",
                   who + " has " + std::to_string(matrix_rows) + " rows, not a multiple of the " +
                       std::to_string(traits->row_group) + " rows " + std::string(traits->name) + " interleaves");
    }
    // Bytes = blocks per row * block bytes * rows; each product can overflow on its own.
    const uint64_t blocks_per_row = uint64_t(t.shape[0] / traits->block_size);
    uint64_t row_bytes = 0;
    if (__builtin_mul_overflow(blocks_per_row, uint64_t(traits->type_size), &row_bytes) ||
        __builtin_mul_overflow(row_bytes, uint64_t(t.rows()), &t.nbytes)) {
      fail_invalid(path, "dimension overflow",
                   who + " shape " + shape_text(t.shape) + " of " + std::string(traits->name) +
                       " has a byte size that overflows 64 bits");
    }
    const uint64_t offset_at = c.pos();
    t.offset = c.read<uint64_t>("data offset of " + who);
    if (t.offset % alignment != 0) {
      fail_invalid(path, "misaligned tensor offset",
                   who + " offset " + std::to_string(t.offset) + " " + at_offset(offset_at) +
                       " is not a multiple of the alignment " + std::to_string(alignment));
    }
    tensor_index.emplace(t.name, tensors.size());
    tensors.push_back(std::move(t));
  }
}

void File::Impl::place_tensors() {
  const uint64_t size = bytes.size();
  for (TensorInfo& t : tensors) {
    const std::string who = "tensor " + quoted(t.name);
    // data_offset <= size + alignment, so start cannot overflow unless offset is absurd.
    if (t.offset >= size || data_offset >= size - t.offset) {
      fail_invalid(path, "tensor data out of range",
                   who + " starts at data offset " + std::to_string(t.offset) + " (data section at byte offset " +
                       std::to_string(data_offset) + "), past the end of the file (size " +
                       std::to_string(size) + ")");
    }
    const uint64_t start = data_offset + t.offset;
    if (t.nbytes > size - start) {
      fail_invalid(path, "truncated data",
                   who + " needs " + std::to_string(t.nbytes) + " bytes at byte offset " + std::to_string(start) +
                       " but the file ends at " + std::to_string(size));
    }
    t.data = bytes.data() + start;
  }
  // Tensors may be stored in any order: sort by offset and compare neighbours.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [this](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& prev = tensors[order[i - 1]];
    const TensorInfo& cur = tensors[order[i]];
    if (prev.offset + prev.nbytes > cur.offset) {
      fail_invalid(path, "overlapping tensors",
                   "tensor " + quoted(cur.name) + " at data offset " + std::to_string(cur.offset) +
                       " overlaps tensor " + quoted(prev.name) + " at data offsets [" +
                       std::to_string(prev.offset) + ", " + std::to_string(prev.offset + prev.nbytes) + ")");
    }
  }
}

File File::open(const std::string& path, const OpenOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->bytes = Mapping::open(path, options.use_mmap, options.use_mlock);
  impl->parse();
  if (options.prefetch) impl->bytes.prefetch(impl->data_offset, impl->bytes.size() - impl->data_offset);
  return File(std::move(impl));
}

File File::from_bytes(std::span<const uint8_t> bytes, std::string name) {
  auto impl = std::make_unique<Impl>();
  impl->path = std::move(name);
  impl->bytes = Mapping::copy_of(bytes);
  impl->parse();
  return File(std::move(impl));
}

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

const std::string& File::path() const { return impl_->path; }
uint32_t File::version() const { return impl_->version; }
uint64_t File::alignment() const { return impl_->alignment; }
uint64_t File::data_offset() const { return impl_->data_offset; }
uint64_t File::file_size() const { return impl_->bytes.size(); }
const uint8_t* File::base() const { return impl_->bytes.data(); }
bool File::is_mapped() const { return impl_->bytes.is_mapped(); }
bool File::is_locked() const { return impl_->bytes.is_locked(); }

const std::vector<std::pair<std::string, Value>>& File::metadata() const { return impl_->metadata; }

const Value* File::find(std::string_view key) const {
  auto it = impl_->key_index.find(key);
  return it == impl_->key_index.end() ? nullptr : &impl_->metadata[it->second].second;
}

const Value& File::require(std::string_view key) const {
  const Value* v = find(key);
  if (!v) fail_invalid(impl_->path, "missing key", quoted(key));
  return *v;
}

namespace {

// Re-throws an accessor's type mismatch with the file and key it concerns.
template <typename F>
auto typed(const std::string& path, std::string_view key, F&& get) {
  try {
    return get();
  } catch (const Error& e) {
    fail_invalid(path, "wrong key type", "key " + quoted(key) + ": " + e.what());
  }
}

}  // namespace

std::string File::get_string(std::string_view key) const {
  const Value& v = require(key);
  return typed(impl_->path, key, [&] { return v.as_string(); });
}
std::string File::get_string(std::string_view key, std::string fallback) const {
  return find(key) ? get_string(key) : fallback;
}
uint64_t File::get_u64(std::string_view key) const {
  const Value& v = require(key);
  return typed(impl_->path, key, [&] { return v.as_u64(); });
}
uint64_t File::get_u64(std::string_view key, uint64_t fallback) const {
  return find(key) ? get_u64(key) : fallback;
}
double File::get_f64(std::string_view key) const {
  const Value& v = require(key);
  return typed(impl_->path, key, [&] { return v.as_f64(); });
}
double File::get_f64(std::string_view key, double fallback) const {
  return find(key) ? get_f64(key) : fallback;
}

const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = impl_->tensor_index.find(name);
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

}  // namespace lp::gguf
