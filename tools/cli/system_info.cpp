// Placeholder until the runtime part lands.
#include "commands.h"
#include "llamaprof/error.h"

namespace lp::cli {

void print_system_info(bool) {
  throw lp::Error(lp::ErrorKind::Unsupported, "info --system is not implemented yet");
}

}  // namespace lp::cli
