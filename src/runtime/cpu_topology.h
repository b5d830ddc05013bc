// What the machine is: CPU model, logical and physical cores, caches, memory. Read from Linux
// sysfs and procfs (no cpuid here: instruction-set features are runtime/cpu_features.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lp {

struct CacheLevel {
  int level = 0;             // 1, 2, 3
  std::string type;          // "Data", "Instruction", "Unified"
  int64_t size_bytes = 0;    // one instance (as cpu0 sees it)
  int shared_by_logical = 0; // logical CPUs sharing one instance (0: unknown)
};

struct CpuInfo {
  std::string model_name;     // /proc/cpuinfo "model name" ("unknown" if absent)
  int logical_cores = 0;      // online CPUs
  int physical_cores = 0;     // distinct (physical_package_id, core_id) among online CPUs
  int packages = 0;           // distinct physical_package_id
  int usable_cores = 0;       // physical cores this process may run on (sched_getaffinity)
  std::vector<CacheLevel> caches;  // cpu0's caches, in sysfs index order
  int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // per instance; 0 if absent
  int64_t memory_total_bytes = 0;  // /proc/meminfo MemTotal
};

// The running machine's info (read once, then cached).
const CpuInfo& cpu_info();

// Reads the info from sys_root (normally "/sys") and proc_root ("/proc"); a missing file leaves
// its field at the default, and the core counts fall back to std::thread::hardware_concurrency().
// affinity: restrict usable_cores to the CPUs this process may run on.
CpuInfo read_cpu_info(const std::filesystem::path& sys_root, const std::filesystem::path& proc_root,
                      bool affinity);

// Parses a sysfs CPU list such as "0-3,8,10-11" into CPU numbers; empty on malformed input.
std::vector<int> parse_cpu_list(const std::string& text);

// Parses a sysfs cache size such as "48K", "2048K", "480M" into bytes; 0 on malformed input.
int64_t parse_cache_size(const std::string& text);

}  // namespace lp
