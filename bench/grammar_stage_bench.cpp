// The grammar stage's cost per generated token, without a forward pass: filtering the whole
// vocabulary (what a random-weight model needs at nearly every step) and checking one token (what a
// trained model's pick usually needs), at typical json.gbnf states, on a real vocabulary.
//
//   build/bench/grammar_stage_bench [--benchmark_filter=...]      LLAMAPROF_BENCH_MODEL=FILE.gguf
//
// The vocabulary comes from a GGUF file (default build/test-models/tiny-Q8_0-s0.gguf: Llama 2's
// 32000 tokens; any model works, e.g. a Qwen-vocabulary one for 150k tokens). Compare the filter
// time with a 7B decode step (~130-150 ms on 2 cores) for the 5% budget.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "llamaprof/model.h"
#include "sampling/grammar.h"
#include "sampling/grammar_stage.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Fixture {
  std::shared_ptr<const lp::Grammar> grammar;
  std::shared_ptr<const lp::GrammarVocab> vocab;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    const char* env = std::getenv("LLAMAPROF_BENCH_MODEL");
    const std::string model_path = env ? env : std::string(LLAMAPROF_SOURCE_DIR) + "/build/test-models/tiny-Q8_0-s0.gguf";
    static lp::Model model = lp::Model::load(model_path);
    Fixture out;
    out.grammar = lp::Grammar::parse(read_file(std::string(LLAMAPROF_SOURCE_DIR) +
                                               "/tools/oracle/generated/llama.cpp/grammars/json.gbnf"));
    out.vocab = model.grammar_vocab();
    return out;
  }();
  return f;
}

// A stage advanced through `text`, one single-character token at a time.
lp::GrammarStage stage_at(const std::string& text) {
  const Fixture& f = fixture();
  lp::GrammarStage st(f.grammar, f.vocab);
  for (char c : text) {
    int32_t id = -1;
    for (size_t i = 0; i < f.vocab->size() && id < 0; ++i) {
      if (f.vocab->piece(int32_t(i)) == std::string(1, c)) id = int32_t(i);
    }
    if (id < 0) throw std::runtime_error(std::string("no single-character token for '") + c + "'");
    st.accept(id);
  }
  return st;
}

const char* const kStates[] = {"{", "{\"", "{\"a\": ", "{\"a\": 1", "{\"a\": [tr"};

void BM_Filter(benchmark::State& state) {
  lp::GrammarStage st = stage_at(kStates[state.range(0)]);
  std::vector<uint8_t> allowed;
  size_t n = 0;
  for (auto _ : state) {
    st.allowed_tokens(allowed);
    benchmark::DoNotOptimize(allowed.data());
  }
  for (uint8_t a : allowed) n += a;
  state.SetLabel(std::string("after '") + kStates[state.range(0)] + "': " + std::to_string(n) + " tokens allowed");
}
BENCHMARK(BM_Filter)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_CheckOne(benchmark::State& state) {
  lp::GrammarStage st = stage_at(kStates[state.range(0)]);
  const int32_t n_vocab = int32_t(fixture().vocab->size());
  int32_t id = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(st.allows(id));
    id = (id + 7919) % n_vocab;  // a spread of tokens, as picks would be
  }
  state.SetLabel(std::string("after '") + kStates[state.range(0)] + "'");
}
BENCHMARK(BM_CheckOne)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
