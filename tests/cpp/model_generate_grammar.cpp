// generate() with a grammar on a tiny random model (byte tokens cover every character): outputs
// stay in the language, generation ends when nothing can follow, EOS only when complete, forced
// tokens are checked, and stop strings still apply.
// GCC 12 warns falsely (-Wmaybe-uninitialized) inside libstdc++'s <regex> automaton (std::function
// members) when this file is built with the sanitizers; the checks below only need std::regex_match.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/generate.h"
#include "llamaprof/model.h"
#include "model_test_util.h"
#include "sampling/grammar.h"

namespace lp {
namespace {

const Model& tiny_model() {
  static Model m = Model::load(test::write_tiny_model(test::temp_path("grammar.gguf")));
  return m;
}

GenerateParams sampled(uint64_t seed, const char* gbnf, int max_tokens = 32) {
  GenerateParams p;
  p.max_tokens = max_tokens;
  p.sampler.temperature = 1.0f;
  p.sampler.top_k = 0;
  p.sampler.top_p = 1.0f;
  p.sampler.min_p = 0.0f;
  p.sampler.repeat_penalty = 1.0f;
  p.sampler.seed = seed;
  p.grammar = Grammar::parse(gbnf);
  return p;
}

TEST(GenerateGrammar, OutputsStayInTheLanguageAndStopWhenComplete) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(tiny_model(), cp);
  const std::regex lang("ab[0-9]{1,3}!");
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const GenerateResult r = generate(ctx, "the", sampled(seed, "root ::= \"ab\" [0-9]{1,3} \"!\""));
    EXPECT_TRUE(std::regex_match(r.text, lang)) << r.text;
    EXPECT_EQ(r.finish_reason, "stop");  // nothing can follow "!": no EOS needed
    EXPECT_LE(r.tokens.size(), 6u);
  }
}

TEST(GenerateGrammar, EndOfGenerationOnlyWhenComplete) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(tiny_model(), cp);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const GenerateResult r = generate(ctx, "a", sampled(seed, "root ::= [a-z]+ | \"0\" [1-9]", 12));
    if (r.finish_reason == "stop") {  // EOS (or nothing can follow): the text is complete
      EXPECT_TRUE(std::regex_match(r.text, std::regex("[a-z]+|0[1-9]"))) << r.text;
    } else {
      EXPECT_EQ(r.finish_reason, "length");
      EXPECT_TRUE(std::regex_match(r.text, std::regex("[a-z]*|0[1-9]?"))) << r.text;
    }
  }
  // Greedy gives the same text every time, and it is in the language.
  GenerateParams g = sampled(0, "root ::= \"the\" \" \"? [a-z]{2}");
  g.sampler.temperature = 0.0f;
  const GenerateResult a = generate(ctx, "a", g), b = generate(ctx, "a", g);
  EXPECT_EQ(a.text, b.text);
  EXPECT_TRUE(std::regex_match(a.text, std::regex("the ?[a-z]{2}"))) << a.text;
}

TEST(GenerateGrammar, ForcedTokensAreCheckedAndStopStringsStillApply) {
  ContextParams cp;
  cp.n_ctx = 128;
  Context ctx(tiny_model(), cp);
  GenerateParams forced = sampled(1, "root ::= \"x\"+");
  forced.forced_tokens = tiny_model().tokenize("y", false);
  test::expect_error([&] { generate(ctx, "a", forced); }, ErrorKind::InvalidArgument, {"not allowed"});
  GenerateParams stop = sampled(1, "root ::= \"xyz\"");
  stop.stop = {"y"};
  const GenerateResult r = generate(ctx, "a", stop);
  EXPECT_EQ(r.text, "x");
  EXPECT_EQ(r.finish_reason, "stop");
  // An empty language: generation ends at once, with no token.
  const GenerateResult none = generate(ctx, "a", sampled(1, "root ::= \"\""));
  EXPECT_TRUE(none.tokens.empty());
  EXPECT_EQ(none.finish_reason, "stop");
}

}  // namespace
}  // namespace lp
