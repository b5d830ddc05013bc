// The byte-level alphabet tables and the UTF-8 re-spelling used by the BPE tokenizer.
#include "tokenizer/byte_unicode.h"

#include <array>

namespace lp::tokenizer_detail {

namespace {

constexpr uint32_t kReplacement = 0xFFFD;
constexpr uint32_t kNoByte = 0xFFFFFFFF;

bool stands_for_itself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp <= 0x7F) {
    out += static_cast<char>(cp);
  } else if (cp <= 0x7FF) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp <= 0xFFFF) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct Tables {
  std::array<std::string, 256> spelling;  // byte -> UTF-8 of its stand-in character
  std::array<uint32_t, 0x144> byte_of{};  // stand-in code point -> byte, kNoByte if none
  Tables() {
    byte_of.fill(kNoByte);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = stands_for_itself(b) ? static_cast<uint32_t>(b) : next++;
      append_utf8(cp, spelling[b]);
      byte_of[cp] = static_cast<uint32_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// One code point the way llama.cpp's lenient decoder reads it: the lead byte's high bits fix the
// length, continuation bytes only need their 10xxxxxx tag. Returns kReplacement and length 1 when
// that fails.
uint32_t lenient_next(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  len = 1;
  if (b0 < 0x80) return b0;
  size_t need;
  uint32_t cp;
  if ((b0 & 0x40) == 0) return kReplacement;
  if ((b0 & 0x20) == 0) {
    need = 2, cp = b0 & 0x1F;
  } else if ((b0 & 0x10) == 0) {
    need = 3, cp = b0 & 0x0F;
  } else if ((b0 & 0x08) == 0) {
    need = 4, cp = b0 & 0x07;
  } else {
    return kReplacement;
  }
  if (i + need > s.size()) return kReplacement;
  for (size_t k = 1; k < need; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (!is_cont(b)) return kReplacement;
    cp = (cp << 6) | (b & 0x3F);
  }
  len = need;
  return cp;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + need > n) return false;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return false;
    for (size_t k = 2; k < need; ++k) {
      if (!is_cont(static_cast<unsigned char>(s[i + k]))) return false;
    }
    i += need;
  }
  return true;
}

std::string_view byte_to_unicode(uint8_t byte) { return tables().spelling[byte]; }

void byte_level_decode(std::string_view text, std::string& out) {
  const Tables& t = tables();
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const uint32_t cp = lenient_next(text, i, len);
    i += len;
    if (cp < t.byte_of.size() && t.byte_of[cp] != kNoByte) {
      out += static_cast<char>(t.byte_of[cp]);
      continue;
    }
    std::string utf8;
    append_utf8(cp > 0x10FFFF ? kReplacement : cp, utf8);
    static const char* hex = "0123456789abcdef";
    out += "[UNK_BYTE_0x";
    for (unsigned char c : utf8) {
      out += hex[c >> 4];
      out += hex[c & 15];
    }
    out += text;
    out += ']';
  }
}

bool sanitize_utf8(std::string_view text, std::string& clean, std::string& regex_text) {
  clean.clear();
  regex_text.clear();
  if (is_valid_utf8(text)) return false;
  clean.reserve(text.size() + 8);
  regex_text.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    size_t len;
    uint32_t cp = lenient_next(text, i, len);
    i += len;
    if (cp > 0x10FFFF) cp = kReplacement;
    append_utf8(cp, clean);
    append_utf8(cp >= 0xD800 && cp <= 0xDFFF ? 0xE000 : cp, regex_text);
  }
  return true;
}

}  // namespace lp::tokenizer_detail
