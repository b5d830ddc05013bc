// llamaprof's own front ends: the C++ `llamaprof profile-worker` and the Python binding's
// `python3 -m llamaprof.profile_worker`, which print the same record (worker.h).
#include "profile/engine.h"

namespace lp::profile {
namespace {

class LlamaprofEngine : public Engine {
 public:
  LlamaprofEngine(bool python, const EngineConfig& c) : python_(python), c_(c) {}
  std::string name() const override { return python_ ? "llamaprof-python" : "llamaprof"; }

  std::string unavailable() const override {
    if (!python_) return "";
    const std::string err = python_import_error(c_.python, environment(), "llamaprof._llamaprof, llamaprof.profile_worker");
    if (err.empty()) return "";
    return c_.python + " cannot import llamaprof" + (c_.python_path.empty() ? "" : " from " + c_.python_path) + ": " +
           err + "; build the module with -DLLAMAPROF_PYTHON=ON or set LLAMAPROF_PYTHONPATH";
  }

  std::map<std::string, std::string> environment() const override {
    if (!python_ || c_.python_path.empty()) return {};
    return {{"PYTHONPATH", c_.python_path}};
  }

  std::vector<std::string> command(const RunSpec& r) const override {
    std::vector<std::string> argv = python_ ? std::vector<std::string>{c_.python, "-m", "llamaprof.profile_worker"}
                                            : std::vector<std::string>{c_.cli, "profile-worker"};
    const std::vector<std::string> common = {
        "--model", r.model, "--threads", std::to_string(r.n_threads), "--max-tokens", std::to_string(r.max_tokens),
        "--prompt-file", r.prompt_file, "--top", std::to_string(r.top_candidates), "--seed", std::to_string(r.seed),
        "--ctx", std::to_string(r.n_ctx)};
    argv.insert(argv.end(), common.begin(), common.end());
    if (r.draft_max > 0) argv.insert(argv.end(), {"--draft-max", std::to_string(r.draft_max)});
    if (!r.trace_path.empty()) argv.insert(argv.end(), {"--trace", r.trace_path});
    return argv;
  }

  nlohmann::json parse(const ChildResult& child, const RunSpec& r) const override {
    nlohmann::json rec = last_json_line(child.stdout_text);
    if (!rec.is_object()) throw EngineFailure("printed no JSON record: " + child.stdout_text.substr(0, 200));
    rec["candidates_per_token"] = r.top_candidates;  // the workers compute them for every token
    rec["ignore_eos"] = true;  // both workers generate past end of generation, as llama.cpp's --ignore-eos
    return rec;
  }

 private:
  bool python_;
  EngineConfig c_;
};

}  // namespace

std::unique_ptr<Engine> make_llamaprof_engine(bool python, const EngineConfig& config) {
  return std::make_unique<LlamaprofEngine>(python, config);
}

}  // namespace lp::profile
