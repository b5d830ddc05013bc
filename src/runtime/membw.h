// Memory read-bandwidth probe: the roofline limit the profiler compares a run against (decode reads
// every weight once per token, so tokens/s <= bandwidth / model bytes).
//
// Reads a buffer far larger than the last-level cache with 1..N threads, each thread its own
// contiguous slice, several times; reports the best and the median GB/s (1 GB = 1e9 bytes).
// Results are cached in $XDG_CACHE_HOME/llamaprof/membw.json (default ~/.cache/...), one entry
// per (CPU model, thread count).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lp {

enum class ReadKernel {
  Auto,  // Avx2 when the CPU has it, else Sse2
  Sse2,  // portable loop the compiler vectorizes with 16-byte loads (the default build's baseline)
  Avx2,  // 32-byte loads (function built with target("avx2")); to check the SSE2 figure is real
};

struct MembwOptions {
  std::vector<int> thread_counts;  // empty: 1 .. default_thread_count()
  size_t buffer_bytes = 0;         // 0: default_membw_buffer_bytes()
  int repeats = 7;                 // timed passes per thread count (after one warm-up pass)
  ReadKernel kernel = ReadKernel::Auto;
};

struct MembwPoint {
  int threads = 0;
  double gbps_best = 0;
  double gbps_median = 0;
};

struct MembwResult {
  std::string cpu_model;
  size_t buffer_bytes = 0;
  int repeats = 0;
  std::string kernel;     // "sse2" or "avx2"
  std::string measured_at;  // UTC, ISO 8601
  bool from_cache = false;
  std::vector<MembwPoint> points;
};

// max(4 x last-level cache, 1 GiB), at most a quarter of physical memory (and at least 64 MiB).
size_t default_membw_buffer_bytes();

// Measures now (allocates and touches the buffer once; takes about a second for 2 GiB).
MembwResult measure_read_bandwidth(const MembwOptions& options);

// $XDG_CACHE_HOME/llamaprof/membw.json, or $HOME/.cache/llamaprof/membw.json.
std::filesystem::path membw_cache_path();

// The cached figure for this CPU model and thread count, if any (never measures).
std::optional<MembwPoint> cached_read_bandwidth(int threads,
                                                const std::filesystem::path& cache = membw_cache_path());

// The cached entries for this CPU model and all of thread_counts (empty: 1 .. default), as a
// result with from_cache set; nullopt if any is missing.
std::optional<MembwResult> load_cached_membw(std::vector<int> thread_counts,
                                             const std::filesystem::path& cache = membw_cache_path());

// Adds the result's entries to the cache file (creating its directory), replacing an entry of the
// same CPU model and thread count only when the new best figure is higher (a limit measured under
// load reads low). Throws lp::Error(Runtime) if the file cannot be written.
void store_read_bandwidth(const MembwResult& result,
                          const std::filesystem::path& cache = membw_cache_path());

// Best-of read bandwidth for `threads` threads in GB/s: from the cache, else measured with the
// default buffer and stored. This is what the profiler's roofline figures use.
double read_bandwidth_gbps(int threads);

}  // namespace lp
