// SentencePiece BPE encoding with scores, as llama.cpp's "llama" (SPM) vocabulary does it.
//
// The fragment starts as one symbol per UTF-8 character (a lead byte claims its continuation
// bytes; a stray byte is a symbol of its own). Every adjacent pair whose concatenation is a
// vocabulary entry is a candidate merge, ranked by that entry's score, the leftmost first on equal
// scores. The best candidate is merged, its new neighbours become candidates, and so on until no
// candidate is left. A final symbol that is not in the vocabulary (only possible for a single
// character, because merges always form vocabulary entries) falls back to one <0xNN> token per byte.
#include <queue>
#include <string>

#include "llamaprof/error.h"
#include "tokenizer/vocab.h"

namespace lp::tokenizer_detail {

namespace {

struct Symbol {
  uint32_t begin;  // byte offset in the fragment
  uint32_t len;    // 0 once merged into its left neighbour
  int32_t prev;    // index of the neighbouring live symbols, -1 at the ends
  int32_t next;
};

struct Candidate {
  float score;
  int32_t left;  // symbol indices; left < right and adjacent when queued
  int32_t right;
  uint32_t len;  // bytes of the merged text: detects pairs invalidated by other merges
};

struct WorseCandidate {  // priority_queue puts the "largest" on top: highest score, then leftmost
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  }
};

// Bytes of the UTF-8 character a lead byte starts, from its top four bits. Continuation bytes
// (10xxxxxx) count as one, so malformed input still splits into byte-sized symbols.
uint32_t utf8_char_len(unsigned char lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

}  // namespace

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  if (text.empty()) return;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (uint32_t offset = 0; offset < text.size();) {
    const uint32_t len = std::min<uint32_t>(utf8_char_len(static_cast<unsigned char>(text[offset])),
                                            static_cast<uint32_t>(text.size()) - offset);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({offset, len, index - 1, offset + len == text.size() ? -1 : index + 1});
    offset += len;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, WorseCandidate> queue;
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& a = symbols[left];
    const Symbol& b = symbols[right];
    const TokenId id = vocab.find(text.substr(a.begin, a.len + b.len));
    if (id < 0) return;
    queue.push({vocab.scores[id], left, right, a.len + b.len});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);

  while (!queue.empty()) {
    const Candidate best = queue.top();
    queue.pop();
    Symbol& left = symbols[best.left];
    Symbol& right = symbols[best.right];
    // Stale if either side was merged away or grew since this pair was queued.
    if (left.len == 0 || right.len == 0 || left.next != best.right || left.len + right.len != best.len) {
      continue;
    }
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = best.left;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string_view piece = text.substr(s.begin, s.len);
    const TokenId id = vocab.find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (unsigned char byte : piece) {
      TokenId fallback = vocab.byte_token[byte];
      if (fallback < 0) fallback = vocab.unk;  // a vocabulary without byte fallback: <unk>
      if (fallback < 0) {
        throw Error(ErrorKind::InvalidArgument,
                    "cannot encode byte " + std::to_string(byte) + " at offset " + std::to_string(s.begin) +
                        ": the vocabulary has neither a <0xNN> token for it nor an unknown token");
      }
      out.push_back(fallback);
    }
  }
}

}  // namespace lp::tokenizer_detail
