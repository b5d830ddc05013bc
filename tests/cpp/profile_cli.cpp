// `llamaprof profile`, `report` and `bench` end to end on the tiny preset: the matrix yields the
// expected runs with every field, traces and CSV; bad arguments, a missing model and a corrupt
// model each fail with a message naming the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "profile/records.h"
#include "profile/spawn.h"

namespace {

namespace fs = std::filesystem;
using lp::profile::ChildResult;
using lp::profile::run_child;

// On the build directory's disk (tmpfs would never evict), shared by the tests of this file.
fs::path work_dir() {
  const fs::path dir = fs::current_path() / "profile-cli-test";
  fs::create_directories(dir);
  return dir;
}

ChildResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), LLAMAPROF_CLI);
  return run_child(args);
}

// ctest runs this file's tests in parallel processes; a test that evicts its model needs a file
// that no other test maps at the same time, so each caller names its own copy.
std::string tiny_model(const std::string& file = "tiny-q4_0.gguf") {
  const fs::path p = work_dir() / file;
  if (!fs::exists(p)) {
    const ChildResult r = cli({"make-model", "--preset", "tiny", "--type", "Q4_0", "-o", p.string()});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  }
  return p.string();
}

size_t count_lines(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  size_t n = 0;
  while (std::getline(f, line)) n += !line.empty();
  return n;
}

TEST(ProfileCli, MatrixRunsEveryConfigurationWithEveryField) {
  const fs::path out = work_dir() / "matrix";
  fs::remove_all(out);
  const ChildResult r = cli({"profile", tiny_model("tiny-q4_0-matrix.gguf"), "--iterations", "2", "--threads", "1,2", "--front-ends", "cli",
                             "--cache", "cold,warm", "--max-tokens", "8", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  // The seed's per-run block, then the summary tables.
  EXPECT_NE(r.stdout_text.find("### MODEL_NUM: 1 | ITER: 2 ###"), std::string::npos) << r.stdout_text;
  for (const char* part : {"time_load:", "time_infer:", "time_script:", "comp_tokens:", "N_THREADS:", "MAX_TOKENS:",
                           "model_fn:", "output:", "== Summary", "== Cold against warm", "== Thread scaling",
                           "== Memory bandwidth", "weights on 2 MiB pages"}) {
    EXPECT_NE(r.stdout_text.find(part), std::string::npos) << part;
  }

  const auto runs = lp::profile::read_jsonl((out / "runs.jsonl").string());
  ASSERT_EQ(runs.size(), 2u * 2u * 2u);  // iterations x threads x cache states (one front end)
  int cold = 0;
  for (const auto& run : runs) {
    for (const char* key :
         {"run", "model_num", "iter", "front_end", "n_threads", "max_tokens", "model_fn", "output", "time_load",
          "time_prompt", "time_infer", "time_script", "prompt_tokens", "comp_tokens", "prompt_tps", "gen_tps",
          "cpu_user_s", "cpu_sys_s", "cpu_util_pct", "peak_rss_mb", "residency_pct", "cache", "cache_state",
          "bytes_per_token", "gen_gbps", "bw_limit_gbps", "pct_bw_limit", "trace_file", "threads", "cpu",
          "weights_huge_pages_pct"}) {
      EXPECT_TRUE(run.contains(key)) << "run " << run.value("run", 0) << " lacks " << key;
    }
    for (const char* phase : {"load", "prompt", "gen"}) {
      EXPECT_TRUE(run["cpu"].contains(phase)) << phase;
      EXPECT_TRUE(run["cpu"][phase].contains("util")) << phase;
    }
    for (const char* share : {"busy", "spin", "sleep"}) EXPECT_TRUE(run["threads"].contains(share)) << share;
    EXPECT_EQ(run["comp_tokens"].get<int>() <= 8, true);
    EXPECT_GT(run["time_script"].get<double>(), run["time_infer"].get<double>());
    EXPECT_GT(run["peak_rss_mb"].get<double>(), 0.0);
    EXPECT_GT(run["gen_gbps"].get<double>(), 0.0);
    // How much of the file the page cache holds in 2 MiB folios depends on its history.
    EXPECT_GE(run["weights_huge_pages_pct"].get<double>(), 0.0);
    EXPECT_LE(run["weights_huge_pages_pct"].get<double>(), 100.0);
    if (run["cache"] == "cold") {
      ++cold;
      // Evicted right before the process started (the tiny file is not mapped by anyone else).
      EXPECT_EQ(run["eviction"], "complete");
      EXPECT_LT(run["residency_pct"].get<double>(), 5.0);
    } else {
      EXPECT_GT(run["residency_pct"].get<double>(), 95.0);
    }
    // One trace line per generated token.
    EXPECT_EQ(count_lines(out / run["trace_file"].get<std::string>()), size_t(run["comp_tokens"].get<int>()));
  }
  EXPECT_EQ(cold, 4);
  EXPECT_EQ(count_lines(out / "runs.csv"), runs.size() + 1);  // header + one row per run
  EXPECT_TRUE(fs::exists(out / "summary.json"));

  // A trace line has the `llamaprof run --trace` format.
  std::ifstream trace(out / runs[0]["trace_file"].get<std::string>());
  std::string line;
  ASSERT_TRUE(std::getline(trace, line));
  const auto step = nlohmann::json::parse(line);
  for (const char* key : {"index", "id", "text", "latency_ms", "candidates"}) EXPECT_TRUE(step.contains(key)) << key;
  ASSERT_EQ(step["candidates"].size(), 10u);
  EXPECT_TRUE(step["candidates"][0].contains("p"));
}

TEST(ProfileCli, BadArgumentsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"profile", tiny_model(), "--iterations", "0"},
        std::vector<std::string>{"profile", tiny_model(), "--cache", "lukewarm"},
        std::vector<std::string>{"profile", tiny_model(), "--front-ends", "rust"},
        std::vector<std::string>{"profile", tiny_model(), "--threads", "0"},
        std::vector<std::string>{"profile", tiny_model(), "--iterations", "many"}}) {
    const ChildResult r = cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[2] << " " << args[3] << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(args[2]), std::string::npos) << "message should name " << args[2] << ": " << r.stderr_text;
  }
}

TEST(ProfileCli, MissingAndCorruptModelsAreNamed) {
  const std::string missing = (work_dir() / "no-such-model.gguf").string();
  ChildResult r = cli({"profile", missing, "--out", (work_dir() / "missing").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("not found"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(missing), std::string::npos) << r.stderr_text;

  const fs::path corrupt = work_dir() / "corrupt.gguf";
  {
    std::ofstream f(corrupt, std::ios::binary | std::ios::trunc);
    f << "GGUF this is not a model at all";
  }
  r = cli({"profile", corrupt.string(), "--out", (work_dir() / "corrupt").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("corrupt.gguf"), std::string::npos) << r.stderr_text;

  r = cli({"bench", "-m", missing, "-r", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find(missing), std::string::npos) << r.stderr_text;

  r = cli({"report", (work_dir() / "no-runs.jsonl").string(), "-o", (work_dir() / "r.html").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("no-runs.jsonl"), std::string::npos) << r.stderr_text;
}

TEST(ProfileCli, BenchPrintsALlamaBenchTable) {
  const ChildResult r = cli({"bench", "-m", tiny_model(), "-t", "1", "-p", "16", "-n", "4", "-r", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  for (const char* part : {"| model", " size |", " params |", "| backend", " threads |", " test |", " t/s |", "pp16", "tg4",
                           "load cold", "load warm", "ttft p16", "CPU ("}) {
    EXPECT_NE(r.stdout_text.find(part), std::string::npos) << part << "\n" << r.stdout_text;
  }
  EXPECT_EQ(r.stdout_text.find("n_batch"), std::string::npos) << "one batch size: no n_batch column";
  const ChildResult j = cli({"bench", "-m", tiny_model(), "-t", "1", "-p", "8", "-n", "2", "-r", "1", "--no-load",
                             "--no-ttft", "-o", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.stderr_text;
  const auto rows = nlohmann::json::parse(j.stdout_text);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["test"], "pp8");
  EXPECT_EQ(rows[1]["test"], "tg2");
  EXPECT_GT(rows[1]["mean"].get<double>(), 0.0);
}

}  // namespace
