// The profiler's engine plumbing without spawning engines: llama.cpp's log parsed (the format of
// the pinned bundle's common_perf_print and system_info lines), vector features a build lacks,
// /proc task stat lines, machine noise, bootstrap intervals (reproducible), --shard parsing, the
// last JSON line of a worker's output, and findings from made-up summaries.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "llamaprof/error.h"
#include "profile/engine.h"
#include "profile/engine_llama_cpp.h"
#include "profile/findings.h"
#include "profile/matrix.h"
#include "profile/proc_monitor.h"
#include "profile/stats.h"
#include "profile/summary.h"

namespace {

using nlohmann::json;
namespace pf = lp::profile;

// As llama-completion of the pinned bundle prints them (stderr not a terminal: with prefixes).
const char* kLog =
    "0.00.081.145 I system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | "
    "AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | \n"
    "0.00.080.250 I generate: n_ctx = 2048, n_batch = 512, n_predict = 8, n_keep = 1\n"
    "0.00.088.117 I common_perf_print:    sampling time =       1.52 ms\n"
    "0.00.088.119 I common_perf_print:    samplers time =       1.02 ms /    11 tokens\n"
    "0.00.088.125 I common_perf_print:        load time =      24.82 ms\n"
    "0.00.088.127 I common_perf_print: prompt eval time =       0.83 ms /     3 tokens (    0.28 ms per token,  "
    "3631.96 tokens per second)\n"
    "0.00.088.129 I common_perf_print:        eval time =       4.32 ms /     7 runs   (    0.62 ms per token,  "
    "1620.37 tokens per second)\n"
    "0.00.088.129 I common_perf_print:       total time =       7.10 ms /    10 tokens\n";

TEST(ProfileLlamaCpp, ParsesPerfLinesAndSystemInfo) {
  const json j = pf::parse_llama_cpp_log(kLog);
  EXPECT_DOUBLE_EQ(j["load_ms"].get<double>(), 24.82);
  EXPECT_DOUBLE_EQ(j["prompt_ms"].get<double>(), 0.83);
  EXPECT_EQ(j["prompt_tokens"], 3);
  EXPECT_DOUBLE_EQ(j["eval_ms"].get<double>(), 4.32);  // not the prompt eval line
  EXPECT_EQ(j["eval_runs"], 7);
  EXPECT_DOUBLE_EQ(j["sampling_ms"].get<double>(), 1.52);
  EXPECT_EQ(j["sample_tokens"], 11);
  EXPECT_DOUBLE_EQ(j["total_ms"].get<double>(), 7.10);
  EXPECT_EQ(j["build_features"], json({"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "LLAMAFILE", "OPENMP", "REPACK"}));
  EXPECT_EQ(j["system_info"].get<std::string>().rfind("system_info:", 0), 0u);
  // The log's clock (minutes.seconds.ms.us) at the phase boundaries.
  EXPECT_NEAR(j["log_generate_s"].get<double>(), 0.080250, 1e-9);
  EXPECT_NEAR(j["log_perf_s"].get<double>(), 0.088117, 1e-9);
  // llama_perf_context_print's spelling and no prefix; a log with none of it.
  const json k = pf::parse_llama_cpp_log("llama_perf_context_print:        load time =  5.00 ms\n");
  EXPECT_DOUBLE_EQ(k["load_ms"].get<double>(), 5.0);
  EXPECT_TRUE(pf::parse_llama_cpp_log("hello\nworld\n").empty());
}

TEST(ProfileLlamaCpp, MissingVectorFeaturesAreThoseThisCpuHas) {
  // A build with nothing lacks everything usable here; a build with everything lacks nothing.
  const auto none = pf::missing_vector_features({});
  const auto all = pf::missing_vector_features(
      {"AVX", "AVX2", "FMA", "F16C", "AVX_VNNI", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"});
  EXPECT_TRUE(all.empty());
  for (const auto& f : none) EXPECT_FALSE(f.empty());
  EXPECT_EQ(pf::find_llama_completion("/nonexistent/dir"), "");
}

TEST(ProfileProc, ParsesTaskStatWithSpacesInTheName) {
  std::string name;
  long long ut = 0, st = 0;
  ASSERT_TRUE(pf::parse_task_stat("1234 (ggml worker) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0", name, ut, st));
  EXPECT_EQ(name, "ggml worker");
  EXPECT_EQ(ut, 250);
  EXPECT_EQ(st, 30);
  EXPECT_FALSE(pf::parse_task_stat("garbage", name, ut, st));
}

TEST(ProfileProc, SamplesThisProcessesThreadsAndTheMachine) {
  const pf::MachineSample a = pf::machine_sample();
  pf::ThreadSampler s(getpid());
  std::thread t([] {
    volatile double x = 0;
    for (int i = 0; i < 20000000; ++i) x = x + 1;
  });
  t.join();
  s.sample();
  const json threads = s.threads_json(1.0);
  ASSERT_FALSE(threads.empty());
  EXPECT_TRUE(threads[0].contains("cpu_s"));
  EXPECT_GT(s.peak_rss_mb(), 0);
  const pf::MachineSample b = pf::machine_sample();
  const json n = pf::noise_json(a, b, 0.0);
  for (const char* k : {"loadavg1_before", "steal_pct", "others_cpu_s", "disturbed"}) EXPECT_TRUE(n.contains(k)) << k;
  EXPECT_FALSE(pf::host_name().empty());
}

TEST(ProfileStats, BootstrapIntervalsAreReproducibleAndContainTheMedian) {
  const std::vector<double> v = {10, 11, 9, 10.5, 10.2, 9.8, 30};
  const pf::Interval a = pf::bootstrap_median(v), b = pf::bootstrap_median(v);
  EXPECT_DOUBLE_EQ(a.lo, b.lo);
  EXPECT_DOUBLE_EQ(a.hi, b.hi);
  EXPECT_DOUBLE_EQ(a.median, 10.2);
  EXPECT_LE(a.lo, a.median);
  EXPECT_GE(a.hi, a.median);
  EXPECT_LT(a.hi, 30);  // the median resists the outlier
  const pf::Interval one = pf::bootstrap_median({5});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(one.lo, 5);
  const pf::Interval r = pf::bootstrap_ratio({2, 2.1, 1.9, 2}, {1, 1.05, 0.95, 1});
  EXPECT_NEAR(r.median, 2.0, 1e-9);
  EXPECT_GT(r.lo, 1.5);
  EXPECT_LT(r.hi, 2.5);
  EXPECT_EQ(pf::bootstrap_ratio({1}, {}).n, 0);
}

TEST(ProfileMatrix, ParsesShards) {
  EXPECT_EQ(pf::parse_shard("2/3"), std::make_pair(2, 3));
  for (const char* bad : {"0/2", "3/2", "1", "a/b", "1/2x", "/2"}) {
    EXPECT_THROW(pf::parse_shard(bad), lp::Error) << bad;
  }
}

TEST(ProfileEngine, LastJsonLineAndUnknownEngines) {
  EXPECT_EQ(pf::last_json_line("noise\n{\"a\": 1}\n{broken\n")["a"], 1);
  EXPECT_TRUE(pf::last_json_line("no json here").is_null());
  pf::EngineConfig c;
  EXPECT_THROW(pf::make_engine("vllm", c), lp::Error);
  EXPECT_THROW(pf::make_engine("https://x/v1", c), lp::Error);
  EXPECT_THROW(pf::make_engine("http://:80/v1", c), lp::Error);
  EXPECT_EQ(pf::make_engine("cli", c)->name(), "llamaprof");
  EXPECT_EQ(pf::make_engine("python", c)->name(), "llamaprof-python");
  EXPECT_FALSE(pf::make_engine("http://127.0.0.1:8080/v1", c)->spawns());
}

json rec(const std::string& engine, int threads, double infer, double tps, double cores) {
  return {{"status", "ok"},        {"model_name", "m.gguf"}, {"front_end", engine},  {"engine", engine},
          {"n_threads", threads},  {"cache_state", "warm"},  {"time_load", 0.1},     {"time_prompt", 0.01},
          {"time_infer", infer},   {"comp_tokens", 10},      {"max_tokens", 10},     {"gen_tps", tps},
          {"cpu_util_pct", 100 * cores}, {"host", "h1"}};
}

TEST(ProfileFindings, EngineSpeedWithIntervalsFailuresAndSpinning) {
  std::vector<json> runs;
  for (double d : {0.0, 0.01, -0.01, 0.005, -0.005}) {
    runs.push_back(rec("cli", 1, 1.0 + d, 10, 1.0));
    runs.push_back(rec("cli", 2, 0.9 + d, 11, 2.0));
    runs.push_back(rec("llama.cpp", 1, 0.8 + d, 12, 1.0));
  }
  runs.push_back({{"status", "failed"}, {"failure", "exit code 1: boom"}, {"engine", "llama.cpp"},
                  {"front_end", "llama.cpp"}, {"run", 99}, {"model_name", "m.gguf"}});
  const json s = pf::summarize_runs(runs);
  EXPECT_EQ(s["n_failed"], 1);
  ASSERT_FALSE(s["engine_ratios"].empty());
  const json& ratio = s["engine_ratios"][0]["ratio"];
  EXPECT_NEAR(ratio["value"].get<double>(), 0.8, 1e-9);
  EXPECT_LT(ratio["ci_hi"].get<double>(), 1.0);
  std::map<std::string, std::string> text;
  for (const json& f : s["findings"]) text[f["kind"]] += f["text"].get<std::string>();
  EXPECT_NE(text["failures"].find("boom"), std::string::npos);
  EXPECT_NE(text["engine_speed"].find("llama.cpp is faster than cli"), std::string::npos) << text["engine_speed"];
  EXPECT_NE(text["engine_speed"].find("95% CI"), std::string::npos);
  // Twice the CPU for 1.1x the speed: most of the extra CPU bought nothing.
  EXPECT_NE(text["thread_efficiency"].find("bought nothing"), std::string::npos) << text["thread_efficiency"];
  EXPECT_NE(pf::summary_text(s).find("== Findings =="), std::string::npos);
  // Every pair of engines: cli / llama.cpp only here (one pair).
  EXPECT_EQ(s["engine_ratios"].size(), 1u);
  EXPECT_NE(pf::summary_text(s).find("== Failed runs =="), std::string::npos);
}

TEST(ProfileFindings, EngineSpeedSaysWhenOnlyOneEngineRecordedCandidates) {
  auto runs_with = [](int cli_candidates) {
    std::vector<json> runs;
    for (double d : {0.0, 0.01, -0.01}) {
      json a = rec("cli", 1, 1.0 + d, 10, 1.0), b = rec("llama.cpp", 1, 0.8 + d, 12, 1.0);
      a["candidates_per_token"] = cli_candidates;
      b["candidates_per_token"] = 0;
      runs.push_back(a);
      runs.push_back(b);
    }
    std::string text;
    const json summary = pf::summarize_runs(runs);  // named: a range-for over a temporary's member dangles
    for (const json& f : summary["findings"]) {
      if (f["kind"] == "engine_speed") text += f["text"].get<std::string>();
    }
    return text;
  };
  const std::string unequal = runs_with(10), equal = runs_with(0);
  EXPECT_NE(unequal.find("not like for like: llama.cpp recorded none, cli recorded the top 10 candidates"),
            std::string::npos) << unequal;
  EXPECT_NE(unequal.find("--top 0"), std::string::npos);
  EXPECT_EQ(equal.find("not like for like"), std::string::npos) << equal;
  EXPECT_NE(equal.find("llama.cpp is faster than cli"), std::string::npos) << equal;
}

}  // namespace
