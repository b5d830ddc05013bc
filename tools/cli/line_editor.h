// A small line editor for `llamaprof chat`: history (Up/Down), cursor movement (Left/Right,
// Home/End, Ctrl-A/Ctrl-E), Backspace/Delete, Ctrl-U, when stdin is a terminal; plain read(2)
// otherwise (pipes, tests). Written instead of using GNU readline so that SIGINT keeps its
// meaning: the terminal stays in ISIG mode, Ctrl-C interrupts the blocked read (EINTR) and the
// caller decides (readline installs its own SIGINT handling).
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace lp::cli {

enum class Input { Line, Eof, Interrupted };

class LineEditor {
 public:
  // interrupted: set by the caller's SIGINT handler (installed without SA_RESTART); a read
  // interrupted by SIGINT returns Input::Interrupted and clears it.
  explicit LineEditor(std::atomic<bool>& interrupted);

  // Prints prompt, reads one line (without its newline). Ctrl-D on an empty line is Eof.
  Input read(const std::string& prompt, std::string& line);
  // Adds a line to the history (empty lines and repeats of the last one are skipped).
  void add_history(const std::string& line);
  const std::vector<std::string>& history() const { return history_; }

 private:
  Input read_plain(std::string& line);
  Input read_edited(const std::string& prompt, std::string& line);

  std::atomic<bool>& interrupted_;
  std::vector<std::string> history_;
  bool tty_;
};

}  // namespace lp::cli
