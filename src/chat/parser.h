// Turns tokens into statements, following jinja2's grammar and operator precedence. Filter and
// test names are checked here, as jinja2 checks them when it compiles.
#pragma once

#include <string_view>

#include "chat/ast.h"

namespace lp::chat {

// Throws lp::Error: InvalidArgument with line and column-free context for a syntax error,
// Unsupported for jinja2 features llamaprof does not implement (extends, include, ...).
Body parse_template(std::string_view source);

}  // namespace lp::chat
