#include "profile/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "llamaprof/error.h"

extern char** environ;

namespace lp::profile {
namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (!extra.count(key)) env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

ChildResult run_child(const std::vector<std::string>& argv_in, const std::map<std::string, std::string>& extra_env,
                      const RunLimits& limits) {
  if (argv_in.empty()) throw Error(ErrorKind::InvalidArgument, "run_child: empty command");
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(env);

  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error(ErrorKind::Runtime, std::string("pipe: ") + std::strerror(errno));
  // stderr to an unlinked temporary file: no second pipe to drain concurrently.
  char err_name[] = "/tmp/llamaprof-child-XXXXXX";
  const int err_fd = mkstemp(err_name);
  if (err_fd < 0) throw Error(ErrorKind::Runtime, std::string("mkstemp: ") + std::strerror(errno));
  unlink(err_name);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  // No terminal input: an engine that waits for the user (a chat prompt) sees end of file.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  ChildResult r;
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const bool has_slash = argv[0].find('/') != std::string::npos;
  const int rc = has_slash ? posix_spawn(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data())
                           : posix_spawnp(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_fd);
    throw Error(ErrorKind::Runtime, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  // Read stdout, sample and watch the clock until the child has exited. poll() waits on the pipe
  // and on a pidfd (readable at exit, so the wall time is exact) and wakes every sample period.
  char buf[65536];
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const int period_ms = std::max(1, int(limits.sample_every_s * 1000));
  const int pid_fd = int(syscall(SYS_pidfd_open, pid, 0));  // -1 on kernels before 5.3: then 1 ms polls
  bool out_open = true;
  double next_sample = 0;
  int status = 0;
  rusage ru{};
  for (;;) {
    if (limits.on_sample && elapsed() >= next_sample) {
      limits.on_sample(pid);
      next_sample = elapsed() + limits.sample_every_s;
    }
    pollfd pfd[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0}, {pid_fd, POLLIN, 0}};
    const int wait_ms = (out_open || pid_fd >= 0) ? period_ms : 1;
    if (poll(pfd, 2, wait_ms) > 0 && (pfd[0].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = read(out_pipe[0], buf, sizeof buf);
      if (n > 0) {
        r.stdout_text.append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        out_open = false;
      }
    }
    const pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (limits.timeout_s > 0 && !r.timed_out && elapsed() > limits.timeout_s) {
      kill(-pid, SIGKILL);  // the process group: a Python worker's or a shell's children too
      r.timed_out = true;
    }
  }
  r.wall_s = elapsed();
  if (pid_fd >= 0) close(pid_fd);
  // What the child left running in its group (a background helper holding the pipe) ends with it.
  kill(-pid, SIGKILL);
  // Whatever the child wrote just before exiting; non-blocking, as a grandchild may hold the pipe.
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  for (ssize_t n; out_open && (n = read(out_pipe[0], buf, sizeof buf)) > 0;) r.stdout_text.append(buf, size_t(n));
  close(out_pipe[0]);
  r.user_s = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) * 1e-6;
  r.sys_s = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) * 1e-6;
  r.max_rss_mb = double(ru.ru_maxrss) / 1024.0;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  const off_t size = lseek(err_fd, 0, SEEK_END);
  const off_t from = size > (1 << 20) ? size - (1 << 20) : 0;
  if (size > 0 && lseek(err_fd, from, SEEK_SET) == from) {
    ssize_t n;
    while ((n = read(err_fd, buf, sizeof buf)) > 0) r.stderr_text.append(buf, size_t(n));
  }
  close(err_fd);
  return r;
}

}  // namespace lp::profile
