// Each `llamaprof` subcommand lives in its own cmd_*.cpp and registers itself through one of these
// functions: it adds its options to the subcommand and sets the callback that runs it.
// A callback returns the process exit code; it may throw lp::Error, which main() reports.
#pragma once

#include <CLI/CLI.hpp>

namespace lp::cli {

// Sets *exit_code when the subcommand runs.
void register_info(CLI::App& app, int* exit_code);
void register_quantize(CLI::App& app, int* exit_code);
void register_make_model(CLI::App& app, int* exit_code);
void register_membw(CLI::App& app, int* exit_code);
void register_tokenize(CLI::App& app, int* exit_code);
void register_run(CLI::App& app, int* exit_code);
void register_chat(CLI::App& app, int* exit_code);
void register_embed(CLI::App& app, int* exit_code);
void register_profile(CLI::App& app, int* exit_code);
void register_profile_worker(CLI::App& app, int* exit_code);
void register_report(CLI::App& app, int* exit_code);
void register_bench(CLI::App& app, int* exit_code);
void register_serve(CLI::App& app, int* exit_code);

// Prints the CPU, its cores and caches, the features detected and the kernel table chosen
// (`llamaprof info --system`). Lives in system_info.cpp.
void print_system_info(bool json);

}  // namespace lp::cli
