// Context state (save/load of the KV rows + logits), embeddings (final hidden states, pooling,
// normalization) and vocab-only models.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "llamaprof/context.h"
#include "llamaprof/embed.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model_test_util.h"

namespace lp {
namespace {

const Model& tiny_model() {
  static Model m = Model::load(test::write_tiny_model(test::temp_path("state_embed.gguf")));
  return m;
}

const std::vector<TokenId> kPrompt = {1, 40, 77, 200, 262, 263, 100, 7, 9, 260, 261, 50};

ContextParams params(int n_ctx = 64, bool embeddings = false) {
  ContextParams p;
  p.n_ctx = n_ctx;
  p.n_batch = 8;  // several chunks: hidden states of every chunk are kept
  p.n_threads = 2;
  p.embeddings = embeddings;
  return p;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

TEST(ContextState, LoadReproducesTheContinuationExactly) {
  Context a(tiny_model(), params());
  a.eval(kPrompt);
  const std::string state = a.save_state();
  const std::vector<float> saved_logits = copy(a.logits());
  const std::vector<TokenId> next = {30, 31, 32};
  const std::vector<float> after = copy(a.eval(next));

  // A fresh context (other contents in its cache) given the state continues identically.
  Context b(tiny_model(), params(128));
  b.eval(std::vector<TokenId>{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18});
  b.load_state(state);
  EXPECT_EQ(b.n_past(), int(kPrompt.size()));
  EXPECT_EQ(copy(b.logits()), saved_logits);
  EXPECT_EQ(copy(b.eval(next)), after);  // bit for bit: the same rows, the same computation

  // Back in the first context after it moved on.
  a.eval(std::vector<TokenId>{40, 41});
  a.load_state(state);
  EXPECT_EQ(copy(a.eval(next)), after);
}

TEST(ContextState, RejectsStatesThatDoNotFit) {
  Context a(tiny_model(), params());
  a.eval(kPrompt);
  std::string state = a.save_state();
  Context small(tiny_model(), params(8));
  EXPECT_THROW(small.load_state(state), Error);  // 12 tokens into a context of 8
  EXPECT_THROW(a.load_state("LPST"), Error);
  state.pop_back();
  try {
    a.load_state(state);
    FAIL() << "a truncated state loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bytes"), std::string::npos) << e.what();
  }
  Context empty(tiny_model(), params());
  const std::string none = empty.save_state();
  a.load_state(none);
  EXPECT_EQ(a.n_past(), 0);
}

TEST(Embeddings, PoolingAndNormalization) {
  Context ctx(tiny_model(), params(64, true));
  const auto rows = embed(ctx, kPrompt, Pooling::None, false);
  const size_t n_embd = size_t(tiny_model().hparams().n_embd);
  ASSERT_EQ(rows.size(), kPrompt.size());
  for (const auto& r : rows) ASSERT_EQ(r.size(), n_embd);
  EXPECT_EQ(ctx.n_past(), 0);  // the cache is left empty

  const auto mean = embed(ctx, kPrompt, Pooling::Mean, false);
  const auto cls = embed(ctx, kPrompt, Pooling::Cls, false);
  const auto last = embed(ctx, kPrompt, Pooling::Last, false);
  ASSERT_EQ(mean.size(), 1u);
  for (size_t k = 0; k < n_embd; ++k) {
    double sum = 0;
    for (const auto& r : rows) sum += r[k];
    EXPECT_NEAR(mean[0][k], sum / double(rows.size()), 1e-5);
    EXPECT_EQ(cls[0][k], rows.front()[k]);
    EXPECT_EQ(last[0][k], rows.back()[k]);
  }
  const auto unit = embed(ctx, kPrompt, Pooling::Mean, true);
  double norm = 0, dot = 0, mean_norm = 0;
  for (size_t k = 0; k < n_embd; ++k) {
    norm += double(unit[0][k]) * unit[0][k];
    mean_norm += double(mean[0][k]) * mean[0][k];
    dot += double(unit[0][k]) * mean[0][k];
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_NEAR(dot, std::sqrt(mean_norm), 1e-3 * std::sqrt(mean_norm));  // the same direction

  // The hidden state is the final-normed one: RMS of a row ~ the output norm's scale, not the
  // residual stream's; and a row depends only on the tokens before it (causal).
  const auto prefix = embed(ctx, std::vector<TokenId>(kPrompt.begin(), kPrompt.begin() + 5), Pooling::Last, false);
  for (size_t k = 0; k < n_embd; ++k) EXPECT_NEAR(prefix[0][k], rows[4][k], 2e-3f);
}

TEST(Embeddings, Errors) {
  Context plain(tiny_model(), params());
  EXPECT_THROW(embed(plain, kPrompt, Pooling::Mean, false), Error);
  Context ctx(tiny_model(), params(8, true));
  EXPECT_THROW(embed(ctx, kPrompt, Pooling::Mean, false), Error);  // 12 tokens, context 8
  EXPECT_THROW(embed(ctx, std::vector<TokenId>{}, Pooling::Mean, false), Error);
  EXPECT_EQ(pooling_from_name("cls"), Pooling::Cls);
  EXPECT_THROW(pooling_from_name("rank"), Error);
  EXPECT_EQ(default_pooling(tiny_model()), Pooling::None);  // no <arch>.pooling_type
}

TEST(VocabOnly, TokenizesWithoutWeightsAndCannotEvaluate) {
  ModelParams mp;
  mp.vocab_only = true;
  const Model m = Model::load(tiny_model().path(), mp);
  EXPECT_TRUE(m.vocab_only());
  EXPECT_EQ(m.tokenize("Hello world", true), tiny_model().tokenize("Hello world", true));
  EXPECT_EQ(m.n_vocab(), tiny_model().n_vocab());
  try {
    Context c(m, params());
    FAIL() << "a context on a vocab-only model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_only"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lp
