#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace lp::server {
namespace {

// Prometheus wants Go-style floats: "+Inf", and plain decimal or exponent notation.
std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, double v, const std::string& labels = {}) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += num(v);
  out += '\n';
}

void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  header(out, name, "histogram", help);
  uint64_t cum = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cum += h.counts[i];
    sample(out, std::string(name) + "_bucket", double(cum), "le=\"" + num(h.bounds[i]) + "\"");
  }
  cum += h.counts.back();
  sample(out, std::string(name) + "_bucket", double(cum), "le=\"+Inf\"");
  sample(out, std::string(name) + "_sum", h.sum);
  sample(out, std::string(name) + "_count", double(h.count));
}

}  // namespace

Histogram::Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  ++counts[i];
  sum += v;
  ++count;
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void Metrics::http_response(int status) {
  std::lock_guard lock(mu_);
  ++http_[status];
}

void Metrics::request_started(const std::string& endpoint) {
  std::lock_guard lock(mu_);
  ++started_[endpoint];
}

void Metrics::request_finished(const std::string& reason, int prompt_tokens, int cached_tokens, int completion_tokens) {
  std::lock_guard lock(mu_);
  ++finished_[reason];
  prompt_tokens_ += uint64_t(prompt_tokens);
  cached_tokens_ += uint64_t(cached_tokens);
  completion_tokens_ += uint64_t(completion_tokens);
}

void Metrics::first_token(double s) {
  std::lock_guard lock(mu_);
  ttft_.observe(s);
}

void Metrics::inter_token(double s) {
  std::lock_guard lock(mu_);
  itl_.observe(s);
}

void Metrics::set_state(int queued, int busy, int total, int64_t kv_tokens, int64_t kv_capacity, uint64_t kv_bytes) {
  std::lock_guard lock(mu_);
  queued_ = queued, busy_ = busy, slots_ = total;
  kv_tokens_ = kv_tokens, kv_capacity_ = kv_capacity, kv_bytes_ = kv_bytes;
}

void Metrics::set_thread_times(const std::vector<ThreadTimes>& times) {
  std::lock_guard lock(mu_);
  threads_ = times;
}

void Metrics::decode_step(int rows, double seconds) {
  std::lock_guard lock(mu_);
  ++decode_steps_;
  decode_rows_ += uint64_t(rows);
  decode_seconds_ += seconds;
}

void Metrics::set_roofline(uint64_t bytes_per_pass, double bandwidth) {
  std::lock_guard lock(mu_);
  bytes_per_pass_ = bytes_per_pass, bandwidth_ = bandwidth;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  header(out, "llamaprof_http_responses_total", "counter", "HTTP responses by status code.");
  for (const auto& [code, n] : http_) sample(out, "llamaprof_http_responses_total", double(n), "code=\"" + std::to_string(code) + "\"");
  header(out, "llamaprof_requests_total", "counter", "Generation requests accepted, by endpoint.");
  for (const char* e : {"completions", "chat"}) {
    const auto it = started_.find(e);
    sample(out, "llamaprof_requests_total", it == started_.end() ? 0.0 : double(it->second), std::string("endpoint=\"") + e + "\"");
  }
  header(out, "llamaprof_requests_finished_total", "counter", "Generation requests finished, by finish reason.");
  for (const auto& [reason, n] : finished_) {
    sample(out, "llamaprof_requests_finished_total", double(n), "reason=\"" + reason + "\"");
  }
  header(out, "llamaprof_prompt_tokens_total", "counter", "Prompt tokens of finished requests (cached ones included).");
  sample(out, "llamaprof_prompt_tokens_total", double(prompt_tokens_));
  header(out, "llamaprof_prompt_tokens_cached_total", "counter",
         "Prompt tokens found in a slot's KV cache and not evaluated again.");
  sample(out, "llamaprof_prompt_tokens_cached_total", double(cached_tokens_));
  header(out, "llamaprof_completion_tokens_total", "counter", "Generated tokens of finished requests.");
  sample(out, "llamaprof_completion_tokens_total", double(completion_tokens_));
  histogram(out, "llamaprof_time_to_first_token_seconds", "Time from a request's arrival to its first generated token.", ttft_);
  histogram(out, "llamaprof_inter_token_latency_seconds", "Time between consecutive generated tokens of one request.", itl_);
  header(out, "llamaprof_queue_length", "gauge", "Requests waiting for a free slot.");
  sample(out, "llamaprof_queue_length", queued_);
  header(out, "llamaprof_slots_busy", "gauge", "Slots running a request.");
  sample(out, "llamaprof_slots_busy", busy_);
  header(out, "llamaprof_slots", "gauge", "Slots (--parallel).");
  sample(out, "llamaprof_slots", slots_);
  header(out, "llamaprof_kv_cache_tokens", "gauge", "Tokens held in the slots' KV caches (reusable prefixes included).");
  sample(out, "llamaprof_kv_cache_tokens", double(kv_tokens_));
  header(out, "llamaprof_kv_cache_capacity_tokens", "gauge", "Tokens all slots' KV caches can hold.");
  sample(out, "llamaprof_kv_cache_capacity_tokens", double(kv_capacity_));
  header(out, "llamaprof_kv_cache_bytes", "gauge", "Bytes of address space reserved for the KV caches.");
  sample(out, "llamaprof_kv_cache_bytes", double(kv_bytes_));
  const char* kinds[3] = {"busy", "spin", "sleep"};
  header(out, "llamaprof_thread_seconds_total", "counter",
         "Worker threads' time by state: busy in a task, spinning or sleeping while waiting.");
  for (size_t t = 0; t < threads_.size(); ++t) {
    const double v[3] = {threads_[t].busy_s, threads_[t].spin_s, threads_[t].sleep_s};
    for (int k = 0; k < 3; ++k) {
      sample(out, "llamaprof_thread_seconds_total", v[k], "thread=\"" + std::to_string(t) + "\",state=\"" + kinds[k] + "\"");
    }
  }
  header(out, "llamaprof_decode_steps_total", "counter", "Decode-only forward passes (one token of every running stream).");
  sample(out, "llamaprof_decode_steps_total", double(decode_steps_));
  header(out, "llamaprof_decode_rows_total", "counter", "Tokens evaluated by decode-only forward passes.");
  sample(out, "llamaprof_decode_rows_total", double(decode_rows_));
  header(out, "llamaprof_decode_seconds_total", "counter", "Wall time of decode-only forward passes.");
  sample(out, "llamaprof_decode_seconds_total", decode_seconds_);
  header(out, "llamaprof_decode_weight_bytes_per_step", "gauge",
         "Bytes of weights one forward pass reads (the roofline's numerator).");
  sample(out, "llamaprof_decode_weight_bytes_per_step", double(bytes_per_pass_));
  if (bandwidth_ > 0) {
    header(out, "llamaprof_memory_bandwidth_limit_bytes_per_second", "gauge",
           "Read bandwidth measured by `llamaprof membw` for this thread count.");
    sample(out, "llamaprof_memory_bandwidth_limit_bytes_per_second", bandwidth_);
    header(out, "llamaprof_decode_bandwidth_limit_ratio", "gauge",
           "Weight bytes read per second during decode over the bandwidth limit (1 = at the limit).");
    const double ratio = decode_seconds_ > 0 ? double(bytes_per_pass_) * double(decode_steps_) / decode_seconds_ / bandwidth_ : 0;
    sample(out, "llamaprof_decode_bandwidth_limit_ratio", ratio);
  }
  return out;
}

}  // namespace lp::server
