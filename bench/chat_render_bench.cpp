// Chat template rendering time for the three largest templates llama.cpp ships, on conversations of
// 2 to 32 messages (user/assistant turns after a system message); items/s is messages per second.
//   build/bench/chat_render_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "llamaprof/chat.h"

namespace {

const char* kTemplates[] = {"openai-gpt-oss-120b.jinja", "google-gemma-4-31B-it.jinja", "Kimi-K3.jinja"};

std::string read(const std::string& name) {
  std::ifstream in(std::string(LLAMAPROF_SOURCE_DIR) + "/tools/oracle/generated/llama.cpp/models/templates/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::ordered_json conversation(int n_messages) {
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  msgs.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int i = 1; i < n_messages; ++i) {
    bool user = i % 2 == 1;
    msgs.push_back({{"role", user ? "user" : "assistant"},
                    {"content", user ? "Question " + std::to_string(i) + ": what is the next step?"
                                     : "Answer " + std::to_string(i) + ": take the next step carefully."}});
  }
  return {{"messages", msgs}, {"add_generation_prompt", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"},
          {"tools", nullptr}, {"documents", nullptr}};
}

void BM_Render(benchmark::State& state, const char* name) {
  std::string src = read(name);
  if (src.empty()) {
    state.SkipWithError("template not found (run scripts/setup)");
    return;
  }
  auto t = lp::ChatTemplate::parse(src);
  auto ctx = conversation(static_cast<int>(state.range(0)));
  lp::ChatRenderOptions opt;
  opt.now_unix = 1721995200;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = t.render(ctx, opt);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["out_bytes"] = static_cast<double>(bytes);
}

void BM_Parse(benchmark::State& state, const char* name) {
  std::string src = read(name);
  for (auto _ : state) benchmark::DoNotOptimize(lp::ChatTemplate::parse(src));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(src.size()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_Parse, gpt_oss, kTemplates[0]);
BENCHMARK_CAPTURE(BM_Parse, gemma4, kTemplates[1]);
BENCHMARK_CAPTURE(BM_Parse, kimi_k3, kTemplates[2]);
BENCHMARK_CAPTURE(BM_Render, gpt_oss, kTemplates[0])->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Render, gemma4, kTemplates[1])->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_CAPTURE(BM_Render, kimi_k3, kTemplates[2])->Arg(2)->Arg(8)->Arg(32);
BENCHMARK_MAIN();
