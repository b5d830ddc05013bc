// `llamaprof bench`: llama-bench's tests (pp: prompt processing of p tokens in batches of b; tg:
// generation of n tokens one at a time, both from an empty context with synthetic token ids) over
// models x threads x batch sizes, r repetitions after a warm-up, mean ± standard deviation.
// Plus what llama-bench lacks: the cold load (page cache evicted, then a fresh process loads the
// model and builds its context), the warm load likewise, and the time to the first token of a
// p-token text prompt through generate().
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<int> threads;         // empty: physical cores
  std::vector<int> batch_sizes = {512};
  std::vector<int> prompt_lengths = {512};  // 0 entries are skipped
  std::vector<int> gen_lengths = {128};     // 0 entries are skipped
  int repetitions = 5;
  bool load_tests = true;           // load cold / load warm, each in a fresh process
  bool ttft_tests = true;           // time to first token for each prompt length
  std::string cli;                  // llamaprof executable for the load tests (default: this one)
};

struct BenchRow {
  std::string model;       // file name
  std::string type;        // most common matrix type
  uint64_t size_bytes = 0; // tensor data
  uint64_t n_params = 0;
  std::string backend;     // "CPU (AVX512)"
  int threads = 0;
  int n_batch = 0;
  std::string test;        // pp512, tg128, load cold, load warm, ttft p512
  std::string unit;        // "t/s" or "ms"
  std::vector<double> samples;
  double mean = 0, stddev = 0;
};

// Checks the options (InvalidArgument) and the models (FileNotFound, InvalidFile), then runs.
// `on_row` is called as each row completes (progress).
std::vector<BenchRow> run_bench(const BenchOptions& options, const std::function<void(const BenchRow&)>& on_row);

std::string bench_markdown(const std::vector<BenchRow>& rows);
std::string bench_csv(const std::vector<BenchRow>& rows);
nlohmann::json bench_json(const std::vector<BenchRow>& rows);

}  // namespace lp::profile
