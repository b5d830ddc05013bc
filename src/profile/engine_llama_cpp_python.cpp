// llama-cpp-python: python/llamaprof/llama_cpp_worker.py run by path with the user's interpreter
// (--python), so that only `llama_cpp` is imported in the measured process.
#include <filesystem>

#include "profile/engine.h"

namespace lp::profile {
namespace fs = std::filesystem;
namespace {

// The worker script: in the built package (python_path/llamaprof/), else in this source tree.
std::string worker_script(const std::string& python_path) {
  std::error_code ec;
  if (!python_path.empty()) {
    const fs::path p = fs::path(python_path.substr(0, python_path.find(':'))) / "llamaprof" / "llama_cpp_worker.py";
    if (fs::exists(p, ec)) return p.string();
  }
  return (fs::path(__FILE__).parent_path().parent_path().parent_path() / "python" / "llamaprof" / "llama_cpp_worker.py")
      .string();
}

class LlamaCppPythonEngine : public Engine {
 public:
  explicit LlamaCppPythonEngine(const EngineConfig& c) : c_(c), script_(worker_script(c.python_path)) {}
  std::string name() const override { return "llama-cpp-python"; }

  std::string unavailable() const override {
    std::error_code ec;
    if (!fs::exists(script_, ec)) return "the worker script " + script_ + " is missing";
    const std::string err = python_import_error(c_.python, {}, "llama_cpp");
    if (err.empty()) return "";
    return c_.python + " cannot import llama_cpp (pip install llama-cpp-python, or pass --python): " + err;
  }

  std::vector<std::string> command(const RunSpec& r) const override {
    std::vector<std::string> argv = {c_.python, script_, "--model", r.model, "--prompt-file", r.prompt_file,
                                     "--threads", std::to_string(r.n_threads), "--max-tokens",
                                     std::to_string(r.max_tokens), "--ctx", std::to_string(r.n_ctx), "--seed",
                                     std::to_string(r.seed), "--top", std::to_string(r.top_candidates)};
    if (!r.trace_path.empty()) argv.insert(argv.end(), {"--trace", r.trace_path});
    return argv;
  }

  nlohmann::json parse(const ChildResult& child, const RunSpec& r) const override {
    nlohmann::json rec = last_json_line(child.stdout_text);
    if (!rec.is_object()) throw EngineFailure("printed no JSON record: " + child.stdout_text.substr(0, 200));
    for (const char* k : {"time_load", "time_infer", "comp_tokens"}) {
      if (!rec.contains(k)) throw EngineFailure(std::string("the record lacks ") + k);
    }
    // logprobs=N asks the library for N candidates per token; it returned them or not.
    rec["candidates_per_token"] = rec.value("top_candidates_returned", 0) > 0 ? r.top_candidates : 0;
    return rec;
  }

 private:
  EngineConfig c_;
  std::string script_;
};

}  // namespace

std::unique_ptr<Engine> make_llama_cpp_python_engine(const EngineConfig& config) {
  return std::make_unique<LlamaCppPythonEngine>(config);
}

}  // namespace lp::profile
