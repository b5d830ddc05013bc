// Context semantics: batched prompt evaluation equals token-by-token decode, KV truncate/clear,
// logits_all, thread counts, the overflow error, and generate()'s stop / length / cancel rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "model_test_util.h"

namespace lp {
namespace {

// Batched (gemm) and single-row (vec_dot) mat-muls sum in different orders, and the F16 KV cache
// rounds K/V the same way in both, so logits agree to float rounding only. Logits are O(10).
constexpr float kLogitTolerance = 2e-3f;

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float max_abs(std::span<const float> a) {
  float m = 0;
  for (float x : a) m = std::max(m, std::fabs(x));
  return m;
}

const Model& tiny_model() {
  static Model m = Model::load(test::write_tiny_model(test::temp_path("ctx.gguf")));
  return m;
}

const std::vector<TokenId> kPrompt = {1, 40, 77, 200, 262, 263, 100, 7, 9, 260, 261, 50, 51, 52, 90, 91, 3, 4, 5};

ContextParams params(int n_ctx = 64, int n_batch = 32, int threads = 2, bool all = false) {
  ContextParams p;
  p.n_ctx = n_ctx;
  p.n_batch = n_batch;
  p.n_threads = threads;
  p.logits_all = all;
  return p;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

TEST(ModelContext, BatchEqualsTokenByToken) {
  Context batch(tiny_model(), params());
  const std::vector<float> a = copy(batch.eval(kPrompt));
  EXPECT_EQ(batch.n_past(), int(kPrompt.size()));
  EXPECT_GT(max_abs(a), 1.0f);  // not trivially zero

  Context single(tiny_model(), params());
  std::vector<float> b;
  for (TokenId t : kPrompt) b = copy(single.eval(std::span<const TokenId>(&t, 1)));
  EXPECT_EQ(single.n_past(), int(kPrompt.size()));
  EXPECT_LT(max_abs_diff(a, b), kLogitTolerance);

  // Chunked by n_batch = 5: four forward passes.
  Context chunked(tiny_model(), params(64, 5));
  const std::vector<float> c = copy(chunked.eval(kPrompt));
  EXPECT_LT(max_abs_diff(a, c), kLogitTolerance);
}

TEST(ModelContext, LogitsAllMatchesEveryStep) {
  Context all(tiny_model(), params(64, 7, 2, true));
  all.eval(kPrompt);
  Context single(tiny_model(), params());
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    const std::vector<float> s = copy(single.eval(std::span<const TokenId>(&kPrompt[i], 1)));
    EXPECT_LT(max_abs_diff(all.logits_at(int(i)), s), kLogitTolerance) << "position " << i;
  }
  EXPECT_THROW(all.logits_at(int(kPrompt.size())), Error);
}

TEST(ModelContext, TruncateThenReevaluateGivesSameLogits) {
  Context ctx(tiny_model(), params());
  const std::vector<float> full = copy(ctx.eval(kPrompt));
  const int keep = 8;
  ctx.kv_truncate(keep);
  EXPECT_EQ(ctx.n_past(), keep);
  const std::vector<float> again =
      copy(ctx.eval(std::span<const TokenId>(kPrompt.data() + keep, kPrompt.size() - keep)));
  EXPECT_LT(max_abs_diff(full, again), kLogitTolerance);

  // A different continuation after truncation gives different logits (the cache really moved).
  ctx.kv_truncate(keep);
  std::vector<TokenId> other(kPrompt.begin() + keep, kPrompt.end());
  std::reverse(other.begin(), other.end());
  const std::vector<float> diff = copy(ctx.eval(other));
  EXPECT_GT(max_abs_diff(full, diff), 0.1f);

  EXPECT_THROW(ctx.kv_truncate(ctx.n_past() + 1), Error);
}

TEST(ModelContext, ClearStartsOver) {
  Context ctx(tiny_model(), params());
  const std::vector<float> first = copy(ctx.eval(kPrompt));
  ctx.eval(std::vector<TokenId>{10, 11, 12});
  ctx.kv_clear();
  EXPECT_EQ(ctx.n_past(), 0);
  const std::vector<float> second = copy(ctx.eval(kPrompt));
  EXPECT_LT(max_abs_diff(first, second), 1e-6f);  // same computation, same order: identical
}

TEST(ModelContext, PositionMatters) {
  // The same token after different histories gives different logits (attention and RoPE work).
  Context a(tiny_model(), params());
  Context b(tiny_model(), params());
  a.eval(std::vector<TokenId>{1, 40, 41});
  b.eval(std::vector<TokenId>{1, 41, 40});
  EXPECT_GT(max_abs_diff(a.logits(), b.logits()), 0.1f);
}

TEST(ModelContext, ThreadCountDoesNotChangeResults) {
  Context one(tiny_model(), params(64, 32, 1));
  Context two(tiny_model(), params(64, 32, 2));
  Context three(tiny_model(), params(64, 32, 3));
  const std::vector<float> a = copy(one.eval(kPrompt));
  EXPECT_LT(max_abs_diff(a, two.eval(kPrompt)), kLogitTolerance);
  EXPECT_LT(max_abs_diff(a, three.eval(kPrompt)), kLogitTolerance);
}

TEST(ModelContext, OverflowIsAnErrorNamingBothLengths) {
  Context ctx(tiny_model(), params(16, 8));
  ctx.eval(std::vector<TokenId>(10, 40));
  try {
    ctx.eval(std::vector<TokenId>(7, 41));
    FAIL() << "no overflow error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("10"), std::string::npos) << msg;
    EXPECT_NE(msg.find("7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("16"), std::string::npos) << msg;
  }
  EXPECT_EQ(ctx.n_past(), 10);  // nothing was evaluated
  ctx.eval(std::vector<TokenId>(6, 41));
  EXPECT_EQ(ctx.n_past(), 16);  // exactly full is fine
}

TEST(ModelContext, TokenOutsideVocabularyIsAnError) {
  Context ctx(tiny_model(), params());
  EXPECT_THROW(ctx.eval(std::vector<TokenId>{1, tiny_model().n_vocab()}), Error);
  EXPECT_THROW(ctx.eval(std::vector<TokenId>{-1}), Error);
  EXPECT_EQ(ctx.n_past(), 0);
}

TEST(ModelContext, OpProfilingCountsOnlyWhenOn) {
  Context ctx(tiny_model(), params());
  ctx.eval(std::vector<TokenId>{1, 2, 3});
  for (const OpTime& t : ctx.op_times()) EXPECT_EQ(t.calls, 0) << t.name;
  ctx.set_op_profiling(true);
  ctx.eval(std::vector<TokenId>{4});
  int64_t attention_calls = 0;
  for (const OpTime& t : ctx.op_times()) {
    if (t.name == "attention") attention_calls = t.calls;
  }
  EXPECT_EQ(attention_calls, tiny_model().hparams().n_layer);
  EXPECT_EQ(ctx.stats().n_tokens, 4);
}

GenerateParams greedy(int n) {
  GenerateParams g;
  g.max_tokens = n;
  g.sampler.temperature = 0;
  g.sampler.repeat_penalty = 1.0f;
  return g;
}

TEST(ModelGenerate, GreedyIsDeterministicAndMatchesManualDecode) {
  Context ctx(tiny_model(), params(64, 16));
  GenerateParams g = greedy(12);
  g.top_candidates = 3;
  const GenerateResult r = generate(ctx, "the hat", g);
  ASSERT_FALSE(r.prompt_tokens.empty());
  EXPECT_EQ(r.prompt_tokens[0], 1);  // BOS
  EXPECT_LE(r.tokens.size(), 12u);
  EXPECT_EQ(r.steps.size(), r.tokens.size());
  EXPECT_EQ(r.timings.prompt_tokens, int(r.prompt_tokens.size()));
  EXPECT_EQ(r.timings.gen_tokens, int(r.tokens.size()));

  // Manual greedy decode over the same prompt: argmax of the logits each step.
  Context manual(tiny_model(), params(64, 16));
  std::span<const float> logits = manual.eval(r.prompt_tokens);
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const TokenId best = TokenId(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(best, r.tokens[i]) << "step " << i;
    ASSERT_EQ(r.steps[i].candidates.size(), 3u);
    EXPECT_EQ(r.steps[i].candidates[0].id, best);
    // logprob is the full log-softmax of the raw logits.
    double lse = 0;
    const float mx = logits[size_t(best)];
    for (float v : logits) lse += std::exp(double(v) - mx);
    EXPECT_NEAR(r.steps[i].candidates[0].logprob, -std::log(lse), 1e-4);
    EXPECT_NEAR(std::exp(r.steps[i].candidates[0].logprob), r.steps[i].candidates[0].p, 1e-4);
    logits = manual.eval(std::span<const TokenId>(&r.tokens[i], 1));
  }
}

TEST(ModelGenerate, LengthAndCancel) {
  Context ctx(tiny_model(), params(64, 16));
  const GenerateResult full = generate(ctx, "a", greedy(6));
  ASSERT_EQ(full.finish_reason, "length");  // this prompt does not reach EOS in 6 tokens
  EXPECT_EQ(full.tokens.size(), 6u);
  std::string emitted;
  for (const auto& s : full.steps) emitted += s.piece;
  EXPECT_EQ(full.text.compare(0, emitted.size(), emitted), 0);  // pieces are a prefix of text

  std::atomic<bool> cancel{true};
  GenerateParams c = greedy(6);
  c.cancel = &cancel;
  const GenerateResult rc = generate(ctx, "a", c);
  EXPECT_EQ(rc.finish_reason, "cancelled");
  EXPECT_TRUE(rc.tokens.empty());

  GenerateParams cb = greedy(6);
  int calls = 0;
  cb.on_token = [&](const GenerateStep&) { return ++calls < 2; };
  const GenerateResult rcb = generate(ctx, "a", cb);
  EXPECT_EQ(rcb.finish_reason, "cancelled");
  ASSERT_EQ(rcb.tokens.size(), 2u);
  EXPECT_EQ(rcb.tokens[0], full.tokens[0]);
  EXPECT_EQ(rcb.tokens[1], full.tokens[1]);
}

TEST(ModelGenerate, StopStringIsNotEmitted) {
  Context ctx(tiny_model(), params(64, 16));
  // Find text the model generates, then use a piece of it as the stop string.
  const GenerateResult ref = generate(ctx, "a", greedy(10));
  ASSERT_GE(ref.text.size(), 3u);
  const std::string stop = ref.text.substr(1, 2);
  GenerateParams g = greedy(10);
  g.stop = {stop};
  const GenerateResult r = generate(ctx, "a", g);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, ref.text.substr(0, ref.text.find(stop)));
  std::string streamed;
  for (const auto& s : r.steps) streamed += s.piece;
  EXPECT_EQ(streamed, r.text);
}

TEST(ModelGenerate, PromptLongerThanContextNamesBothLengths) {
  Context ctx(tiny_model(), params(8, 8));
  try {
    generate(ctx, "the the the the the the the the the the the the", greedy(4));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("context holds 8"), std::string::npos) << msg;
    EXPECT_NE(msg.find("prompt is"), std::string::npos) << msg;
  }
}

TEST(ModelGenerate, FullContextEndsWithLength) {
  Context ctx(tiny_model(), params(12, 8));
  const GenerateResult r = generate(ctx, "the", greedy(0));
  if (r.finish_reason == "length") {
    EXPECT_EQ(ctx.n_past(), 12);
  }
}

}  // namespace
}  // namespace lp
