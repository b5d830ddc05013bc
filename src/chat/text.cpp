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

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
static char up(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
static char low(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string py_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = up(c);
  return out;
}

std::string py_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = low(c);
  return out;
}

std::string py_title(std::string_view s) {
  std::string out(s);
  bool prev_cased = false;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      prev_cased = (u & 0xc0) == 0x80 ? prev_cased : true;
      continue;
    }
    c = prev_cased ? low(c) : up(c);
    prev_cased = is_alpha(u);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out = py_lower(s);
  if (!out.empty()) out[0] = up(out[0]);
  return out;
}

}  // namespace lp::chat
