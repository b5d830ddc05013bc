// The one exception type the library throws. It never prints or exits: the CLI and the Python
// binding turn an Error into a message and exit code, or into a Python exception, by its kind.
#pragma once

#include <stdexcept>
#include <string>

namespace lp {

enum class ErrorKind {
  FileNotFound,     // a path that does not exist or cannot be opened
  InvalidFile,      // a malformed or truncated file: the message says where
  InvalidArgument,  // a bad option, value or prompt (e.g. longer than the context)
  Unsupported,      // a valid file using a type or architecture llamaprof does not run
  Runtime,          // anything else (out of memory, I/O failure, cancelled)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace lp
