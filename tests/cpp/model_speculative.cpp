// Speculative decoding (prompt lookup and the benchmark's oracle drafts) on tiny random models:
// greedy output is plain decoding's token for token, sampled output has plain sampling's
// distribution and is the same run to run for a seed, and stop strings, EOG, max_tokens, grammar,
// callbacks, top candidates and the KV cache behave as without drafts.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "model/speculative.h"
#include "model_test_util.h"
#include "sampling/grammar.h"

namespace lp {
namespace {

std::vector<TokenId> draft_of(std::vector<TokenId> text, int nmin, int nmax, int k) {
  std::vector<TokenId> d;
  prompt_lookup_draft(text, nmin, nmax, k, d);
  return d;
}

TEST(PromptLookup, DraftsWhatFollowedTheLatestLongestMatch) {
  // "1 2 3 9 ... 2 3 7 8 ... 2 3": the bigram "2 3" last occurred before 7 8.
  EXPECT_EQ(draft_of({1, 2, 3, 9, 5, 2, 3, 7, 8, 2, 3}, 1, 3, 2), (std::vector<TokenId>{7, 8}));
  // The trigram "1 2 3" matches only the first occurrence: it wins over the later bigram.
  EXPECT_EQ(draft_of({1, 2, 3, 9, 5, 2, 3, 7, 8, 1, 2, 3}, 1, 3, 2), (std::vector<TokenId>{9, 5}));
  // A latest match with too few followers loses to an earlier one with max_tokens of them.
  EXPECT_EQ(draft_of({4, 1, 2, 3, 4, 4}, 1, 1, 3), (std::vector<TokenId>{1, 2, 3}));
  // Cut to max_tokens; nothing without a match, for max_tokens 0, or below ngram_min.
  EXPECT_EQ(draft_of({5, 6, 7, 8, 9, 5}, 1, 3, 2), (std::vector<TokenId>{6, 7}));
  EXPECT_TRUE(draft_of({1, 2, 3, 4}, 1, 3, 4).empty());
  EXPECT_TRUE(draft_of({5, 6, 7, 5}, 1, 3, 0).empty());
  EXPECT_TRUE(draft_of({5, 6, 7, 5}, 2, 3, 4).empty());
  EXPECT_TRUE(draft_of({5}, 1, 3, 4).empty());
  // The latest match with fewer followers still drafts when no earlier one exists.
  EXPECT_EQ(draft_of({3, 4, 3}, 1, 2, 8), (std::vector<TokenId>{4, 3}));
}

struct Spec {
  const char* name;
  test::TinyModelSpec model;
};

std::vector<Spec> specs() {
  std::vector<Spec> v;
  v.push_back({"llama_f32", {}});
  test::TinyModelSpec q8;
  q8.matrix_type = TensorType::Q8_0;
  q8.seed = 11;
  v.push_back({"llama_q8_0", q8});
  test::TinyModelSpec qwen;
  qwen.arch = "qwen2";
  qwen.qkv_bias = true;
  qwen.matrix_type = TensorType::Q4_0;
  qwen.tie_output = true;
  qwen.seed = 5;
  v.push_back({"qwen2_q4_0", qwen});
  return v;
}

const Model& model_for(size_t i) {
  static std::vector<Model> models = [] {
    std::vector<Model> ms;
    for (const Spec& s : specs()) {
      const std::string path = test::temp_path(std::string("spec_") + s.name + ".gguf");
      ms.push_back(Model::load(test::write_tiny_model(path, s.model)));
    }
    return ms;
  }();
  return models[i];
}

// Prompts that repeat text, so that prompt lookup has something to draft.
const std::vector<std::string> kPrompts = {
    "the cat sat on the mat. the cat sat on the mat. the cat sat on",
    "abc abc abc abc abc abc",
    "one two three four five. one two three four five. one two",
    "the the the the a an the",
};

GenerateParams greedy(int max_tokens) {
  GenerateParams p;
  p.max_tokens = max_tokens;
  p.sampler.temperature = 0.0f;
  return p;
}

GenerateParams with_lookup(GenerateParams p, int draft_max, int nmin = 1, int nmax = 3) {
  p.speculative.draft_max = draft_max;
  p.speculative.ngram_min = nmin;
  p.speculative.ngram_max = nmax;
  return p;
}

void expect_same_output(const GenerateResult& plain, const GenerateResult& spec, const std::string& what) {
  EXPECT_EQ(plain.tokens, spec.tokens) << what;
  EXPECT_EQ(plain.text, spec.text) << what;
  EXPECT_EQ(plain.finish_reason, spec.finish_reason) << what;
  ASSERT_EQ(plain.steps.size(), spec.steps.size()) << what;
  for (size_t i = 0; i < plain.steps.size(); ++i) {
    EXPECT_EQ(plain.steps[i].index, spec.steps[i].index) << what;
    EXPECT_EQ(plain.steps[i].id, spec.steps[i].id) << what;
    EXPECT_EQ(plain.steps[i].piece, spec.steps[i].piece) << what;
  }
  EXPECT_EQ(plain.timings.gen_tokens, spec.timings.gen_tokens) << what;
}

TEST(Speculative, GreedyOutputIsPlainDecodingTokenForToken) {
  int drafted = 0, accepted = 0, rejected_runs = 0;
  for (size_t m = 0; m < specs().size(); ++m) {
    ContextParams cp;
    cp.n_ctx = 160;
    Context plain_ctx(model_for(m), cp), spec_ctx(model_for(m), cp);
    for (const std::string& prompt : kPrompts) {
      const GenerateResult plain = generate(plain_ctx, prompt, greedy(40));
      EXPECT_EQ(plain.timings.draft_tokens, 0);
      // Without drafts a pass per token, but none for the last one when max_tokens ends the run.
      EXPECT_EQ(plain.timings.gen_passes + (plain.finish_reason == "length" ? 1 : 0), plain.timings.gen_tokens);
      for (auto [k, nmin, nmax] : {std::tuple{8, 1, 3}, std::tuple{3, 2, 4}, std::tuple{1, 1, 1}}) {
        const GenerateResult spec = generate(spec_ctx, prompt, with_lookup(greedy(40), k, nmin, nmax));
        const std::string what = std::string(specs()[m].name) + " / " + prompt + " / k " + std::to_string(k);
        expect_same_output(plain, spec, what);
        EXPECT_EQ(plain_ctx.n_past(), spec_ctx.n_past()) << what;  // rejected drafts left the cache
        // ... and the context's logits are the ones the last token was sampled from, as after plain.
        float diff = 0;
        for (size_t i = 0; i < plain_ctx.logits().size(); ++i) {
          diff = std::max(diff, std::fabs(plain_ctx.logits()[i] - spec_ctx.logits()[i]));
        }
        EXPECT_LT(diff, 1e-2f) << what;
        EXPECT_LE(spec.timings.draft_accepted, spec.timings.draft_tokens);
        EXPECT_EQ(spec.timings.gen_passes + (spec.finish_reason == "length" ? 1 : 0) + spec.timings.draft_accepted,
                  spec.timings.gen_tokens)
            << what;
        drafted += spec.timings.draft_tokens;
        accepted += spec.timings.draft_accepted;
        rejected_runs += spec.timings.draft_accepted < spec.timings.draft_tokens;
      }
    }
  }
  // The prompts make drafts that are kept and drafts that are rolled back.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected_runs, 0);
  EXPECT_LT(accepted, drafted);
}

TEST(Speculative, EvalWithAllLogitsAndARollbackKeepsTheKeptRows) {
  ContextParams cp;
  cp.n_ctx = 64;
  Context ctx(model_for(0), cp);
  const std::vector<TokenId> prompt = model_for(0).tokenize("abc", true), more = {70, 71, 72, 73};
  ctx.eval(prompt);
  EXPECT_THROW(ctx.logits_at(1), Error);  // only the last row was kept
  ctx.eval(more, /*all_logits=*/true);
  ASSERT_EQ(ctx.n_outputs(), 4);
  const std::vector<float> row1(ctx.logits_at(1).begin(), ctx.logits_at(1).end());
  ctx.kv_truncate(int(prompt.size()) + 2);  // keep 70 71: logits() follows 71
  EXPECT_EQ(ctx.n_outputs(), 2);
  EXPECT_EQ(std::vector<float>(ctx.logits().begin(), ctx.logits().end()), row1);
  EXPECT_THROW(ctx.logits_at(2), Error);
  // A plain eval keeps one row again.
  ctx.eval(std::vector<TokenId>{74, 75});
  EXPECT_THROW(ctx.logits_at(0), Error);
}

TEST(Speculative, OracleDraftsOfThePlainOutputAreAllAccepted) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(model_for(1), cp);
  const GenerateResult plain = generate(ctx, "the cat sat", greedy(33));
  GenerateParams p = with_lookup(greedy(33), 8);
  p.speculative.oracle = plain.tokens;
  const GenerateResult spec = generate(ctx, "the cat sat", p);
  expect_same_output(plain, spec, "oracle");
  EXPECT_EQ(spec.timings.draft_accepted, spec.timings.draft_tokens);
  EXPECT_EQ(spec.timings.gen_passes, 4);  // 32 tokens after the first: 9, 9, 9 and 5 per pass
  EXPECT_EQ(spec.timings.draft_tokens, 28);
  // A wrong oracle costs nothing but passes: every draft is rejected and the output is the same.
  std::vector<TokenId> wrong = plain.tokens;
  for (TokenId& t : wrong) t = t == 3 + 'x' ? 3 + 'y' : 3 + 'x';
  p.speculative.oracle = wrong;
  const GenerateResult w = generate(ctx, "the cat sat", p);
  expect_same_output(plain, w, "wrong oracle");
  EXPECT_EQ(w.timings.draft_accepted, 0);
}

GenerateParams sampled(uint64_t seed, int max_tokens) {
  GenerateParams p;
  p.max_tokens = max_tokens;
  p.sampler.temperature = 0.8f;  // the whole chain: penalties, top-k, top-p, min-p, temperature
  p.sampler.seed = seed;
  return p;
}

TEST(Speculative, SampledOutputIsTheSameForASeedRunToRun) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(model_for(0), cp);
  for (uint64_t seed : {1u, 2u, 3u}) {
    const GenerateParams p = with_lookup(sampled(seed, 30), 6);
    const GenerateResult a = generate(ctx, kPrompts[1], p), b = generate(ctx, kPrompts[1], p);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.timings.draft_tokens, b.timings.draft_tokens);
    EXPECT_EQ(a.timings.draft_accepted, b.timings.draft_accepted);
  }
}

// Two-sample chi-square over the token at each of the first steps: plain and speculative runs
// with disjoint seeds must look like draws from one distribution. The bound (df + 10 sqrt(2 df) +
// 10) is far in the tail (p well below 1e-9), so the test never flakes, yet a rule that kept
// drafts whenever they were merely possible (not picked) fails it by orders of magnitude.
void expect_plain_distribution(Context& ctx, const SpeculativeParams& spec) {
  constexpr int kRuns = 400, kSteps = 6;
  const std::string prompt = kPrompts[3];
  std::vector<std::map<TokenId, int>> plain_counts(kSteps), spec_counts(kSteps);
  int drafted = 0, accepted = 0;
  for (int i = 0; i < kRuns; ++i) {
    const GenerateResult a = generate(ctx, prompt, sampled(uint64_t(i), kSteps));
    GenerateParams p = sampled(uint64_t(100000 + i), kSteps);
    p.speculative = spec;
    const GenerateResult b = generate(ctx, prompt, p);
    for (int s = 0; s < kSteps; ++s) {
      ++plain_counts[size_t(s)][s < int(a.tokens.size()) ? a.tokens[size_t(s)] : -1];
      ++spec_counts[size_t(s)][s < int(b.tokens.size()) ? b.tokens[size_t(s)] : -1];
    }
    drafted += b.timings.draft_tokens;
    accepted += b.timings.draft_accepted;
  }
  EXPECT_GT(accepted, kRuns / 4);  // the later steps' tokens came out of verify passes
  EXPECT_LT(accepted, drafted);
  for (int s = 0; s < kSteps; ++s) {
    // Tokens seen fewer than 10 times in both samples together share one bin.
    std::map<TokenId, std::pair<int, int>> bins;
    for (auto [t, c] : plain_counts[size_t(s)]) bins[t].first += c;
    for (auto [t, c] : spec_counts[size_t(s)]) bins[t].second += c;
    std::pair<int, int> rare{0, 0};
    std::vector<std::pair<int, int>> cells;
    for (auto [t, c] : bins) {
      if (c.first + c.second < 10) {
        rare.first += c.first;
        rare.second += c.second;
      } else {
        cells.push_back(c);
      }
    }
    if (rare.first + rare.second > 0) cells.push_back(rare);
    double chi2 = 0;
    for (auto [x, y] : cells) chi2 += double(x - y) * double(x - y) / double(x + y);  // equal sample sizes
    const double df = double(cells.size()) - 1;
    EXPECT_LT(chi2, df + 10 * std::sqrt(2 * std::max(df, 1.0)) + 10) << "step " << s << ": " << cells.size() << " bins";
  }
}

TEST(Speculative, SampledOutputHasPlainSamplingsDistribution) {
  ContextParams cp;
  cp.n_ctx = 96;
  Context ctx(model_for(2), cp);  // the model that falls into loops: drafts get accepted
  SpeculativeParams lookup;
  lookup.draft_max = 4;
  expect_plain_distribution(ctx, lookup);
  // A draft model (here the model itself, greedy: its pick is the likeliest sample, not the sample).
  Context draft(model_for(2), cp);
  SpeculativeParams dm;
  dm.draft_max = 3;
  dm.draft_context = &draft;
  expect_plain_distribution(ctx, dm);
}

TEST(Speculative, StopsCallbacksCandidatesAndLimitsBehaveAsWithout) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(model_for(2), cp);
  const std::string prompt = kPrompts[0];
  const GenerateResult full = generate(ctx, prompt, greedy(40));
  ASSERT_GE(full.text.size(), 12u);
  // Stop strings: one inside the text (cut there), one that never occurs.
  for (const std::string& stop : {full.text.substr(6, 3), std::string("\x01zz")}) {
    GenerateParams p = greedy(40);
    p.stop = {stop};
    expect_same_output(generate(ctx, prompt, p), generate(ctx, prompt, with_lookup(p, 8)), "stop " + stop);
  }
  // max_tokens, including ones that end inside a verify pass.
  for (int n : {1, 2, 3, 5, 9, 17}) {
    const GenerateResult plain = generate(ctx, prompt, greedy(n));
    const int past = ctx.n_past();
    expect_same_output(plain, generate(ctx, prompt, with_lookup(greedy(n), 8)), "max_tokens " + std::to_string(n));
    EXPECT_EQ(past, ctx.n_past());
  }
  // EOG (forced at step 4) ends generation with "stop", the EOS not emitted.
  GenerateParams eos = greedy(40);
  eos.forced_tokens = {full.tokens.begin(), full.tokens.begin() + 4};
  eos.forced_tokens.push_back(2);
  const GenerateResult e = generate(ctx, prompt, with_lookup(eos, 8));
  expect_same_output(generate(ctx, prompt, eos), e, "eos");
  EXPECT_EQ(e.tokens.size(), 4u);
  // on_token: pieces one by one in order, and returning false cancels after that token.
  std::vector<int> seen;
  GenerateParams cb = greedy(40);
  cb.on_token = [&](const GenerateStep& s) {
    seen.push_back(s.index);
    return s.index < 6;
  };
  const GenerateResult plain_cb = generate(ctx, prompt, cb);
  seen.clear();
  const GenerateResult spec_cb = generate(ctx, prompt, with_lookup(cb, 8));
  expect_same_output(plain_cb, spec_cb, "on_token");
  EXPECT_EQ(spec_cb.finish_reason, "cancelled");
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  // top_candidates: the same ids and probabilities (within float noise of a batched pass).
  GenerateParams tc = greedy(20);
  tc.top_candidates = 3;
  const GenerateResult a = generate(ctx, prompt, tc), b = generate(ctx, prompt, with_lookup(tc, 8));
  expect_same_output(a, b, "top_candidates");
  EXPECT_GT(b.timings.draft_accepted, 0);
  for (size_t i = 0; i < a.steps.size(); ++i) {
    ASSERT_EQ(b.steps[i].candidates.size(), 3u);
    for (size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(a.steps[i].candidates[c].id, b.steps[i].candidates[c].id);
      EXPECT_NEAR(a.steps[i].candidates[c].p, b.steps[i].candidates[c].p, 1e-3);
      EXPECT_NEAR(a.steps[i].candidates[c].logprob, b.steps[i].candidates[c].logprob, 1e-2);
    }
  }
  // A context too short for the drafts: they are cut to fit, and "length" comes as without.
  ContextParams small = cp;
  small.n_ctx = int(full.prompt_tokens.size()) + 7;
  Context sctx(model_for(2), small);
  expect_same_output(generate(sctx, prompt, greedy(0)), generate(sctx, prompt, with_lookup(greedy(0), 8)), "n_ctx");
  EXPECT_EQ(sctx.n_past(), small.n_ctx);
}

TEST(Speculative, GrammarSeesOnlyEmittedTokens) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(model_for(0), cp);
  GenerateParams g = greedy(30);
  g.grammar = Grammar::parse("root ::= (\"ab\" | \"abc\" | \" \")+ \".\"");
  const std::string prompt = "abc abc ab abc ab";
  const GenerateResult plain = generate(ctx, prompt, g);
  const GenerateResult spec = generate(ctx, prompt, with_lookup(g, 6));
  expect_same_output(plain, spec, "grammar");
  EXPECT_GT(spec.timings.draft_tokens, 0);
  for (uint64_t seed = 0; seed < 10; ++seed) {
    GenerateParams s = sampled(seed, 24);
    s.grammar = g.grammar;
    const GenerateResult r = generate(ctx, prompt, with_lookup(s, 6));
    for (char c : r.text) EXPECT_TRUE(c == 'a' || c == 'b' || c == 'c' || c == ' ' || c == '.') << r.text;
  }
}

TEST(Speculative, DraftModelOutputIsPlainDecoding) {
  ContextParams cp;
  cp.n_ctx = 160;
  // The F32 model as its own draft, without penalties: its greedy drafts are the target's picks
  // (batched and single-token passes agree bit for bit on F32 weights), so all are accepted.
  {
    Context ctx(model_for(0), cp), draft(model_for(0), cp);
    for (const std::string& prompt : kPrompts) {
      GenerateParams g = greedy(30);
      g.sampler.repeat_penalty = 1.0f;
      g.ignore_eos = true;  // a drafted EOS would end the run before it counts as accepted
      const GenerateResult plain = generate(ctx, prompt, g);
      GenerateParams p = with_lookup(g, 5);
      p.speculative.draft_context = &draft;
      const GenerateResult spec = generate(ctx, prompt, p);
      expect_same_output(plain, spec, "self draft / " + prompt);
      EXPECT_EQ(spec.timings.draft_accepted, spec.timings.draft_tokens) << prompt;
      EXPECT_GT(spec.timings.draft_tokens, 0) << prompt;
    }
  }
  // Another model with the same vocabulary drafts for the qwen2 one: the same output, drafts kept
  // and rejected; a draft context shorter than the text stops drafting instead of failing.
  ContextParams small = cp;
  small.n_ctx = 40;
  Context ctx(model_for(2), cp), other(model_for(1), cp), short_draft(model_for(1), small);
  int drafted = 0, accepted = 0;
  for (Context* d : {&other, &short_draft}) {
    for (const std::string& prompt : kPrompts) {
      const GenerateResult plain = generate(ctx, prompt, greedy(40));
      GenerateParams p = with_lookup(greedy(40), 4);
      p.speculative.draft_context = d;
      const GenerateResult spec = generate(ctx, prompt, p);
      expect_same_output(plain, spec, "other draft / " + prompt);
      drafted += spec.timings.draft_tokens;
      accepted += spec.timings.draft_accepted;
    }
  }
  EXPECT_GT(drafted, 0);
  EXPECT_LT(accepted, drafted);
  // The draft must be another context.
  GenerateParams self = with_lookup(greedy(4), 4);
  self.speculative.draft_context = &ctx;
  test::expect_error([&] { generate(ctx, "a", self); }, ErrorKind::InvalidArgument, {"draft model's context"});
}

TEST(Speculative, BadParametersAreRejected) {
  ContextParams cp;
  cp.n_ctx = 64;
  Context ctx(model_for(0), cp);
  GenerateParams p = greedy(4);
  p.speculative.draft_max = -1;
  test::expect_error([&] { generate(ctx, "a", p); }, ErrorKind::InvalidArgument, {"draft_max"});
  p = with_lookup(greedy(4), 4, 0, 3);
  test::expect_error([&] { generate(ctx, "a", p); }, ErrorKind::InvalidArgument, {"ngram_min"});
  p = with_lookup(greedy(4), 4, 3, 2);
  test::expect_error([&] { generate(ctx, "a", p); }, ErrorKind::InvalidArgument, {"ngram_max"});
  Context draft(model_for(0), cp);
  p = greedy(4);
  p.speculative.draft_context = &draft;
  test::expect_error([&] { generate(ctx, "a", p); }, ErrorKind::InvalidArgument, {"draft_max"});
  p.speculative.draft_max = 2;
  p.speculative.oracle = {5, 6};
  test::expect_error([&] { generate(ctx, "a", p); }, ErrorKind::InvalidArgument, {"oracle"});
}

}  // namespace
}  // namespace lp
