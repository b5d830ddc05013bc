// The immutable vocabulary behind a Tokenizer: token texts, SentencePiece scores, kinds, the
// text -> id index, the byte-fallback table and the special tokens that text can spell out.
// Built once (from GGUF or from vectors) and then only read, so one Vocab serves any number of
// concurrent encode/decode calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace lp::tokenizer_detail {

// text -> id over the vocabulary's own texts: open addressing, each slot a 32-bit hash tag and an
// id, the text compared only when the tag matches. Looked up with string_views into the input.
class TextIndex {
 public:
  // A repeated text resolves to its last id, as in llama.cpp.
  void build(const std::vector<std::string>& texts);
  TokenId find(std::string_view text) const {
    if (slots_.empty()) return -1;
    const uint64_t h = std::hash<std::string_view>{}(text);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && (*texts_)[s.id] == text) return s.id;
    }
  }

 private:
  struct Slot {
    uint32_t tag;
    TokenId id;  // -1: empty
  };
  std::vector<Slot> slots_;
  const std::vector<std::string>* texts_ = nullptr;
};

enum class VocabModel { Spm, Bpe };  // tokenizer.ggml.model "llama", "gpt2"

// Per-token strip flags (llama.cpp's LSTRIP/RSTRIP attributes, set by model name): a special
// token that matches also eats the white space on that side.
enum : uint8_t { kStripLeft = 1, kStripRight = 2 };

// Byte-level BPE merges: (left id, right id) -> rank, and the token each merge makes. The pair
// table is open addressing over one flat array (looked up for every adjacent pair of every word).
struct Merges {
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // never a key: ids are < 2^31
  std::vector<uint64_t> keys;   // power-of-two size, kEmpty where unused
  std::vector<uint32_t> ranks;  // [slot]
  std::vector<TokenId> result;  // [rank] merged token, -1 if not in the vocabulary
  static uint64_t key(TokenId left, TokenId right) {
    return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
  }
  size_t slot(uint64_t k) const { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 32) & (keys.size() - 1); }
  // The rank of the pair, or -1.
  int64_t find(TokenId left, TokenId right) const {
    if (keys.empty()) return -1;
    const uint64_t k = key(left, right);
    for (size_t i = slot(k);; i = (i + 1) & (keys.size() - 1)) {
      if (keys[i] == k) return ranks[i];
      if (keys[i] == kEmpty) return -1;
    }
  }
};

struct Vocab {
  std::vector<std::string> texts;  // [n_vocab] raw entries, "▁" (U+2581) standing for a space
  std::vector<float> scores;       // [n_vocab] higher merges first
  std::vector<TokenKind> kinds;    // [n_vocab]
  TextIndex by_text;  // over `texts`, which never changes after finish()
  std::array<TokenId, 256> byte_token{};  // byte -> its <0xNN> token, -1 if the vocab lacks it
  std::vector<TokenId> special_by_length;  // Control/UserDefined/Unknown ids, longest text first

  TokenId bos = -1, eos = -1, unk = -1;
  TokenId eot = -1, eom = -1;                    // tokenizer.ggml.eot/eom_token_id, or found by text
  TokenId fim_pad = -1, fim_rep = -1, fim_sep = -1;  // end generation too (llama.cpp)
  TokenizerFlags flags;  // add_bos_token, add_eos_token, add_space_prefix
  std::string model_name;        // general.name: llama.cpp sets strip flags by it (Phi-3)
  std::vector<uint8_t> strip;    // [n_vocab] kStripLeft/kStripRight, empty when none is set
  std::vector<TokenId> eog_ids;  // sorted: the ids that end generation

  VocabModel model = VocabModel::Spm;
  // Byte-level BPE only.
  std::unique_ptr<PreTokenizer> pre;
  Merges merges;
  std::array<TokenId, 256> byte_char_token{};  // byte -> token spelling its stand-in character, -1 if none
  bool clean_spaces = false;                    // detokenize tidies " ," etc. (llama.cpp clean_spaces)
  // "gemma4": BPE over SentencePiece pieces instead of byte-level stand-ins. Spaces become "▁",
  // the symbols are raw UTF-8 characters and unknown bytes fall back to <0xNN> tokens.
  bool spm_pieces = false;

  int size() const { return static_cast<int>(texts.size()); }
  TokenId find(std::string_view text) const { return by_text.find(text); }
  // Builds the indexes and checks consistency; `where` prefixes error messages (file name).
  void finish(const std::string& where);
};

// "<0xNN>" -> NN, or -1 when `text` is not a byte token spelling.
int parse_byte_token(std::string_view text);

// SentencePiece BPE over one fragment whose spaces are already "▁" (spm.cpp).
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

// Byte-level BPE over one raw fragment: pre-tokenize, then merge by rank within each word (bpe.cpp).
void bpe_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

// Parses tokenizer.ggml.merges ("left right" strings, rank = index) into vocab.merges and fills
// byte_char_token; throws InvalidFile naming the merge (bpe.cpp). `texts`/`by_text` must be built.
void build_merges(Vocab& vocab, const std::vector<std::string>& merges, const std::string& where);

// llama.cpp's text rules for special tokens (special_tokens.cpp): EOT/EOM/FIM ids found by text,
// control-looking tokens forced to Control, the end-of-generation set, strip flags by model name.
void apply_special_token_rules(Vocab& vocab);

}  // namespace lp::tokenizer_detail
