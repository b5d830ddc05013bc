#include "profile/engine.h"

#include "llamaprof/error.h"

namespace lp::profile {

std::unique_ptr<Engine> make_engine(const std::string& spec, const EngineConfig& config) {
  if (spec == "llamaprof" || spec == "cli") return make_llamaprof_engine(false, config);
  if (spec == "llamaprof-python" || spec == "python") return make_llamaprof_engine(true, config);
  if (spec == "llama.cpp") return make_llama_cpp_engine(config);
  if (spec == "llama-cpp-python") return make_llama_cpp_python_engine(config);
  if (spec.rfind("http://", 0) == 0) return make_http_engine(spec, config);
  if (spec.rfind("https://", 0) == 0) {
    throw Error(ErrorKind::InvalidArgument, "--engines: " + spec + ": https is not supported (use http:// on a trusted network)");
  }
  throw Error(ErrorKind::InvalidArgument,
              "--engines (--front-ends): unknown engine '" + spec +
                  "' (llamaprof, llamaprof-python, llama.cpp, llama-cpp-python or http://HOST:PORT/v1)");
}

std::string python_import_error(const std::string& python, const std::map<std::string, std::string>& env,
                                const std::string& modules) {
  try {
    const ChildResult r = run_child({python, "-c", "import " + modules}, env, {60, 0.05, {}});
    if (r.exit_code == 0) return "";
    if (r.timed_out) return "the import took more than 60 s";
    std::string err = r.stderr_text;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    const size_t nl = err.rfind('\n');
    return nl == std::string::npos ? err : err.substr(nl + 1);
  } catch (const std::exception& e) {
    return e.what();
  }
}

nlohmann::json last_json_line(const std::string& text) {
  size_t end = text.size();
  while (end > 0) {
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
    const size_t nl = text.rfind('\n', end == 0 ? 0 : end - 1);
    const size_t start = nl == std::string::npos ? 0 : nl + 1;
    if (end > start && text[start] == '{') {
      nlohmann::json j = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
      if (!j.is_discarded() && j.is_object()) return j;
    }
    if (nl == std::string::npos) break;
    end = nl;
  }
  return nlohmann::json();
}

}  // namespace lp::profile
