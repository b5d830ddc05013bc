// `llamaprof profile`: the matrix models x cache states x threads x engines x iterations, each
// run a fresh process of one engine (engine.h: llamaprof's CLI and Python workers, llama.cpp's
// llama-completion, llama-cpp-python, an OpenAI-compatible server). The parent prepares the page
// cache, spawns the engine, measures it from outside (wall time, wait4 CPU, per-thread CPU and
// VmHWM sampled from /proc, machine noise) and completes its record with residency, roofline and
// trace figures. A run that fails is recorded with its reason and the matrix goes on.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

struct MatrixOptions {
  std::vector<std::string> models;       // empty: the demo models
  int iterations = 3;
  std::vector<int> threads;              // empty: 1 .. physical cores
  int max_tokens = 64;
  std::string prompt;
  std::vector<std::string> cache_modes = {"cold", "warm"};  // each of cold | warm | as-is
  // Engines (engine.h); "cli" and "python" (--front-ends) are llamaprof and llamaprof-python.
  std::vector<std::string> front_ends = {"llamaprof", "llamaprof-python"};
  bool front_ends_given = false;         // false: an unavailable default engine is dropped with a note
  std::string llama_cpp_dir;             // --llama-cpp: where llama-completion is
  int server_pid = 0;                    // --server-pid: the HTTP engine's server, measured from /proc
  double timeout_s = 600;                // per run; 0: none
  bool until_stable = false;             // repeat a cell until its time_infer CI is within 2% ...
  int max_iterations = 20;               // ... or this many iterations
  double stable_rel_half_width = 0.02;
  int shard_index = 1, shard_count = 1;  // --shard K/N: the cells with index % N == K - 1
  std::string out_dir = "out/profile";
  int top_candidates = 10;
  uint64_t seed = 42;
  int n_ctx = 0;                         // 0: kDefaultCtx for every engine
  int draft_max = 0;                     // speculative decoding by prompt lookup (llamaprof engines only)
  std::string cli;                       // the llamaprof executable (default: this process's)
  std::string python = "python3";
  std::string python_path;               // PYTHONPATH for the Python worker (default: found beside the CLI)
};

// Checks the options (InvalidArgument naming the bad one), the engines (an explicitly requested
// engine that is not installed fails here, naming why) and every model (FileNotFound /
// InvalidFile from loading it), then runs the matrix. `on_run` gets each finished record (to
// print the per-run block) and `note` one-line messages (eviction incomplete, demo models made,
// front end dropped). Writes runs.jsonl, runs.csv, summary.json and traces/run-NNNN.jsonl under
// out_dir. Returns the records.
std::vector<nlohmann::json> run_matrix(const MatrixOptions& options,
                                       const std::function<void(const nlohmann::json&)>& on_run,
                                       const std::function<void(const std::string&)>& note);

// The default PYTHONPATH for the Python worker: $LLAMAPROF_PYTHONPATH, else the build tree's
// python/pkg next to the CLI's tools/cli directory, else empty (the interpreter's own path).
std::string default_python_path(const std::string& cli);

// "K/N" -> (K, N); InvalidArgument unless 1 <= K <= N.
std::pair<int, int> parse_shard(const std::string& text);

// The context length every engine gets when --ctx is 0 (each has its own default otherwise).
constexpr int kDefaultCtx = 2048;

// The prompt used when none is given (the seed's question).
const std::string& default_prompt();

}  // namespace lp::profile
