// libFuzzer target: any bytes given to gguf::File::from_bytes either parse or fail with
// lp::Error(InvalidFile); nothing else (crash, overread, UB, another error kind) is allowed.
// A file that parses is walked completely and must survive write -> read -> write unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"

namespace {

using lp::gguf::File;
using lp::gguf::Value;

constexpr uint64_t kMaxRewriteBytes = uint64_t(64) << 20;

// Touches every accessor; mismatches must be lp::Error, never anything else.
uint64_t walk(const Value& v) {
  uint64_t h = uint64_t(v.type);
  try { h += v.as_u64(); } catch (const lp::Error&) {}
  try { h += uint64_t(v.as_i64()); } catch (const lp::Error&) {}
  try { h += v.as_f64() > 0; } catch (const lp::Error&) {}
  try { h += v.as_bool(); } catch (const lp::Error&) {}
  try { h += v.as_string().size(); } catch (const lp::Error&) {}
  try { h += v.as_string_vector().size(); } catch (const lp::Error&) {}
  try { h += v.as_f32_vector().size(); } catch (const lp::Error&) {}
  try { h += v.as_i32_vector().size(); } catch (const lp::Error&) {}
  if (v.is_array()) {
    for (const Value& item : v.as_array().items) h += walk(item);
  }
  return h;
}

[[noreturn]] void fail_invariant() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<File> file;
  try {
    file.emplace(File::from_bytes({data, size}, "fuzz"));
  } catch (const lp::Error& e) {
    if (e.kind() != lp::ErrorKind::InvalidFile) fail_invariant();
    return 0;
  }
  const File& f = *file;
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    sink = sink + walk(value);
    if (f.find(key) != &value) fail_invariant();  // keys are unique
  }
  try { sink = sink + f.get_u64("general.alignment", 0); } catch (const lp::Error&) {}
  try { sink = sink + f.get_string("general.architecture", "").size(); } catch (const lp::Error&) {}
  const uint8_t* begin = f.base();
  const uint8_t* end = f.base() + f.file_size();
  for (const auto& t : f.tensors()) {
    if (t.data < begin || t.nbytes > uint64_t(end - t.data)) fail_invariant();
    if (t.offset % f.alignment() != 0) fail_invariant();
    if (f.find_tensor(t.name) != &t) fail_invariant();
    sink = sink + t.data[0] + t.data[t.nbytes - 1] + uint64_t(t.n_elements()) + uint64_t(t.rows());
  }

  // Whatever parsed can be written, and the written file reads back into the same bytes again.
  // The writer pads the header and every tensor to the alignment: a valid but huge general.alignment
  // (2^29) would make a 200-byte input write gigabytes, so such inputs stop here.
  if ((f.tensors().size() + 1) * f.alignment() > kMaxRewriteBytes) return 0;
  lp::gguf::Writer first;
  first.copy_from(f);
  const std::vector<uint8_t> bytes = first.to_bytes();
  try {
    const File again = File::from_bytes(bytes, "fuzz-rewritten");
    lp::gguf::Writer second;
    second.copy_from(again);
    if (second.to_bytes() != bytes) fail_invariant();
  } catch (const lp::Error&) {
    fail_invariant();
  }
  return 0;
}
