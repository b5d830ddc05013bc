// Tokenizer::from_gguf: the tokenizer.ggml.* metadata keys into a Vocab.
// Kept apart from tokenizer.cpp so that code using only from_vectors does not need lp_gguf.
#include <cstdint>
#include <optional>

#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace lp {

namespace {

// Runs `read` on the value of `key`; a type mismatch becomes an InvalidFile error naming the key.
template <typename Read>
auto read_key(const gguf::File& file, std::string_view key, Read read)
    -> std::optional<decltype(read(std::declval<const gguf::Value&>()))> {
  const gguf::Value* value = file.find(key);
  if (!value) return std::nullopt;
  try {
    return read(*value);
  } catch (const Error& e) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": metadata key " + std::string(key) +
                                            " has the wrong type (" + gguf::value_type_name(value->type) +
                                            "): " + e.what());
  }
}

TokenId read_token_id(const gguf::File& file, std::string_view key, TokenId fallback) {
  auto v = read_key(file, key, [](const gguf::Value& x) { return x.as_i64(); });
  if (!v) return fallback;
  if (*v < -1 || *v > INT32_MAX) {
    throw Error(ErrorKind::InvalidFile,
                file.path() + ": metadata key " + std::string(key) + " = " + std::to_string(*v) + " is not a token id");
  }
  return static_cast<TokenId>(*v);
}

bool read_flag(const gguf::File& file, std::string_view key, bool fallback) {
  return read_key(file, key, [](const gguf::Value& x) { return x.as_bool(); }).value_or(fallback);
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::File& file) {
  const std::string& where = file.path();
  auto model = read_key(file, "tokenizer.ggml.model", [](const gguf::Value& x) { return x.as_string(); });
  if (!model) {
    throw Error(ErrorKind::InvalidFile, where + ": metadata key tokenizer.ggml.model is missing (no tokenizer)");
  }
  // "gemma4" is BPE over SentencePiece pieces (llama.cpp: a BPE vocabulary with pre-tokenizer
  // "gemma4", spaces escaped as "▁", no byte-level encoding).
  const bool gemma4 = *model == "gemma4";
  const bool bpe = *model == "gpt2" || gemma4;
  if (*model != "llama" && !bpe) {
    // "bert" is WordPiece, "t5" Unigram: not implemented.
    throw Error(ErrorKind::Unsupported, where + ": tokenizer.ggml.model = \"" + *model +
                                            "\" is not supported (only \"llama\", SentencePiece BPE, \"gpt2\", "
                                            "byte-level BPE, and \"gemma4\")");
  }

  auto impl = std::make_unique<Impl>();
  tokenizer_detail::Vocab& v = impl->vocab;
  auto tokens = read_key(file, "tokenizer.ggml.tokens", [](const gguf::Value& x) { return x.as_string_vector(); });
  if (!tokens) throw Error(ErrorKind::InvalidFile, where + ": metadata key tokenizer.ggml.tokens is missing");
  v.texts = std::move(*tokens);
  const size_t n = v.texts.size();
  // Scores and types are optional in llama.cpp (0 and NORMAL); a present but short array is a defect.
  v.scores = read_key(file, "tokenizer.ggml.scores", [](const gguf::Value& x) { return x.as_f32_vector(); })
                 .value_or(std::vector<float>(n, 0.0f));
  auto types = read_key(file, "tokenizer.ggml.token_type", [](const gguf::Value& x) { return x.as_i32_vector(); })
                   .value_or(std::vector<int32_t>(n, static_cast<int32_t>(TokenKind::Normal)));
  v.kinds.reserve(types.size());
  for (int32_t t : types) v.kinds.push_back(static_cast<TokenKind>(t));

  std::optional<std::vector<std::string>> merges;
  if (bpe) {
    v.model = tokenizer_detail::VocabModel::Bpe;
    // No pre key: llama.cpp's "default" pre-tokenizer (older conversions, e.g. GPT-NeoX, Aquila).
    auto pre = read_key(file, "tokenizer.ggml.pre", [](const gguf::Value& x) { return x.as_string(); });
    if (gemma4) pre = "gemma4";  // llama.cpp sets it for this model whatever the key says
    v.pre = tokenizer_detail::PreTokenizer::create(pre && !pre->empty() ? *pre : "default", where);
    v.spm_pieces = gemma4;
    v.clean_spaces = v.pre->clean_spaces();
    merges = read_key(file, "tokenizer.ggml.merges", [](const gguf::Value& x) { return x.as_string_vector(); });
    if (!merges) {
      throw Error(ErrorKind::InvalidFile,
                  where + ": metadata key tokenizer.ggml.merges is missing (required by tokenizer.ggml.model gpt2)");
    }
  }

  // Defaults as llama.cpp: SentencePiece's <unk> 0, <s> 1, </s> 2; BPE's 11 for both BOS and EOS
  // (dropped when the vocabulary is smaller) and no unknown token.
  const TokenId bpe_default = n > 11 && !gemma4 ? 11 : -1;  // gemma4: only what the file says
  v.bos = read_token_id(file, "tokenizer.ggml.bos_token_id", bpe ? bpe_default : 1);
  v.eos = read_token_id(file, "tokenizer.ggml.eos_token_id", bpe ? bpe_default : 2);
  v.unk = read_token_id(file, "tokenizer.ggml.unknown_token_id", bpe ? -1 : 0);
  v.eot = read_token_id(file, "tokenizer.ggml.eot_token_id", -1);
  v.eom = read_token_id(file, "tokenizer.ggml.eom_token_id", -1);
  v.fim_pad = read_token_id(file, "tokenizer.ggml.fim_pad_token_id", -1);
  v.fim_rep = read_token_id(file, "tokenizer.ggml.fim_rep_token_id", -1);
  v.fim_sep = read_token_id(file, "tokenizer.ggml.fim_sep_token_id", -1);
  v.model_name = read_key(file, "general.name", [](const gguf::Value& x) { return x.as_string(); }).value_or("");
  v.flags.add_bos = read_flag(file, "tokenizer.ggml.add_bos_token", bpe ? v.pre->add_bos() : true);
  v.flags.add_eos = read_flag(file, "tokenizer.ggml.add_eos_token", false);
  v.flags.add_space_prefix = read_flag(file, "tokenizer.ggml.add_space_prefix", !bpe);
  if (bpe) v.flags.add_space_prefix = false;  // llama.cpp: BPE vocabularies never get one
  if (gemma4) v.flags.add_bos = true;        // llama.cpp overrides add_bos_token=false for Gemma 4
  v.finish(where);
  if (bpe) tokenizer_detail::build_merges(v, *merges, where);
  return Tokenizer(std::move(impl));
}

}  // namespace lp
