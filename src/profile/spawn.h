// Runs a child process to completion and measures it from the outside: wall time from spawn to
// exit, and wait4()'s rusage (user and system CPU of the whole process, peak RSS). Its stdout is
// captured (the worker prints one JSON record there); its stderr goes to a file, so a failing
// child's message can be quoted.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <sys/types.h>
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
  std::string stderr_text;  // the last MiB (engines parse their log from it)
  bool timed_out = false;   // killed (the whole process group) after RunLimits::timeout_s
};

struct RunLimits {
  double timeout_s = 0;                    // 0: none; else the process group is killed (SIGKILL) then
  double sample_every_s = 0.05;            // how often on_sample is called while the child runs
  std::function<void(pid_t)> on_sample;    // e.g. ThreadSampler::sample; also called once at the start
};

// argv[0] is the program (searched in PATH when it has no '/'). extra_env entries are added to
// (or replace) the inherited environment. Throws lp::Error(Runtime) if the process cannot start.
// The child leads its own process group, so a timeout also ends what it started; when the child
// exits, whatever is left in its group is killed too.
ChildResult run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env = {},
                      const RunLimits& limits = {});

// The running executable (/proc/self/exe).
std::string self_executable();

}  // namespace lp::profile
