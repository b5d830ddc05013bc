// Text generation: tokenize a prompt, evaluate it in batches, then sample token by token until
// EOS, a stop string, max_tokens or cancellation. Timings and per-step top candidates are recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llamaprof/context.h"
#include "sampling/sampler.h"  // SamplerParams (a plain struct; seed lives there)

namespace lp {

class Grammar;  // sampling/grammar.h: a compiled GBNF grammar (Grammar::parse, json_schema_to_gbnf)

// One of the N most likely next tokens at a step.
struct TokenCandidate {
  TokenId id = 0;
  std::string text;    // the token's piece
  float p = 0;         // probability from the sampler's softmax (after penalties, before truncation)
  float logprob = 0;   // log-softmax of the raw logits over the whole vocabulary
};

// One generated token, as passed to the callback and kept in the result.
struct GenerateStep {
  int index = 0;           // 0-based among generated tokens
  TokenId id = 0;
  std::string piece;       // text this token completed (UTF-8 safe; may be empty)
  double latency_ms = 0;   // forward pass (if any) + sampling for this token
  std::vector<TokenCandidate> candidates;  // top_candidates entries, most likely first
  // The raw logits this token was sampled from: valid only inside on_token (empty in
  // GenerateResult::steps). With speculative decoding Context::logits() is then another row's.
  std::span<const float> logits;
};

// Speculative decoding: after each emitted token, up to draft_max drafted tokens are evaluated
// with it in one forward pass (logits of every position), and kept while each is the token the
// sampler picks at its position; the first mismatch is rolled back out of the KV cache. The
// sampler runs exactly as without drafts (one draw per emitted token), so greedy output is the
// plain output and sampled output has its distribution (see docs/architecture.md).
struct SpeculativeParams {
  int draft_max = 0;   // tokens drafted per forward pass (llama.cpp's --draft-max); 0: off
  int ngram_min = 1;   // prompt lookup: the shortest n-gram matched (llama.cpp's --lookup-ngram-min)
  int ngram_max = 3;   // the longest n-gram, tried first
  // Benchmarks only: draft the continuation given here (generated token i is oracle[i]) instead
  // of prompt lookup, to measure the mechanism when drafts are accepted (random-weight models do
  // not copy their prompt).
  std::vector<TokenId> oracle;
  // A draft model instead of prompt lookup: a context over a (smaller) model with the same
  // vocabulary, which proposes draft_max tokens greedily before each verify pass. Its KV cache
  // follows the text (cleared at the start of each generate()); InvalidArgument when the
  // vocabularies differ. Not owned; used only during generate().
  Context* draft_context = nullptr;
};

struct GenerateParams {
  int max_tokens = 128;             // <= 0: until EOS, a stop string or the context is full
  SamplerParams sampler;            // temperature <= 0 is greedy; sampler.seed seeds it
  std::vector<std::string> stop;    // generation ends before the first occurrence of any
  int top_candidates = 0;           // record the N most likely tokens per step
  std::optional<bool> add_bos;      // default: the model's tokenizer.ggml.add_bos_token
  bool parse_special = false;       // "<s>" etc. in the prompt become control tokens
  bool keep_cache = false;          // true: continue after the context's current KV contents
  bool ignore_eos = false;          // keep generating past EOS (benchmarks need a fixed length)
  // Teacher forcing: step i emits forced_tokens[i] instead of the sampled token (candidates are
  // still recorded), so another engine's continuation can be scored step by step.
  std::vector<TokenId> forced_tokens;
  // Constrained generation: every token keeps the text a prefix of the grammar's language, EOS is
  // allowed only when the text is complete, and generation stops ("stop") once the text is
  // complete and nothing can follow. A forced token the grammar rejects is InvalidArgument.
  std::shared_ptr<const Grammar> grammar;
  // Called after each token; return false to stop (finish_reason "cancelled").
  std::function<bool(const GenerateStep&)> on_token;
  const std::atomic<bool>* cancel = nullptr;  // checked before every forward pass
  SpeculativeParams speculative;    // off by default
};

struct Timings {
  double load_ms = 0;       // the model's load time
  int prompt_tokens = 0;
  double prompt_ms = 0;
  double prompt_tps = 0;
  int gen_tokens = 0;
  double gen_ms = 0;        // decode forward passes + sampling of generated tokens
  double gen_tps = 0;
  double sample_ms = 0;     // time in the sampler (all steps)
  // Forward passes during generation (the first token comes from the prompt's pass), and of the
  // tokens drafted into them, those kept. Tokens per pass: (gen_tokens - 1) / gen_passes, 1 for
  // plain decoding that ran to max_tokens.
  int gen_passes = 0;
  int draft_tokens = 0;
  int draft_accepted = 0;
};

struct GenerateResult {
  std::vector<TokenId> prompt_tokens;
  std::vector<TokenId> tokens;      // generated (a stop string's tokens included, its text not)
  std::string text;                 // generated text, cut before a stop string
  std::string finish_reason;        // "stop" | "length" | "cancelled"
  Timings timings;
  std::vector<GenerateStep> steps;  // one per generated token (candidates when asked)
};

// Throws lp::Error(InvalidArgument) when the prompt does not fit in the context (naming both
// lengths) or is empty after tokenization.
GenerateResult generate(Context& ctx, std::string_view prompt, const GenerateParams& params);
// The same from prompt token ids (used as given: add_bos and parse_special do not apply).
GenerateResult generate(Context& ctx, std::span<const TokenId> prompt_ids, const GenerateParams& params);

}  // namespace lp
