// The forward pass over several sequences at once: one KV cache per slot, one set of buffers and
// one thread pool for all. A step takes rows of any slots (a decode token of each running stream,
// prompt chunks of others): the weight mat-muls run once over all the rows, so a decode step of
// N streams reads the weights once instead of N times (model/forward.h's ForwardSegment).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "llamaprof/model.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "runtime/thread_pool.h"

namespace lp::server {

class BatchEngine {
 public:
  // n_batch: most rows per step (>= n_slots). Throws lp::Error(InvalidArgument) for bad sizes.
  BatchEngine(const Model& model, int n_slots, int n_ctx, int n_batch, int n_threads);

  int n_slots() const { return int(caches_.size()); }
  int n_ctx() const { return n_ctx_; }
  int n_batch() const { return n_batch_; }
  KvCache& cache(int slot) { return *caches_[size_t(slot)]; }
  const KvCache& cache(int slot) const { return *caches_[size_t(slot)]; }
  uint64_t kv_bytes() const;
  ThreadPool& pool() { return pool_; }
  int n_threads() const { return pool_.size(); }

  struct Row {   // a run of rows of one slot
    int slot;
    int n;
    bool logits;
  };
  // Evaluates tokens as the runs in order (each slot at most once) and returns the logits of the
  // runs that asked, one n_vocab row each in run order (valid until the next step).
  std::span<const float> step(std::span<const TokenId> tokens, std::span<const Row> runs);

 private:
  const Model& model_;
  int n_ctx_, n_batch_;
  ThreadPool pool_;
  std::vector<std::unique_ptr<KvCache>> caches_;
  ForwardBuffers buffers_;
  ForwardOptions options_;
  OpProfile profile_;
  std::vector<float> logits_;            // [n_slots][n_vocab]
  std::vector<ForwardSegment> segments_; // reused every step
};

}  // namespace lp::server
