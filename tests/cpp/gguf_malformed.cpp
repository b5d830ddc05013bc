// One generated malformed file per defect (gguf_corpus.h): the library rejects each with
// InvalidFile and a message "FILE: DEFECT: ..." naming where, and `llamaprof info` reports the same
// message and exits 1 without crashing.
#include <gtest/gtest.h>

#include <set>

#include "gguf/reader.h"
#include "gguf_corpus.h"
#include "gguf_test_util.h"
#include "llamaprof/error.h"

namespace lp::gguf {
namespace {

using testing::MalformedCase;

class GgufMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(GgufMalformed, LibraryRejectsItNamingTheDefect) {
  const MalformedCase& c = GetParam();
  const std::string name = c.name + ".gguf";
  try {
    File::from_bytes(c.bytes, name);
    FAIL() << c.name << " was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFile) << message;
    EXPECT_EQ(message.rfind(name + ": ", 0), 0u) << message;
    for (const std::string& part : c.expect) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST_P(GgufMalformed, CliExitsOneWithTheMessage) {
  const MalformedCase& c = GetParam();
  testing::ScratchDir dir;
  const std::string path = dir.file(c.name + ".gguf");
  testing::write_all(path, c.bytes);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"info", path},
                                               std::vector<std::string>{"info", "--json", path}}) {
    const testing::CliResult r = testing::run_cli(args, dir);
    ASSERT_TRUE(r.exited) << "killed by signal " << r.signal << "\n" << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("llamaprof: error: " + path + ": ", 0), 0u) << r.err;
    for (const std::string& part : c.expect) EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, GgufMalformed, ::testing::ValuesIn(testing::malformed_corpus()),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(GgufMalformedCorpus, HasOneCasePerDefect) {
  std::set<std::string> defects;
  for (const MalformedCase& c : testing::malformed_corpus()) defects.insert(c.expect.front());
  for (const char* d : {"bad magic", "unsupported version", "truncated header", "truncated data", "count too large",
                        "string too long", "tensor data out of range", "overlapping tensors", "unknown tensor type",
                        "misaligned tensor offset", "dimension overflow", "invalid dimension count",
                        "invalid dimension", "duplicate key", "duplicate tensor name", "block size mismatch"}) {
    EXPECT_TRUE(defects.count(d)) << d;
  }
}

// Every prefix of a valid file is rejected cleanly (never read past its end).
TEST(GgufMalformedCorpus, EveryTruncationIsRejected) {
  const std::vector<uint8_t> bytes = testing::build(testing::valid_spec());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + n);
    try {
      File::from_bytes(prefix);
      FAIL() << "prefix of " << n << " bytes accepted";
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::InvalidFile) << e.what();
    }
  }
  EXPECT_NO_THROW(File::from_bytes(bytes));
}

// Flipping any single byte of the header either still parses or fails with InvalidFile.
TEST(GgufMalformedCorpus, SingleByteCorruptionsFailCleanly) {
  const testing::RawSpec spec = testing::valid_spec();
  std::vector<uint8_t> bytes = testing::build(spec);
  for (size_t i = 0; i < bytes.size() - spec.data_bytes; ++i) {
    for (uint8_t v : {uint8_t(0x00), uint8_t(0xff), uint8_t(0x80), uint8_t(bytes[i] + 1)}) {
      std::vector<uint8_t> corrupt = bytes;
      corrupt[i] = v;
      try {
        File::from_bytes(corrupt);
      } catch (const Error& e) {
        ASSERT_EQ(e.kind(), ErrorKind::InvalidFile) << "byte " << i << ": " << e.what();
      }
    }
  }
}

TEST(GgufMalformedCli, MissingFileExitsOne) {
  testing::ScratchDir dir;
  const std::string path = dir.file("absent.gguf");
  const testing::CliResult r = testing::run_cli({"info", path}, dir);
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("llamaprof: error: " + path + ": cannot open", 0), 0u) << r.err;
}

}  // namespace
}  // namespace lp::gguf
