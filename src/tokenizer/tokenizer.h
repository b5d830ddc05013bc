// The tokenizer of a GGUF file (tokenizer.ggml.* keys) over an immutable vocabulary: SentencePiece
// BPE ("llama") or byte-level BPE ("gpt2": Llama 3, Qwen2, GPT-2, ...). Encoding matches llama.cpp's
// llama_tokenize; decoding is streamable.
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

// tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix. The defaults here are llama.cpp's
// for SPM; from_gguf uses llama.cpp's for BPE (no BOS unless the pre-tokenizer asks, e.g. Llama 3).
struct TokenizerFlags {
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;
};

class Tokenizer {
 public:
  static Tokenizer from_gguf(const gguf::File& file);  // throws lp::Error naming the bad key
  static Tokenizer from_vectors(std::vector<std::string> tokens, std::vector<float> scores,
                                std::vector<int32_t> types, TokenId bos, TokenId eos, TokenId unk);
  static Tokenizer from_vectors(std::vector<std::string> tokens, std::vector<float> scores,
                                std::vector<int32_t> types, TokenId bos, TokenId eos, TokenId unk,
                                const TokenizerFlags& flags);

  int n_vocab() const;
  TokenId bos() const;
  TokenId eos() const;
  std::string_view model() const;  // tokenizer.ggml.model: "llama" or "gpt2"
  std::string_view pre() const;    // tokenizer.ggml.pre of a BPE vocabulary ("default" if absent); "" for SPM
  TokenId unk() const;             // -1 if the vocabulary has none
  const TokenizerFlags& flags() const;
  TokenKind kind(TokenId id) const;
  float score(TokenId id) const;

  // add_bos is llama.cpp's add_special: prepend BOS (and append EOS) when the vocabulary's
  // add_bos_token (add_eos_token) asks for it, which Llama's does. parse_special: text like "<s>"
  // becomes its control token; user-defined tokens are always matched whole, as in llama.cpp.
  // Identical ids to llama.cpp's llama_tokenize(vocab, text, add_special, parse_special).
  std::vector<TokenId> encode(std::string_view text, bool add_bos, bool parse_special = false) const;
  // The bytes a token stands for (byte tokens decoded, "▁" as space). Not UTF-8 safe by itself.
  // Control and unknown tokens give their text ("<s>"), or nothing when render_special is false.
  std::string token_to_piece(TokenId id) const;
  std::string token_to_piece(TokenId id, bool render_special) const;
  const std::string& token_text(TokenId id) const;  // the raw vocabulary entry
  // As llama.cpp's llama_detokenize(ids, remove_special = false, unparse_special = render_special):
  // the first piece loses one leading space when add_space_prefix is set. Only the very first
  // token counts: after a leading BOS the next piece keeps its space, exactly as llama.cpp does.
  // Byte-level vocabularies with clean_up_tokenization_spaces (GPT-2, Llama 3, ...) then drop the
  // space before ? ! . , and in " 's" etc., as llama.cpp does: the pieces themselves are exact.
  std::string decode(const std::vector<TokenId>& ids) const;
  std::string decode(const std::vector<TokenId>& ids, bool render_special) const;
  // End of generation: llama.cpp's EOG set -- EOS, EOT, EOM, FIM pad/repo/file-separator and the
  // tokens it recognises by text (<|eot_id|>, <|im_end|>, <|endoftext|>, ...).
  bool is_eog(TokenId id) const;
  const std::vector<TokenId>& eog_ids() const;  // sorted

  // Streams pieces while never emitting half a UTF-8 character. By default the concatenated output
  // equals decode(ids) (so the first piece's leading space is stripped as llama.cpp's detokenize
  // does, and after a leading BOS the next piece keeps it); continues_text = true keeps every
  // space, for generated text printed after its prompt (llama.cpp's per-token token_to_piece).
  // Bytes that can never become valid UTF-8 are emitted as U+FFFD, so the output is always valid.
  // No clean_spaces pass (decode's BPE tidying): the stream gives the pieces' exact bytes.
  class StreamDecoder {
   public:
    explicit StreamDecoder(const Tokenizer& tok) : tok_(&tok) {}
    StreamDecoder(const Tokenizer& tok, bool continues_text) : tok_(&tok), first_(!continues_text) {}
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
