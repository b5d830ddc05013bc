// Model: the mapped file, its hyperparameters, weight views and tokenizer.
#include "llamaprof/model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>

#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "model/weights.h"
#include "runtime/huge_pages.h"
#include "sampling/grammar_stage.h"
#include "tokenizer/tokenizer.h"

namespace lp {

struct Model::Impl {
  gguf::File file;
  HParams hp;
  ModelWeights weights;
  Tokenizer tokenizer;
  bool add_bos = true;
  bool vocab_only = false;
  double load_ms = 0;
  std::mutex grammar_vocab_mutex;
  std::shared_ptr<const GrammarVocab> grammar_vocab;  // built on first use

  Impl(gguf::File f, HParams h, ModelWeights w, Tokenizer t)
      : file(std::move(f)), hp(std::move(h)), weights(std::move(w)), tokenizer(std::move(t)) {}
};

namespace {


std::string render_value(const gguf::Value& v) {
  using gguf::ValueType;
  switch (v.type) {
    case ValueType::STRING: return v.as_string();
    case ValueType::BOOL: return v.as_bool() ? "true" : "false";
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g", v.as_f64());
      return buf;
    }
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return std::to_string(v.as_i64());
    case ValueType::ARRAY: {
      const gguf::Array& a = v.as_array();
      std::string s = "[";
      const size_t shown = std::min<size_t>(a.items.size(), 8);
      for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + render_value(a.items[i]);
      if (shown < a.items.size()) s += ", ... (" + std::to_string(a.items.size()) + " items)";
      return s + "]";
    }
    default: return std::to_string(v.as_u64());
  }
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::from_file(gguf::File file, bool vocab_only) {
  if (vocab_only) {
    // Only the tokenizer: the hyperparameters the file has are not needed (vocabulary files
    // carry none), and n_vocab is the vocabulary's own size.
    Tokenizer tok = Tokenizer::from_gguf(file);
    HParams hp;
    if (const gguf::Value* a = file.find("general.architecture"); a && a->type == gguf::ValueType::STRING) {
      hp.arch = a->as_string();
    }
    hp.n_vocab = tok.n_vocab();
    auto impl = std::make_unique<Impl>(std::move(file), std::move(hp), ModelWeights{}, std::move(tok));
    impl->add_bos = impl->tokenizer.flags().add_bos;
    impl->vocab_only = true;
    return Model(std::move(impl));
  }
  HParams hp = read_hparams(file);
  ModelWeights weights = bind_weights(file, hp);
  Tokenizer tok = Tokenizer::from_gguf(file);
  if (tok.n_vocab() != hp.n_vocab) {
    throw Error(ErrorKind::InvalidFile, file.path() + ": the vocabulary has " +
                                            std::to_string(tok.n_vocab()) + " tokens but token_embd.weight has " +
                                            std::to_string(hp.n_vocab) + " rows");
  }
  auto impl = std::make_unique<Impl>(std::move(file), std::move(hp), std::move(weights), std::move(tok));
  impl->add_bos = impl->tokenizer.flags().add_bos;
  return Model(std::move(impl));
}

Model Model::load(const std::string& path, const ModelParams& params) {
  const auto t0 = std::chrono::steady_clock::now();
  gguf::OpenOptions options;
  options.use_mmap = params.use_mmap;
  options.use_mlock = params.use_mlock;
  options.prefetch = params.prefetch;
  Model m = from_file(gguf::File::open(path, options), params.vocab_only);
  m.impl_->load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

const HParams& Model::hparams() const { return impl_->hp; }
const std::string& Model::path() const { return impl_->file.path(); }
double Model::load_ms() const { return impl_->load_ms; }
uint64_t Model::file_size() const { return impl_->file.file_size(); }

std::optional<double> Model::weights_huge_pages_pct() const {
  const HugePageCoverage c = huge_page_coverage(impl_->file.base(), impl_->file.file_size());
  if (!c.known) return std::nullopt;
  return 100.0 * c.fraction();
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const auto& t : impl_->file.tensors()) n += t.nbytes;
  return n;
}

uint64_t Model::n_params() const {
  uint64_t n = 0;
  for (const auto& t : impl_->file.tensors()) n += uint64_t(t.n_elements());
  return n;
}

std::string Model::type_name() const {
  std::map<TensorType, uint64_t> bytes;  // by data volume of 2-D tensors
  for (const auto& t : impl_->file.tensors()) {
    if (t.shape.size() >= 2 && t.name != "token_embd.weight" && t.name != "output.weight") bytes[t.type] += t.nbytes;
  }
  TensorType best = TensorType::F32;
  uint64_t most = 0;
  for (auto [type, n] : bytes) {
    if (n > most) most = n, best = type;
  }
  return std::string(type_traits(best).name);
}

bool Model::vocab_only() const { return impl_->vocab_only; }

int Model::n_vocab() const { return impl_->hp.n_vocab; }
TokenId Model::bos() const { return impl_->tokenizer.bos(); }
TokenId Model::eos() const { return impl_->tokenizer.eos(); }
bool Model::add_bos_default() const { return impl_->add_bos; }

std::vector<TokenId> Model::tokenize(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->tokenizer.encode(text, add_bos, parse_special);
}
std::string Model::token_to_piece(TokenId id) const { return impl_->tokenizer.token_to_piece(id); }
std::string Model::detokenize(const std::vector<TokenId>& ids) const { return impl_->tokenizer.decode(ids); }

std::optional<std::string> Model::metadata(std::string_view key) const {
  const gguf::Value* v = impl_->file.find(key);
  if (!v) return std::nullopt;
  return render_value(*v);
}

std::vector<std::string> Model::metadata_keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : impl_->file.metadata()) keys.push_back(k);
  return keys;
}

const Tokenizer& Model::tokenizer() const { return impl_->tokenizer; }

std::shared_ptr<const GrammarVocab> Model::grammar_vocab() const {
  std::lock_guard<std::mutex> lock(impl_->grammar_vocab_mutex);
  if (!impl_->grammar_vocab) {
    // The bytes each token adds to generated text (what the stream decoder appends: control
    // tokens add nothing and are never allowed) and the end-of-generation set.
    const Tokenizer& tok = impl_->tokenizer;
    const auto n = size_t(tok.n_vocab());
    std::vector<std::string> pieces(n);
    std::vector<bool> eog(n);
    for (size_t id = 0; id < n; ++id) {
      pieces[id] = tok.token_to_piece(TokenId(id), false);
      eog[id] = tok.is_eog(TokenId(id));
    }
    impl_->grammar_vocab = std::make_shared<GrammarVocab>(std::move(pieces), std::move(eog));
  }
  return impl_->grammar_vocab;
}
const gguf::File& Model::file() const { return impl_->file; }
const ModelWeights& Model::weights() const { return impl_->weights; }

}  // namespace lp
