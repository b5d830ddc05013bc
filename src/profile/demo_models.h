// The models `llamaprof profile` uses when given none: a llama-shaped and a mistral-shaped demo
// model (make-model presets "demo" and "demo-mistral") in two quantizations, made on first use
// by running `llamaprof make-model` and cached.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace lp::profile {

struct DemoModel {
  std::string preset;  // make-model preset
  std::string type;    // make-model --type
  std::string file;    // file name in the cache directory
};

const std::vector<DemoModel>& demo_models();

// $LLAMAPROF_MODELS_DIR, else $XDG_CACHE_HOME/llamaprof/models, else ~/.cache/llamaprof/models.
std::filesystem::path demo_models_dir();

// Paths of the demo models in dir, making the missing ones with `cli make-model` (cli is the
// llamaprof executable). `note` receives one line per model made. Throws lp::Error(Runtime)
// quoting make-model's message if it fails.
std::vector<std::string> ensure_demo_models(const std::filesystem::path& dir, const std::string& cli,
                                            const std::function<void(const std::string&)>& note);

}  // namespace lp::profile
