// Byte-level BPE (llama.cpp's "gpt2" vocabulary): merges by rank within each pre-tokenized word.
//
// Each byte of a word starts as one symbol: the token spelling its byte-level stand-in character.
// Every adjacent pair listed in tokenizer.ggml.merges is a candidate, the lowest rank first and the
// leftmost on equal ranks; the best is merged, its new neighbours become candidates, and so on.
// Symbols are token ids, not strings: merges name vocabulary tokens (checked at load), so a pair
// is looked up by (left id, right id) and no text is built per merge. A final symbol that is not
// a token (possible only with a merge whose result the vocabulary lacks) falls back, as in
// llama.cpp, to the tokens spelled by single bytes of its byte-level text, where they exist.
#include <algorithm>
#include <string>

#include "llamaprof/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/vocab.h"

namespace lp::tokenizer_detail {

namespace {

struct Symbol {
  uint32_t begin;  // byte offset in the word
  uint32_t len;    // 0 once merged into its left neighbour
  int32_t prev, next;
  TokenId id;  // -1: not a vocabulary token
};

struct Candidate {
  uint32_t rank;
  int32_t left, right;
  TokenId left_id, right_id;  // stale when either symbol has changed since
};

// std::push_heap keeps the "largest" on top: make that the lowest rank, then the leftmost.
bool worse(const Candidate& a, const Candidate& b) {
  if (a.rank != b.rank) return a.rank > b.rank;
  return a.left > b.left;
}

// Scratch reused across the words of one call (no allocation per word once warmed up).
struct Scratch {
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<uint32_t> ends;
  std::string spelled, clean, regex_text;
};

void spell(std::string_view bytes, std::string& out) {
  out.clear();
  for (unsigned char b : bytes) out += byte_to_unicode(b);
}

// Bytes of the UTF-8 sequence that starts with lead byte b (1 for a stray continuation byte), as
// llama.cpp's unicode_len_utf8.
uint32_t utf8_len(unsigned char b) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[b >> 4];
}

// gemma4's symbols: one per UTF-8 character of the raw text, the token spelling it (or -1).
void character_symbols(const Vocab& v, std::string_view word, std::vector<Symbol>& sym) {
  const auto n = static_cast<uint32_t>(word.size());
  for (uint32_t i = 0; i < n;) {
    const uint32_t len = std::min(n - i, utf8_len(static_cast<unsigned char>(word[i])));
    const auto index = static_cast<int32_t>(sym.size());
    sym.push_back({i, len, index - 1, i + len == n ? -1 : index + 1, v.find(word.substr(i, len))});
    i += len;
  }
}

void encode_word(const Vocab& v, std::string_view word, Scratch& s, std::vector<TokenId>& out) {
  if (v.spm_pieces && word.find_first_not_of('\n') == std::string_view::npos) {
    // gemma4: a run of newlines is one token when the vocabulary has it (llama.cpp PR 21343).
    const TokenId whole = v.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  if (v.pre->ignore_merges()) {
    spell(word, s.spelled);
    const TokenId whole = v.find(s.spelled);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  if (word.size() == 1) {  // the common single-byte word: no merge possible
    const TokenId id = v.byte_char_token[static_cast<unsigned char>(word[0])];
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  auto& sym = s.symbols;
  sym.clear();
  if (v.spm_pieces) {
    character_symbols(v, word, sym);
  } else {
    const auto n = static_cast<int32_t>(word.size());
    for (int32_t i = 0; i < n; ++i) {
      sym.push_back({static_cast<uint32_t>(i), 1, i - 1, i + 1 == n ? -1 : i + 1,
                     v.byte_char_token[static_cast<unsigned char>(word[i])]});
    }
  }
  const auto n = static_cast<int32_t>(sym.size());
  auto& heap = s.heap;
  heap.clear();
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const TokenId a = sym[left].id, b = sym[right].id;
    if (a < 0 || b < 0) return;
    const int64_t rank = v.merges.find(a, b);
    if (rank < 0) return;
    heap.push_back({static_cast<uint32_t>(rank), left, right, a, b});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (int32_t i = 1; i < n; ++i) consider(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = sym[c.left];
    Symbol& right = sym[c.right];
    if (left.len == 0 || right.len == 0 || left.next != c.right || left.id != c.left_id ||
        right.id != c.right_id) {
      continue;
    }
    left.len += right.len;
    left.id = v.merges.result[c.rank];
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = c.left;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    const Symbol& x = sym[i];
    if (x.id >= 0) {
      out.push_back(x.id);
      continue;
    }
    if (v.spm_pieces) {  // gemma4: the bytes' <0xNN> tokens
      for (unsigned char c : word.substr(x.begin, x.len)) {
        if (v.byte_token[c] >= 0) out.push_back(v.byte_token[c]);
      }
      continue;
    }
    spell(word.substr(x.begin, x.len), s.spelled);
    for (char c : s.spelled) {
      const TokenId id = v.find(std::string_view(&c, 1));
      if (id >= 0) out.push_back(id);
    }
  }
}

}  // namespace

void bpe_encode(const Vocab& v, std::string_view text, std::vector<TokenId>& out) {
  if (text.empty()) return;
  thread_local Scratch s;
  // llama.cpp reads invalid UTF-8 as U+FFFD per bad byte; valid text is used as it is.
  std::string_view clean = text, regex_text = text;
  if (sanitize_utf8(text, s.clean, s.regex_text)) {
    clean = s.clean;
    regex_text = s.regex_text;
  }
  if (v.spm_pieces) {
    // gemma4: spaces become "▁" before the split (llama.cpp escapes the whole fragment), and the
    // sanitized text is the one split and merged.
    s.spelled.clear();
    for (char c : clean) {
      if (c == ' ') s.spelled += "\xE2\x96\x81";
      else s.spelled += c;
    }
    s.clean.swap(s.spelled);
    clean = regex_text = s.clean;
  }
  v.pre->split(regex_text, s.ends);
  uint32_t begin = 0;
  for (const uint32_t end : s.ends) {
    encode_word(v, clean.substr(begin, end - begin), s, out);
    begin = end;
  }
}

void build_merges(Vocab& v, const std::vector<std::string>& merges, const std::string& where) {
  size_t capacity = 16;
  while (capacity < merges.size() * 2) capacity *= 2;  // load factor <= 1/2: short probes
  v.merges.keys.assign(capacity, Merges::kEmpty);
  v.merges.ranks.assign(capacity, 0);
  v.merges.result.assign(merges.size(), -1);
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    const size_t space = m.find(' ', 1);  // as llama.cpp: the first space after the first byte
    if (space == std::string::npos) {
      throw Error(ErrorKind::InvalidFile, where + ": tokenizer.ggml.merges[" + std::to_string(i) + "] = \"" +
                                              m + "\" is not two tokens separated by a space");
    }
    const std::string_view left(m.data(), space), right(m.data() + space + 1, m.size() - space - 1);
    const TokenId a = v.find(left), b = v.find(right);
    if (a < 0 || b < 0) {
      throw Error(ErrorKind::InvalidFile, where + ": tokenizer.ggml.merges[" + std::to_string(i) + "] = \"" +
                                              m + "\" names \"" + std::string(a < 0 ? left : right) +
                                              "\", which is not in tokenizer.ggml.tokens");
    }
    joined.assign(left);
    joined += right;
    v.merges.result[i] = v.find(joined);
    const uint64_t k = Merges::key(a, b);
    size_t slot = v.merges.slot(k);
    while (v.merges.keys[slot] != Merges::kEmpty && v.merges.keys[slot] != k)
      slot = (slot + 1) & (capacity - 1);
    if (v.merges.keys[slot] == k) continue;  // a repeated pair keeps its first rank, as in llama.cpp
    v.merges.keys[slot] = k;
    v.merges.ranks[slot] = static_cast<uint32_t>(i);
  }
  for (int b = 0; b < 256; ++b) {
    // gemma4 spells an ASCII byte as itself; a lone non-ASCII byte is no character.
    v.byte_char_token[b] = v.spm_pieces ? (b < 0x80 ? v.find(std::string(1, char(b))) : -1)
                                        : v.find(byte_to_unicode(static_cast<uint8_t>(b)));
  }
}

}  // namespace lp::tokenizer_detail
