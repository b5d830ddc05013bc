// `llamaprof profile`: the matrix models x cache states x threads x front ends x iterations, each
// run a fresh worker process (the C++ `llamaprof profile-worker`, or `python3 -m
// llamaprof.profile_worker` through the binding). The parent prepares the page cache, spawns the
// worker, measures it from outside (wall time, wait4 CPU and peak RSS) and completes its record
// with residency, roofline and trace figures.
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
  std::vector<std::string> front_ends = {"cli", "python"};
  bool front_ends_given = false;         // false: a missing Python module drops "python" with a note
  std::string out_dir = "out/profile";
  int top_candidates = 10;
  uint64_t seed = 42;
  int n_ctx = 0;
  std::string cli;                       // the llamaprof executable (default: this process's)
  std::string python = "python3";
  std::string python_path;               // PYTHONPATH for the Python worker (default: found beside the CLI)
};

// Checks the options (InvalidArgument naming the bad one) and every model (FileNotFound /
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

// The prompt used when none is given (the seed's question).
const std::string& default_prompt();

}  // namespace lp::profile
