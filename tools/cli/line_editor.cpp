// LineEditor: raw-ish terminal input (no ICANON, no ECHO, ISIG kept) with history and editing.
#include "line_editor.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace lp::cli {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Characters (not bytes) in s[from, to): UTF-8 continuation bytes do not count.
int chars(const std::string& s, size_t from, size_t to) {
  int n = 0;
  for (size_t i = from; i < to; ++i) n += is_continuation(s[i]) ? 0 : 1;
  return n;
}

// Restores the terminal's mode when a read ends, however it ends.
class RawMode {
 public:
  RawMode() : ok_(tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (!ok_) return;
    termios raw = saved_;
    raw.c_lflag &= tcflag_t(~(ICANON | ECHO));  // ISIG stays: Ctrl-C is still SIGINT
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
  }
  ~RawMode() {
    if (ok_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  bool ok() const { return ok_; }

 private:
  termios saved_{};
  bool ok_;
};

}  // namespace

LineEditor::LineEditor(std::atomic<bool>& interrupted)
    : interrupted_(interrupted), tty_(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {}

void LineEditor::add_history(const std::string& line) {
  if (line.empty() || (!history_.empty() && history_.back() == line)) return;
  history_.push_back(line);
}

Input LineEditor::read(const std::string& prompt, std::string& line) {
  line.clear();
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  return tty_ ? read_edited(prompt, line) : read_plain(line);
}

Input LineEditor::read_plain(std::string& line) {
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) {
      if (c == '\n') return Input::Line;
      line += c;
    } else if (n == 0) {
      return line.empty() ? Input::Eof : Input::Line;
    } else if (errno == EINTR) {
      if (interrupted_.exchange(false)) return Input::Interrupted;
    } else {
      return Input::Eof;
    }
  }
}

Input LineEditor::read_edited(const std::string& prompt, std::string& line) {
  RawMode raw;
  if (!raw.ok()) return read_plain(line);
  size_t cursor = 0;                 // byte offset into line
  size_t hist = history_.size();     // history_.size(): the line being written
  std::string draft;                 // that line, kept while browsing the history
  auto redraw = [&] {
    std::string out = "\r" + prompt + line + "\x1b[K";
    const int back = chars(line, cursor, line.size());
    if (back > 0) out += "\x1b[" + std::to_string(back) + "D";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  };
  auto read_byte = [&](char& c) -> int {  // 1: a byte, 0: end of input, -1: interrupted
    for (;;) {
      const ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n == 1) return 1;
      if (n == 0) return 0;
      if (errno != EINTR) return 0;
      if (interrupted_.exchange(false)) return -1;
    }
  };
  auto recall = [&](size_t to) {
    if (hist == history_.size()) draft = line;
    hist = to;
    line = hist == history_.size() ? draft : history_[hist];
    cursor = line.size();
  };
  for (;;) {
    char c = 0;
    const int r = read_byte(c);
    if (r < 0) return Input::Interrupted;
    if (r == 0) return line.empty() ? Input::Eof : Input::Line;
    if (c == '\r' || c == '\n') {
      std::fputs("\n", stdout);
      std::fflush(stdout);
      return Input::Line;
    }
    if (c == 0x04) {  // Ctrl-D: end of input on an empty line, else delete under the cursor
      if (line.empty()) return Input::Eof;
      if (cursor < line.size()) {
        size_t end = cursor + 1;
        while (end < line.size() && is_continuation(line[end])) ++end;
        line.erase(cursor, end - cursor);
      }
    } else if (c == 0x7F || c == 0x08) {  // Backspace
      if (cursor > 0) {
        size_t start = cursor - 1;
        while (start > 0 && is_continuation(line[start])) --start;
        line.erase(start, cursor - start);
        cursor = start;
      }
    } else if (c == 0x01) {
      cursor = 0;
    } else if (c == 0x05) {
      cursor = line.size();
    } else if (c == 0x15) {  // Ctrl-U: kill to the start
      line.erase(0, cursor);
      cursor = 0;
    } else if (c == 0x1B) {  // ESC [ X or ESC O X: arrows, Home/End, Delete (ESC [ 3 ~)
      char a = 0, b = 0;
      if (read_byte(a) != 1 || read_byte(b) != 1) continue;
      if (a != '[' && a != 'O') continue;
      if (b == 'A' && hist > 0) {
        recall(hist - 1);
      } else if (b == 'B' && hist < history_.size()) {
        recall(hist + 1);
      } else if (b == 'C' && cursor < line.size()) {
        ++cursor;
        while (cursor < line.size() && is_continuation(line[cursor])) ++cursor;
      } else if (b == 'D' && cursor > 0) {
        --cursor;
        while (cursor > 0 && is_continuation(line[cursor])) --cursor;
      } else if (b == 'H') {
        cursor = 0;
      } else if (b == 'F') {
        cursor = line.size();
      } else if (b >= '0' && b <= '9') {
        char t = 0;
        if (read_byte(t) != 1 || t != '~') continue;
        if ((b == '3') && cursor < line.size()) {
          size_t end = cursor + 1;
          while (end < line.size() && is_continuation(line[end])) ++end;
          line.erase(cursor, end - cursor);
        } else if (b == '1' || b == '7') {
          cursor = 0;
        } else if (b == '4' || b == '8') {
          cursor = line.size();
        }
      }
    } else if (static_cast<unsigned char>(c) >= 0x20) {  // text, UTF-8 bytes included
      line.insert(cursor, 1, c);
      ++cursor;
    } else {
      continue;  // other control characters: ignored
    }
    redraw();
  }
}

}  // namespace lp::cli
