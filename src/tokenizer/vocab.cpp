// Index building and consistency checks for the vocabulary.
#include "tokenizer/vocab.h"

#include <algorithm>

#include "llamaprof/error.h"

namespace lp::tokenizer_detail {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::InvalidFile, where + ": " + what);
}

}  // namespace

void TextIndex::build(const std::vector<std::string>& texts) {
  texts_ = &texts;
  size_t capacity = 16;
  while (capacity < texts.size() * 2) capacity *= 2;  // load factor <= 1/2
  slots_.assign(capacity, Slot{0, -1});
  for (size_t id = 0; id < texts.size(); ++id) {
    const uint64_t h = std::hash<std::string_view>{}(texts[id]);
    const auto tag = static_cast<uint32_t>(h >> 32);
    size_t i = h & (capacity - 1);
    while (slots_[i].id >= 0 && !(slots_[i].tag == tag && texts[slots_[i].id] == texts[id])) i = (i + 1) & (capacity - 1);
    slots_[i] = {tag, static_cast<TokenId>(id)};  // a repeated text: the later id replaces the earlier
  }
}

int parse_byte_token(std::string_view text) {
  // SentencePiece spells byte-fallback pieces as exactly "<0x" + two hex digits + ">".
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int hi = hex_digit(text[3]), lo = hex_digit(text[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

void Vocab::finish(const std::string& where) {
  const size_t n = texts.size();
  if (n == 0) fail(where, "tokenizer.ggml.tokens is empty");
  if (scores.size() != n) {
    fail(where, "tokenizer.ggml.scores has " + std::to_string(scores.size()) + " entries but tokenizer.ggml.tokens has " +
                    std::to_string(n));
  }
  if (kinds.size() != n) {
    fail(where, "tokenizer.ggml.token_type has " + std::to_string(kinds.size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  auto check_id = [&](TokenId id, const char* key, bool optional) {
    if (optional && id == -1) return;
    if (id < 0 || static_cast<size_t>(id) >= n) {
      fail(where, std::string(key) + " = " + std::to_string(id) + " is outside the vocabulary of " +
                      std::to_string(n) + " tokens");
    }
  };
  check_id(bos, "tokenizer.ggml.bos_token_id", !flags.add_bos);
  check_id(eos, "tokenizer.ggml.eos_token_id", !flags.add_eos);
  check_id(unk, "tokenizer.ggml.unknown_token_id", true);

  by_text.build(texts);
  byte_token.fill(-1);
  special_by_length.clear();
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<TokenId>(i);
    const int kind = static_cast<int>(kinds[i]);
    if (kind < 0 || kind > static_cast<int>(TokenKind::Byte)) {
      fail(where, "tokenizer.ggml.token_type[" + std::to_string(i) + "] = " + std::to_string(kind) +
                      " is not a known token type (0-6)");
    }
    if (kinds[i] == TokenKind::Byte) {
      const int byte = parse_byte_token(texts[i]);
      if (byte < 0) {
        fail(where, "token " + std::to_string(i) + " has type BYTE but its text is not <0xNN>");
      }
      if (byte_token[byte] < 0) byte_token[byte] = id;
    }
  }
  // Needs by_text; may turn tokens into control ones, so it runs before the special list is built.
  apply_special_token_rules(*this);
  for (size_t i = 0; i < n; ++i) {
    const bool special = kinds[i] == TokenKind::Control || kinds[i] == TokenKind::UserDefined ||
                         kinds[i] == TokenKind::Unknown;
    if (special && !texts[i].empty()) special_by_length.push_back(static_cast<TokenId>(i));
  }
  // Byte fallback looks the piece up by its text (llama.cpp does too), so a <0xNN> entry that is
  // not typed BYTE still serves, and failing that the one-byte string itself; the typed entry wins.
  for (int b = 0; b < 256; ++b) {
    if (byte_token[b] >= 0) continue;
    static const char* digits = "0123456789ABCDEF";
    const char spelled[7] = {'<', '0', 'x', digits[b >> 4], digits[b & 15], '>', 0};
    byte_token[b] = find(spelled);
    if (byte_token[b] < 0) byte_token[b] = find(std::string(1, static_cast<char>(b)));
  }
  // Longer special texts are matched first so that e.g. "<|im_end|>" wins over a shorter prefix.
  std::stable_sort(special_by_length.begin(), special_by_length.end(), [&](TokenId a, TokenId b) {
    return texts[a].size() > texts[b].size();
  });
}

}  // namespace lp::tokenizer_detail
