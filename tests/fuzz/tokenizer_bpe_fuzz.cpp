// libFuzzer target for the byte-level BPE tokenizer on llama.cpp's real vocabularies. The first
// input byte picks the vocabulary and parse_special; the rest is the text (any bytes: random and
// invalid UTF-8). Invariants: encode never throws or crashes, every id is in the vocabulary, the
// StreamDecoder's output is valid UTF-8, and for valid UTF-8 text the pieces (special tokens
// rendered) concatenate back to exactly the text -- byte-level BPE is lossless, as in llama.cpp,
// when the vocabulary has a token for every byte. Falcon's lacks some control bytes (llama.cpp
// drops them too): such vocabularies are checked for everything but the round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "gguf/reader.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"

namespace {

// One vocabulary per pre-tokenizer family worth covering (regex lists of 1 to 6 patterns).
constexpr const char* kVocabs[] = {"llama-bpe",    "qwen2",          "qwen35", "gpt-2",
                                   "deepseek-llm", "deepseek-coder", "falcon"};
constexpr size_t kNumVocabs = sizeof(kVocabs) / sizeof(kVocabs[0]);

// Valid UTF-8 that holds every byte a valid text can hold (all but C0, C1, F5-FF).
std::string every_byte() {
  std::string s;
  for (int b = 0; b < 0x80; ++b) s += static_cast<char>(b);
  for (int b = 0xC2; b <= 0xDF; ++b) s += {static_cast<char>(b), '\x80'};
  for (int b = 0x80; b <= 0xBF; ++b) s += {'\xC2', static_cast<char>(b)};
  s += "\xE0\xA0\x80\xED\x80\x80";
  for (int b = 0xE1; b <= 0xEF; ++b) {
    if (b != 0xED) s += {static_cast<char>(b), '\x80', '\x80'};
  }
  s += "\xF0\x90\x80\x80\xF4\x80\x80\x80";
  for (int b = 0xF1; b <= 0xF3; ++b) s += {static_cast<char>(b), '\x80', '\x80', '\x80'};
  return s;
}

std::string pieces_of(const lp::Tokenizer& tok, const std::vector<lp::TokenId>& ids) {
  std::string s;
  for (lp::TokenId id : ids) s += tok.token_to_piece(id, true);
  return s;
}

struct Loaded {
  std::unique_ptr<lp::Tokenizer> tok;
  bool lossless = false;  // a token for every byte of valid UTF-8
};

const Loaded& vocab(size_t i) {
  static Loaded loaded[kNumVocabs];
  if (!loaded[i].tok) {
    const std::string path = std::string(LLAMAPROF_LLAMACPP_MODELS) + "/ggml-vocab-" + kVocabs[i] + ".gguf";
    const lp::gguf::File file = lp::gguf::File::open(path);
    loaded[i].tok = std::make_unique<lp::Tokenizer>(lp::Tokenizer::from_gguf(file));
    const std::string all = every_byte();
    loaded[i].lossless = pieces_of(*loaded[i].tok, loaded[i].tok->encode(all, false)) == all;
  }
  return loaded[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Loaded& v = vocab(data[0] % kNumVocabs);
  const lp::Tokenizer& tok = *v.tok;
  const bool parse_special = (data[0] / kNumVocabs) & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const std::vector<lp::TokenId> ids = tok.encode(text, false, parse_special);
  std::string pieces;
  lp::Tokenizer::StreamDecoder stream(tok);
  std::string streamed;
  for (lp::TokenId id : ids) {
    if (id < 0 || id >= tok.n_vocab()) std::abort();
    pieces += tok.token_to_piece(id, true);
    streamed += stream.push(id);
  }
  streamed += stream.flush();
  if (!lp::tokenizer_detail::is_valid_utf8(streamed)) std::abort();
  if (v.lossless && lp::tokenizer_detail::is_valid_utf8(text) && pieces != text) std::abort();
  (void)tok.decode(ids);
  return 0;
}
