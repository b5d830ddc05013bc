// The immutable vocabulary behind a Tokenizer: token texts, SentencePiece scores, kinds, the
// text -> id index, the byte-fallback table and the special tokens that text can spell out.
// Built once (from GGUF or from vectors) and then only read, so one Vocab serves any number of
// concurrent encode/decode calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace lp::tokenizer_detail {

// Heterogeneous lookup so that encode() can probe with string_views into the input text.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocab {
  std::vector<std::string> texts;  // [n_vocab] raw entries, "▁" (U+2581) standing for a space
  std::vector<float> scores;       // [n_vocab] higher merges first
  std::vector<TokenKind> kinds;    // [n_vocab]
  std::unordered_map<std::string, TokenId, TextHash, std::equal_to<>> by_text;
  std::array<TokenId, 256> byte_token{};  // byte -> its <0xNN> token, -1 if the vocab lacks it
  std::vector<TokenId> special_by_length;  // Control/UserDefined/Unknown ids, longest text first

  TokenId bos = -1, eos = -1, unk = -1;
  TokenizerFlags flags;  // add_bos_token, add_eos_token, add_space_prefix

  int size() const { return static_cast<int>(texts.size()); }
  TokenId find(std::string_view text) const {
    auto it = by_text.find(text);
    return it == by_text.end() ? -1 : it->second;
  }
  // Builds the indexes and checks consistency; `where` prefixes error messages (file name).
  void finish(const std::string& where);
};

// "<0xNN>" -> NN, or -1 when `text` is not a byte token spelling.
int parse_byte_token(std::string_view text);

// SentencePiece BPE over one fragment whose spaces are already "▁" (spm.cpp).
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

}  // namespace lp::tokenizer_detail
