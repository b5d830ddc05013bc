// The server's figures for /metrics, in Prometheus' text exposition format (version 0.0.4):
// counters of requests and tokens, time-to-first-token and inter-token-latency histograms, queue
// and slot gauges, KV cache use, and the profiler's own figures (worker threads' busy / spin /
// sleep seconds, and decode's share of the memory-bandwidth limit). Thread-safe: the scheduler and
// the HTTP threads update it, /metrics renders it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"

namespace lp::server {

// Cumulative histogram with fixed upper bounds (seconds).
struct Histogram {
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // per bound, not cumulative; the last entry is +Inf
  double sum = 0;
  uint64_t count = 0;
};

class Metrics {
 public:
  Metrics();

  void http_response(int status);                 // every answered HTTP request
  void request_started(const std::string& endpoint);  // "completions" | "chat"
  void request_finished(const std::string& reason, int prompt_tokens, int cached_tokens, int completion_tokens);
  void first_token(double seconds);               // time to first token, from arrival
  void inter_token(double seconds);
  // The scheduler's state after each step.
  void set_state(int queued, int busy_slots, int total_slots, int64_t kv_tokens, int64_t kv_capacity_tokens,
                 uint64_t kv_bytes);
  void set_thread_times(const std::vector<ThreadTimes>& times);
  // One decode-only forward pass of `rows` sequences that took `seconds`.
  void decode_step(int rows, double seconds);
  // Bytes of weights one forward pass reads, and the machine's read-bandwidth limit (0: unknown).
  void set_roofline(uint64_t bytes_per_pass, double bandwidth_bytes_per_s);

  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> http_;                       // by status code
  std::map<std::string, uint64_t> started_;            // by endpoint
  std::map<std::string, uint64_t> finished_;           // by finish reason
  uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, completion_tokens_ = 0;
  Histogram ttft_, itl_;
  int queued_ = 0, busy_ = 0, slots_ = 0;
  int64_t kv_tokens_ = 0, kv_capacity_ = 0;
  uint64_t kv_bytes_ = 0;
  std::vector<ThreadTimes> threads_;
  uint64_t decode_steps_ = 0, decode_rows_ = 0;
  double decode_seconds_ = 0;
  uint64_t bytes_per_pass_ = 0;
  double bandwidth_ = 0;
};

}  // namespace lp::server
