// One engine that `llamaprof profile --engines` can time: llamaprof's own CLI and Python workers,
// llama.cpp's llama-completion, llama-cpp-python, or an OpenAI-compatible HTTP server. Each lives
// in its own engine_*.cpp behind this interface; the matrix (matrix.cpp) does everything common
// to all of them: the page cache before the run, spawning, the OS's measurements (per-thread CPU,
// peak RSS, machine noise), the timeout, and recording a failure instead of stopping.
//
// A new engine: a class deriving from Engine in engine_NAME.cpp, and a line in make_engine().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/spawn.h"

namespace lp::profile {

// What every engine of a matrix cell gets: the same model, prompt, length, seed, threads, context.
struct RunSpec {
  std::string model;
  std::string prompt;
  std::string prompt_file;  // the prompt, written once by the matrix
  int n_threads = 1;
  int max_tokens = 64;
  int n_ctx = 2048;
  uint64_t seed = 42;
  int top_candidates = 10;
  int draft_max = 0;        // speculative decoding by prompt lookup (llamaprof engines only)
  std::string trace_path;   // one JSON line per token (index, id, text, latency_ms, candidates)
  double timeout_s = 0;
};

// Settings shared by the engines (from the command line).
struct EngineConfig {
  std::string cli;          // the llamaprof executable
  std::string python = "python3";
  std::string python_path;  // PYTHONPATH holding the llamaprof package
  std::string llama_cpp_dir;  // --llama-cpp: a directory with llama-completion (else PATH, else setup's cache)
  int server_pid = 0;       // --server-pid: the HTTP engine's server process, measured from /proc
};

// A run the engine could not complete, or whose output it could not read: recorded, not fatal.
// `transient`: the engine did its work but its report was lost (llama.cpp's asynchronous logger
// can drop its last lines at exit on a loaded machine): the matrix runs it once more.
struct EngineFailure : std::runtime_error {
  explicit EngineFailure(const std::string& what, bool transient_failure = false)
      : std::runtime_error(what), transient(transient_failure) {}
  bool transient = false;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // The name in --engines and in every record's "engine" (and "front_end") field.
  virtual std::string name() const = 0;
  // Empty when the engine can run here, else why not (not installed, module missing...).
  virtual std::string unavailable() const = 0;
  // true: a local process the matrix spawns with command() and reads with parse(); false: run().
  virtual bool spawns() const { return true; }
  virtual std::vector<std::string> command(const RunSpec& run) const = 0;
  virtual std::map<std::string, std::string> environment() const { return {}; }
  // The record from a finished child (exit code 0). Throws EngineFailure when the output is not
  // what this engine prints.
  virtual nlohmann::json parse(const ChildResult& child, const RunSpec& run) const = 0;
  // Engines that do not spawn (HTTP) measure the run themselves.
  virtual nlohmann::json run(const RunSpec&) const { throw EngineFailure(name() + " does not run in-process"); }
  // Instruction sets the engine's build uses, when it says (llama.cpp's system_info line).
  virtual std::string build_note() const { return ""; }
};

// "llamaprof", "llamaprof-python", "llama.cpp", "llama-cpp-python", "http://HOST:PORT/v1" (aliases:
// "cli" for llamaprof, "python" for llamaprof-python). Throws lp::Error(InvalidArgument) naming
// an unknown engine.
std::unique_ptr<Engine> make_engine(const std::string& spec, const EngineConfig& config);

// Each engine's factory (engine_*.cpp).
std::unique_ptr<Engine> make_llamaprof_engine(bool python, const EngineConfig& config);
std::unique_ptr<Engine> make_llama_cpp_engine(const EngineConfig& config);
std::unique_ptr<Engine> make_llama_cpp_python_engine(const EngineConfig& config);
std::unique_ptr<Engine> make_http_engine(const std::string& url, const EngineConfig& config);

// Empty when `python -c "import MODULES"` succeeds, else the interpreter's last stderr line (or
// why it could not start).
std::string python_import_error(const std::string& python, const std::map<std::string, std::string>& env,
                                const std::string& modules);

// The last line of text that parses as a JSON object (workers print their record last).
nlohmann::json last_json_line(const std::string& text);

}  // namespace lp::profile
