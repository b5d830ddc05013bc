// Context: the KV cache, the forward buffers and the thread pool of one inference stream.
#include "llamaprof/context.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "llamaprof/error.h"
#include "model/forward.h"
#include "runtime/thread_pool.h"

namespace lp {

namespace {

// Deliberate mistakes for the parity tests, which show with them that each architectural detail
// is needed: LLAMAPROF_DEBUG_ROPE=flip rotates with the other layout than the architecture's
// (Normal <-> NeoX; "neox", the older spelling for llama files, means the same);
// LLAMAPROF_DEBUG_DROP=rope_freqs,qk_norm,qkv_bias,softcap,post_norm,swa,expert_norm skips those steps.
ForwardDebug debug_from_env() {
  ForwardDebug d;
  if (const char* v = std::getenv("LLAMAPROF_DEBUG_ROPE"); v && (std::string(v) == "flip" || std::string(v) == "neox"))
    d.flip_rope_layout = true;
  if (const char* v = std::getenv("LLAMAPROF_DEBUG_DROP")) {
    const std::string list = std::string(",") + v + ",";
    d.drop_rope_freqs = list.find(",rope_freqs,") != std::string::npos;
    d.drop_qk_norm = list.find(",qk_norm,") != std::string::npos;
    d.drop_qkv_bias = list.find(",qkv_bias,") != std::string::npos;
    d.drop_softcap = list.find(",softcap,") != std::string::npos;
    d.drop_post_norm = list.find(",post_norm,") != std::string::npos;
    d.drop_swa = list.find(",swa,") != std::string::npos;
    d.moe.skip_renorm = list.find(",expert_norm,") != std::string::npos;
  }
  return d;
}

}  // namespace

struct Context::Impl {
  const Model* model;
  ContextParams params;
  ThreadPool pool;
  KvCache cache;
  ForwardBuffers buffers;
  ForwardOptions options;
  std::vector<float> logits;  // [last eval's positions or 1][n_vocab]
  int n_logits_rows = 0;      // rows of `logits` holding results of the last eval()
  std::vector<float> hidden;  // [last eval's positions][n_embd] when params.embeddings
  int n_outputs = 0;          // positions of the last eval()
  int outputs_base = 0;       // n_past before the last eval()
  OpProfile profile;
  EvalStats stats;

  Impl(const Model& m, const ContextParams& p)
      : model(&m), params(p), pool(p.n_threads),
        cache(m.hparams().n_layer, p.n_ctx, m.hparams().n_embd_kv(), p.type_k, p.type_v),
        buffers(m, p.n_batch, p.n_ctx, pool.size()) {
    options.debug = debug_from_env();
    if (const char* a = std::getenv("LLAMAPROF_ATTENTION"); a && std::string(a) == "f16acc")
      options.attention_precision = AttentionPrecision::F16Accumulate;
    logits.resize(size_t(m.hparams().n_vocab));
  }
};

static ContextParams resolve(const Model& model, ContextParams p) {
  if (model.vocab_only()) {
    throw Error(ErrorKind::InvalidArgument,
                model.path() + " was loaded with vocab_only (no weights): it cannot evaluate tokens");
  }
  if (p.n_ctx < 0 || p.n_batch < 0) {
    throw Error(ErrorKind::InvalidArgument, "n_ctx and n_batch must not be negative (n_ctx " +
                                                std::to_string(p.n_ctx) + ", n_batch " + std::to_string(p.n_batch) + ")");
  }
  if (p.n_ctx == 0) p.n_ctx = std::min(model.hparams().n_ctx_train, 4096);
  if (p.n_batch == 0) p.n_batch = 512;
  p.n_batch = std::min(p.n_batch, p.n_ctx);
  if (p.n_threads <= 0) p.n_threads = default_thread_count();
  for (auto [name, t] : {std::pair{"type_k", p.type_k}, std::pair{"type_v", p.type_v}}) {
    if (t == KvType::Q8_0 && model.hparams().head_dim % 32 != 0) {
      throw Error(ErrorKind::Unsupported, std::string(name) + " Q8_0 needs head_dim a multiple of 32 (" +
                                              model.path() + ": head_dim " + std::to_string(model.hparams().head_dim) + ")");
    }
  }
  if ((p.type_k != KvType::F16 || p.type_v != KvType::F16) && std::getenv("LLAMAPROF_ATTENTION") &&
      std::string(std::getenv("LLAMAPROF_ATTENTION")) == "f16acc") {
    throw Error(ErrorKind::Unsupported, "LLAMAPROF_ATTENTION=f16acc needs F16 KV caches (type_k/type_v)");
  }
  return p;
}

Context::Context(const Model& model, const ContextParams& params)
    : impl_(std::make_unique<Impl>(model, resolve(model, params))) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

std::span<const float> Context::eval(std::span<const TokenId> tokens) { return eval(tokens, false); }

std::span<const float> Context::eval(std::span<const TokenId> tokens, bool all_logits) {
  Impl& s = *impl_;
  const bool all = s.params.logits_all || all_logits;
  const int n_vocab = s.model->hparams().n_vocab;
  const int n_past = s.cache.n_past();
  if (tokens.empty()) return logits();
  if (int64_t(n_past) + int64_t(tokens.size()) > s.params.n_ctx) {
    throw Error(ErrorKind::InvalidArgument,
                "context overflow: " + std::to_string(n_past) + " tokens in the cache + " +
                    std::to_string(tokens.size()) + " new tokens exceed the context length " +
                    std::to_string(s.params.n_ctx));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab) {
      throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(tokens[i]) + " at index " +
                                                  std::to_string(i) + " is outside the vocabulary (0.." +
                                                  std::to_string(n_vocab - 1) + ")");
    }
  }
  const int n = int(tokens.size());
  const size_t need = size_t(all ? n : 1) * size_t(n_vocab);
  if (s.logits.size() < need) s.logits.resize(need);  // grows only for logits_all over longer evals
  const size_t n_embd = size_t(s.model->hparams().n_embd);
  if (s.params.embeddings && s.hidden.size() < size_t(n) * n_embd) s.hidden.resize(size_t(n) * n_embd);

  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i += s.params.n_batch) {
    const int nb = std::min(s.params.n_batch, n - i);
    const bool last = i + nb == n;
    // Earlier chunks skip the output projection unless every position's logits are wanted.
    float* out = all ? s.logits.data() + size_t(i) * size_t(n_vocab) : last ? s.logits.data() : nullptr;
    float* hidden = s.params.embeddings ? s.hidden.data() + size_t(i) * n_embd : nullptr;
    forward(*s.model, tokens.data() + i, nb, s.cache, s.buffers, s.pool, all, out, s.options, s.profile, hidden);
    ++s.stats.n_evals;
  }
  s.stats.n_tokens += n;
  s.stats.eval_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  s.n_logits_rows = all ? n : 1;
  s.n_outputs = n;
  s.outputs_base = n_past;
  return logits();
}

std::span<const float> Context::logits() const {
  const size_t n_vocab = size_t(impl_->model->hparams().n_vocab);
  const size_t row = impl_->n_logits_rows > 0 ? size_t(impl_->n_logits_rows - 1) : 0;
  return {impl_->logits.data() + row * n_vocab, n_vocab};
}

std::span<const float> Context::logits_at(int i) const {
  if (!impl_->params.logits_all && impl_->n_logits_rows < impl_->n_outputs) {
    throw Error(ErrorKind::InvalidArgument,
                "logits_at() needs a context created with logits_all (or eval() with all_logits)");
  }
  if (i < 0 || i >= impl_->n_logits_rows) {
    throw Error(ErrorKind::InvalidArgument, "logits_at(" + std::to_string(i) + "): the last eval had " +
                                                std::to_string(impl_->n_logits_rows) + " positions");
  }
  const size_t n_vocab = size_t(impl_->model->hparams().n_vocab);
  return {impl_->logits.data() + size_t(i) * n_vocab, n_vocab};
}

std::span<const float> Context::embeddings_at(int i) const {
  if (!impl_->params.embeddings) {
    throw Error(ErrorKind::InvalidArgument, "embeddings_at() needs a context created with embeddings");
  }
  if (i < 0 || i >= impl_->n_outputs) {
    throw Error(ErrorKind::InvalidArgument, "embeddings_at(" + std::to_string(i) + "): the last eval had " +
                                                std::to_string(impl_->n_outputs) + " positions");
  }
  const size_t n_embd = size_t(impl_->model->hparams().n_embd);
  return {impl_->hidden.data() + size_t(i) * n_embd, n_embd};
}

int Context::n_outputs() const { return impl_->n_outputs; }
size_t Context::kv_cache_bytes() const { return impl_->cache.bytes(); }

int Context::n_past() const { return impl_->cache.n_past(); }
int Context::n_ctx() const { return impl_->params.n_ctx; }
int Context::n_batch() const { return impl_->params.n_batch; }
int Context::n_threads() const { return impl_->pool.size(); }

void Context::kv_clear() {
  impl_->cache.set_n_past(0);
  impl_->n_logits_rows = 0;
  impl_->n_outputs = 0;
}

void Context::kv_truncate(int n) {
  if (n < 0 || n > impl_->cache.n_past()) {
    throw Error(ErrorKind::InvalidArgument, "kv_truncate(" + std::to_string(n) + "): the cache holds " +
                                                std::to_string(impl_->cache.n_past()) + " tokens");
  }
  // A linear cache: positions >= n are simply overwritten by the next eval().
  impl_->cache.set_n_past(n);
  // Cut inside the last eval whose every row was kept (speculative decoding's rollback): the rows
  // of the kept positions stay, so logits() follows the last token in the cache.
  Impl& s = *impl_;
  if (s.n_logits_rows > 1 && n > s.outputs_base && n < s.outputs_base + s.n_outputs) {
    s.n_outputs = n - s.outputs_base;
    s.n_logits_rows = s.n_outputs;
  }
}

namespace {

// State layout (native byte order, the machine that saved it loads it): a header of u32 fields,
// then per layer the K rows and the V rows of positions [0, n_past) as F16, then the last logits.
constexpr char kStateMagic[4] = {'L', 'P', 'S', 'T'};
constexpr uint32_t kStateVersion = 2;
struct StateHeader {
  char magic[4];
  uint32_t version, n_layer, row_width, n_vocab, n_past, has_logits, type_k, type_v;
};

}  // namespace

std::string Context::save_state() const {
  const Impl& s = *impl_;
  const HParams& hp = s.model->hparams();
  const uint32_t n_past = uint32_t(s.cache.n_past());
  const size_t k_bytes = s.cache.k_row_bytes(int(n_past)), v_bytes = s.cache.v_row_bytes(int(n_past));
  StateHeader h{{},
                kStateVersion,
                uint32_t(hp.n_layer),
                uint32_t(s.cache.row_width()),
                uint32_t(hp.n_vocab),
                n_past,
                s.n_logits_rows > 0 ? 1u : 0u,
                uint32_t(s.cache.type_k()),
                uint32_t(s.cache.type_v())};
  std::copy(std::begin(kStateMagic), std::end(kStateMagic), h.magic);
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out.reserve(sizeof h + size_t(hp.n_layer) * (k_bytes + v_bytes) + (h.has_logits ? hp.n_vocab * 4 : 0));
  for (int l = 0; l < hp.n_layer; ++l) {
    out.append(static_cast<const char*>(s.cache.k(l)), k_bytes);
    out.append(static_cast<const char*>(s.cache.v(l)), v_bytes);
  }
  if (h.has_logits) {
    std::span<const float> lg = logits();
    out.append(reinterpret_cast<const char*>(lg.data()), lg.size() * sizeof(float));
  }
  return out;
}

void Context::load_state(std::string_view state) {
  Impl& s = *impl_;
  const HParams& hp = s.model->hparams();
  auto bad = [](const std::string& what) { throw Error(ErrorKind::InvalidArgument, "load_state: " + what); };
  StateHeader h{};
  if (state.size() < sizeof h) bad("the state is " + std::to_string(state.size()) + " bytes, shorter than its header");
  std::memcpy(&h, state.data(), sizeof h);
  if (!std::equal(std::begin(kStateMagic), std::end(kStateMagic), h.magic) || h.version != kStateVersion) {
    bad("not a llamaprof context state (or another version)");
  }
  if (h.n_layer != uint32_t(hp.n_layer) || h.row_width != uint32_t(s.cache.row_width()) ||
      h.n_vocab != uint32_t(hp.n_vocab)) {
    bad("the state was saved from another model (" + std::to_string(h.n_layer) + " layers, KV rows of " +
        std::to_string(h.row_width) + ", vocabulary " + std::to_string(h.n_vocab) + "; this one: " +
        std::to_string(hp.n_layer) + ", " + std::to_string(s.cache.row_width()) + ", " + std::to_string(hp.n_vocab) + ")");
  }
  if (h.type_k != uint32_t(s.cache.type_k()) || h.type_v != uint32_t(s.cache.type_v())) {
    bad("the state's KV cache types differ from this context's (" + std::string(kv_type_name(s.cache.type_k())) +
        "/" + kv_type_name(s.cache.type_v()) + ")");
  }
  if (h.n_past > uint32_t(s.params.n_ctx)) {
    bad("the state holds " + std::to_string(h.n_past) + " tokens but the context holds " +
        std::to_string(s.params.n_ctx));
  }
  const size_t k_bytes = s.cache.k_row_bytes(int(h.n_past)), v_bytes = s.cache.v_row_bytes(int(h.n_past));
  const size_t expect =
      sizeof h + size_t(h.n_layer) * (k_bytes + v_bytes) + (h.has_logits ? size_t(h.n_vocab) * sizeof(float) : 0);
  if (state.size() != expect) {
    bad("the state is " + std::to_string(state.size()) + " bytes, its header says " + std::to_string(expect));
  }
  const char* p = state.data() + sizeof h;
  for (int l = 0; l < hp.n_layer; ++l) {
    std::memcpy(s.cache.k(l), p, k_bytes);
    p += k_bytes;
    std::memcpy(s.cache.v(l), p, v_bytes);
    p += v_bytes;
  }
  s.cache.set_n_past(int(h.n_past));
  s.n_outputs = 0;
  s.n_logits_rows = h.has_logits ? 1 : 0;
  if (h.has_logits) std::memcpy(s.logits.data(), p, size_t(h.n_vocab) * sizeof(float));
}

const Model& Context::model() const { return *impl_->model; }

void Context::set_op_profiling(bool on) { impl_->profile.enabled = on; }
bool Context::op_profiling() const { return impl_->profile.enabled; }

std::vector<OpTime> Context::op_times() const {
  std::vector<OpTime> out;
  for (int i = 0; i < int(Op::Count); ++i) {
    out.push_back({op_name(Op(i)), impl_->profile.ms[size_t(i)], impl_->profile.calls[size_t(i)]});
  }
  return out;
}

EvalStats Context::stats() const { return impl_->stats; }

void Context::reset_stats() {
  impl_->stats = {};
  impl_->profile.ms.fill(0);
  impl_->profile.calls.fill(0);
  impl_->pool.reset_times();
}

ThreadPool& Context::thread_pool() { return impl_->pool; }

}  // namespace lp
