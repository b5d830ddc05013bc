// Page-cache residency and eviction, checked by mincore and independently by vmtouch.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "llamaprof/error.h"
#include "profile/page_cache.h"

namespace {

namespace fs = std::filesystem;

// A file on the build directory's disk (tmpfs would never evict).
std::string make_file(uint64_t bytes) {
  const fs::path dir = fs::current_path() / "page-cache-test";
  fs::create_directories(dir);
  const fs::path path = dir / "data.bin";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<char> block(1 << 20);
  for (size_t i = 0; i < block.size(); ++i) block[i] = char(i * 131);
  for (uint64_t done = 0; done < bytes; done += block.size()) out.write(block.data(), std::streamsize(block.size()));
  return path.string();
}

// vmtouch's "Resident Pages: R/T" line, or -1 when vmtouch is absent.
double vmtouch_fraction(const std::string& path) {
  FILE* p = popen(("vmtouch '" + path + "' 2>/dev/null").c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) return -1;
  // Parsed by hand: gcc 12 warns (-Wmaybe-uninitialized) inside libstdc++'s <regex>.
  const size_t at = out.find("Resident Pages:");
  if (at == std::string::npos) return -1;
  unsigned long long resident = 0, total = 0;
  if (std::sscanf(out.c_str() + at, "Resident Pages: %llu/%llu", &resident, &total) != 2 || total == 0) return -1;
  return double(resident) / double(total);
}

TEST(PageCache, WarmThenEvictChangesResidency) {
  const std::string path = make_file(64ull << 20);

  const lp::Residency warm = lp::warm_file(path);
  EXPECT_EQ(warm.file_bytes, 64ull << 20);
  EXPECT_GT(warm.fraction(), 0.99);
  if (double v = vmtouch_fraction(path); v >= 0) {
    EXPECT_GT(v, 0.99) << "vmtouch disagrees after warm";
  }

  const lp::EvictResult ev = lp::evict_file(path);
  EXPECT_GT(ev.before.fraction(), 0.99);
  EXPECT_TRUE(ev.complete()) << ev.after.resident_pages << " pages stayed resident";
  EXPECT_LT(ev.after.fraction(), 0.01);
  if (double v = vmtouch_fraction(path); v >= 0) {
    EXPECT_LT(v, 0.01) << "vmtouch disagrees after evict";
  }

  const lp::Residency again = lp::warm_file(path);
  EXPECT_GT(again.fraction(), 0.99);
  std::filesystem::remove(path);
}

TEST(PageCache, MissingFileIsFileNotFound) {
  try {
    lp::file_residency("/nonexistent/model.gguf");
    FAIL() << "expected an error";
  } catch (const lp::Error& e) {
    EXPECT_EQ(e.kind(), lp::ErrorKind::FileNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

}  // namespace
