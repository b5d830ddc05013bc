// How the template engine reports problems: every message starts with "chat template" so that a
// caller can tell a template fault from its own, and names the template line when one is known.
#pragma once

#include <string>

#include "llamaprof/error.h"

namespace lp::chat {

// A template that is wrong, or fails when run (a type error, raise_exception, a limit).
[[noreturn]] inline void fail(int line, const std::string& message) {
  if (line > 0) throw Error(ErrorKind::InvalidArgument, "chat template: line " + std::to_string(line) + ": " + message);
  throw Error(ErrorKind::InvalidArgument, "chat template: " + message);
}

// A valid template that uses jinja2 machinery llamaprof does not implement.
// line <= 0 when the caller does not know it.
[[noreturn]] inline void unsupported(int line, const std::string& feature) {
  std::string where = line > 0 ? " (line " + std::to_string(line) + ")" : "";
  throw Error(ErrorKind::Unsupported, "chat template uses " + feature + where + ", which llamaprof does not support");
}

}  // namespace lp::chat
