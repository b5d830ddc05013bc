// CPU topology from sysfs (/sys/devices/system/cpu) and procfs (/proc/cpuinfo, /proc/meminfo).
#include "runtime/cpu_topology.h"

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "runtime/thread_pool.h"

namespace lp {

namespace {

// The file's first line, trimmed; empty if it cannot be read.
std::string read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

int read_int(const std::filesystem::path& path, int fallback) {
  const std::string s = read_line(path);
  if (s.empty()) return fallback;
  try {
    return std::stoi(s);
  } catch (...) {
    return fallback;
  }
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// The value of the first "key : value" line of a /proc file whose key is `key`.
std::string proc_value(const std::filesystem::path& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return {};
}

}  // namespace

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    part = trim(part);
    if (part.empty()) return {};
    try {
      size_t used = 0;
      const auto dash = part.find('-');
      if (dash == std::string::npos) {
        cpus.push_back(std::stoi(part, &used));
        if (used != part.size()) return {};
      } else {
        const int lo = std::stoi(part.substr(0, dash));
        const int hi = std::stoi(part.substr(dash + 1));
        if (lo > hi || lo < 0) return {};
        for (int c = lo; c <= hi; ++c) cpus.push_back(c);
      }
    } catch (...) {
      return {};
    }
  }
  return cpus;
}

int64_t parse_cache_size(const std::string& text) {
  const std::string s = trim(text);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return 0;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(s, &used);
  } catch (...) {
    return 0;
  }
  const std::string unit = s.substr(used);
  if (unit.empty()) return value;
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  if (unit == "G") return value << 30;
  return 0;
}

CpuInfo read_cpu_info(const std::filesystem::path& sys_root, const std::filesystem::path& proc_root,
                      bool affinity) {
  CpuInfo info;
  const auto cpu_dir = sys_root / "devices/system/cpu";

  info.model_name = proc_value(proc_root / "cpuinfo", "model name");
  if (info.model_name.empty()) info.model_name = "unknown";

  std::vector<int> online = parse_cpu_list(read_line(cpu_dir / "online"));
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  if (online.empty()) {
    for (int c = 0; c < hw; ++c) online.push_back(c);
  }
  info.logical_cores = int(online.size());

  std::set<int> allowed;
  if (affinity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int c : online)
        if (c < CPU_SETSIZE && CPU_ISSET(c, &set)) allowed.insert(c);
    }
  }

  // A physical core is a (package, core) pair: hyperthread siblings share both ids.
  std::set<std::pair<int, int>> cores, usable;
  std::set<int> packages;
  bool topology_ok = true;
  for (int c : online) {
    const auto topo = cpu_dir / ("cpu" + std::to_string(c)) / "topology";
    const int core = read_int(topo / "core_id", -1);
    const int pkg = read_int(topo / "physical_package_id", -1);
    if (core < 0 || pkg < 0) {
      topology_ok = false;
      break;
    }
    cores.insert({pkg, core});
    packages.insert(pkg);
    if (!affinity || allowed.count(c)) usable.insert({pkg, core});
  }
  if (topology_ok && !cores.empty()) {
    info.physical_cores = int(cores.size());
    info.packages = int(packages.size());
    info.usable_cores = usable.empty() ? info.physical_cores : int(usable.size());
  } else {
    info.physical_cores = info.logical_cores;
    info.packages = 1;
    info.usable_cores = affinity && !allowed.empty() ? int(allowed.size()) : info.logical_cores;
  }

  for (int index = 0;; ++index) {
    const auto dir = cpu_dir / "cpu0/cache" / ("index" + std::to_string(index));
    if (!std::filesystem::exists(dir)) break;
    CacheLevel cache;
    cache.level = read_int(dir / "level", 0);
    cache.type = read_line(dir / "type");
    cache.size_bytes = parse_cache_size(read_line(dir / "size"));
    cache.shared_by_logical = int(parse_cpu_list(read_line(dir / "shared_cpu_list")).size());
    if (cache.level == 1 && cache.type == "Data") info.l1d_bytes = cache.size_bytes;
    if (cache.level == 2 && cache.type != "Instruction") info.l2_bytes = cache.size_bytes;
    if (cache.level == 3 && cache.type != "Instruction") info.l3_bytes = cache.size_bytes;
    info.caches.push_back(cache);
  }

  // "MemTotal:       24576000 kB"
  const std::string mem = proc_value(proc_root / "meminfo", "MemTotal");
  if (!mem.empty()) {
    try {
      info.memory_total_bytes = std::stoll(mem) * 1024;
    } catch (...) {
    }
  }
  return info;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = read_cpu_info("/sys", "/proc", true);
  return info;
}

int default_thread_count() { return std::max(1, cpu_info().usable_cores); }

}  // namespace lp
