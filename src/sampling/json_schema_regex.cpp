// regex_to_gbnf: a JSON Schema `pattern` (an ECMA-262 regex subset) -> a GBNF expression that
// generates the raw text of a JSON string's content matching it.
//
// Characters a JSON string must escape (", \ and control characters) are written as their JSON
// escapes; negated classes and `.` leave them out (a subset of what the regex allows: everything
// generated still matches).
#include <cstdio>
#include <string>
#include <vector>

#include "llamaprof/error.h"
#include "sampling/json_schema.h"

namespace lp {

namespace {

constexpr const char* kJsonChar = R"([^"\\\x7F\x00-\x1F])";  // a character JSON needs no escape for

std::string hex_escape(uint32_t cp) {
  char buf[16];
  if (cp <= 0xFF) {
    std::snprintf(buf, sizeof buf, "\\x%02X", cp);
  } else if (cp <= 0xFFFF) {
    std::snprintf(buf, sizeof buf, "\\u%04X", cp);
  } else {
    std::snprintf(buf, sizeof buf, "\\U%08X", cp);
  }
  return buf;
}

// One code point inside a GBNF literal, or inside a class (where '-' and '^' are written as hex
// escapes: llama.cpp's parser has no escape for them).
std::string gbnf_char(uint32_t cp, bool in_class = false) {
  if (cp == '"' || cp == '\\' || (in_class && (cp == '[' || cp == ']'))) return std::string("\\") + char(cp);
  if (in_class && (cp == '-' || cp == '^')) return hex_escape(cp);
  if (cp < 0x20 || cp == 0x7F) return hex_escape(cp);
  std::string out;  // UTF-8
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F)), out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
  return out;
}

// s between two delimiters (appending: GCC 12's -Wrestrict misfires on "(" + s + ")").
std::string wrap(char open, const std::string& s, char close) {
  std::string out(1, open);
  out += s;
  out += close;
  return out;
}

bool needs_json_escape(uint32_t cp) { return cp == '"' || cp == '\\' || cp < 0x20 || cp == 0x7F; }

// The JSON text of one character that must be escaped, as a GBNF literal.
std::string json_escaped_literal(uint32_t cp) {
  switch (cp) {
    case '"': return R"("\\\"")";
    case '\\': return R"("\\\\")";
    case '\n': return R"("\\n")";
    case '\t': return R"("\\t")";
    case '\r': return R"("\\r")";
    case '\b': return R"("\\b")";
    case '\f': return R"("\\f")";
    default: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\"\\\\u%04x\"", cp);
      return buf;
    }
  }
}

struct Range {
  uint32_t lo, hi;
};

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  std::string parse() {
    bool anchored_start = false, anchored_end = false;
    std::string_view body = p_;
    if (!body.empty() && body.front() == '^') anchored_start = true, body.remove_prefix(1), ++pos_;
    // A trailing unescaped $ (an odd run of backslashes before it would escape it).
    if (!body.empty() && body.back() == '$') {
      size_t bs = 0;
      while (bs + 1 < body.size() && body[body.size() - 2 - bs] == '\\') ++bs;
      if (bs % 2 == 0) anchored_end = true, body.remove_suffix(1);
    }
    end_ = pos_ + body.size();
    std::vector<std::string> alts = alternatives();
    if (pos_ != end_) fail(std::string("unexpected '") + p_[pos_] + "'");
    if (alts.size() > 1 && (anchored_start || anchored_end) && !(anchored_start && anchored_end)) {
      unsupported("an anchor (^ or $) on only one side of a top-level alternation");
    }
    std::string expr = alts.size() == 1 ? alts[0] : wrap('(', join(alts), ')');
    if (!anchored_start) expr = std::string(kJsonChar) + "* " + expr;
    if (!anchored_end) expr += std::string(" ") + kJsonChar + "*";
    return "(" + expr + ")";
  }

 private:
  std::string_view p_;
  size_t pos_ = 0, end_ = 0;
  int depth_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::InvalidArgument, "pattern '" + std::string(p_) + "': " + what);
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error(ErrorKind::Unsupported, "pattern '" + std::string(p_) + "': " + what + " is not supported");
  }

  bool more() const { return pos_ < end_; }
  char peek() const { return more() ? p_[pos_] : '\0'; }

  static std::string join(const std::vector<std::string>& alts) {
    std::string s;
    for (size_t i = 0; i < alts.size(); ++i) s += (i ? " | " : "") + (alts[i].empty() ? std::string("\"\"") : alts[i]);
    return s;
  }

  std::vector<std::string> alternatives() {
    std::vector<std::string> alts{sequence()};
    while (peek() == '|') {
      ++pos_;
      alts.push_back(sequence());
    }
    return alts;
  }

  std::string sequence() {
    std::string seq;
    while (more() && peek() != '|' && peek() != ')') {
      std::string atom = parse_atom();
      atom = quantify(atom);
      if (!atom.empty()) seq += (seq.empty() ? "" : " ") + atom;
    }
    return seq;
  }

  std::string quantify(const std::string& atom) {
    std::string q;
    const char c = peek();
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      q = std::string(1, c);
    } else if (c == '{' && brace_quantifier()) {
      const size_t close = p_.find('}', pos_);
      q = std::string(p_.substr(pos_, close - pos_ + 1));
      // ECMA-262 rejects {m,n} with n < m; the bounds are left to the grammar parser's own limit.
      const size_t comma = q.find(',');
      if (comma != std::string::npos && comma + 2 < q.size() &&
          digits_less(q.substr(comma + 1, q.size() - comma - 2), q.substr(1, comma - 1))) {
        fail("numbers out of order in the quantifier " + q);
      }
      pos_ = close + 1;
    } else {
      return atom;
    }
    if (peek() == '?') ++pos_;  // lazy: the same language when the whole string must match
    if (peek() == '+') unsupported("a possessive quantifier");
    if (peek() == '*' || peek() == '+' || (peek() == '{' && brace_quantifier())) fail("a quantifier after a quantifier");
    if (atom.empty()) return atom;
    return "(" + atom + ")" + q;
  }

  // a < b for decimal digit strings of any length.
  static bool digits_less(std::string a, std::string b) {
    a.erase(0, std::min(a.find_first_not_of('0'), a.size()));
    b.erase(0, std::min(b.find_first_not_of('0'), b.size()));
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  }

  // {m}, {m,}, {m,n} with digits; anything else is a literal '{' in ECMA-262 (Annex B).
  bool brace_quantifier() const {
    size_t i = pos_ + 1;
    auto digits = [&] {
      const size_t s = i;
      while (i < end_ && p_[i] >= '0' && p_[i] <= '9') ++i;
      return i > s;
    };
    if (!digits()) return false;
    if (i < end_ && p_[i] == ',') {
      ++i;
      digits();
    }
    return i < end_ && p_[i] == '}';
  }

  uint32_t utf8_char() {
    const auto b0 = static_cast<unsigned char>(p_[pos_]);
    const int n = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
    if (n == 0 || pos_ + size_t(n) > end_) fail("invalid UTF-8");
    uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(p_[pos_ + size_t(k)]) & 0x3F);
    pos_ += size_t(n);
    return cp;
  }

  uint32_t hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("a \\x or \\u escape needs hex digits");
      v = (v << 4) | uint32_t(d);
      ++pos_;
    }
    return v;
  }

  // After a backslash: a class shorthand (into `ranges`, with `negated` set for \D \W \S) or one
  // character (returned).
  bool escape(uint32_t& cp, std::vector<Range>& ranges, bool& negated) {
    if (!more()) fail("a trailing backslash");
    const char e = p_[pos_++];
    negated = false;
    switch (e) {
      case 'd': case 'D': ranges = {{'0', '9'}}; negated = e == 'D'; return false;
      case 'w': case 'W': ranges = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; negated = e == 'W'; return false;
      case 's': case 'S':
        // \s also matches \n, \r, ... which JSON writes as escapes: a space or a tab is enough.
        if (e == 's') ranges = {{'\t', '\t'}, {' ', ' '}};
        else ranges = {{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x2028, 0x2029}, {0xFEFF, 0xFEFF}};
        negated = e == 'S';
        return false;
      case 'n': cp = '\n'; return true;
      case 't': cp = '\t'; return true;
      case 'r': cp = '\r'; return true;
      case 'f': cp = '\f'; return true;
      case 'v': cp = '\v'; return true;
      case '0': cp = 0; return true;
      case 'x': cp = hex(2); return true;
      case 'u': cp = hex(4); return true;
      case 'b': case 'B': unsupported("a word boundary (\\b, \\B)");
      case 'p': case 'P': unsupported("a Unicode property class (\\p{...})");
      case 'k': unsupported("a named backreference (\\k<...>)");
      case 'c': unsupported("a control escape (\\cX)");
      default:
        if (e >= '1' && e <= '9') unsupported("a backreference (\\" + std::string(1, e) + ")");
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) fail(std::string("unknown escape \\") + e);
        --pos_;
        cp = utf8_char();  // an escaped punctuation or other character stands for itself
        return true;
    }
  }

  std::string parse_atom() {
    const char c = peek();
    if (c == '(') {
      ++pos_;
      if (peek() == '?') {
        const std::string_view rest = p_.substr(pos_, 4);
        if (rest.starts_with("?:")) {
          pos_ += 2;
        } else if (rest.starts_with("?=") || rest.starts_with("?!") || rest.starts_with("?<=") || rest.starts_with("?<!")) {
          unsupported("a lookaround group");
        } else if (rest.starts_with("?<") || rest.starts_with("?P<")) {
          pos_ = p_.find('>', pos_);
          if (pos_ == std::string_view::npos || pos_ >= end_) fail("an unterminated group name");
          ++pos_;
        } else {
          unsupported("a group modifier (?" + std::string(rest.substr(1, 1)) + "...)");
        }
      }
      if (++depth_ > 256) fail("groups nested too deeply");
      std::vector<std::string> alts = alternatives();
      if (peek() != ')') fail("an unclosed group");
      ++pos_;
      --depth_;
      return alts.size() == 1 && alts[0].empty() ? std::string() : wrap('(', join(alts), ')');
    }
    if (c == ')') fail("an unmatched ')'");
    if (c == '[') return parse_class();
    if (c == '.') {
      ++pos_;
      return kJsonChar;
    }
    if (c == '^' || c == '$') unsupported("an anchor (^ or $) inside the pattern");
    if (c == '*' || c == '+' || c == '?') fail("a quantifier with nothing to repeat");
    if (c == '\\') {
      ++pos_;
      uint32_t cp = 0;
      std::vector<Range> ranges;
      bool negated = false;
      if (escape(cp, ranges, negated)) return literal(cp);
      return emit_class(ranges, negated);
    }
    return literal(utf8_char());
  }

  static std::string literal(uint32_t cp) {
    if (needs_json_escape(cp)) return json_escaped_literal(cp);
    return wrap('"', gbnf_char(cp), '"');
  }

  std::string parse_class() {
    ++pos_;  // '['
    bool negated = false;
    if (peek() == '^') negated = true, ++pos_;
    std::vector<Range> ranges;
    bool first = true;
    for (;;) {
      if (!more()) fail("an unterminated character class");
      if (peek() == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      uint32_t lo = 0;
      if (peek() == '\\') {
        ++pos_;
        std::vector<Range> sub;
        bool sub_negated = false;
        if (!escape(lo, sub, sub_negated)) {
          if (sub_negated) unsupported("\\D, \\W or \\S inside a character class");
          ranges.insert(ranges.end(), sub.begin(), sub.end());
          continue;
        }
      } else {
        lo = utf8_char();
      }
      uint32_t hi = lo;
      if (peek() == '-' && pos_ + 1 < end_ && p_[pos_ + 1] != ']') {
        ++pos_;
        if (peek() == '\\') {
          ++pos_;
          std::vector<Range> sub;
          bool sub_negated = false;
          if (!escape(hi, sub, sub_negated)) fail("a class shorthand as the end of a range");
        } else {
          hi = utf8_char();
        }
        if (hi < lo) fail("a character range out of order");
      }
      ranges.push_back({lo, hi});
    }
    return emit_class(ranges, negated);
  }

  // A class as GBNF: characters JSON escapes become their escape sequences (positive classes) or
  // are left out (negated ones).
  std::string emit_class(const std::vector<Range>& ranges, bool negated) const {
    std::string cls = negated ? "[^\"\\\\\\x7F\\x00-\\x1F" : "[";
    std::vector<std::string> escapes;
    bool any = false;
    for (Range r : ranges) {
      if (!negated) {
        // Split off the characters JSON must escape.
        for (uint32_t cp = r.lo; cp <= r.hi && cp < 0x80; ++cp) {
          if (needs_json_escape(cp)) escapes.push_back(json_escaped_literal(cp));
        }
        if (r.hi < 0x80) {
          // Emit maximal runs of plain characters.
          uint32_t cp = r.lo;
          while (cp <= r.hi) {
            if (needs_json_escape(cp)) {
              ++cp;
              continue;
            }
            uint32_t e = cp;
            while (e + 1 <= r.hi && !needs_json_escape(e + 1)) ++e;
            cls += gbnf_char(cp, true);
            if (e > cp) cls += '-', cls += gbnf_char(e, true);
            any = true;
            cp = e + 1;
          }
          continue;
        }
        if (r.lo < 0x80) {  // the part below 0x80 as above, the rest as one range
          for (uint32_t cp = r.lo; cp < 0x80; ++cp) {
            if (!needs_json_escape(cp)) cls += gbnf_char(cp, true), any = true;
          }
          r.lo = 0x80;
        }
      }
      cls += gbnf_char(r.lo, true);
      if (r.hi > r.lo) cls += '-', cls += gbnf_char(r.hi, true);
      any = true;
    }
    cls += "]";
    if (negated) return cls;
    std::vector<std::string> alts;
    if (any) alts.push_back(cls);
    alts.insert(alts.end(), escapes.begin(), escapes.end());
    if (alts.empty()) unsupported("an empty character class");
    return alts.size() == 1 ? alts[0] : wrap('(', join(alts), ')');
  }
};

}  // namespace

std::string regex_to_gbnf(std::string_view pattern) { return RegexParser(pattern).parse(); }

}  // namespace lp
