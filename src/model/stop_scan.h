// Stop strings over generated text that arrives piece by piece: hands out only the text that can
// no longer turn into a stop string, and cuts the text before the first stop string. Shared by
// generate() and the server's slots, which stream pieces to their callers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lp {

class StopScanner {
 public:
  explicit StopScanner(const std::vector<std::string>& stops);  // empty strings are dropped

  // Appends decoded text; returns the text now safe to hand out (a prefix of text() grows by it).
  // After a stop string appeared, stopped() is true, text() ends before it, and push() must not
  // be called again.
  std::string push(std::string_view text);
  bool stopped() const { return stopped_; }

  // Generation ended without a stop string: the held-back text and `tail` (e.g. the decoder's
  // flush) are text too. Returns what was not handed out yet; text() is then the whole text.
  std::string finish(std::string_view tail);
  const std::string& text() const { return full_; }

 private:
  std::vector<std::string> stops_;
  std::string full_;     // decoded text so far (cut before the stop string once stopped)
  size_t emitted_ = 0;   // bytes of full_ handed out
  bool stopped_ = false;
};

}  // namespace lp
