// The regex pre-tokenizer of a byte-level BPE vocabulary, chosen by tokenizer.ggml.pre: the text
// is cut into words, and BPE merges never cross a word boundary.
//
// As in llama.cpp, a pre-tokenizer is a list of regexes applied one after the other: each regex
// cuts every current word into its matches and the text between them (both stay words). The
// regexes are llama.cpp's, compiled once per vocabulary with PCRE2 (UTF, UCP, JIT): see the
// Tokenizer section of docs/architecture.md for how that matches llama.cpp's own matcher.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lp::tokenizer_detail {

class PreTokenizer {
 public:
  // Throws lp::Error(Unsupported) naming `pre` and the known names; `where` prefixes messages.
  static std::unique_ptr<PreTokenizer> create(std::string_view pre, const std::string& where);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Word end offsets of `text` (valid UTF-8) into `ends`, each > the previous, the last = size.
  // Thread-safe: the compiled regexes are only read; match data is per thread.
  void split(std::string_view text, std::vector<uint32_t>& ends) const;

  const std::string& name() const { return name_; }      // the tokenizer.ggml.pre value, e.g. "llama-bpe"
  bool ignore_merges() const { return ignore_merges_; }  // a word that is a token stays whole
  bool add_bos() const { return add_bos_; }              // llama.cpp's default before add_bos_token
  bool clean_spaces() const { return clean_spaces_; }    // detokenize's clean_up_tokenization_spaces
  static std::string known_names();                      // for error messages and `llamaprof info`

 private:
  PreTokenizer() = default;
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
  std::string name_;
  bool ignore_merges_ = false;
  bool add_bos_ = false;
  bool clean_spaces_ = true;
};

}  // namespace lp::tokenizer_detail
