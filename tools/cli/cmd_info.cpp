// Placeholder until the command lands: registers the name so that main() links.
#include "commands.h"
#include "llamaprof/error.h"

namespace lp::cli {

void register_info(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("info", "(not implemented yet)");
  cmd->callback([exit_code] {
    *exit_code = 1;
    throw lp::Error(lp::ErrorKind::Unsupported, "info is not implemented yet");
  });
}

}  // namespace lp::cli
