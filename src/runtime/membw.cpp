// Memory read-bandwidth probe and its cache file.
#include "runtime/membw.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llamaprof/error.h"
#include "runtime/cpu_features.h"
#include "runtime/cpu_topology.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lp {

namespace {

// Sums the 64-bit words of [p, p + n): a reduction the compiler vectorizes with SSE2 paddq
// (integer addition is associative, so no -ffast-math is needed); the sum is returned so the
// loads cannot be optimized away. n is a multiple of 8.
__attribute__((noinline)) uint64_t read_words_sse2(const uint64_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

#if defined(__x86_64__)
// The same with 32-byte loads, four independent accumulators. Only called when cpuid says AVX2.
__attribute__((noinline, target("avx2"))) uint64_t read_words_avx2(const uint64_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < n; ++i) sum += p[i];
  return sum;
}
#endif

// The read sums end up here, a global the compiler must assume is observed, so no load is dropped.
std::atomic<uint64_t> g_read_sink{0};

bool cpu_has_avx2() {
#if defined(__x86_64__)
  return cpu_features().usable_avx2();
#else
  return false;
#endif
}

// An anonymous mapping, asked for transparent huge pages (fewer TLB misses in the read loop and
// faster first touch). Unmapped on destruction.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      throw Error(ErrorKind::Runtime, "membw: cannot map a " + std::to_string(bytes >> 20) + " MiB buffer");
    }
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    data_ = static_cast<uint64_t*>(p);
  }
  ~Buffer() { munmap(data_, bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint64_t* data() const { return data_; }

 private:
  size_t bytes_;
  uint64_t* data_ = nullptr;
};

std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

nlohmann::json read_cache(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return nlohmann::json::object();
  // A corrupt cache is not an error: it is re-measured and rewritten.
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_array()) {
    return nlohmann::json::object();
  }
  return j;
}

}  // namespace

size_t default_membw_buffer_bytes() {
  const CpuInfo& info = cpu_info();
  const size_t llc = size_t(std::max({info.l3_bytes, info.l2_bytes, int64_t(0)}));
  size_t bytes = std::max(4 * llc, size_t(1) << 30);
  if (info.memory_total_bytes > 0) bytes = std::min(bytes, size_t(info.memory_total_bytes) / 4);
  bytes = std::max(bytes, size_t(64) << 20);
  return bytes & ~((size_t(2) << 20) - 1);  // whole 2 MiB pages
}

MembwResult measure_read_bandwidth(const MembwOptions& options) {
  MembwResult result;
  result.cpu_model = cpu_info().model_name;
  result.buffer_bytes = options.buffer_bytes ? options.buffer_bytes : default_membw_buffer_bytes();
  result.buffer_bytes &= ~size_t(4095);
  result.repeats = std::max(1, options.repeats);
  result.measured_at = utc_now_iso8601();
  std::vector<int> counts = options.thread_counts;
  if (counts.empty()) {
    for (int n = 1; n <= default_thread_count(); ++n) counts.push_back(n);
  }
  for (int n : counts) {
    if (n < 1 || n > 1024) throw Error(ErrorKind::InvalidArgument, "membw: bad thread count " + std::to_string(n));
  }
  if (result.buffer_bytes < (size_t(1) << 20)) {
    throw Error(ErrorKind::InvalidArgument, "membw: buffer of " + std::to_string(result.buffer_bytes) +
                                                " bytes is too small (at least 1 MiB)");
  }
  bool avx2 = false;
  if (options.kernel == ReadKernel::Avx2) {
    if (!cpu_has_avx2()) throw Error(ErrorKind::Unsupported, "membw: this CPU cannot run the AVX2 read loop");
    avx2 = true;
  } else if (options.kernel == ReadKernel::Auto) {
    avx2 = cpu_has_avx2();
  }
  result.kernel = avx2 ? "avx2" : "sse2";

  Buffer buffer(result.buffer_bytes);
  const size_t n_words = result.buffer_bytes / 8;
  const int max_threads = *std::max_element(counts.begin(), counts.end());
  {
    // First touch from every thread, each its own slice (pages land on the reading thread's node).
    ThreadPool pool(max_threads);
    pool.run([&](int ith, int nth) {
      const size_t a = n_words * ith / nth, b = n_words * (ith + 1) / nth;
      for (size_t i = a; i < b; ++i) buffer.data()[i] = i;
    });
  }

  for (int n : counts) {
    ThreadPool pool(n);
    // Slices start on 64-byte boundaries (multiples of 8 words) for the aligned AVX2 loads.
    const auto pass = [&] {
      pool.run([&](int ith, int nth) {
        const size_t a = (n_words * ith / nth) & ~size_t(7), b = (n_words * (ith + 1) / nth) & ~size_t(7);
        const uint64_t* p = buffer.data() + a;
#if defined(__x86_64__)
        const uint64_t s = avx2 ? read_words_avx2(p, b - a) : read_words_sse2(p, b - a);
#else
        const uint64_t s = read_words_sse2(p, b - a);
#endif
        g_read_sink.fetch_add(s, std::memory_order_relaxed);
      });
    };
    pass();  // warm-up: wakes the workers, settles the clock frequency
    std::vector<double> gbps;
    for (int r = 0; r < result.repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      pass();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      gbps.push_back(double(result.buffer_bytes) / s * 1e-9);
    }
    result.points.push_back({n, *std::max_element(gbps.begin(), gbps.end()), median(gbps)});
  }
  return result;
}

std::filesystem::path membw_cache_path() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "llamaprof" / "membw.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "llamaprof" / "membw.json";
}

std::optional<MembwPoint> cached_read_bandwidth(int threads, const std::filesystem::path& cache) {
  if (auto r = load_cached_membw({threads}, cache)) return r->points.front();
  return std::nullopt;
}

std::optional<MembwResult> load_cached_membw(std::vector<int> thread_counts, const std::filesystem::path& cache) {
  if (thread_counts.empty()) {
    for (int n = 1; n <= default_thread_count(); ++n) thread_counts.push_back(n);
  }
  const nlohmann::json j = read_cache(cache);
  if (!j.contains("entries")) return std::nullopt;
  MembwResult result;
  result.cpu_model = cpu_info().model_name;
  result.from_cache = true;
  for (int n : thread_counts) {
    const nlohmann::json* found = nullptr;
    for (const auto& e : j["entries"]) {
      if (e.value("cpu", "") == result.cpu_model && e.value("threads", 0) == n && e.value("gbps_best", 0.0) > 0) {
        found = &e;
      }
    }
    if (!found) return std::nullopt;
    result.points.push_back({n, found->value("gbps_best", 0.0), found->value("gbps_median", 0.0)});
    result.buffer_bytes = found->value("buffer_bytes", size_t(0));
    result.repeats = found->value("repeats", 0);
    result.kernel = found->value("kernel", "");
    result.measured_at = found->value("measured_at", "");
  }
  return result;
}

void store_read_bandwidth(const MembwResult& result, const std::filesystem::path& cache) {
  nlohmann::json j = read_cache(cache);
  if (!j.contains("entries")) j = {{"version", 1}, {"entries", nlohmann::json::array()}};
  auto& entries = j["entries"];
  for (const MembwPoint& p : result.points) {
    // Key: CPU model + thread count. The figure is a roofline, an upper bound: a measurement taken
    // while other processes ran reads low and must not replace a higher one (a cache written under
    // load once made every later profile report over 100% of the "limit"). Delete the file to
    // start over on changed hardware.
    bool keep_old = false;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->value("cpu", "") == result.cpu_model && it->value("threads", 0) == p.threads) {
        if (it->value("gbps_best", 0.0) >= p.gbps_best) {
          keep_old = true;
          ++it;
          continue;
        }
        it = entries.erase(it);
      } else {
        ++it;
      }
    }
    if (keep_old) continue;
    entries.push_back({{"cpu", result.cpu_model},
                       {"threads", p.threads},
                       {"gbps_best", p.gbps_best},
                       {"gbps_median", p.gbps_median},
                       {"buffer_bytes", result.buffer_bytes},
                       {"repeats", result.repeats},
                       {"kernel", result.kernel},
                       {"measured_at", result.measured_at}});
  }
  std::error_code ec;
  std::filesystem::create_directories(cache.parent_path(), ec);
  // Write a temporary file and rename it, so a concurrent reader never sees half a file.
  const auto tmp = cache.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    out << j.dump(2) << '\n';
    if (!out) throw Error(ErrorKind::Runtime, "membw: cannot write the cache file " + tmp);
  }
  std::filesystem::rename(tmp, cache, ec);
  if (ec) throw Error(ErrorKind::Runtime, "membw: cannot write the cache file " + cache.string() + ": " + ec.message());
}

double read_bandwidth_gbps(int threads) {
  if (auto cached = cached_read_bandwidth(threads)) return cached->gbps_best;
  MembwOptions options;
  options.thread_counts = {threads};
  const MembwResult result = measure_read_bandwidth(options);
  try {
    store_read_bandwidth(result);
  } catch (const Error&) {
    // An unwritable cache only costs a re-measurement next time.
  }
  return result.points.front().gbps_best;
}

}  // namespace lp
