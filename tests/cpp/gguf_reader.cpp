// The reader on valid files: v2 and v3, tensor views into the mapping, typed lookups, open options.
#include <gtest/gtest.h>

#include <cstring>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "gguf_corpus.h"
#include "gguf_test_util.h"
#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

using testing::build;
using testing::data_pattern;
using testing::valid_spec;

void expect_valid_contents(const File& f) {
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_u64("llama.block_count"), 1u);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->as_string_vector(), (std::vector<std::string>{"<unk>", "a"}));
  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorInfo& embd = f.tensors()[0];
  EXPECT_EQ(embd.name, "token_embd.weight");
  EXPECT_EQ(embd.type, TensorType::F32);
  EXPECT_EQ(embd.shape, (std::vector<int64_t>{8, 2}));
  EXPECT_EQ(embd.n_elements(), 16);
  EXPECT_EQ(embd.rows(), 2);
  EXPECT_EQ(embd.nbytes, 64u);
  const TensorInfo* out = f.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->type, TensorType::Q8_0);
  EXPECT_EQ(out->nbytes, 34u);
  EXPECT_EQ(out->offset, 64u);
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
}

TEST(GgufReader, ReadsAHandBuiltV3File) {
  const File f = File::from_bytes(build(valid_spec()), "v3.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.path(), "v3.gguf");
  expect_valid_contents(f);
}

TEST(GgufReader, ReadsAHandBuiltV2File) {
  testing::RawSpec spec = valid_spec();
  spec.version = 2;
  const File f = File::from_bytes(build(spec));
  EXPECT_EQ(f.version(), 2u);
  expect_valid_contents(f);
}

TEST(GgufReader, TensorViewsPointAtTheirBytes) {
  const std::vector<uint8_t> bytes = build(valid_spec());
  const File f = File::from_bytes(bytes);
  for (const TensorInfo& t : f.tensors()) {
    ASSERT_EQ(t.data, f.base() + f.data_offset() + t.offset) << t.name;
    for (uint64_t i = 0; i < t.nbytes; ++i) {
      ASSERT_EQ(t.data[i], data_pattern(t.offset + i)) << t.name << " byte " << i;
    }
  }
}

TEST(GgufReader, DefaultAlignmentIs32AndTensorsMayBeStoredOutOfOrder) {
  testing::RawSpec spec = valid_spec();
  spec.kvs.erase(spec.kvs.begin() + 1);  // no general.alignment
  spec.tensors[0].offset = 64;  // token_embd after output: output [0, 34), token_embd [64, 128)
  spec.tensors[1].offset = 0;
  spec.data_bytes = 128;
  const File f = File::from_bytes(build(spec));
  EXPECT_EQ(f.alignment(), kDefaultAlignment);
  EXPECT_EQ(f.tensors()[0].offset, 64u);
  EXPECT_EQ(f.tensors()[1].offset, 0u);
}

TEST(GgufReader, TypedLookupsNameTheKey) {
  const File f = File::from_bytes(build(valid_spec()), "m.gguf");
  EXPECT_EQ(f.get_u64("llama.context_length", 4096), 4096u);
  EXPECT_EQ(f.get_string("general.name", "none"), "none");
  EXPECT_DOUBLE_EQ(f.get_f64("llama.block_count"), 1.0);
  try {
    f.get_u64("llama.context_length");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFile);
    EXPECT_STREQ(e.what(), "m.gguf: missing key: 'llama.context_length'");
  }
  try {
    f.get_u64("general.architecture");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFile);
    EXPECT_NE(std::string(e.what()).find("wrong key type: key 'general.architecture'"), std::string::npos) << e.what();
  }
}

TEST(GgufReader, OpenMapsOrReadsTheSameBytes) {
  testing::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  const std::vector<uint8_t> bytes = build(valid_spec());
  testing::write_all(path, bytes);

  const File mapped = File::open(path);
  EXPECT_TRUE(mapped.is_mapped());
  EXPECT_EQ(mapped.path(), path);
  EXPECT_EQ(mapped.file_size(), bytes.size());
  expect_valid_contents(mapped);

  const File copied = File::open(path, {.use_mmap = false});
  EXPECT_FALSE(copied.is_mapped());
  expect_valid_contents(copied);
  EXPECT_EQ(std::memcmp(copied.base(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copied.base()) % 64, 0u);

  const File prefetched = File::open(path, {.prefetch = true});
  expect_valid_contents(prefetched);
}

TEST(GgufReader, MlockEitherLocksOrSaysWhy) {
  testing::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  testing::write_all(path, build(valid_spec()));
  try {
    const File f = File::open(path, {.use_mlock = true});
    EXPECT_TRUE(f.is_locked());
  } catch (const Error& e) {
    // Only possible when RLIMIT_MEMLOCK is tiny: the message must say what failed.
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("mlock"), std::string::npos) << e.what();
  }
}

TEST(GgufReader, MovedFileKeepsItsTensorViews) {
  File f = File::from_bytes(build(valid_spec()));
  const uint8_t* data = f.tensors()[0].data;
  File moved = std::move(f);
  EXPECT_EQ(moved.tensors()[0].data, data);
  EXPECT_EQ(moved.tensors()[0].data[0], data_pattern(0));
}

TEST(GgufReader, MissingFileIsFileNotFound) {
  testing::ScratchDir dir;
  for (const std::string& path : {dir.file("absent.gguf"), dir.path().string()}) {
    try {
      File::open(path);
      FAIL() << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::FileNotFound);
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace lp::gguf
