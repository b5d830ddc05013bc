// CPU topology parsing against a fake sysfs/procfs tree, and sanity on the real machine.
#include "runtime/cpu_topology.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(CpuTopology, ParsesCpuListsAndCacheSizes) {
  EXPECT_EQ(lp::parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(lp::parse_cpu_list("5"), (std::vector<int>{5}));
  EXPECT_TRUE(lp::parse_cpu_list("3-1").empty());
  EXPECT_TRUE(lp::parse_cpu_list("x").empty());
  EXPECT_EQ(lp::parse_cache_size("48K"), 48 << 10);
  EXPECT_EQ(lp::parse_cache_size("491520K"), int64_t(480) << 20);
  EXPECT_EQ(lp::parse_cache_size("2M"), 2 << 20);
  EXPECT_EQ(lp::parse_cache_size("12Q"), 0);
  EXPECT_EQ(lp::parse_cache_size(""), 0);
}

TEST(CpuTopology, CountsHyperthreadSiblingsAsOneCore) {
  const fs::path root = fs::temp_directory_path() / ("lp_topo_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto cpu = root / "sys/devices/system/cpu";
  write(cpu / "online", "0-5\n");
  // 2 packages x 2 cores x (core 0: 2 threads, core 1: 1 thread) = 6 logical, 4 physical.
  const int pkg[] = {0, 0, 0, 1, 1, 1};
  const int core[] = {0, 0, 1, 0, 0, 1};
  for (int c = 0; c < 6; ++c) {
    write(cpu / ("cpu" + std::to_string(c)) / "topology/core_id", std::to_string(core[c]) + "\n");
    write(cpu / ("cpu" + std::to_string(c)) / "topology/physical_package_id", std::to_string(pkg[c]) + "\n");
  }
  const auto cache = cpu / "cpu0/cache";
  write(cache / "index0/level", "1\n");
  write(cache / "index0/type", "Data\n");
  write(cache / "index0/size", "48K\n");
  write(cache / "index0/shared_cpu_list", "0-1\n");
  write(cache / "index1/level", "1\n");
  write(cache / "index1/type", "Instruction\n");
  write(cache / "index1/size", "32K\n");
  write(cache / "index2/level", "2\n");
  write(cache / "index2/type", "Unified\n");
  write(cache / "index2/size", "2048K\n");
  write(cache / "index3/level", "3\n");
  write(cache / "index3/type", "Unified\n");
  write(cache / "index3/size", "32M\n");
  write(cache / "index3/shared_cpu_list", "0-2\n");
  write(root / "proc/cpuinfo", "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu\n");
  write(root / "proc/meminfo", "MemTotal:       1024 kB\nMemFree: 1 kB\n");

  const lp::CpuInfo info = lp::read_cpu_info(root / "sys", root / "proc", false);
  EXPECT_EQ(info.model_name, "Test CPU 9000");
  EXPECT_EQ(info.logical_cores, 6);
  EXPECT_EQ(info.physical_cores, 4);
  EXPECT_EQ(info.usable_cores, 4);
  EXPECT_EQ(info.packages, 2);
  ASSERT_EQ(info.caches.size(), 4u);
  EXPECT_EQ(info.l1d_bytes, 48 << 10);
  EXPECT_EQ(info.l2_bytes, 2 << 20);
  EXPECT_EQ(info.l3_bytes, 32 << 20);
  EXPECT_EQ(info.caches[3].shared_by_logical, 3);
  EXPECT_EQ(info.memory_total_bytes, 1024 * 1024);
  fs::remove_all(root);
}

TEST(CpuTopology, MissingFilesFallBack) {
  const lp::CpuInfo info = lp::read_cpu_info("/nonexistent/sys", "/nonexistent/proc", false);
  EXPECT_EQ(info.model_name, "unknown");
  EXPECT_GE(info.logical_cores, 1);
  EXPECT_EQ(info.physical_cores, info.logical_cores);
  EXPECT_TRUE(info.caches.empty());
}

TEST(CpuTopology, RealMachineIsConsistent) {
  const lp::CpuInfo& info = lp::cpu_info();
  EXPECT_GE(info.logical_cores, info.physical_cores);
  EXPECT_GE(info.physical_cores, info.usable_cores);
  EXPECT_GE(info.usable_cores, 1);
  EXPECT_GT(info.memory_total_bytes, 0);
}

}  // namespace
