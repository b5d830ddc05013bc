#include "model/make_model.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <string_view>
#include <thread>

#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "model/arch.h"
#include "quant/quantize.h"

namespace lp::model {
namespace {

// ---- vocabulary ------------------------------------------------------------------------------------

// GGUF token types (llama_token_type).
constexpr int32_t kTokenUnknown = 2;
constexpr int32_t kTokenControl = 3;

[[noreturn]] void bad_line(const std::string& path, size_t line_no, const std::string& what) {
  throw Error(ErrorKind::InvalidFile, path + ":" + std::to_string(line_no) + ": " + what);
}

// Inverse of escapeTsv in tools/oracle/llama2-vocab.mjs.
std::string unescape_text(std::string_view field, const std::string& path, size_t line_no) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out += field[i];
      continue;
    }
    if (++i == field.size()) bad_line(path, line_no, "token text ends with a lone backslash");
    switch (field[i]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default: bad_line(path, line_no, std::string("unknown escape \\") + field[i] + " in token text");
    }
  }
  return out;
}

int64_t parse_int(std::string_view s, const std::string& path, size_t line_no, const char* what) {
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) bad_line(path, line_no, std::string("bad ") + what + " '" + text + "'");
  return v;
}

// ---- random weights ------------------------------------------------------------------------------

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 0x100000001B3ull;
  return h;
}

// Each row has its own generator seeded from (seed, tensor name, row): the bytes do not depend on
// how rows are split over threads.
uint64_t row_state(uint64_t seed, uint64_t name_hash, int64_t row) {
  uint64_t s = seed ^ 0x6C6C616D6170726Full;  // "llamapro"
  splitmix64(s);
  s ^= name_hash;
  splitmix64(s);
  s ^= uint64_t(row) * 0xD1B54A32D192ED03ull;
  return s;
}

// Approximately N(0, 1): the sum of four 16-bit uniforms (Irwin-Hall, variance 4/12 of 65536^2)
// from one 64-bit draw. Four times cheaper than Box-Muller, which matters at 7B parameters, and
// bounded at +-3.46: no outliers that would distort quantization block scales.
float approx_normal(uint64_t& state) {
  uint64_t r = splitmix64(state);
  uint32_t sum = uint32_t(r & 0xFFFF) + uint32_t((r >> 16) & 0xFFFF) + uint32_t((r >> 32) & 0xFFFF) +
                 uint32_t(r >> 48);
  constexpr float kMean = 2.0f * 65535.0f;
  constexpr float kInvStd = 1.7320508f / 65536.0f;  // sqrt(3) / 65536
  return (float(sum) - kMean) * kInvStd;
}

// Weight distribution of one tensor: mean + std * N(0, 1).
struct Init {
  float mean;
  float std;
};

// Weight scales. Performance does not depend on the values, but parity tests against llama.cpp
// (greedy tokens identical, top-k logprobs within tolerance) do: they must be able to fail on a
// wrong RoPE or mask, and must not hang on near-ties. With d = n_embd, d_ff = n_ff, d_q = n_head *
// head_dim:
//   token_embd   N(0, 1): the residual stream starts at RMS 1. Tied to the output (no output.weight):
//                N(0, 2.5/sqrt(d)), logits of std ~2.5. The current token's own embedding is still in
//                the residual and gives its own logit ~ std^2 / RMS(x): with std 5 or more it won
//                every step (greedy repeated the last prompt token); at 2.5 it is below the top of
//                the 32000 others (~4 std), and the top-1 is still ~0.5 nats ahead of the top-2.
//   *_norm       1 + N(0, 0.05): close to identity, but a wrong norm weight still shows.
//   attn_q/k     std 2/sqrt(d): after RMSNorm (RMS 1) q and k elements have std ~2, so
//                q.k/sqrt(head_dim) has std ~4 across positions: attention is sharp (a few keys
//                take most of the weight) and depends strongly on RoPE and the mask.
//   attn_q/k_norm (qwen3) 2 + N(0, 0.1): the per-head RMSNorm leaves RMS 1, and the weight brings q
//                and k back to std ~2, the same sharpness as without the norm. (Real Qwen3 q/k
//                norm weights are far from 1 too.)
//   attn_q/k/v.bias (qwen2) N(0, 0.5), N(0, 0.2) for v: small next to the projections (std ~2, ~1)
//                but large enough that a missing bias moves the scores.
//   ffn_gate_inp (MoE router) std 2/sqrt(d): router logits of std ~2, so the top-k is clear-cut
//                but a wrong weight normalization moves every expert's share.
//   attn_qkv (phi3, fused) std 2/sqrt(d) for Q, K and V alike.
//   *_post_norm (gemma) and gemma's norms: 1 + N(0, 0.05) like every norm (the GGUF stores Gemma's
//                "1 + w" already added).
//   attn_v, ffn_gate/up   std 1/sqrt(d); attn_output 1/sqrt(d_q); ffn_down 1/sqrt(d_ff) (the experts'
//                1/sqrt(expert ffn)): each
//                block adds RMS ~1 to the residual (sqrt(1 + 1.4 * n_layer) growth, no explosion;
//                RMSNorm rescales anyway).
//   output       std 5/sqrt(d): after output_norm, logits have std ~5, so over 32000 tokens the top-1
//                logit is typically ~1 nat ahead of the top-2 (mean gap of the two largest of n
//                Gaussians is about sigma/sqrt(2 ln n)).
// rope_freqs.weight is not random: llama3_rope_factors() below.
// Measured with node-llama-cpp on these presets: see docs/architecture.md.
Init weight_init(std::string_view name, const ModelPreset& p) {
  auto ends_with = [name](std::string_view suffix) { return name.ends_with(suffix); };
  const float inv_sqrt_d = 1.0f / std::sqrt(float(p.n_embd));
  if (ends_with("attn_q_norm.weight") || ends_with("attn_k_norm.weight")) return {2.0f, 0.1f};
  if (ends_with("ffn_gate_inp.weight")) return {0.0f, 2.0f * inv_sqrt_d};
  if (ends_with("ffn_down_exps.weight")) return {0.0f, 1.0f / std::sqrt(float(p.n_ff_exp))};
  if (ends_with("attn_qkv.weight")) return {0.0f, 2.0f * inv_sqrt_d};
  if (ends_with("norm.weight")) return {1.0f, 0.05f};
  if (ends_with("attn_v.bias")) return {0.0f, 0.2f};
  if (ends_with(".bias")) return {0.0f, 0.5f};
  if (name == "output.weight") return {0.0f, 5.0f * inv_sqrt_d};
  if (name == "token_embd.weight") return {0.0f, p.tied_output ? 2.5f * inv_sqrt_d : 1.0f};
  if (ends_with("attn_q.weight") || ends_with("attn_k.weight")) return {0.0f, 2.0f * inv_sqrt_d};
  if (ends_with("attn_output.weight")) return {0.0f, 1.0f / std::sqrt(float(p.n_embd_q()))};
  if (ends_with("ffn_down.weight")) return {0.0f, 1.0f / std::sqrt(float(p.n_ff))};
  return {0.0f, inv_sqrt_d};  // attn_v, ffn_gate, ffn_up
}

struct TensorJob {
  std::string name;
  TensorType type;
  int64_t row_len;
  int64_t rows;
  Init init;
  uint64_t seed;
  int threads;
  bool pooled;                // build rows from a pool of quantized random blocks (see produce_pooled)
  std::vector<float> values;  // fixed contents (rope_freqs) instead of random ones, when not empty
};

// Rows of the pool produce_pooled quantizes once per tensor.
constexpr int64_t kPoolRows = 64;

// The fast way for multi-GB files: quantizing every row with the reference quantizer runs at ~5 M
// weights/s on 2 cores (a 30B file takes hours). Instead, quantize kPoolRows random rows once and
// build every row from blocks of that pool picked at random (per-row generator, as in produce):
// each block is a real quantizer output of the same distribution, rows stay independent, and the
// speed is that of memcpy. Only for quantized types, whose blocks are self-contained.
void produce_pooled(const TensorJob& job, uint8_t* dst) {
  const TypeTraits& traits = type_traits(job.type);
  const size_t row_bytes = row_size(job.type, job.row_len);
  const int64_t blocks_per_row = job.row_len / traits.block_size;
  const uint64_t name_hash = fnv1a64(job.name);
  std::vector<uint8_t> pool(row_bytes * size_t(kPoolRows));
  std::vector<float> row(size_t(job.row_len));
  for (int64_t r = 0; r < kPoolRows; ++r) {
    uint64_t state = row_state(job.seed, name_hash, -1 - r);
    for (float& v : row) v = job.init.mean + job.init.std * approx_normal(state);
    quantize_row_ref(job.type, row.data(), pool.data() + size_t(r) * row_bytes, job.row_len);
  }
  const uint64_t pool_blocks = uint64_t(kPoolRows) * uint64_t(blocks_per_row);
  for (int64_t r = 0; r < job.rows; ++r) {
    uint64_t state = row_state(job.seed, name_hash, r);
    uint8_t* out = dst + uint64_t(r) * row_bytes;
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const uint64_t pick = splitmix64(state) % pool_blocks;
      std::memcpy(out + size_t(b) * traits.type_size, pool.data() + pick * traits.type_size, traits.type_size);
    }
  }
}

void produce(const TensorJob& job, uint8_t* dst, uint64_t nbytes) {
  const size_t row_bytes = row_size(job.type, job.row_len);
  if (nbytes != row_bytes * uint64_t(job.rows)) {
    throw Error(ErrorKind::Runtime, "make-model: tensor " + job.name + ": writer asked for " +
                                        std::to_string(nbytes) + " bytes, expected " +
                                        std::to_string(row_bytes * uint64_t(job.rows)));
  }
  if (!job.values.empty()) {
    for (int64_t r = 0; r < job.rows; ++r) {
      quantize_row_ref(job.type, job.values.data() + r * job.row_len, dst + uint64_t(r) * row_bytes, job.row_len);
    }
    return;
  }
  if (job.pooled && type_traits(job.type).quantized && job.rows > kPoolRows) {
    produce_pooled(job, dst);
    return;
  }
  const uint64_t name_hash = fnv1a64(job.name);
  auto work = [&](int64_t first, int64_t last) {
    std::vector<float> row(size_t(job.row_len));
    for (int64_t r = first; r < last; ++r) {
      uint64_t state = row_state(job.seed, name_hash, r);
      for (float& v : row) v = job.init.mean + job.init.std * approx_normal(state);
      quantize_row_ref(job.type, row.data(), dst + uint64_t(r) * row_bytes, job.row_len);
    }
  };
  // Small tensors are not worth a thread.
  const int64_t elements = job.rows * job.row_len;
  const int n = int(std::clamp<int64_t>(std::min<int64_t>(job.threads, elements / 65536), 1, job.rows));
  if (n == 1) {
    work(0, job.rows);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    const int64_t first = job.rows * t / n, last = job.rows * (t + 1) / n;
    workers.emplace_back([&, t, first, last] {
      try {
        work(first, last);
      } catch (...) {
        errors[size_t(t)] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

TokenizerKeys read_vocab_tsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::FileNotFound, "cannot open vocabulary file " + path);
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    // The text is the last field and may itself be empty, but never holds a raw tab (escaped).
    std::string_view rest(line);
    std::string_view fields[4];
    for (int f = 0; f < 3; ++f) {
      size_t tab = rest.find('\t');
      if (tab == std::string_view::npos) bad_line(path, line_no, "expected 4 tab-separated fields");
      fields[f] = rest.substr(0, tab);
      rest.remove_prefix(tab + 1);
    }
    fields[3] = rest;
    if (fields[3].find('\t') != std::string_view::npos) bad_line(path, line_no, "more than 4 fields");
    const int64_t id = parse_int(fields[0], path, line_no, "id");
    if (id != int64_t(tokens.size())) {
      bad_line(path, line_no, "id " + std::to_string(id) + " out of order (expected " +
                                  std::to_string(tokens.size()) + ")");
    }
    std::string score_text(fields[1]);
    char* end = nullptr;
    const float score = std::strtof(score_text.c_str(), &end);
    if (score_text.empty() || *end != '\0') bad_line(path, line_no, "bad score '" + score_text + "'");
    const int64_t type = parse_int(fields[2], path, line_no, "type");
    if (type < 1 || type > 6) bad_line(path, line_no, "token type " + std::to_string(type) + " not in 1..6");
    tokens.push_back(unescape_text(fields[3], path, line_no));
    scores.push_back(score);
    types.push_back(int32_t(type));
  }
  if (tokens.size() < 3) throw Error(ErrorKind::InvalidFile, path + ": fewer than 3 tokens");
  if (types[0] != kTokenUnknown || types[1] != kTokenControl || types[2] != kTokenControl) {
    throw Error(ErrorKind::InvalidFile, path + ": ids 0, 1, 2 must be <unk> (type 2), <s> and </s> (type 3)");
  }
  TokenizerKeys keys;
  keys.emplace_back("tokenizer.ggml.model", gguf::Value::str("llama"));
  keys.emplace_back("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  keys.emplace_back("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  keys.emplace_back("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  keys.emplace_back("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  keys.emplace_back("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  keys.emplace_back("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  keys.emplace_back("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
  keys.emplace_back("tokenizer.ggml.add_eos_token", gguf::Value::boolean(false));
  return keys;
}

TokenizerKeys tokenizer_keys_from_gguf(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  TokenizerKeys keys;
  for (const auto& [key, value] : file.metadata()) {
    if (key.starts_with("tokenizer.")) keys.emplace_back(key, value);
  }
  if (keys.empty()) throw Error(ErrorKind::InvalidArgument, path + ": no tokenizer.* keys to copy");
  return keys;
}

int64_t vocab_size(const TokenizerKeys& keys) {
  for (const auto& [key, value] : keys) {
    if (key == "tokenizer.ggml.tokens") return int64_t(value.as_array().items.size());
  }
  throw Error(ErrorKind::InvalidArgument, "the vocabulary has no tokenizer.ggml.tokens key");
}

std::vector<TensorPlan> plan_tensors(const ModelPreset& p, const Recipe& recipe, int64_t n_vocab) {
  const ArchDesc* arch = find_arch(p.arch);
  if (!arch) {
    throw Error(ErrorKind::Unsupported, "make-model: preset " + std::string(p.name) + " has architecture '" +
                                            std::string(p.arch) + "' (known: " + supported_arch_names() + ")");
  }
  RecipeModel rm;
  rm.n_layers = p.n_layer;
  rm.n_gqa = p.n_head / p.n_head_kv;
  rm.has_output = !p.tied_output;
  std::vector<TensorPlan> plan;
  // GGUF shapes list ne[0] (the row length, the matrix's input dimension) first.
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    const TensorType type = recipe_tensor_type(recipe, name, rm, shape[0], int(shape.size()));
    int64_t rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
    const uint64_t nbytes = row_size(type, shape[0]) * uint64_t(rows);
    plan.push_back({std::move(name), std::move(shape), type, nbytes});
  };
  const DimSizes dim{p.n_embd, p.n_embd_q(), p.n_embd_kv(), p.n_ff, p.head_dim(), p.n_expert, p.n_ff_exp};

  const int64_t d = p.n_embd;
  add("token_embd.weight", {d, n_vocab});
  if (p.llama3_rope.factor > 0) add("rope_freqs.weight", {p.head_dim() / 2});
  if (p.n_ctx_orig > 0) {
    add("rope_factors_long.weight", {p.head_dim() / 2});
    add("rope_factors_short.weight", {p.head_dim() / 2});
  }
  // Every tensor the architecture requires; optional ones (llama's biases) are left out.
  for (int l = 0; l < p.n_layer; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    for (const LayerTensorRule& r : layer_tensor_rules()) {
      if (r.need && arch->*r.need != Need::Required) continue;
      if (r.d1 == Dim::None) add(blk + std::string(r.suffix), {dim(r.d0)});
      else if (r.d2 == Dim::None) add(blk + std::string(r.suffix), {dim(r.d0), dim(r.d1)});
      else add(blk + std::string(r.suffix), {dim(r.d0), dim(r.d1), dim(r.d2)});
    }
  }
  add("output_norm.weight", {d});
  if (!p.tied_output) add("output.weight", {d, n_vocab});
  return plan;
}

uint64_t tensor_data_size(const ModelPreset& preset, const Recipe& recipe, int64_t n_vocab) {
  uint64_t total = 0;
  for (const TensorPlan& t : plan_tensors(preset, recipe, n_vocab)) total += t.nbytes;
  return total;
}

uint64_t parameter_count(const ModelPreset& p, int64_t n_vocab) {
  static const Recipe kF32 = *find_recipe("F32");
  uint64_t n = 0;
  for (const TensorPlan& t : plan_tensors(p, kF32, n_vocab)) {
    uint64_t e = 1;
    for (int64_t s : t.shape) e *= uint64_t(s);
    n += e;
  }
  return n;
}

std::vector<float> llama3_rope_factors(const ModelPreset& p) {
  // HF's llama3 rope (and llama.cpp's converter): pairs whose wavelength is shorter than
  // original_context / high_freq_factor keep their frequency (factor 1), longer than
  // original_context / low_freq_factor are slowed by `factor`, and those in between blend.
  const Llama3Rope& r = p.llama3_rope;
  const int half = p.head_dim() / 2;
  const double low_wavelen = r.original_context / r.low_freq_factor;
  const double high_wavelen = r.original_context / r.high_freq_factor;
  std::vector<float> f(static_cast<size_t>(half));
  for (int k = 0; k < half; ++k) {
    const double freq = 1.0 / std::pow(double(p.rope_theta), 2.0 * k / p.head_dim());
    const double wavelen = 2.0 * M_PI / freq;
    if (wavelen < high_wavelen) {
      f[size_t(k)] = 1.0f;
    } else if (wavelen > low_wavelen) {
      f[size_t(k)] = r.factor;
    } else {
      const double smooth = (r.original_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      f[size_t(k)] = float(1.0 / ((1.0 - smooth) / r.factor + smooth));
    }
  }
  return f;
}

std::vector<float> longrope_factors(const ModelPreset& p, bool long_factors) {
  // Not the real models' factors (fitted per model), but their shape: short ones near 1, long ones
  // growing from 1 to ~40 over the pairs (the slowest pairs stretched the most).
  const int half = p.head_dim() / 2;
  std::vector<float> f(static_cast<size_t>(half));
  for (int k = 0; k < half; ++k) {
    const double t = half > 1 ? double(k) / (half - 1) : 0.0;
    f[size_t(k)] = long_factors ? float(std::pow(40.0, t)) : float(1.0 + 0.1 * t);
  }
  return f;
}

uint32_t llama_file_type(const Recipe& recipe) {
  // llama_ftype numbering (llama.h): LLAMA_FTYPE_ALL_F32 = 0, MOSTLY_F16 = 1, ...
  static const std::pair<std::string_view, uint32_t> kTable[] = {
      {"F32", 0},     {"F16", 1},     {"Q4_0", 2},    {"Q4_1", 3},    {"Q8_0", 7},
      {"Q5_0", 8},    {"Q5_1", 9},    {"Q2_K", 10},   {"Q3_K_S", 11}, {"Q3_K_M", 12},
      {"Q3_K_L", 13}, {"Q4_K_S", 14}, {"Q4_K_M", 15}, {"Q5_K_S", 16}, {"Q5_K_M", 17},
      {"Q6_K", 18},   {"BF16", 32},
  };
  for (const auto& [name, ftype] : kTable) {
    if (recipe.name == name) return ftype;
  }
  throw Error(ErrorKind::Unsupported, "no llama.cpp file type for recipe " + recipe.name);
}

void add_model(gguf::Writer& w, const ModelPreset& p, const Recipe& recipe, const TokenizerKeys& tokenizer,
               const MakeModelOptions& options) {
  using gguf::Value;
  const int64_t n_vocab = vocab_size(tokenizer);
  const std::string a = std::string(p.arch) + ".";
  w.set("general.architecture", Value::str(std::string(p.arch)));
  w.set("general.name", Value::str(std::string(p.name)));
  w.set(a + "vocab_size", Value::u32(uint32_t(n_vocab)));
  w.set(a + "context_length", Value::u32(uint32_t(p.n_ctx_train)));
  w.set(a + "embedding_length", Value::u32(uint32_t(p.n_embd)));
  w.set(a + "block_count", Value::u32(uint32_t(p.n_layer)));
  w.set(a + "feed_forward_length", Value::u32(uint32_t(p.n_ff)));
  w.set(a + "rope.dimension_count", Value::u32(uint32_t(p.head_dim())));
  w.set(a + "attention.head_count", Value::u32(uint32_t(p.n_head)));
  w.set(a + "attention.head_count_kv", Value::u32(uint32_t(p.n_head_kv)));
  if (p.key_length > 0) {
    w.set(a + "attention.key_length", Value::u32(uint32_t(p.key_length)));
    w.set(a + "attention.value_length", Value::u32(uint32_t(p.key_length)));
  }
  w.set(a + "attention.layer_norm_rms_epsilon", Value::f32(p.rms_norm_eps));
  w.set(a + "rope.freq_base", Value::f32(p.rope_theta));
  if (p.sliding_window > 0) w.set(a + "attention.sliding_window", Value::u32(uint32_t(p.sliding_window)));
  if (p.swa_period > 0) w.set(a + "attention.sliding_window_pattern", Value::u32(uint32_t(p.swa_period)));
  if (p.rope_linear > 0) {
    w.set(a + "rope.scaling.type", Value::str("linear"));
    w.set(a + "rope.scaling.factor", Value::f32(p.rope_linear));
  }
  if (p.attn_softcap > 0) w.set(a + "attn_logit_softcapping", Value::f32(p.attn_softcap));
  if (p.final_softcap > 0) w.set(a + "final_logit_softcapping", Value::f32(p.final_softcap));
  if (p.n_ctx_orig > 0) {
    // Phi-3's converter: attn_factor = sqrt(1 + ln(scale) / ln(original context)), scale = the
    // context growth.
    const double scale = double(p.n_ctx_train) / p.n_ctx_orig;
    w.set(a + "rope.scaling.original_context_length", Value::u32(uint32_t(p.n_ctx_orig)));
    w.set(a + "rope.scaling.attn_factor",
          Value::f32(scale > 1 ? float(std::sqrt(1 + std::log(scale) / std::log(double(p.n_ctx_orig)))) : 1.0f));
  }
  if (p.n_expert > 0) {
    w.set(a + "expert_count", Value::u32(uint32_t(p.n_expert)));
    w.set(a + "expert_used_count", Value::u32(uint32_t(p.n_expert_used)));
    w.set(a + "expert_feed_forward_length", Value::u32(uint32_t(p.n_ff_exp)));
  }
  w.set("general.file_type", Value::u32(llama_file_type(recipe)));
  for (const auto& [key, value] : tokenizer) w.set(key, value);
  w.set("general.quantization_version", Value::u32(2));  // GGML_QNT_VERSION

  const int threads = options.threads > 0 ? options.threads
                                          : std::max(1, int(std::thread::hardware_concurrency()));
  for (TensorPlan& t : plan_tensors(p, recipe, n_vocab)) {
    int64_t rows = 1;
    for (size_t i = 1; i < t.shape.size(); ++i) rows *= t.shape[i];
    auto job = std::make_shared<TensorJob>(
        TensorJob{t.name, t.type, t.shape[0], rows, weight_init(t.name, p), options.seed, threads, options.pooled_blocks, {}});
    if (t.name == "rope_freqs.weight") job->values = llama3_rope_factors(p);
    if (t.name == "rope_factors_long.weight") job->values = longrope_factors(p, true);
    if (t.name == "rope_factors_short.weight") job->values = longrope_factors(p, false);
    w.add_tensor(t.name, t.type, t.shape, [job](uint8_t* dst, uint64_t nbytes) { produce(*job, dst, nbytes); });
  }
}

}  // namespace lp::model
