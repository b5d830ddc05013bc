#include "profile/demo_models.h"

#include <cstdlib>

#include "llamaprof/error.h"
#include "profile/spawn.h"

namespace lp::profile {

const std::vector<DemoModel>& demo_models() {
  static const std::vector<DemoModel> models = {
      {"demo", "Q4_0", "demo-llama-q4_0.gguf"},
      {"demo", "Q4_K_M", "demo-llama-q4_k_m.gguf"},
      {"demo-mistral", "Q4_0", "demo-mistral-q4_0.gguf"},
      {"demo-mistral", "Q4_K_M", "demo-mistral-q4_k_m.gguf"},
  };
  return models;
}

std::filesystem::path demo_models_dir() {
  if (const char* d = std::getenv("LLAMAPROF_MODELS_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "llamaprof/models";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".cache/llamaprof/models";
}

std::vector<std::string> ensure_demo_models(const std::filesystem::path& dir, const std::string& cli,
                                            const std::function<void(const std::string&)>& note) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> paths;
  for (const DemoModel& m : demo_models()) {
    const std::filesystem::path path = dir / m.file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0) {
      // Written under a temporary name and renamed: an interrupted run leaves no half file.
      const std::filesystem::path tmp = dir / (m.file + ".part");
      const ChildResult r =
          run_child({cli, "make-model", "--preset", m.preset, "--type", m.type, "-o", tmp.string()});
      if (r.exit_code != 0) {
        throw Error(ErrorKind::Runtime, "making demo model " + path.string() + " failed: " + r.stderr_text);
      }
      std::filesystem::rename(tmp, path);
      if (note) note("made demo model " + path.string() + " (" + m.preset + ", " + m.type + ")");
    }
    paths.push_back(path.string());
  }
  return paths;
}

}  // namespace lp::profile
