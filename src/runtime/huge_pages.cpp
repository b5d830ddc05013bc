#include "runtime/huge_pages.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace lp {
namespace {

// A mapping's header line: "start-end perms offset dev inode [path]" with hex addresses.
bool parse_header(const std::string& line, uint64_t& start, uint64_t& end) {
  const size_t dash = line.find('-');
  const size_t space = line.find(' ');
  if (dash == std::string::npos || space == std::string::npos || dash > space) return false;
  char* stop = nullptr;
  start = std::strtoull(line.c_str(), &stop, 16);
  if (stop != line.c_str() + dash) return false;
  end = std::strtoull(line.c_str() + dash + 1, &stop, 16);
  return stop == line.c_str() + space && end > start;
}

// "FilePmdMapped:    2048 kB" -> bytes, when line starts with one of the huge-page fields.
bool huge_field_bytes(const std::string& line, uint64_t& bytes) {
  for (std::string_view field : {"AnonHugePages:", "FilePmdMapped:", "ShmemPmdMapped:"}) {
    if (std::string_view(line).starts_with(field)) {
      bytes = std::strtoull(line.c_str() + field.size(), nullptr, 10) * 1024;
      return true;
    }
  }
  return false;
}

}  // namespace

HugePageCoverage huge_page_coverage(std::istream& smaps, uint64_t addr, uint64_t length) {
  HugePageCoverage c;
  c.known = true;
  const uint64_t lo = addr, hi = addr + length;
  uint64_t overlap = 0, size = 0;  // of the current mapping
  std::string line;
  while (std::getline(smaps, line)) {
    uint64_t start = 0, end = 0, huge = 0;
    if (parse_header(line, start, end)) {
      overlap = start < hi && lo < end ? std::min(end, hi) - std::max(start, lo) : 0;
      size = end - start;
      c.bytes += overlap;
    } else if (overlap > 0 && huge_field_bytes(line, huge)) {
      // The fields count the whole mapping; its huge pages are taken as spread evenly over it.
      c.huge_bytes += size == overlap ? huge : uint64_t(double(huge) * double(overlap) / double(size));
    }
  }
  c.huge_bytes = std::min(c.huge_bytes, c.bytes);
  return c;
}

HugePageCoverage huge_page_coverage(const void* addr, uint64_t length) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return {};
  return huge_page_coverage(smaps, uint64_t(reinterpret_cast<uintptr_t>(addr)), length);
}

}  // namespace lp
