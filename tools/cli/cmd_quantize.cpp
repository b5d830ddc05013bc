// Placeholder until the command lands: registers the name so that main() links.
#include "commands.h"
#include "llamaprof/error.h"

namespace lp::cli {

void register_quantize(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("quantize", "(not implemented yet)");
  cmd->callback([exit_code] {
    *exit_code = 1;
    throw lp::Error(lp::ErrorKind::Unsupported, "quantize is not implemented yet");
  });
}

}  // namespace lp::cli
