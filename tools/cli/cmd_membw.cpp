// `llamaprof membw [--threads LIST] [--size-mb N] [--repeats N] [--kernel K] [--json] [--no-cache]`:
// memory read bandwidth by thread count, the roofline limit `profile` compares a run against.
// Without --no-cache, figures already measured on this CPU are printed from the cache file, which keeps
// the highest figure measured per thread count.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "llamaprof/error.h"
#include "runtime/membw.h"

namespace lp::cli {
namespace {

struct MembwArgs {
  std::vector<int> threads;
  int size_mb = 0;
  int repeats = 7;
  std::string kernel = "auto";
  bool json = false;
  bool no_cache = false;
};

int run_membw(const MembwArgs& args) {
  const auto cache = membw_cache_path();
  std::optional<MembwResult> result;
  // A custom --size-mb is a different experiment (it may fit in the cache): never mix it with the
  // cached default-size figures.
  const bool default_setup = args.size_mb == 0 && args.kernel == "auto";
  if (!args.no_cache && default_setup) result = load_cached_membw(args.threads, cache);
  if (!result) {
    MembwOptions options;
    options.thread_counts = args.threads;
    options.buffer_bytes = size_t(args.size_mb) << 20;
    options.repeats = args.repeats;
    options.kernel = args.kernel == "sse2" ? ReadKernel::Sse2 : args.kernel == "avx2" ? ReadKernel::Avx2 : ReadKernel::Auto;
    if (!args.json) {
      std::fprintf(stderr, "measuring read bandwidth over %s MiB (%d passes per thread count)...\n",
                   options.buffer_bytes ? std::to_string(args.size_mb).c_str()
                                        : std::to_string(default_membw_buffer_bytes() >> 20).c_str(),
                   options.repeats);
    }
    result = measure_read_bandwidth(options);
    if (result->buffer_bytes >= default_membw_buffer_bytes() && args.kernel == "auto") {
      store_read_bandwidth(*result, cache);
    }
  }

  if (args.json) {
    nlohmann::ordered_json j;
    j["cpu"] = result->cpu_model;
    j["buffer_bytes"] = result->buffer_bytes;
    j["repeats"] = result->repeats;
    j["kernel"] = result->kernel;
    j["measured_at"] = result->measured_at;
    j["from_cache"] = result->from_cache;
    j["cache_file"] = cache.string();
    j["results"] = nlohmann::ordered_json::array();
    for (const auto& p : result->points) {
      j["results"].push_back({{"threads", p.threads}, {"gbps_best", p.gbps_best}, {"gbps_median", p.gbps_median}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s\n", fmt::format("CPU      {}", result->cpu_model).c_str());
  std::printf("%s\n", fmt::format("buffer   {} MiB, read with {} loads, best and median of {} passes",
                                  result->buffer_bytes >> 20, result->kernel, result->repeats)
                          .c_str());
  std::printf("%s\n", fmt::format("source   {} ({})", result->from_cache ? "cache " + cache.string() : "measured now",
                                  result->measured_at)
                          .c_str());
  std::printf("threads  best GB/s  median GB/s\n");
  for (const auto& p : result->points) {
    std::printf("%s\n", fmt::format("{:>7}  {:>9.1f}  {:>11.1f}", p.threads, p.gbps_best, p.gbps_median).c_str());
  }
  if (result->from_cache) std::printf("(--no-cache measures again)\n");
  return 0;
}

}  // namespace

void register_membw(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<MembwArgs>();
  auto* cmd = app.add_subcommand("membw", "memory read bandwidth by thread count (the roofline limit)");
  cmd->add_option("--threads", args->threads, "thread counts, e.g. 1,2 (default 1 .. physical cores)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--size-mb", args->size_mb, "buffer size in MiB (default max(4 x LLC, 1 GiB))")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--repeats", args->repeats, "timed passes per thread count")->check(CLI::Range(1, 1000));
  cmd->add_option("--kernel", args->kernel, "read loop: auto, sse2 or avx2")
      ->check(CLI::IsMember({"auto", "sse2", "avx2"}));
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_flag("--no-cache", args->no_cache, "measure again instead of printing cached figures (the cache keeps the higher of the two: a limit measured under load reads low)");
  cmd->callback([args, exit_code] { *exit_code = run_membw(*args); });
}

}  // namespace lp::cli
