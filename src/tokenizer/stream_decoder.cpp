// Tokenizer::StreamDecoder: pieces in, complete UTF-8 characters out.
//
// A character can be split across tokens (byte-fallback tokens carry one byte each, e.g. an emoji
// is four <0xNN> tokens), so bytes are held back until the character they start is complete.
// Validation follows the Unicode "maximal subpart" rule (as WHATWG's decoder does): a lead byte
// fixes the length and the allowed range of the first continuation byte (E0 A0-BF, ED 80-9F,
// F0 90-BF, F4 80-8F, otherwise 80-BF); each maximal ill-formed subsequence becomes one U+FFFD.
#include "tokenizer/tokenizer.h"

namespace lp {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Utf8Step {
  enum Kind { Valid, Invalid, Incomplete } kind;
  size_t len;  // bytes consumed: the character, the ill-formed subpart, or the incomplete tail
};

Utf8Step next_char(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {Utf8Step::Valid, 1};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Utf8Step::Invalid, 1};  // continuation byte, C0/C1 or F5-FF: never a valid start
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return {Utf8Step::Incomplete, k};
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {Utf8Step::Invalid, k};
  }
  return {Utf8Step::Valid, need};
}

// Moves the complete prefix of `pending` into the result; with `final`, an incomplete tail too
// (as U+FFFD), otherwise it stays pending.
std::string drain(std::string& pending, bool final) {
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    const Utf8Step step = next_char(pending, i);
    if (step.kind == Utf8Step::Incomplete && !final) break;
    if (step.kind == Utf8Step::Valid) {
      out.append(pending, i, step.len);
    } else {
      out += kReplacement;
    }
    i += step.len;
  }
  pending.erase(0, i);
  return out;
}

}  // namespace

std::string Tokenizer::StreamDecoder::push(TokenId id) {
  std::string piece = tok_->token_to_piece(id, false);
  // llama.cpp's detokenize drops one leading space of the first token only (add_space_prefix).
  if (first_ && tok_->flags().add_space_prefix && !piece.empty() && piece.front() == ' ') piece.erase(0, 1);
  first_ = false;
  pending_ += piece;
  return drain(pending_, false);
}

std::string Tokenizer::StreamDecoder::flush() { return drain(pending_, true); }

}  // namespace lp
