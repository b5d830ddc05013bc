// Running the llamaprof CLI from a test (LLAMAPROF_CLI is the binary's path, set by tests/CMakeLists.txt).
#pragma once

#include <array>
#include <cstdio>
#include <string>

#include <sys/wait.h>

namespace lp::test {

struct RunResult {
  int exit_code;
  std::string output;  // stdout + stderr
};

inline RunResult run_cli(const std::string& args) {
  const std::string cmd = std::string(LLAMAPROF_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  RunResult r{-1, {}};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace lp::test
