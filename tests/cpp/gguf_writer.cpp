// The writer: v3 output that reads back unchanged, alignment and zero padding, producers, copy_from,
// atomic replacement, and refusal of tensors it cannot describe.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "gguf_corpus.h"
#include "gguf_test_util.h"
#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 13);
  return v;
}

// A small model-like file with several types, shapes of 1 to 4 dimensions and non-default alignment.
struct Sample {
  std::vector<uint8_t> embd = pattern(row_size(TensorType::F16, 64) * 10, 1);
  std::vector<uint8_t> q4 = pattern(row_size(TensorType::Q4_0, 64) * 3, 2);
  std::vector<uint8_t> norm = pattern(row_size(TensorType::F32, 64), 3);
  std::vector<uint8_t> q8 = pattern(row_size(TensorType::Q8_0, 32) * 2 * 3 * 2, 4);

  Writer writer(uint32_t alignment) const {
    Writer w;
    w.set("general.architecture", Value::str("llama"));
    w.set("general.alignment", Value::u32(alignment));
    w.set("llama.block_count", Value::u32(1));
    w.set("llama.rope.freq_base", Value::f32(10000.0f));
    w.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "</s>"}));
    w.set("tokenizer.ggml.scores", Value::f32_array({0.0f, -1.0f, -2.0f}));
    w.add_tensor("token_embd.weight", TensorType::F16, {64, 10}, embd);
    w.add_tensor("blk.0.attn_q.weight", TensorType::Q4_0, {64, 3}, q4);
    w.add_tensor("output_norm.weight", TensorType::F32, {64}, norm);
    w.add_tensor("blk.0.four_d", TensorType::Q8_0, {32, 2, 3, 2}, q8);
    return w;
  }
};

TEST(GgufWriter, ReadWriteReadIsByteIdentical) {
  testing::ScratchDir dir;
  Sample sample;
  const std::string first = dir.file("first.gguf"), second = dir.file("second.gguf");
  sample.writer(32).write(first);
  const File a = File::open(first);
  Writer copy;
  copy.copy_from(a);
  copy.write(second);
  const std::vector<uint8_t> first_bytes = testing::read_all(first);
  EXPECT_EQ(first_bytes, testing::read_all(second));
  EXPECT_EQ(first_bytes, copy.to_bytes());

  const File b = File::open(second);
  ASSERT_EQ(b.tensors().size(), 4u);
  EXPECT_EQ(std::vector<uint8_t>(b.tensors()[1].data, b.tensors()[1].data + b.tensors()[1].nbytes), sample.q4);
  EXPECT_EQ(b.tensors()[3].shape, (std::vector<int64_t>{32, 2, 3, 2}));
}

TEST(GgufWriter, DataIsAlignedAndZeroPadded) {
  for (uint32_t alignment : {32u, 64u, 4096u, 131072u}) {  // 131072: padding fed in several chunks
    Sample sample;
    const std::vector<uint8_t> bytes = sample.writer(alignment).to_bytes();
    const File f = File::from_bytes(bytes);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    EXPECT_EQ(bytes.size() % alignment, 0u);
    uint64_t expected_offset = 0;
    for (const TensorInfo& t : f.tensors()) {
      EXPECT_EQ(t.offset, expected_offset) << t.name;  // packed in order, each padded
      const uint64_t padded = (t.nbytes + alignment - 1) / alignment * alignment;
      for (uint64_t i = t.nbytes; i < padded; ++i) ASSERT_EQ(t.data[i], 0) << t.name << " pad byte " << i;
      expected_offset += padded;
    }
    EXPECT_EQ(f.data_offset() + expected_offset, bytes.size());
  }
}

TEST(GgufWriter, ProducerFillsEachTensorWhenWritten) {
  testing::ScratchDir dir;
  Writer w;
  std::vector<std::string> order;
  w.add_tensor("a", TensorType::F32, {4, 3}, [&order](uint8_t* dst, uint64_t n) {
    order.push_back("a");
    EXPECT_EQ(n, 48u);
    for (uint64_t i = 0; i < n; ++i) dst[i] = uint8_t(i);
  });
  w.add_tensor("b", TensorType::Q4_K, {256, 2}, [&order](uint8_t* dst, uint64_t n) {
    order.push_back("b");
    EXPECT_EQ(n, 2 * row_size(TensorType::Q4_K, 256));
    std::fill(dst, dst + n, uint8_t(0xab));
  });
  EXPECT_TRUE(order.empty());
  w.write(dir.file("p.gguf"));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  const File f = File::open(dir.file("p.gguf"));
  EXPECT_EQ(f.tensors()[0].data[47], 47);
  EXPECT_EQ(f.tensors()[1].data[0], 0xab);
  EXPECT_EQ(f.tensors()[1].data[f.tensors()[1].nbytes - 1], 0xab);
}

TEST(GgufWriter, FailedWriteLeavesNoFileBehind) {
  testing::ScratchDir dir;
  const std::string path = dir.file("out.gguf");
  Writer w;
  w.add_tensor("a", TensorType::F32, {4}, [](uint8_t*, uint64_t) { throw Error(ErrorKind::Runtime, "boom"); });
  EXPECT_THROW(w.write(path), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  // An existing file is only replaced by a complete one.
  testing::write_all(path, {1, 2, 3});
  EXPECT_THROW(w.write(path), Error);
  EXPECT_EQ(testing::read_all(path), (std::vector<uint8_t>{1, 2, 3}));
}

TEST(GgufWriter, CopiesAV2FileAsV3) {
  testing::RawSpec spec = testing::valid_spec();
  spec.version = 2;
  const File v2 = File::from_bytes(testing::build(spec));
  Writer w;
  w.copy_from(v2);
  const File v3 = File::from_bytes(w.to_bytes());
  EXPECT_EQ(v3.version(), 3u);
  EXPECT_EQ(v3.metadata(), v2.metadata());
  ASSERT_EQ(v3.tensors().size(), 2u);
  EXPECT_EQ(std::memcmp(v3.tensors()[1].data, v2.tensors()[1].data, 34), 0);
}

TEST(GgufWriter, RefusesTensorsItCannotDescribe) {
  Writer w;
  std::vector<uint8_t> data(64);
  auto expect_invalid = [](auto&& f) {
    try {
      f();
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    }
  };
  w.add_tensor("ok", TensorType::F32, {16}, data);
  expect_invalid([&] { w.add_tensor("ok", TensorType::F32, {16}, data); });      // duplicate
  expect_invalid([&] { w.add_tensor("short", TensorType::F32, {32}, data); });   // wrong byte count
  expect_invalid([&] { w.add_tensor("q", TensorType::Q4_0, {16, 1}, data); });   // 16 % 32 != 0
  expect_invalid([&] { w.add_tensor("z", TensorType::F32, {16, 0}, data); });    // zero dimension
  expect_invalid([&] { w.add_tensor("five", TensorType::F32, {1, 1, 1, 1, 16}, data); });
  w.set("general.alignment", Value::u32(48));
  expect_invalid([&] { w.to_bytes(); });
  w.set("general.alignment", Value::u64(64));
  expect_invalid([&] { w.to_bytes(); });
}

}  // namespace
}  // namespace lp::gguf
