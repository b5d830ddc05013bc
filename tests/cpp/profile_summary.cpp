// Summaries of run records (no processes): statistics, groups, the cold/warm, scaling,
// front-end and bandwidth comparisons, CSV flattening and the per-run block.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "profile/records.h"
#include "profile/report.h"
#include "profile/stats.h"
#include "profile/summary.h"

namespace {

using nlohmann::json;

TEST(ProfileStats, MedianMinMaxAndCoefficientOfVariation) {
  const auto s = lp::profile::summarize({4, 1, 3, 2});
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.stddev, 1.2909944, 1e-6);
  EXPECT_NEAR(s.cv, 1.2909944 / 2.5, 1e-6);
  EXPECT_EQ(lp::profile::summarize({}).n, 0);
  EXPECT_DOUBLE_EQ(lp::profile::summarize({7}).cv, 0);
}

json run(const std::string& fe, int threads, const std::string& cache, double load, double prompt, double infer,
         double tps) {
  return {{"model_name", "m.gguf"}, {"front_end", fe},      {"n_threads", threads},   {"cache_state", cache},
          {"time_load", load},      {"time_prompt", prompt}, {"time_infer", infer},  {"time_script", load + infer + 0.1},
          {"gen_tps", tps},         {"prompt_tps", 100.0},   {"gen_gbps", 10.0 * threads},
          {"bw_limit_gbps", 40.0},  {"pct_bw_limit", 25.0 * threads}, {"bytes_per_token", 1e6},
          {"threads", {{"busy", 0.5}, {"spin", 0.3}, {"sleep", 0.2}}},
          {"cpu", {{"gen", {{"util", 1.0}}}}}};
}

TEST(ProfileSummary, ComparesColdWarmThreadsFrontEndsAndBandwidth) {
  std::vector<json> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(run("cli", 1, "cold", 0.4, 0.6, 1.0, 50));
    runs.push_back(run("cli", 1, "warm", 0.1, 0.1, 0.5, 50));
    runs.push_back(run("cli", 2, "warm", 0.1, 0.1, 0.3, 80));
    runs.push_back(run("python", 2, "warm", 0.12, 0.1, 0.33, 76));
  }
  // The CLI runs say how much of the model sat on 2 MiB pages; the Python ones do not here.
  for (json& r : runs) {
    if (r["front_end"] == "cli") r["weights_huge_pages_pct"] = r["n_threads"] == 1 ? 40.0 : 100.0;
  }
  const json s = lp::profile::summarize_runs(runs);
  EXPECT_EQ(s["n_runs"], 12);
  EXPECT_EQ(s["groups"].size(), 4u);
  ASSERT_EQ(s["cold_warm"].size(), 1u);  // only the cli front end has both states
  EXPECT_NEAR(s["cold_warm"][0]["load_ratio"].get<double>(), 4.0, 1e-9);
  EXPECT_NEAR(s["cold_warm"][0]["first_token_ratio"].get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(s["headline"]["thread_scaling"].get<double>(), 80.0 / 50.0, 1e-9);
  EXPECT_NEAR(s["headline"]["front_end_gap"].get<double>(), 0.33 / 0.3, 1e-9);
  EXPECT_NEAR(s["headline"]["pct_bw_limit"].get<double>(), 50.0, 1e-9);
  // Medians over the runs that carry the share (2 threads: cli 100%, python runs left out).
  ASSERT_EQ(s["bandwidth"].size(), 2u);
  EXPECT_NEAR(s["bandwidth"][0]["huge_pages_pct"].get<double>(), 40.0, 1e-9);
  EXPECT_NEAR(s["bandwidth"][1]["huge_pages_pct"].get<double>(), 100.0, 1e-9);
  const std::string text = lp::profile::summary_text(s);
  for (const char* part : {"== Summary", "== Cold against warm", "== Thread scaling", "== Front-end gap", "1.100x",
                           "== Memory bandwidth", "on 2 MiB pages", "40%"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
}

TEST(ProfileRecords, JsonlRoundTripCsvAndRunBlock) {
  const auto dir = std::filesystem::current_path() / "profile-records-test";
  std::filesystem::create_directories(dir);
  std::vector<json> runs = {run("cli", 1, "warm", 0.1, 0.1, 0.5, 50)};
  runs[0]["output"] = "a, \"quoted\"\nline";
  runs[0]["model_num"] = 1;
  runs[0]["iter"] = 1;
  lp::profile::write_jsonl((dir / "r.jsonl").string(), runs);
  EXPECT_EQ(lp::profile::read_jsonl((dir / "r.jsonl").string()), runs);
  lp::profile::write_csv((dir / "r.csv").string(), runs);
  std::ifstream f(dir / "r.csv");
  std::string header;
  std::getline(f, header);
  EXPECT_NE(header.find("threads.busy"), std::string::npos) << header;
  EXPECT_NE(header.find("cpu.gen.util"), std::string::npos) << header;
  const std::string rest((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(rest.find("\"a, \"\"quoted\"\"\nline\""), std::string::npos) << rest;
  const std::string block = lp::profile::run_block(runs[0]);
  EXPECT_EQ(block.rfind("### MODEL_NUM: 1 | ITER: 1 ###\n", 0), 0u) << block;
  EXPECT_NE(block.find("output:       a, \"quoted\" line"), std::string::npos) << block;

  {
    std::ofstream bad(dir / "bad.jsonl");
    bad << "{\"run\": 1}\nnot json\n";
  }
  try {
    lp::profile::read_jsonl((dir / "bad.jsonl").string());
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

TEST(ProfileReport, ScriptSafeKeepsScriptsClosedOnlyWhereMeant) {
  EXPECT_EQ(lp::profile::script_safe("a</script>b"), "a<\\/script>b");
  EXPECT_EQ(lp::profile::script_safe("x<!--y"), "x<\\x21--y");
  EXPECT_EQ(lp::profile::script_safe("1 < 2"), "1 < 2");
}

}  // namespace
