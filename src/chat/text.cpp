#include "chat/text.h"

namespace lp::chat {

uint32_t decode_utf8(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
  if (n <= 0 || i + static_cast<size_t>(n) >= s.size()) {
    ++i;
    return b;
  }
  uint32_t cp = b & (0x3f >> n);
  for (int k = 1; k <= n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) {
      ++i;
      return b;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  i += static_cast<size_t>(n) + 1;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    decode_utf8(s, i);
    out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

size_t code_point_count(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

bool is_py_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
         cp == 0x3000;
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  std::vector<uint32_t> set;
  if (chars) {
    size_t i = 0;
    while (i < chars->size()) set.push_back(decode_utf8(*chars, i));
  }
  auto strip_cp = [&](uint32_t cp) {
    if (!chars) return is_py_space(cp);
    for (uint32_t c : set)
      if (c == cp) return true;
    return false;
  };
  // Walk code points once, remembering the first and one-past-last kept ones.
  size_t i = 0, begin = s.size(), end = 0;
  bool leading = true;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = decode_utf8(s, i);
    bool st = strip_cp(cp);
    if (leading && st && left) continue;
    if (leading) {
      begin = start;
      leading = false;
    }
    if (!st || !right) end = i;
  }
  if (begin >= s.size()) return "";
  return std::string(s.substr(begin, end - begin));
}

static std::vector<std::string> split_ws(std::string_view s, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = decode_utf8(s, i);
    if (is_py_space(cp)) continue;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      std::string rest(s.substr(start));
      out.push_back(py_strip(rest, nullptr, false, true));
      return out;
    }
    size_t end = i;
    while (i < s.size()) {
      size_t p = i;
      uint32_t c = decode_utf8(s, i);
      if (is_py_space(c)) {
        i = p;
        break;
      }
      end = i;
    }
    out.emplace_back(s.substr(start, end - start));
  }
  return out;
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit) {
  if (!sep) return split_ws(s, maxsplit);
  std::vector<std::string> out;
  if (sep->empty()) return {std::string(s)};  // Python raises "empty separator"; callers check first
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    size_t f = s.find(*sep, pos);
    if (f == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, f - pos));
    pos = f + sep->size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, int64_t maxsplit) {
  // Without a limit the result equals split(); callers refuse whitespace with a limit.
  if (maxsplit < 0 || !sep || sep->empty()) return py_split(s, sep, -1);
  std::vector<std::string> rev;
  size_t end = s.size();
  while (static_cast<int64_t>(rev.size()) < maxsplit) {
    if (end < sep->size()) break;
    size_t f = s.rfind(*sep, end - sep->size());
    if (f == std::string_view::npos) break;
    rev.emplace_back(s.substr(f + sep->size(), end - f - sep->size()));
    end = f;
  }
  std::vector<std::string> out{std::string(s.substr(0, end))};
  for (auto it = rev.rbegin(); it != rev.rend(); ++it) out.push_back(*it);
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = decode_utf8(s, i);
    bool brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1e) || cp == 0x85 ||
               cp == 0x2028 || cp == 0x2029;
    if (!brk) {
      cur.append(s.substr(start, i - start));
      continue;
    }
    if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
    out.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts repl between every code point (and at both ends).
    auto cps = code_points(s);
    int64_t n = 0;
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (count < 0 || n < count) {
        out += repl;
        ++n;
      }
      if (k < cps.size()) out += cps[k];
    }
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    size_t f = s.find(old, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(repl);
    pos = f + old.size();
    ++n;
  }
  out.append(s.substr(pos));
  return out;
}

// One code point's simple case mapping; false for a letter this table does not know or that Python
// maps to several letters.
static bool map_case(uint32_t c, bool upper, uint32_t& out) {
  out = c;
  if (c < 0x80) {
    if (upper && c >= 'a' && c <= 'z') out = c - 32;
    if (!upper && c >= 'A' && c <= 'Z') out = c + 32;
    return true;
  }
  auto pair = [&](bool upper_is_even) {  // ranges where upper and lower alternate
    bool even = c % 2 == 0;
    if (upper && even != upper_is_even) out = c - 1;
    if (!upper && even == upper_is_even) out = c + 1;
    return true;
  };
  if (c == 0x345) return false;                   // ypogegrammeni: uppercases to Ι
  if (c == 0x3a2 || (c == 0x4c0 && upper)) return true;  // unassigned; Ӏ is already upper
  if (upper) {
    if (c == 0xb5) return out = 0x39c, true;
    if (c == 0xdf || c == 0x149 || c == 0x390 || c == 0x3b0) return false;  // ß, ŉ, ΐ, ΰ become two letters
    if (c == 0xff) return out = 0x178, true;
    if (c == 0x131) return out = 'I', true;
    if (c == 0x17f) return out = 'S', true;
    if (c == 0x3c2) return out = 0x3a3, true;
    if (c == 0x3ac) return out = 0x386, true;
    if (c == 0x3cc) return out = 0x38c, true;
    if (c == 0x4cf) return out = 0x4c0, true;
  } else {
    if (c == 0x130 || c == 0x3a3) return false;  // İ becomes two code points; Σ depends on the word end
    if (c == 0x178) return out = 0xff, true;
    if (c == 0x386) return out = 0x3ac, true;
    if (c == 0x38c) return out = 0x3cc, true;
    if (c == 0x4c0) return out = 0x4cf, true;
  }
  if (c < 0xc0) return true;
  if (c <= 0xff) {
    if (c == 0xd7 || c == 0xf7) return true;
    if (upper && c >= 0xe0) out = c - 0x20;
    if (!upper && c < 0xdf) out = c + 0x20;
    return true;
  }
  if (c <= 0x137) return c == 0x130 || c == 0x131 ? true : pair(true);
  if (c == 0x138) return true;
  if (c <= 0x148) return pair(false);
  if (c <= 0x177) return pair(true);
  if (c <= 0x17e) return c == 0x178 ? true : pair(false);
  if (c < 0x2b0) return false;  // Latin Extended-B and IPA: not in this table
  if (c < 0x370) return true;   // modifier letters and combining marks are uncased
  if (c <= 0x3ff) {
    if (c >= 0x391 && c <= 0x3ab) return upper ? true : (out = c + 0x20, true);
    if (c >= 0x3b1 && c <= 0x3cb) return upper ? (out = c - 0x20, true) : true;
    if (c >= 0x388 && c <= 0x38a) return upper ? true : (out = c + 0x25, true);
    if (c >= 0x3ad && c <= 0x3af) return upper ? (out = c - 0x25, true) : true;
    if (c == 0x38e || c == 0x38f) return upper ? true : (out = c + 0x3f, true);
    if (c == 0x3cd || c == 0x3ce) return upper ? (out = c - 0x3f, true) : true;
    return c == 0x387 || (c >= 0x374 && c <= 0x375) || (c >= 0x384 && c <= 0x385);  // accents, punctuation
  }
  if (c <= 0x40f) return upper ? true : (out = c + 0x50, true);
  if (c <= 0x42f) return upper ? true : (out = c + 0x20, true);
  if (c <= 0x44f) return upper ? (out = c - 0x20, true) : true;
  if (c <= 0x45f) return upper ? (out = c - 0x50, true) : true;
  if (c <= 0x481) return pair(true);
  if (c <= 0x489) return true;  // combining marks
  if (c <= 0x4bf) return pair(true);
  if (c <= 0x4ce) return pair(false);
  if (c <= 0x52f) return pair(true);
  std::string one;
  append_utf8(one, c);
  return !has_cased_non_ascii(one);  // uncased (CJK, emoji, ...) maps to itself
}

static bool is_cased(uint32_t c) {
  // Lowercase letters without an uppercase (ª º ĸ, modifier letters) still count for title().
  if (c == 0xaa || c == 0xba || c == 0x138 || (c >= 0x2b0 && c <= 0x2b8) || c == 0x2c0 || c == 0x2c1 ||
      (c >= 0x2e0 && c <= 0x2e4) || c == 0x37a)
    return true;
  uint32_t u = 0, l = 0;
  return (map_case(c, true, u) && u != c) || (map_case(c, false, l) && l != c);
}

static std::optional<std::string> map_string(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t c = decode_utf8(s, i), m = 0;
    if (!map_case(c, upper, m)) return std::nullopt;
    append_utf8(out, m);
  }
  return out;
}

std::optional<std::string> py_upper(std::string_view s) { return map_string(s, true); }
std::optional<std::string> py_lower(std::string_view s) { return map_string(s, false); }

std::optional<std::string> py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t c = decode_utf8(s, i), m = 0;
    if (!map_case(c, !prev_cased, m)) return std::nullopt;
    append_utf8(out, m);
    prev_cased = is_cased(c);
  }
  return out;
}

std::optional<std::string> py_capitalize(std::string_view s) {
  std::string out;
  size_t i = 0;
  bool first = true;
  while (i < s.size()) {
    uint32_t c = decode_utf8(s, i), m = 0;
    if (!map_case(c, first, m)) return std::nullopt;
    append_utf8(out, m);
    first = false;
  }
  return out;
}

std::optional<std::string> jinja_title(std::string_view s) {
  // Words start after whitespace, '-' and opening brackets: first letter upper, the rest lower.
  std::string out;
  bool start = true;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t c = decode_utf8(s, i), m = 0;
    bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (!sep && !map_case(c, start, m)) return std::nullopt;
    append_utf8(out, sep ? c : m);
    start = sep;
  }
  return out;
}

bool has_cased_non_ascii(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t c = decode_utf8(s, i);
    if (c == 0xb5 || (c >= 0xc0 && c <= 0x2af && c != 0xd7 && c != 0xf7) || (c >= 0x370 && c <= 0x58f) ||
        (c >= 0x10a0 && c <= 0x10ff) || (c >= 0x13a0 && c <= 0x13fd) || (c >= 0x1c80 && c <= 0x1cbf) ||
        (c >= 0x1e00 && c <= 0x1fff) || (c >= 0x2100 && c <= 0x2184) || (c >= 0x24b6 && c <= 0x24e9) ||
        (c >= 0x2c00 && c <= 0x2d2f) || (c >= 0xa640 && c <= 0xa7ff) || (c >= 0xab70 && c <= 0xabbf) ||
        (c >= 0xfb00 && c <= 0xfb17) || (c >= 0xff21 && c <= 0xff5a) || (c >= 0x10400 && c <= 0x1e95f))
      return true;
  }
  return false;
}

}  // namespace lp::chat
