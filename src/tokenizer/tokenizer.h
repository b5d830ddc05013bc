// SentencePiece-style ("llama") tokenizer over an immutable vocabulary loaded from GGUF
// (tokenizer.ggml.* keys). Encoding matches llama.cpp's llama vocab; decoding is streamable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lp {
namespace gguf { class File; }

using TokenId = int32_t;

enum class TokenKind : int32_t {  // tokenizer.ggml.token_type values
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

class Tokenizer {
 public:
  static Tokenizer from_gguf(const gguf::File& file);  // throws lp::Error naming the bad key
  static Tokenizer from_vectors(std::vector<std::string> tokens, std::vector<float> scores,
                                std::vector<int32_t> types, TokenId bos, TokenId eos, TokenId unk);

  int n_vocab() const;
  TokenId bos() const;
  TokenId eos() const;
  std::string_view model() const;  // "llama"

  // add_bos: prepend BOS; parse_special: text like "<s>" becomes its control token.
  std::vector<TokenId> encode(std::string_view text, bool add_bos, bool parse_special = false) const;
  // The bytes a token stands for (byte tokens decoded, "▁" as space). Not UTF-8 safe by itself.
  std::string token_to_piece(TokenId id) const;
  const std::string& token_text(TokenId id) const;  // the raw vocabulary entry
  std::string decode(const std::vector<TokenId>& ids) const;
  bool is_eog(TokenId id) const;  // end of generation (EOS)

  // Streams pieces while never emitting half a UTF-8 character; a leading space after BOS is
  // stripped as llama.cpp does.
  class StreamDecoder {
   public:
    explicit StreamDecoder(const Tokenizer& tok) : tok_(&tok) {}
    std::string push(TokenId id);  // complete UTF-8 text ready to print (may be empty)
    std::string flush();           // whatever remains (invalid bytes as U+FFFD)
   private:
    const Tokenizer* tok_;
    std::string pending_;
    bool first_ = true;
  };

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp
