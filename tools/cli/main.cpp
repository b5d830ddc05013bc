// `llamaprof`: the command-line front end. Subcommands register in commands.h; this file only
// parses, dispatches, and turns library errors into a message and an exit code.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "llamaprof/error.h"

namespace {

// Exit codes: 0 ok, 1 runtime failure or bad file, 2 bad usage or argument.
int exit_code_for(lp::ErrorKind kind) {
  return kind == lp::ErrorKind::InvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"llamaprof: run GGUF llama-family models on the CPU and show where the time goes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", LLAMAPROF_VERSION);
  int exit_code = 0;
  lp::cli::register_info(app, &exit_code);
  lp::cli::register_quantize(app, &exit_code);
  lp::cli::register_make_model(app, &exit_code);
  lp::cli::register_membw(app, &exit_code);
  lp::cli::register_tokenize(app, &exit_code);
  lp::cli::register_run(app, &exit_code);
  lp::cli::register_chat(app, &exit_code);
  lp::cli::register_embed(app, &exit_code);
  lp::cli::register_profile(app, &exit_code);
  lp::cli::register_profile_worker(app, &exit_code);
  lp::cli::register_report(app, &exit_code);
  lp::cli::register_bench(app, &exit_code);
  lp::cli::register_serve(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; any bad option or value is a usage error: exit 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const lp::Error& e) {
    std::fprintf(stderr, "llamaprof: error: %s\n", e.what());
    return exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llamaprof: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
