// Splits a template into text and tag tokens the way jinja2's lexer does with HF's settings
// (trim_blocks, lstrip_blocks, keep_trailing_newline off): whitespace control is settled here,
// so the parser only sees the text that is printed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lp::chat {

enum class Tok {
  Text,        // literal output
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,      // decoded string literal
  Int,
  Float,
  Op,          // punctuation and operators: text holds it
  Eof,
};

struct Token {
  Tok type;
  std::string text;
  int64_t ival = 0;
  double fval = 0;
  int line = 1;
  int col = 1;
};

// Throws lp::Error (InvalidArgument) with the line for an unterminated tag, string or comment.
std::vector<Token> tokenize(std::string_view source);

}  // namespace lp::chat
