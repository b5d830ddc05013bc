// lp::Tokenizer: construction from vectors, encoding (special-token split, then SPM or byte-level
// BPE per fragment) and decoding, following llama.cpp's llama (SPM) and gpt2 (BPE) vocabularies.
#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "llamaprof/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer_impl.h"

namespace lp {

using tokenizer_detail::Vocab;

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

// A piece of the input: raw text to run through SPM, or a special token spelled out in it.
struct Fragment {
  TokenId token;  // -1 for raw text
  size_t begin;
  size_t len;
};

// Splits `text` at every occurrence of the special tokens, longest texts first: each special text
// claims its leftmost non-overlapping matches in the raw fragments left by the longer ones.
// Control and unknown tokens only count with parse_special; user-defined ones always do.
std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<Fragment> fragments{{-1, 0, text.size()}};
  for (TokenId id : vocab.special_by_length) {
    const TokenKind kind = vocab.kinds[id];
    if (!parse_special && (kind == TokenKind::Control || kind == TokenKind::Unknown)) continue;
    const std::string& special = vocab.texts[id];
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view raw = text.substr(f.begin, f.len);
      // Strip flags (Phi-3): the token also takes the white space on that side (C isspace, as llama.cpp).
      const uint8_t strip = vocab.strip.empty() ? 0 : vocab.strip[id];
      auto space = [&](size_t i) { return std::isspace(static_cast<unsigned char>(raw[i])) != 0; };
      size_t start = 0;
      for (size_t hit; (hit = raw.find(special, start)) != std::string_view::npos;) {
        size_t left_end = hit;
        if (strip & tokenizer_detail::kStripLeft) {
          while (left_end > start && space(left_end - 1)) --left_end;
        }
        if (left_end > start) next.push_back({-1, f.begin + start, left_end - start});
        next.push_back({id, f.begin + hit, special.size()});
        start = hit + special.size();
        if (strip & tokenizer_detail::kStripRight) {
          while (start < raw.size() && space(start)) ++start;
        }
      }
      if (start < raw.size()) next.push_back({-1, f.begin + start, raw.size() - start});
    }
    fragments = std::move(next);
  }
  return fragments;
}

void replace_spaces_with_marks(std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char c : s) {
    if (c == ' ') {
      out += kSpaceMark;
    } else {
      out += c;
    }
  }
  s = std::move(out);
}

void replace_marks_with_spaces(std::string& s) {
  size_t pos = s.find(kSpaceMark);
  if (pos == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t start = 0;
  for (; pos != std::string::npos; pos = s.find(kSpaceMark, start)) {
    out.append(s, start, pos - start);
    out += ' ';
    start = pos + kSpaceMark.size();
  }
  out.append(s, start, std::string::npos);
  s = std::move(out);
}

// llama.cpp's detokenize clean-up (clean_up_tokenization_spaces) for byte-level vocabularies:
// " ?", " !", " .", " ," lose the space; " ' " loses both; " 's", " 'm", " 're", " 've" lose it.
void clean_spaces(std::string& t) {
  auto pass = [&t](auto keep) {
    std::string out;
    out.reserve(t.size());
    for (size_t i = 0; i < t.size(); ++i) keep(out, i);
    t = std::move(out);
  };
  pass([&t](std::string& out, size_t i) {
    const char x = t[i];
    if (i > 0 && t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) out.pop_back();
    out += x;
  });
  // " ' " -> "'": llama.cpp drops the space before and overwrites the one after with a NUL that it
  // then skips, i.e. the next byte is dropped too.
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const char x = t[i];
    if (i > 0 && x == '\'' && i + 1 < t.size() && t[i - 1] == ' ' && t[i + 1] == ' ') {
      out.pop_back();
      out += x;
      t[++i] = '\0';  // never a space again for the next comparison, as in llama.cpp
      continue;
    }
    out += x;
  }
  t = std::move(out);
  pass([&t](std::string& out, size_t i) {
    const char x = t[i];
    if (i > 0 && t[i - 1] == ' ' && x == '\'' && i + 1 < t.size()) {
      const char x1 = t[i + 1];
      const char x2 = i + 2 < t.size() ? t[i + 2] : 0;
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) out.pop_back();
    }
    out += x;
  });
}

void check_id(const Vocab& vocab, TokenId id) {
  if (id < 0 || id >= vocab.size()) {
    throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(id) + " is outside the vocabulary of " +
                                                std::to_string(vocab.size()) + " tokens");
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_vectors(std::vector<std::string> tokens, std::vector<float> scores,
                                  std::vector<int32_t> types, TokenId bos, TokenId eos, TokenId unk) {
  return from_vectors(std::move(tokens), std::move(scores), std::move(types), bos, eos, unk, TokenizerFlags{});
}

Tokenizer Tokenizer::from_vectors(std::vector<std::string> tokens, std::vector<float> scores,
                                  std::vector<int32_t> types, TokenId bos, TokenId eos, TokenId unk,
                                  const TokenizerFlags& flags) {
  auto impl = std::make_unique<Impl>();
  Vocab& v = impl->vocab;
  v.texts = std::move(tokens);
  v.scores = std::move(scores);
  v.kinds.reserve(types.size());
  for (int32_t t : types) v.kinds.push_back(static_cast<TokenKind>(t));
  v.bos = bos;
  v.eos = eos;
  v.unk = unk;
  v.flags = flags;
  v.finish("vocabulary");
  return Tokenizer(std::move(impl));
}

int Tokenizer::n_vocab() const { return impl_->vocab.size(); }
TokenId Tokenizer::bos() const { return impl_->vocab.bos; }
TokenId Tokenizer::eos() const { return impl_->vocab.eos; }
TokenId Tokenizer::unk() const { return impl_->vocab.unk; }
std::string_view Tokenizer::model() const {
  if (impl_->vocab.spm_pieces) return "gemma4";
  return impl_->vocab.model == tokenizer_detail::VocabModel::Bpe ? "gpt2" : "llama";
}

std::string_view Tokenizer::pre() const { return impl_->vocab.pre ? std::string_view(impl_->vocab.pre->name()) : ""; }

const TokenizerFlags& Tokenizer::flags() const { return impl_->vocab.flags; }

TokenKind Tokenizer::kind(TokenId id) const {
  check_id(impl_->vocab, id);
  return impl_->vocab.kinds[id];
}

float Tokenizer::score(TokenId id) const {
  check_id(impl_->vocab, id);
  return impl_->vocab.scores[id];
}

const std::string& Tokenizer::token_text(TokenId id) const {
  check_id(impl_->vocab, id);
  return impl_->vocab.texts[id];
}

bool Tokenizer::is_eog(TokenId id) const {
  const auto& eog = impl_->vocab.eog_ids;
  return std::binary_search(eog.begin(), eog.end(), id);
}

const std::vector<TokenId>& Tokenizer::eog_ids() const { return impl_->vocab.eog_ids; }

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  const Vocab& v = impl_->vocab;
  std::vector<TokenId> out;
  if (add_bos && v.flags.add_bos) out.push_back(v.bos);
  if (v.model == tokenizer_detail::VocabModel::Bpe) {
    // Byte-level BPE: no space prefix; each raw fragment is pre-tokenized on its own.
    if (!text.empty()) {
      for (const Fragment& f : split_special(v, text, parse_special)) {
        if (f.token >= 0) {
          out.push_back(f.token);
        } else {
          tokenizer_detail::bpe_encode(v, text.substr(f.begin, f.len), out);
        }
      }
    }
    if (add_bos && v.flags.add_eos) out.push_back(v.eos);
    return out;
  }
  // An empty text has no fragment at all, so it gets no space prefix either (llama.cpp: "" -> []).
  if (!text.empty()) {
    // The dummy space prefix goes before the first raw fragment and before any raw fragment that
    // follows a special token, as SentencePiece sees each such fragment as the start of a text.
    bool after_special = true;
    std::string piece;
    for (const Fragment& f : split_special(v, text, parse_special)) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      piece.clear();
      if (v.flags.add_space_prefix && after_special) piece += ' ';
      piece += text.substr(f.begin, f.len);
      replace_spaces_with_marks(piece);
      tokenizer_detail::spm_encode(v, piece, out);
      after_special = false;
    }
  }
  if (add_bos && v.flags.add_eos) out.push_back(v.eos);
  return out;
}

std::string Tokenizer::token_to_piece(TokenId id) const { return token_to_piece(id, true); }

std::string Tokenizer::token_to_piece(TokenId id, bool render_special) const {
  const Vocab& v = impl_->vocab;
  check_id(v, id);
  const std::string& text = v.texts[id];
  switch (v.kinds[id]) {
    case TokenKind::Normal: {
      if (v.model == tokenizer_detail::VocabModel::Bpe && !v.spm_pieces) {
        std::string piece;
        tokenizer_detail::byte_level_decode(text, piece);
        return piece;
      }
      std::string piece = text;
      replace_marks_with_spaces(piece);
      return piece;
    }
    case TokenKind::Byte:
      return std::string(1, static_cast<char>(tokenizer_detail::parse_byte_token(text)));
    case TokenKind::Control:
    case TokenKind::Unknown:
      return render_special ? text : std::string();
    case TokenKind::UserDefined:
      return text;
    case TokenKind::Undefined:
    case TokenKind::Unused:
      return {};  // llama.cpp renders these as nothing
  }
  return {};
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids) const { return decode(ids, false); }

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool render_special) const {
  std::string out;
  bool strip_space = impl_->vocab.flags.add_space_prefix;  // only ever applies to the first token
  for (TokenId id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (strip_space && !piece.empty() && piece.front() == ' ') piece.erase(0, 1);
    strip_space = false;
    out += piece;
  }
  if (impl_->vocab.clean_spaces) clean_spaces(out);
  return out;
}

}  // namespace lp
