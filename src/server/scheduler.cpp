#include "server/scheduler.h"

#include <algorithm>

#include "llamaprof/error.h"
#include "model/stop_scan.h"
#include "sampling/grammar_stage.h"
#include "server/api_error.h"
#include "tokenizer/tokenizer.h"

namespace lp::server {

// ---- Job ------------------------------------------------------------------------------------------

Job::Snapshot Job::wait(size_t* cursor, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return done_ || out_.size() > *cursor; });
  Snapshot s;
  s.tokens.assign(out_.begin() + std::ptrdiff_t(*cursor), out_.end());
  *cursor = out_.size();
  s.done = done_;
  if (done_) {
    s.finish_reason = finish_reason_;
    s.tail = tail_;
    s.prompt_tokens = prompt_tokens_;
    s.cached_tokens = cached_tokens_;
    s.completion_tokens = int(out_.size());
  }
  return s;
}

void Job::push(TokenOut t) {
  {
    std::lock_guard lock(mu_);
    out_.push_back(std::move(t));
  }
  cv_.notify_all();
}

void Job::finish(std::string reason, std::string tail, int prompt_tokens, int cached_tokens) {
  {
    std::lock_guard lock(mu_);
    done_ = true;
    finish_reason_ = std::move(reason);
    tail_ = std::move(tail);
    prompt_tokens_ = prompt_tokens;
    cached_tokens_ = cached_tokens;
  }
  cv_.notify_all();
}

// ---- Slot -----------------------------------------------------------------------------------------

struct Scheduler::Slot {
  int index = 0;
  std::vector<TokenId> cached;     // the tokens in this slot's KV cache, in order (= n_past)
  std::shared_ptr<Job> job;        // null: free
  size_t next_prompt = 0;          // prompt tokens [0, next_prompt) are in the cache
  int reused = 0;                  // of those, found there at admission
  bool generating = false;         // the prompt is done; `last` is the token to evaluate next
  TokenId last = 0;
  int n_gen = 0;
  std::vector<TokenId> history;    // prompt + generated, for the repetition penalties
  std::optional<Tokenizer::StreamDecoder> decoder;
  std::optional<StopScanner> stops;
  std::optional<GrammarStage> grammar;  // the request's grammar, if any
  Clock::time_point last_token;
  uint64_t last_used = 0;          // admission order: prompts are evaluated first come, first served
};

// ---- Scheduler ------------------------------------------------------------------------------------

Scheduler::Scheduler(const Model& model, const SchedulerConfig& config, Metrics& metrics)
    : model_(model), config_(config), metrics_(metrics),
      engine_(model, config.n_slots, config.n_ctx, std::max(config.n_batch, config.n_slots), config.n_threads) {
  for (int i = 0; i < config.n_slots; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->index = i;
  }
  tokens_.reserve(size_t(engine_.n_batch()));
  runs_.reserve(slots_.size());
  run_slots_.reserve(slots_.size());
  pending_.reserve(slots_.size());
  publish_state();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { shutdown(std::chrono::milliseconds(0)); }

std::shared_ptr<Job> Scheduler::submit(GenRequest request) {
  auto job = std::make_shared<Job>(std::move(request));
  {
    std::lock_guard lock(mu_);
    if (exit_) throw ApiError(503, "the server is shutting down", "", "shutting_down");
    const int free_slots = int(slots_.size()) - busy_;
    if (int(queue_.size()) >= config_.max_queue + std::max(free_slots, 0)) {
      throw ApiError(503, "too many requests waiting (" + std::to_string(queue_.size()) + "; the queue holds " +
                              std::to_string(config_.max_queue) + "): retry later",
                     "", "queue_full");
    }
    queue_.push_back(job);
  }
  wake_.notify_all();
  return job;
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
  std::deque<std::shared_ptr<Job>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (!exit_) {
      exit_ = true;
      deadline_ = Clock::now() + grace;
    } else if (deadline_ && Clock::now() + grace < *deadline_) {
      deadline_ = Clock::now() + grace;  // a second signal shortens the grace period
    }
    dropped.swap(queue_);
  }
  for (auto& j : dropped) {
    j->finish("cancelled", {}, int(j->req.prompt.size()), 0);
    metrics_.request_finished("cancelled", 0, 0, 0);
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

SchedulerState Scheduler::state() const {
  std::lock_guard lock(mu_);
  return {int(queue_.size()), busy_, int(slots_.size()), kv_tokens_};
}

void Scheduler::loop() {
  for (;;) {
    bool past_deadline = false;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return exit_ || busy_ > 0 || !queue_.empty(); });
      if (exit_ && busy_ == 0 && queue_.empty()) break;
      past_deadline = exit_ && deadline_ && Clock::now() >= *deadline_;
    }
    try {
      admit();
      for (auto& s : slots_) {
        if (s->job && (past_deadline || s->job->cancel.load(std::memory_order_relaxed))) end_slot(*s, "cancelled");
      }
      step();
    } catch (const std::exception&) {
      // Nothing the engine does should throw here (requests were checked); if it does, the running
      // requests end with "error" rather than the process with std::terminate.
      for (auto& s : slots_) {
        if (s->job) end_slot(*s, "error");
      }
    }
    publish_state();
  }
  publish_state();
}

// Common prefix of a slot's cached tokens and a prompt.
static size_t common_prefix(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

bool Scheduler::admit() {
  bool any = false;
  for (;;) {
    std::shared_ptr<Job> job;
    Slot* best = nullptr;
    size_t best_common = 0;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() || busy_ >= int(slots_.size())) break;
      job = queue_.front();
      queue_.pop_front();
      if (!job->cancel.load()) {
        for (auto& s : slots_) {
          if (s->job) continue;
          const size_t c = common_prefix(s->cached, job->req.prompt);
          // Longest shared prefix; among equals the least recently used slot, so that the caches
          // of recent conversations survive longest.
          if (!best || c > best_common || (c == best_common && s->last_used < best->last_used)) best = s.get(), best_common = c;
        }
        ++busy_;
      }
    }
    if (!best) {  // cancelled while waiting
      job->finish("cancelled", {}, int(job->req.prompt.size()), 0);
      metrics_.request_finished("cancelled", 0, 0, 0);
      continue;
    }
    Slot& s = *best;
    // At least the prompt's last token is evaluated: its logits give the first token.
    const size_t keep = std::min(best_common, job->req.prompt.size() - 1);
    engine_.cache(s.index).set_n_past(int(keep));
    s.cached.resize(keep);
    s.job = job;
    s.next_prompt = keep;
    s.reused = int(keep);
    s.generating = false;
    s.n_gen = 0;
    s.history = job->req.prompt;
    s.decoder.emplace(model_.tokenizer(), /*continues_text=*/true);
    s.stops.emplace(job->req.stop);
    if (job->req.grammar) s.grammar.emplace(job->req.grammar, model_.grammar_vocab());
    s.last_used = ++use_clock_;
    metrics_.request_started(job->req.endpoint == Endpoint::Chat ? "chat" : "completions");
    any = true;
  }
  return any;
}

void Scheduler::step() {
  tokens_.clear();
  runs_.clear();
  run_slots_.clear();
  int budget = engine_.n_batch();
  for (auto& s : slots_) {
    if (!s->job || !s->generating) continue;
    tokens_.push_back(s->last);
    runs_.push_back({s->index, 1, true});
    run_slots_.push_back(s.get());
    --budget;
  }
  // Prompt chunks fill the rest of the batch, oldest request first.
  pending_.clear();
  for (auto& s : slots_) {
    if (s->job && !s->generating) pending_.push_back(s.get());
  }
  std::sort(pending_.begin(), pending_.end(), [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  for (Slot* s : pending_) {
    if (budget <= 0) break;
    const std::vector<TokenId>& prompt = s->job->req.prompt;
    const int k = int(std::min<size_t>(size_t(budget), prompt.size() - s->next_prompt));
    tokens_.insert(tokens_.end(), prompt.begin() + std::ptrdiff_t(s->next_prompt),
                   prompt.begin() + std::ptrdiff_t(s->next_prompt) + k);
    runs_.push_back({s->index, k, s->next_prompt + size_t(k) == prompt.size()});
    run_slots_.push_back(s);
    budget -= k;
  }
  if (runs_.empty()) return;

  const auto t0 = Clock::now();
  const std::span<const float> logits = engine_.step(tokens_, runs_);
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  if (pending_.empty()) metrics_.decode_step(int(runs_.size()), dt);

  const size_t n_vocab = size_t(model_.n_vocab());
  size_t row = 0, offset = 0;
  for (size_t i = 0; i < runs_.size(); ++i) {
    Slot& s = *run_slots_[i];
    const BatchEngine::Row& r = runs_[i];
    s.cached.insert(s.cached.end(), tokens_.begin() + std::ptrdiff_t(offset), tokens_.begin() + std::ptrdiff_t(offset + size_t(r.n)));
    offset += size_t(r.n);
    if (!s.generating) s.next_prompt += size_t(r.n);
    if (r.logits) sample_slot(s, logits.subspan(row++ * n_vocab, n_vocab));
  }
}

void Scheduler::sample_slot(Slot& s, std::span<const float> logits) {
  Job& job = *s.job;
  const Tokenizer& tok = model_.tokenizer();
  const TokenId id = job.sampler.sample(logits, s.history, s.grammar ? &*s.grammar : nullptr);
  if (s.grammar) s.grammar->accept(id);  // end-of-generation tokens change nothing
  TokenOut out;
  out.id = id;
  if (job.req.logprobs >= 0) {
    const double lse = log_sum_exp(logits);
    out.logprob = float(double(logits[size_t(id)]) - lse);
    out.text = tok.token_to_piece(id);
    if (job.req.logprobs > 0) {
      for (const Candidate& c : job.sampler.top_candidates(job.req.logprobs)) {
        out.top.push_back({c.id, tok.token_to_piece(c.id), c.p, float(double(logits[size_t(c.id)]) - lse)});
      }
    }
  }
  const auto now = Clock::now();
  if (!s.generating) {
    metrics_.first_token(std::chrono::duration<double>(now - job.arrived).count());
    s.generating = true;
  } else {
    metrics_.inter_token(std::chrono::duration<double>(now - s.last_token).count());
  }
  s.last_token = now;
  if (tok.is_eog(id) && !job.req.ignore_eos) {
    end_slot(s, "stop");
    return;
  }
  ++s.n_gen;
  s.history.push_back(id);
  s.last = id;
  out.piece = s.stops->push(s.decoder->push(id));
  job.push(std::move(out));
  if (s.stops->stopped() || (s.grammar && !s.grammar->can_continue())) {
    end_slot(s, "stop");  // a stop string, or the text is complete and the grammar allows nothing more
  } else if ((job.req.max_tokens > 0 && s.n_gen >= job.req.max_tokens) ||
             engine_.cache(s.index).n_past() >= engine_.n_ctx()) {
    end_slot(s, "length");  // the limit, or no room left in the slot's context
  }
}

void Scheduler::end_slot(Slot& s, const std::string& reason) {
  std::string tail;
  if (reason != "cancelled" && s.stops && !s.stops->stopped()) tail = s.stops->finish(s.decoder->flush());
  const int prompt = int(s.job->req.prompt.size());
  std::shared_ptr<Job> job = std::move(s.job);
  s.generating = false;
  s.decoder.reset();
  s.stops.reset();
  s.grammar.reset();
  {
    std::lock_guard lock(mu_);
    --busy_;  // before the client hears of the end: a finished request has freed its slot
  }
  metrics_.request_finished(reason, prompt, s.reused, s.n_gen);
  job->finish(reason, std::move(tail), prompt, s.reused);
}

void Scheduler::publish_state() {
  int64_t kv = 0;
  for (int i = 0; i < engine_.n_slots(); ++i) kv += engine_.cache(i).n_past();
  SchedulerState st;
  {
    std::lock_guard lock(mu_);
    kv_tokens_ = kv;
    st = {int(queue_.size()), busy_, int(slots_.size()), kv};
  }
  metrics_.set_state(st.queued, st.busy, st.slots, kv, int64_t(engine_.n_ctx()) * engine_.n_slots(), engine_.kv_bytes());
  metrics_.set_thread_times(engine_.pool().times());
}

}  // namespace lp::server
