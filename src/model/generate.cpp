// generate(): prompt evaluation in batches, then sample -> decode one token at a time.
#include "llamaprof/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "llamaprof/error.h"
#include "model/speculative.h"
#include "model/stop_scan.h"
#include "sampling/grammar_stage.h"
#include "tokenizer/tokenizer.h"

namespace lp {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

GenerateResult generate(Context& ctx, std::string_view prompt, const GenerateParams& params) {
  const Model& model = ctx.model();
  const bool add_bos = params.add_bos.value_or(model.add_bos_default());
  const std::vector<TokenId> ids = model.tokenize(prompt, add_bos, params.parse_special);
  return generate(ctx, std::span<const TokenId>(ids), params);
}

GenerateResult generate(Context& ctx, std::span<const TokenId> prompt_ids, const GenerateParams& params) {
  const Model& model = ctx.model();
  const Tokenizer& tok = model.tokenizer();
  GenerateResult r;
  r.timings.load_ms = model.load_ms();
  r.prompt_tokens.assign(prompt_ids.begin(), prompt_ids.end());
  if (r.prompt_tokens.empty()) {
    throw Error(ErrorKind::InvalidArgument, "the prompt is empty (no tokens to evaluate)");
  }
  if (!params.keep_cache) ctx.kv_clear();
  const int64_t prompt_len = int64_t(r.prompt_tokens.size());
  if (ctx.n_past() + prompt_len > ctx.n_ctx()) {
    throw Error(ErrorKind::InvalidArgument,
                "the prompt is " + std::to_string(prompt_len) + " tokens" +
                    (ctx.n_past() ? " (after " + std::to_string(ctx.n_past()) + " cached)" : std::string()) +
                    " but the context holds " + std::to_string(ctx.n_ctx()) + " tokens");
  }
  const SpeculativeParams& spec = params.speculative;
  validate(spec);
  if (spec.draft_context == &ctx) {
    throw Error(ErrorKind::InvalidArgument, "the draft model's context must not be the generating context");
  }
  std::optional<DraftModel> draft_model;  // checks the vocabulary before anything is evaluated
  if (spec.draft_context) draft_model.emplace(*spec.draft_context, model);
  StopScanner stops(params.stop);
  auto cancelled = [&] { return params.cancel && params.cancel->load(std::memory_order_relaxed); };

  if (cancelled()) {
    r.finish_reason = "cancelled";
    return r;
  }
  auto t = Clock::now();
  std::span<const float> logits = ctx.eval(r.prompt_tokens);
  r.timings.prompt_tokens = int(prompt_len);
  r.timings.prompt_ms = ms_since(t);

  SamplerParams sp = params.sampler;
  Sampler sampler(sp);
  std::optional<GrammarStage> grammar;
  if (params.grammar) grammar.emplace(params.grammar, model.grammar_vocab());
  std::vector<TokenId> history = r.prompt_tokens;  // for the repetition penalties
  history.reserve(history.size() + size_t(std::max(params.max_tokens, 0)) + 1);
  // Generated text continues the prompt: keep every piece's leading space (llama.cpp prints
  // generated tokens with token_to_piece, which does the same).
  Tokenizer::StreamDecoder decoder(tok, /*continues_text=*/true);
  const auto gen_start = Clock::now();
  auto step_start = gen_start;
  // The last generation pass: batch[0] is the token emitted before it, batch[1..] the drafts, at
  // positions base..; logits row `row` is the one in use. Row j+1 stays valid only while the
  // token emitted from row j equals batch[j + 1].
  std::vector<TokenId> batch, draft;
  int base = 0, row = 0;

  for (;;) {
    if (grammar && !grammar->can_continue()) {
      r.finish_reason = "stop";  // the text is a complete match and nothing can follow it
      break;
    }
    if (params.max_tokens > 0 && int(r.tokens.size()) >= params.max_tokens) {
      r.finish_reason = "length";
      break;
    }
    if (cancelled()) {
      r.finish_reason = "cancelled";
      break;
    }
    const auto ts = Clock::now();
    const size_t step_index = r.tokens.size();
    TokenId id = sampler.sample(logits, history, grammar ? &*grammar : nullptr);
    GenerateStep step;
    if (params.top_candidates > 0) {
      const double lse = log_sum_exp(logits);
      for (const Candidate& c : sampler.top_candidates(params.top_candidates)) {
        step.candidates.push_back({c.id, tok.token_to_piece(c.id), c.p, float(double(logits[size_t(c.id)]) - lse)});
      }
    }
    r.timings.sample_ms += ms_since(ts);
    if (step_index < params.forced_tokens.size()) id = params.forced_tokens[step_index];
    if (grammar) {
      const auto tg = Clock::now();
      grammar->accept(id);  // after EOG: no change
      r.timings.sample_ms += ms_since(tg);
    }
    if (tok.is_eog(id) && !params.ignore_eos) {
      r.finish_reason = "stop";
      break;
    }
    r.tokens.push_back(id);
    history.push_back(id);
    step.piece = stops.push(decoder.push(id));
    bool stopped = stops.stopped();
    step.index = int(r.tokens.size()) - 1;
    step.id = id;
    step.latency_ms = ms_since(step_start);
    if (stopped) r.finish_reason = "stop";
    step.logits = logits;
    if (params.on_token && !params.on_token(step) && !stopped) {
      r.finish_reason = "cancelled";
      stopped = true;
    }
    step.logits = {};
    r.steps.push_back(std::move(step));
    if (stopped) break;
    const bool done = params.max_tokens > 0 && int(r.tokens.size()) >= params.max_tokens;
    if (done) continue;  // no need to evaluate a token nothing will follow
    if (row + 1 < int(batch.size()) && batch[size_t(row) + 1] == id) {
      ++row;  // the draft was the sampler's pick: its position's logits are already computed
      ++r.timings.draft_accepted;
      step_start = Clock::now();
      logits = ctx.logits_at(row);
      continue;
    }
    if (!batch.empty()) ctx.kv_truncate(base + row + 1);  // rejected drafts leave the cache
    if (ctx.n_past() >= ctx.n_ctx()) {
      r.finish_reason = "length";  // the context is full
      break;
    }
    if (cancelled()) continue;
    step_start = Clock::now();
    draft.clear();
    if (spec.draft_max > 0) {
      // Drafts that fit in the context and in one batch, and that max_tokens can still use.
      int n_draft = std::min({spec.draft_max, ctx.n_ctx() - ctx.n_past() - 1, ctx.n_batch() - 1});
      if (params.max_tokens > 0) n_draft = std::min(n_draft, params.max_tokens - int(r.tokens.size()) - 1);
      if (!spec.oracle.empty()) {
        const size_t from = std::min(r.tokens.size(), spec.oracle.size());
        const size_t to = std::min(spec.oracle.size(), from + size_t(std::max(n_draft, 0)));
        draft.assign(spec.oracle.begin() + ptrdiff_t(from), spec.oracle.begin() + ptrdiff_t(to));
      } else if (draft_model) {
        draft_model->draft(history, n_draft, draft);
      } else {
        prompt_lookup_draft(history, spec.ngram_min, spec.ngram_max, n_draft, draft);
      }
    }
    batch.assign(1, id);
    batch.insert(batch.end(), draft.begin(), draft.end());
    base = ctx.n_past();
    row = 0;
    ++r.timings.gen_passes;
    r.timings.draft_tokens += int(draft.size());
    if (draft.empty()) {
      logits = ctx.eval(batch);
    } else {
      ctx.eval(batch, /*all_logits=*/true);
      logits = ctx.logits_at(0);
    }
  }
  // Drafts after the last position used leave the cache, as after a plain run.
  if (!batch.empty() && ctx.n_past() > base + row + 1) ctx.kv_truncate(base + row + 1);
  // Not cut by a stop string: what the decoder or the stop-string hold kept back is text too.
  // The pieces handed out are always a prefix of r.text.
  stops.finish(decoder.flush());  // nothing when a stop string cut the text
  r.text = stops.text();
  r.timings.gen_tokens = int(r.tokens.size());
  r.timings.gen_ms = ms_since(gen_start);
  if (r.timings.prompt_ms > 0) r.timings.prompt_tps = 1000.0 * r.timings.prompt_tokens / r.timings.prompt_ms;
  if (r.timings.gen_ms > 0) r.timings.gen_tps = 1000.0 * r.timings.gen_tokens / r.timings.gen_ms;
  return r;
}

}  // namespace lp
