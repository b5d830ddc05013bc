// `llamaprof info --system`: the CPU, its cores and caches, the SIMD features detected, the kernel
// tier chosen, and the cached memory bandwidth (never measured here: that takes a second).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "kernels/kernel_table.h"
#include "runtime/cpu_features.h"
#include "runtime/cpu_topology.h"
#include "runtime/membw.h"
#include "runtime/thread_pool.h"

namespace lp::cli {
namespace {

std::string human_bytes(int64_t bytes) {
  if (bytes >= (int64_t(1) << 30) && bytes % (int64_t(1) << 30) != 0) return fmt::format("{:.1f} GiB", double(bytes) / (1 << 30));
  if (bytes >= (int64_t(1) << 30)) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (1 << 20)) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1 << 10)) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

std::string cache_name(const CacheLevel& c) {
  if (c.type == "Data") return fmt::format("L{}d", c.level);
  if (c.type == "Instruction") return fmt::format("L{}i", c.level);
  return fmt::format("L{}", c.level);
}

}  // namespace

void print_system_info(bool json) {
  const CpuInfo& cpu = cpu_info();
  const CpuFeatures& features = cpu_features();
  const KernelTable& chosen = kernels();  // throws if LLAMAPROF_ISA forces a tier this CPU lacks
  const char* forced = std::getenv("LLAMAPROF_ISA");
  std::string tiers;
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
    if (kernel_table(isa)) tiers += std::string(tiers.empty() ? "" : " ") + isa_name(isa);
  }
  const auto bandwidth = load_cached_membw({});

  if (json) {
    nlohmann::ordered_json j;
    j["cpu"] = {{"model", cpu.model_name},
                {"vendor", features.vendor},
                {"brand", features.brand},
                {"family", features.family},
                {"model_number", features.model},
                {"stepping", features.stepping}};
    j["cores"] = {{"logical", cpu.logical_cores},
                  {"physical", cpu.physical_cores},
                  {"packages", cpu.packages},
                  {"usable", cpu.usable_cores},
                  {"default_threads", default_thread_count()}};
    j["caches"] = nlohmann::ordered_json::array();
    for (const auto& c : cpu.caches) {
      j["caches"].push_back({{"level", c.level}, {"type", c.type}, {"size_bytes", c.size_bytes},
                             {"shared_by_logical", c.shared_by_logical}});
    }
    j["memory_total_bytes"] = cpu.memory_total_bytes;
    j["features"] = cpu_feature_names(features);
    j["kernels"] = {{"isa", isa_name(chosen.isa)},
                    {"forced_by_env", forced && *forced ? forced : ""},
                    {"supported", tiers}};
    if (bandwidth) {
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const auto& p : bandwidth->points) points.push_back({{"threads", p.threads}, {"gbps_best", p.gbps_best}});
      j["memory_bandwidth"] = {{"measured_at", bandwidth->measured_at}, {"buffer_bytes", bandwidth->buffer_bytes},
                               {"results", points}};
    } else {
      j["memory_bandwidth"] = nullptr;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }

  std::string caches;
  for (const auto& c : cpu.caches) {
    if (!caches.empty()) caches += ", ";
    caches += cache_name(c) + " " + human_bytes(c.size_bytes);
    if (c.shared_by_logical > 1) caches += fmt::format(" (shared by {})", c.shared_by_logical);
  }
  std::string bw = "not measured (run `llamaprof membw`)";
  if (bandwidth) {
    bw.clear();
    for (const auto& p : bandwidth->points) {
      bw += fmt::format("{}{} thread{} {:.1f} GB/s", bw.empty() ? "" : ", ", p.threads, p.threads == 1 ? "" : "s",
                        p.gbps_best);
    }
    bw += fmt::format(" (cached {})", bandwidth->measured_at);
  }
  const auto line = [](const char* key, const std::string& value) {
    std::printf("%s\n", fmt::format("{:<14}{}", key, value).c_str());
  };
  line("CPU", fmt::format("{} ({}, family {} model {} stepping {})", cpu.model_name, features.vendor,
                          features.family, features.model, features.stepping));
  line("Cores", fmt::format("{} physical, {} logical, {} package{}; {} usable by this process", cpu.physical_cores,
                            cpu.logical_cores, cpu.packages, cpu.packages == 1 ? "" : "s", cpu.usable_cores));
  line("Threads", fmt::format("{} by default (physical cores)", default_thread_count()));
  line("Caches", caches.empty() ? "unknown" : caches + " (per instance)");
  line("Memory", human_bytes(cpu.memory_total_bytes));
  line("Features", cpu_feature_names(features));
  line("Kernels", fmt::format("{}{} (this CPU supports: {})", isa_name(chosen.isa),
                              forced && *forced ? fmt::format(", forced by LLAMAPROF_ISA={}", forced) : "", tiers));
  line("Bandwidth", bw);
}

}  // namespace lp::cli
