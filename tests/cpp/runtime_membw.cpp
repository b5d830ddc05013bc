// Memory-bandwidth probe: runs on a small buffer, and the cache file round-trips (keyed by CPU
// model and thread count). Figures themselves are benchmarks, not asserted here.
#include "runtime/membw.h"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

#include "runtime/cpu_features.h"
#include "runtime/cpu_topology.h"

namespace {

namespace fs = std::filesystem;

TEST(Membw, DefaultBufferIsFarLargerThanTheLastLevelCache) {
  const size_t bytes = lp::default_membw_buffer_bytes();
  const auto& info = lp::cpu_info();
  EXPECT_GE(bytes, size_t(64) << 20);
  if (info.memory_total_bytes >= (int64_t(16) << 30)) {
    EXPECT_GE(bytes, size_t(1) << 30);
    EXPECT_GE(bytes, size_t(4 * info.l3_bytes));
  }
  EXPECT_EQ(bytes % (size_t(2) << 20), 0u);
}

TEST(Membw, MeasuresEachRequestedThreadCount) {
  lp::MembwOptions options;
  options.thread_counts = {1, 3};
  options.buffer_bytes = size_t(8) << 20;
  options.repeats = 2;
  options.kernel = lp::ReadKernel::Sse2;
  const lp::MembwResult r = lp::measure_read_bandwidth(options);
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(r.points[0].threads, 1);
  EXPECT_EQ(r.points[1].threads, 3);
  for (const auto& p : r.points) {
    EXPECT_GT(p.gbps_best, 0.0);
    EXPECT_GE(p.gbps_best, p.gbps_median);
  }
  EXPECT_EQ(r.buffer_bytes, size_t(8) << 20);
  EXPECT_EQ(r.kernel, "sse2");
  EXPECT_FALSE(r.from_cache);
}

TEST(Membw, Avx2KernelRunsWhenAvailable) {
  if (!lp::cpu_features().usable_avx2()) GTEST_SKIP() << "no AVX2";
  lp::MembwOptions options;
  options.thread_counts = {2};
  options.buffer_bytes = (size_t(4) << 20) + 4096 + 8;  // not a multiple of the loop's step
  options.repeats = 1;
  options.kernel = lp::ReadKernel::Avx2;
  EXPECT_GT(lp::measure_read_bandwidth(options).points.at(0).gbps_best, 0.0);
}

TEST(Membw, RejectsBadOptions) {
  lp::MembwOptions options;
  options.thread_counts = {0};
  EXPECT_ANY_THROW(lp::measure_read_bandwidth(options));
  options.thread_counts = {1};
  options.buffer_bytes = 4096;
  EXPECT_ANY_THROW(lp::measure_read_bandwidth(options));
}

TEST(Membw, CacheRoundTripsAndReplacesEntriesByThreadCount) {
  const fs::path dir = fs::temp_directory_path() / ("lp_membw_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path cache = dir / "sub" / "membw.json";
  EXPECT_FALSE(lp::cached_read_bandwidth(1, cache).has_value());

  lp::MembwResult r;
  r.cpu_model = lp::cpu_info().model_name;
  r.buffer_bytes = size_t(1) << 30;
  r.repeats = 3;
  r.kernel = "sse2";
  r.measured_at = "2026-01-01T00:00:00Z";
  r.points = {{1, 40.0, 39.0}, {2, 45.0, 44.0}};
  lp::store_read_bandwidth(r, cache);
  ASSERT_TRUE(lp::cached_read_bandwidth(2, cache).has_value());
  EXPECT_DOUBLE_EQ(lp::cached_read_bandwidth(2, cache)->gbps_best, 45.0);
  EXPECT_FALSE(lp::cached_read_bandwidth(3, cache).has_value());

  r.points = {{2, 47.0, 46.0}};
  lp::store_read_bandwidth(r, cache);
  const auto both = lp::load_cached_membw({1, 2}, cache);
  ASSERT_TRUE(both.has_value());
  EXPECT_TRUE(both->from_cache);
  EXPECT_DOUBLE_EQ(both->points[0].gbps_best, 40.0);
  EXPECT_DOUBLE_EQ(both->points[1].gbps_best, 47.0);  // replaced, not duplicated
  EXPECT_EQ(both->buffer_bytes, size_t(1) << 30);
  EXPECT_FALSE(lp::load_cached_membw({1, 2, 3}, cache).has_value());

  // A lower figure (measured while something else ran) does not replace a higher one.
  r.points = {{2, 12.0, 11.0}};
  lp::store_read_bandwidth(r, cache);
  EXPECT_DOUBLE_EQ(lp::cached_read_bandwidth(2, cache)->gbps_best, 47.0);

  // Another CPU model's entries are not this machine's.
  r.cpu_model = "Some Other CPU";
  r.points = {{3, 10.0, 9.0}};
  lp::store_read_bandwidth(r, cache);
  EXPECT_FALSE(lp::cached_read_bandwidth(3, cache).has_value());

  // A corrupt file reads as empty and is overwritten by the next store.
  std::ofstream(cache) << "{not json";
  EXPECT_FALSE(lp::cached_read_bandwidth(1, cache).has_value());
  r.cpu_model = lp::cpu_info().model_name;
  r.points = {{1, 31.0, 30.0}};
  lp::store_read_bandwidth(r, cache);
  EXPECT_DOUBLE_EQ(lp::cached_read_bandwidth(1, cache)->gbps_best, 31.0);
  fs::remove_all(dir);
}

TEST(Membw, CachePathHonoursXdgCacheHome) {
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
  EXPECT_EQ(lp::membw_cache_path(), fs::path("/tmp/xdg-test/llamaprof/membw.json"));
  if (old) {
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    unsetenv("XDG_CACHE_HOME");
  }
}

}  // namespace
