#include "runtime/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <sstream>

namespace lp {
namespace {

// Two mappings as /proc/self/smaps prints them (fields abridged), 8 MiB each, back to back.
const char* const kSmaps =
    "7f0000000000-7f0000800000 r--s 00000000 fe:01 1234 /models/a.gguf\n"
    "Size:               8192 kB\n"
    "Rss:                8192 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:      6144 kB\n"
    "VmFlags: rd mr me ms\n"
    "7f0000800000-7f0001000000 rw-p 00000000 00:00 0 \n"
    "Size:               8192 kB\n"
    "AnonHugePages:      2048 kB\n"
    "FilePmdMapped:         0 kB\n";

constexpr uint64_t kBase = 0x7f0000000000ull, kMiB = 1 << 20;

HugePageCoverage parse(uint64_t addr, uint64_t length) {
  std::istringstream in(kSmaps);
  return huge_page_coverage(in, addr, length);
}

TEST(HugePages, CountsTheHugePagesOfTheMappingThatHoldsTheRange) {
  const HugePageCoverage c = parse(kBase, 8 * kMiB);
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.bytes, 8 * kMiB);
  EXPECT_EQ(c.huge_bytes, 6 * kMiB);
  EXPECT_DOUBLE_EQ(c.fraction(), 0.75);
}

TEST(HugePages, SumsOverMappingsAndCountsAPartOverlapInProportion) {
  // All of the first mapping (6 MiB huge) and half of the second (half of its 2 MiB).
  const HugePageCoverage c = parse(kBase, 12 * kMiB);
  EXPECT_EQ(c.bytes, 12 * kMiB);
  EXPECT_EQ(c.huge_bytes, 7 * kMiB);
}

TEST(HugePages, ARangeOutsideEveryMappingHasNoBytes) {
  const HugePageCoverage c = parse(kBase + 64 * kMiB, kMiB);
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.bytes, 0u);
  EXPECT_EQ(c.huge_bytes, 0u);
  EXPECT_DOUBLE_EQ(c.fraction(), 0.0);
}

TEST(HugePages, IgnoresLinesThatAreNotHeadersOrHugePageFields) {
  std::istringstream in("garbage line\nFilePmdMapped: 4096 kB\nnot-an-address rw-p\n");
  const HugePageCoverage c = huge_page_coverage(in, kBase, kMiB);
  EXPECT_EQ(c.bytes, 0u);
  EXPECT_EQ(c.huge_bytes, 0u);
}

TEST(HugePages, ReadsThisProcesssOwnMappings) {
  // A 64 KiB anonymous mapping is too small for a 2 MiB page whatever the system's THP setting.
  const size_t bytes = 64 * 1024;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  static_cast<volatile char*>(p)[0] = 1;
  const HugePageCoverage c = huge_page_coverage(p, bytes);
  munmap(p, bytes);
  ASSERT_TRUE(c.known);
  EXPECT_EQ(c.bytes, bytes);
  EXPECT_EQ(c.huge_bytes, 0u);
}

}  // namespace
}  // namespace lp
