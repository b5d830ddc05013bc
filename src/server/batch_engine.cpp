#include "server/batch_engine.h"

#include <string>

#include "llamaprof/error.h"

namespace lp::server {

BatchEngine::BatchEngine(const Model& model, int n_slots, int n_ctx, int n_batch, int n_threads)
    : model_(model), n_ctx_(n_ctx), n_batch_(n_batch), pool_(n_threads),
      buffers_(model, std::max(n_batch, 1), std::max(n_ctx, 1), pool_.size()) {
  if (n_slots < 1 || n_ctx < 2 || n_batch < n_slots) {
    throw Error(ErrorKind::InvalidArgument, "server sizes: need at least 1 slot (got " + std::to_string(n_slots) +
                                                "), a context of at least 2 tokens (got " + std::to_string(n_ctx) +
                                                ") and a batch of at least one row per slot (got " +
                                                std::to_string(n_batch) + ")");
  }
  const HParams& hp = model.hparams();
  for (int i = 0; i < n_slots; ++i) caches_.push_back(std::make_unique<KvCache>(hp.n_layer, n_ctx, hp.n_embd_kv()));
  logits_.resize(size_t(n_slots) * size_t(hp.n_vocab));
  segments_.reserve(size_t(n_slots));
}

uint64_t BatchEngine::kv_bytes() const {
  uint64_t b = 0;
  for (const auto& c : caches_) b += c->bytes();
  return b;
}

std::span<const float> BatchEngine::step(std::span<const TokenId> tokens, std::span<const Row> runs) {
  segments_.clear();
  size_t n_logits = 0;
  for (const Row& r : runs) {
    segments_.push_back({caches_[size_t(r.slot)].get(), r.n, r.logits});
    n_logits += r.logits ? 1 : 0;
  }
  forward(model_, tokens.data(), segments_, buffers_, pool_, false, logits_.data(), options_, profile_);
  return {logits_.data(), n_logits * size_t(model_.hparams().n_vocab)};
}

}  // namespace lp::server
