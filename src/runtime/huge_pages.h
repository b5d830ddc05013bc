// How much of a memory range the kernel maps with 2 MiB pages: anonymous transparent huge pages,
// or page-cache folios mapped whole (PMD-mapped). Decode streams every weight once per token; on
// 4 KiB pages the same loop runs 5-9% slower (a TLB miss per 4 KiB, and the hardware prefetcher
// stops at every 4 KiB boundary; bench/kernels_matvec with LLAMAPROF_BENCH_SMALL_PAGES=1). A model
// file read cold on Linux 6.x sits in the page cache as 2 MiB folios, but a file written or read
// in pieces may not: so this is one reason decode speed differs from run to run on the same file.
#pragma once

#include <cstdint>
#include <istream>

namespace lp {

struct HugePageCoverage {
  bool known = false;       // false: /proc/self/smaps could not be read (not Linux, or no procfs)
  uint64_t bytes = 0;       // the range's bytes that lie in mappings
  uint64_t huge_bytes = 0;  // of those, mapped by 2 MiB pages
  double fraction() const { return bytes ? double(huge_bytes) / double(bytes) : 0.0; }
};

// Coverage of [addr, addr + length) in this process, from /proc/self/smaps.
HugePageCoverage huge_page_coverage(const void* addr, uint64_t length);

// The same from an smaps text (tests). A mapping counts its AnonHugePages, FilePmdMapped and
// ShmemPmdMapped; one that straddles the range counts in proportion to its overlap.
HugePageCoverage huge_page_coverage(std::istream& smaps, uint64_t addr, uint64_t length);

}  // namespace lp
