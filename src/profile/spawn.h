// Runs a child process to completion and measures it from the outside: wall time from spawn to
// exit, and wait4()'s rusage (user and system CPU of the whole process, peak RSS). Its stdout is
// captured (the worker prints one JSON record there); its stderr goes to a file, so a failing
// child's message can be quoted.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace lp::profile {

struct ChildResult {
  int exit_code = -1;       // exit status, or -1 when killed by a signal
  int signal = 0;           // the terminating signal, if any
  double wall_s = 0;        // spawn to exit, as the parent sees it
  double user_s = 0;        // ru_utime from wait4
  double sys_s = 0;         // ru_stime from wait4
  double max_rss_mb = 0;    // ru_maxrss (KiB on Linux) / 1024
  std::string stdout_text;
  std::string stderr_text;  // the last 4 KiB
};

// argv[0] is the program (searched in PATH when it has no '/'). extra_env entries are added to
// (or replace) the inherited environment. Throws lp::Error(Runtime) if the process cannot start.
ChildResult run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env = {});

// The running executable (/proc/self/exe).
std::string self_executable();

}  // namespace lp::profile
