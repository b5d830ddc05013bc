#include "chat/lexer.h"

#include <cstring>

#include "chat/errors.h"
#include "chat/text.h"

namespace lp::chat {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python's unicode-escape decoding of a string literal's body, as jinja2 applies it.
std::string decode_string(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](int n) {
      if (i + static_cast<size_t>(n) >= body.size()) fail(line, "truncated \\x escape in a string");
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        char h = body[i + 1 + k];
        int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) fail(line, "malformed \\x, \\u or \\U escape in a string");
        v = v * 16 + static_cast<uint32_t>(d);
      }
      i += static_cast<size_t>(n);
      return v;
    };
    switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': append_utf8(out, hex(2)); break;
      case 'u': append_utf8(out, hex(4)); break;
      case 'U': append_utf8(out, hex(8)); break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
            v = v * 8 + static_cast<uint32_t>(body[++i] - '0');
          append_utf8(out, v);
        } else {
          out += '\\';  // unknown escapes stay as written
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    const size_t n = src_.size();
    while (pos < n) {
      size_t idx = find_tag(pos);
      if (idx == std::string::npos) {
        emit_text(pos, n);
        break;
      }
      std::string text = src_.substr(pos, idx - pos);
      char kind = src_[idx + 1];
      char sign = idx + 2 < n && (src_[idx + 2] == '-' || src_[idx + 2] == '+') ? src_[idx + 2] : 0;
      apply_left_strip(text, sign, kind != '{', line_starting);
      push_text(std::move(text), pos);
      pos = idx + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = skip_comment(pos, line_starting);
      } else if (kind == '%' && is_raw(pos)) {
        pos = lex_raw(pos, line_starting);
      } else {
        pos = lex_tag(pos, kind == '{', line_starting);
      }
    }
    tokens_.push_back({Tok::Eof, "", 0, 0, line_of(n), col_});
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::vector<Token> tokens_;
  size_t line_pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
  int col_ = 1;

  int line_of(size_t offset) {
    if (offset < line_pos_) {  // only moves forward in practice; restart otherwise
      line_pos_ = line_start_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < offset && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') {
        ++line_;
        line_start_ = line_pos_ + 1;
      }
    col_ = static_cast<int>(offset - line_start_) + 1;
    return line_;
  }

  size_t find_tag(size_t pos) const {
    for (size_t i = src_.find('{', pos); i != std::string::npos; i = src_.find('{', i + 1))
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  // "-" strips all whitespace before the tag; lstrip_blocks strips spaces and tabs that start its line.
  static void apply_left_strip(std::string& text, char sign, bool lstrip, bool line_starting) {
    if (sign == '-') {
      text = py_strip(text, nullptr, false, true);
    } else if (sign != '+' && lstrip) {
      size_t l_pos = text.rfind('\n');
      l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
      if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
        bool ws = true;
        for (size_t i = l_pos; i < text.size() && ws; ++i) ws = is_space(text[i]);
        if (ws) text.resize(l_pos);
      }
    }
  }

  void push_text(std::string text, size_t offset) {
    if (!text.empty()) tokens_.push_back({Tok::Text, std::move(text), 0, 0, line_of(offset), col_});
  }

  void emit_text(size_t begin, size_t end) { push_text(src_.substr(begin, end - begin), begin); }

  // After a tag or comment end: "-" eats all following whitespace, trim_blocks one newline, "+" none.
  size_t right_strip(size_t pos, char sign, bool trim, bool& line_starting) {
    size_t start = pos;
    if (sign == '-') {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
    } else if (sign != '+' && trim && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    line_starting = pos > start && src_[pos - 1] == '\n';
    return pos;
  }

  size_t skip_comment(size_t pos, bool& line_starting) {
    size_t end = src_.find("#}", pos);
    if (end == std::string::npos) fail(line_of(pos), "unterminated comment: missing '#}'");
    char sign = end > pos && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    return right_strip(end + 2, sign, true, line_starting);
  }

  // {% raw %} (optionally with "-"): the next word is raw and the tag ends right after it.
  bool is_raw(size_t pos) const {
    size_t p = pos;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    return src_.compare(p, 2, "%}") == 0 || src_.compare(p, 3, "-%}") == 0;
  }

  size_t lex_raw(size_t pos, bool& line_starting) {
    int line = line_of(pos);
    size_t p = src_.find("raw", pos) + 3;
    while (is_space(src_[p])) ++p;
    bool strip = src_[p] == '-';
    p += strip ? 3 : 2;
    if (strip)
      while (p < src_.size() && is_space(src_[p])) ++p;
    // The body runs to the first {% endraw %}.
    for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 2)) {
      size_t r = q + 2;
      char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r] : 0;
      if (sign) ++r;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char end_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(p, q - p);
      apply_left_strip(body, sign, true, false);
      push_text(std::move(body), p);
      return right_strip(r + 2, end_sign, true, line_starting);
    }
    fail(line, "unterminated raw block: missing '{% endraw %}'");
  }

  size_t lex_tag(size_t pos, bool is_var, bool& line_starting) {
    const size_t n = src_.size();
    int begin_line = line_of(pos);
    tokens_.push_back({is_var ? Tok::VarBegin : Tok::BlockBegin, "", 0, 0, begin_line, col_});
    int depth = 0;
    const char close = is_var ? '}' : '%';
    while (true) {
      while (pos < n && is_space(src_[pos])) ++pos;
      if (pos >= n) fail(begin_line, is_var ? "unexpected end of template: missing '}}'" : "unexpected end of template: missing '%}'");
      char c = src_[pos];
      if (depth == 0) {
        char sign = (c == '-' || c == '+') ? c : 0;
        size_t q = pos + (sign ? 1 : 0);
        if (q + 1 < n && src_[q] == close && src_[q + 1] == '}' && !(is_var && sign == '+')) {
          tokens_.push_back({is_var ? Tok::VarEnd : Tok::BlockEnd, "", 0, 0, line_of(pos), col_});
          return right_strip(q + 2, sign, !is_var, line_starting);
        }
      }
      int line = line_of(pos);
      int col = col_;
      if (is_name_start(c)) {
        size_t s = pos;
        while (pos < n && is_name_char(src_[pos])) ++pos;
        tokens_.push_back({Tok::Name, src_.substr(s, pos - s), 0, 0, line, col});
      } else if (is_digit(c)) {
        pos = lex_number(pos, line);
      } else if (c == '\'' || c == '"') {
        size_t s = ++pos;
        while (pos < n && src_[pos] != c) pos += src_[pos] == '\\' ? 2 : 1;
        if (pos >= n) fail(line, "unterminated string literal");
        tokens_.push_back({Tok::String, decode_string(std::string_view(src_).substr(s, pos - s), line), 0, 0, line, col});
        ++pos;
      } else {
        static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* t : two)
          if (src_.compare(pos, 2, t) == 0) op = t;
        if (op.empty()) {
          if (!std::strchr("+-*/%~<>=()[]{},.:|;", c)) fail(line, std::string("unexpected character '") + c + "'");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") ++depth;
        if (op == ")" || op == "]" || op == "}") {
          if (depth == 0) fail(line, "unexpected '" + op + "'");
          --depth;
        }
        pos += op.size();
        tokens_.push_back({Tok::Op, std::move(op), 0, 0, line, col});
      }
    }
  }

  size_t lex_number(size_t pos, int line) {
    const size_t n = src_.size();
    std::string digits;
    auto take_digits = [&] {
      while (pos < n && (is_digit(src_[pos]) || (src_[pos] == '_' && pos + 1 < n && is_digit(src_[pos + 1]))))
        if (src_[pos++] != '_') digits += src_[pos - 1];
    };
    take_digits();
    bool after_dot = !tokens_.empty() && tokens_.back().type == Tok::Op && tokens_.back().text == ".";
    bool is_float = false;
    if (!after_dot && pos + 1 < n && src_[pos] == '.' && is_digit(src_[pos + 1])) {
      is_float = true;
      digits += src_[pos++];
      take_digits();
    }
    if (!after_dot && pos < n && (src_[pos] == 'e' || src_[pos] == 'E')) {
      size_t q = pos + 1;
      if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < n && is_digit(src_[q])) {
        is_float = true;
        digits += 'e';
        digits.append(src_, pos + 1, q - pos - 1);
        pos = q;
        take_digits();
      }
    }
    Token t{is_float ? Tok::Float : Tok::Int, digits, 0, 0, line, col_};
    try {
      if (is_float) t.fval = std::stod(digits);
      else t.ival = std::stoll(digits);
    } catch (const std::exception&) {
      fail(line, "number literal out of range: " + digits);
    }
    tokens_.push_back(std::move(t));
    return pos;
  }
};

// jinja2 normalizes \r\n and \r to \n and drops one trailing newline (keep_trailing_newline off).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace lp::chat
