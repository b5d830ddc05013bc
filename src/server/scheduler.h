// Continuous batching. N slots, each with its own KV cache; one scheduler thread owns the engine.
// Every step it (1) admits waiting requests into free slots, choosing the slot whose cached tokens
// share the longest prefix with the prompt (only the rest is evaluated), (2) evaluates, in ONE
// forward pass, the next token of every generating slot plus chunks of pending prompts up to the
// batch size (so running streams keep going while a new prompt is read), and (3) samples each
// slot that got logits and publishes the token to its Job, which the HTTP thread streams.
// A cancelled job (client gone, shutdown) frees its slot at the next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "server/batch_engine.h"
#include "server/metrics.h"
#include "server/request.h"

namespace lp::server {

using Clock = std::chrono::steady_clock;

struct TokenOut {
  TokenId id = 0;
  std::string piece;        // text this token completed (held back while it may start a stop string)
  std::string text;         // the token's own piece (filled when logprobs are asked for)
  float logprob = 0;        // log-softmax of the raw logits
  std::vector<TokenCandidate> top;  // the request's top_logprobs alternatives
};

// One request's life: the HTTP thread submits it and reads the outputs; the scheduler appends.
class Job {
 public:
  // Throws lp::Error(InvalidArgument) for sampling parameters the sampler refuses.
  explicit Job(GenRequest r) : req(std::move(r)), arrived(Clock::now()), sampler(req.sampling) {}
  const GenRequest req;
  const Clock::time_point arrived;
  Sampler sampler;  // used by the scheduler thread only
  std::atomic<bool> cancel{false};  // set by the HTTP side: the client is gone

  struct Snapshot {
    std::vector<TokenOut> tokens;  // new since the caller's cursor
    bool done = false;
    std::string finish_reason;     // "stop" | "length" | "cancelled" | "error" (when done)
    std::string tail;              // text held back until the end (when done)
    int prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  };
  // Waits until there are outputs past *cursor, the job is done, or the timeout passes; advances
  // the cursor over what it returns.
  Snapshot wait(size_t* cursor, std::chrono::milliseconds timeout);

  // Scheduler side.
  void push(TokenOut t);
  void finish(std::string reason, std::string tail, int prompt_tokens, int cached_tokens);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TokenOut> out_;
  bool done_ = false;
  std::string finish_reason_, tail_;
  int prompt_tokens_ = 0, cached_tokens_ = 0;
};

struct SchedulerConfig {
  int n_slots = 1;
  int n_ctx = 2048;       // per slot
  int n_batch = 512;      // rows per forward pass (decode rows + prompt chunks)
  int n_threads = 0;
  int max_queue = 16;     // waiting requests beyond the slots; more get a 503
};

struct SchedulerState {
  int queued = 0, busy = 0, slots = 0;
  int64_t kv_tokens = 0;
};

class Scheduler {
 public:
  Scheduler(const Model& model, const SchedulerConfig& config, Metrics& metrics);
  ~Scheduler();  // shutdown(0) if still running

  // Queues the request. Throws ApiError 503 when the queue is full or the server is stopping.
  std::shared_ptr<Job> submit(GenRequest request);

  // Stops accepting, ends queued jobs ("cancelled"), lets running ones finish for up to `grace`,
  // then cancels them; returns when the scheduler thread has exited. Every job gets finish().
  void shutdown(std::chrono::milliseconds grace);
  bool stopping() const { return stopping_.load(); }

  SchedulerState state() const;
  const BatchEngine& engine() const { return engine_; }

 private:
  struct Slot;
  void loop();
  bool admit();
  void step();
  void sample_slot(Slot& s, std::span<const float> logits);
  void end_slot(Slot& s, const std::string& reason);
  void publish_state();

  const Model& model_;
  SchedulerConfig config_;
  Metrics& metrics_;
  BatchEngine engine_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t use_clock_ = 0;  // for least-recently-used ties

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<bool> stopping_{false};
  bool exit_ = false;                        // guarded by mu_
  std::optional<Clock::time_point> deadline_;  // guarded by mu_: cancel running jobs after it
  int busy_ = 0;                              // guarded by mu_ (for state())
  int64_t kv_tokens_ = 0;                     // guarded by mu_

  // Reused every step (no allocation per token).
  std::vector<TokenId> tokens_;
  std::vector<BatchEngine::Row> runs_;
  std::vector<Slot*> run_slots_;
  std::vector<Slot*> pending_;  // slots still reading their prompt
  std::thread thread_;
};

}  // namespace lp::server
