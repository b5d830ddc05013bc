// Page-cache residency of a file, and eviction without root: the two facts behind "cold versus
// warm load". Residency comes from mincore() over a read-only mapping; eviction is
// fsync + posix_fadvise(DONTNEED), which the kernel honours only for pages nobody else maps or
// has dirty, so eviction is always checked afterwards and reported as it is.
#pragma once

#include <cstdint>
#include <string>

namespace lp {

struct Residency {
  uint64_t file_bytes = 0;
  uint64_t pages = 0;           // pages spanned by the file
  uint64_t resident_pages = 0;  // of those, in the page cache now
  double fraction() const { return pages ? double(resident_pages) / double(pages) : 1.0; }
};

// Throws lp::Error(FileNotFound) when the file cannot be opened.
Residency file_residency(const std::string& path);

struct EvictResult {
  Residency before;
  Residency after;
  // True when no page stays resident. When false, another process probably maps the file
  // (or its pages are locked/dirty); the caller says so plainly.
  bool complete() const { return after.resident_pages == 0; }
};

// Asks the kernel to drop the file's pages from the page cache and measures the result.
EvictResult evict_file(const std::string& path);

// Reads the whole file (sequentially, large blocks) so that it sits in the page cache.
// Returns the residency afterwards.
Residency warm_file(const std::string& path);

}  // namespace lp
