#include "model/stop_scan.h"

#include <algorithm>

namespace lp {
namespace {

// Length of the longest suffix of text that is a proper prefix of some stop string: that much
// text must be held back, since the next token may complete the stop string.
size_t held_back(const std::string& text, size_t from, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const std::string& s : stops) {
    for (size_t len = std::min(s.size() - 1, text.size() - from); len > hold; --len) {
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  return hold;
}

}  // namespace

StopScanner::StopScanner(const std::vector<std::string>& stops) {
  for (const std::string& s : stops) {
    if (!s.empty()) stops_.push_back(s);
  }
}

std::string StopScanner::push(std::string_view text) {
  full_ += text;
  // Search only the text not yet handed out (plus what a match can straddle).
  size_t end = full_.size();
  for (const std::string& s : stops_) {
    const size_t from = emitted_ >= s.size() ? emitted_ - s.size() + 1 : 0;
    const size_t pos = full_.find(s, from);
    if (pos != std::string::npos && pos < end) end = pos, stopped_ = true;
  }
  if (!stopped_) end = full_.size() - held_back(full_, emitted_, stops_);
  std::string out;
  if (end > emitted_) {
    out = full_.substr(emitted_, end - emitted_);
    emitted_ = end;
  }
  if (stopped_) full_.resize(emitted_);
  return out;
}

std::string StopScanner::finish(std::string_view tail) {
  if (stopped_) return {};
  full_ += tail;
  std::string rest = full_.substr(emitted_);
  emitted_ = full_.size();
  return rest;
}

}  // namespace lp
