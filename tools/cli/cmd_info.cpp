// `llamaprof info FILE [--json] [--system]`: what a GGUF file holds (architecture, and whether
// llamaprof runs it with the list of those it runs, hyperparameters, general.* keys, tokenizer,
// every tensor, totals, bits per weight) as aligned text or one JSON object. Only the header pages of the mapping are touched, so it is instant on a 7B file.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "commands.h"
#include "gguf/reader.h"
#include "llamaprof/error.h"
#include "model/arch.h"

namespace lp::cli {
namespace {

using gguf::Value;
using gguf::ValueType;
using Json = nlohmann::ordered_json;  // keeps the file's key order

constexpr size_t kJsonArrayLimit = 64;     // longer arrays are summarized in --json
constexpr size_t kTextArrayPreview = 4;    // elements shown for a long array in text
constexpr size_t kTextStringLimit = 80;    // characters of a string value shown in text

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// FLOAT32 values are printed at their shortest round-trip form (1e-05, not 9.99999974737875e-06).
double float_for_json(const Value& v) {
  if (v.type == ValueType::FLOAT32) return std::strtod(fmt::format("{}", float(v.as_f64())).c_str(), nullptr);
  return v.as_f64();
}

Json to_json(const Value& v, bool summarize) {
  switch (v.type) {
    case ValueType::UINT8:
    case ValueType::UINT16:
    case ValueType::UINT32:
    case ValueType::UINT64: return v.as_u64();
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return v.as_i64();
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: return float_for_json(v);
    case ValueType::BOOL: return v.as_bool();
    case ValueType::STRING: return v.as_string();
    case ValueType::ARRAY: {
      const gguf::Array& a = v.as_array();
      if (summarize && a.items.size() > kJsonArrayLimit) {
        return Json{{"type", "array"}, {"elem_type", gguf::value_type_name(a.elem_type)}, {"length", a.items.size()}};
      }
      Json out = Json::array();
      for (const Value& item : a.items) out.push_back(to_json(item, summarize));
      return out;
    }
  }
  return nullptr;
}

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else out += c;
  }
  if (out.size() > kTextStringLimit) out = out.substr(0, kTextStringLimit) + "...";
  return out;
}

std::string to_text(const Value& v) {
  switch (v.type) {
    case ValueType::FLOAT32: return fmt::format("{}", float(v.as_f64()));
    case ValueType::FLOAT64: return fmt::format("{}", v.as_f64());
    case ValueType::BOOL: return v.as_bool() ? "true" : "false";
    case ValueType::STRING: return printable(v.as_string());
    case ValueType::ARRAY: {
      const gguf::Array& a = v.as_array();
      std::string out = fmt::format("[{} x {}]", gguf::value_type_name(a.elem_type), a.items.size());
      const size_t shown = std::min(a.items.size(), kTextArrayPreview);
      for (size_t i = 0; i < shown; ++i) out += (i ? ", " : " ") + to_text(a.items[i]);
      if (shown < a.items.size()) out += ", ...";
      return out;
    }
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return std::to_string(v.as_i64());
    default: return std::to_string(v.as_u64());
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = double(n);
  int u = 0;
  while (x >= 1024 && u < 4) x /= 1024, ++u;
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.2f} {}", x, units[u]);
}

std::string human_count(uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", double(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f} M", double(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.2f} K", double(n) / 1e3);
  return std::to_string(n);
}

// What the summary needs, computed once for both output forms.
struct Summary {
  std::string architecture;
  std::vector<const std::pair<std::string, Value>*> hyperparameters, general, tokenizer, other;
  std::optional<uint64_t> vocab_size;
  std::optional<std::string> tokenizer_model;
  std::optional<uint64_t> bos_id, eos_id;
  uint64_t parameters = 0;
  uint64_t tensor_bytes = 0;
  double bits_per_weight = 0;
};

// info describes odd files too: a summary key of an unexpected type shows as "-" (its raw value is
// still listed with the other metadata).
std::optional<uint64_t> optional_u64(const gguf::File& f, std::string_view key) {
  const Value* v = f.find(key);
  if (!v) return std::nullopt;
  try {
    return v->as_u64();
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<std::string> optional_string(const gguf::File& f, std::string_view key) {
  const Value* v = f.find(key);
  if (!v || v->type != ValueType::STRING) return std::nullopt;
  return v->as_string();
}

Summary summarize(const gguf::File& f) {
  Summary s;
  s.architecture = optional_string(f, "general.architecture").value_or("");
  const std::string arch_prefix = s.architecture.empty() ? std::string("\x01") : s.architecture + ".";
  for (const auto& entry : f.metadata()) {
    const std::string& key = entry.first;
    if (starts_with(key, arch_prefix)) s.hyperparameters.push_back(&entry);
    else if (starts_with(key, "general.")) s.general.push_back(&entry);
    else if (starts_with(key, "tokenizer.")) s.tokenizer.push_back(&entry);
    else s.other.push_back(&entry);
  }
  if (const Value* tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->is_array()) {
    s.vocab_size = tokens->as_array().items.size();
  } else if (!s.architecture.empty()) {
    s.vocab_size = optional_u64(f, s.architecture + ".vocab_size");
  }
  s.tokenizer_model = optional_string(f, "tokenizer.ggml.model");
  s.bos_id = optional_u64(f, "tokenizer.ggml.bos_token_id");
  s.eos_id = optional_u64(f, "tokenizer.ggml.eos_token_id");
  for (const auto& t : f.tensors()) {
    s.parameters += uint64_t(t.n_elements());
    s.tensor_bytes += t.nbytes;
  }
  s.bits_per_weight = s.parameters ? 8.0 * double(s.tensor_bytes) / double(s.parameters) : 0.0;
  return s;
}

Json info_json(const gguf::File& f, const Summary& s) {
  Json j;
  j["file"] = f.path();
  j["version"] = f.version();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["file_size"] = f.file_size();
  j["architecture"] = s.architecture;
  j["architecture_supported"] = find_arch(s.architecture) != nullptr;
  Json archs = Json::array();
  for (const ArchDesc& a : supported_archs()) archs.push_back(std::string(a.name));
  j["supported_architectures"] = archs;
  Json hp = Json::object();
  for (const auto* e : s.hyperparameters) hp[e->first.substr(s.architecture.size() + 1)] = to_json(e->second, true);
  j["hyperparameters"] = hp;
  Json general = Json::object();
  for (const auto* e : s.general) general[e->first.substr(8)] = to_json(e->second, true);
  j["general"] = general;
  Json tok = Json::object();
  tok["model"] = s.tokenizer_model ? Json(*s.tokenizer_model) : Json(nullptr);
  tok["vocab_size"] = s.vocab_size ? Json(*s.vocab_size) : Json(nullptr);
  tok["bos_token_id"] = s.bos_id ? Json(*s.bos_id) : Json(nullptr);
  tok["eos_token_id"] = s.eos_id ? Json(*s.eos_id) : Json(nullptr);
  j["tokenizer"] = tok;
  j["vocab_size"] = tok["vocab_size"];
  // Values as plain JSON (long arrays summarized); their GGUF types alongside, key for key.
  Json meta = Json::object(), types = Json::object();
  for (const auto& [key, value] : f.metadata()) {
    meta[key] = to_json(value, true);
    types[key] = gguf::value_type_name(value.type);
  }
  j["metadata"] = meta;
  j["metadata_types"] = types;
  Json tensors = Json::array();
  for (const auto& t : f.tensors()) {
    tensors.push_back(Json{{"name", t.name},
                           {"type", std::string(type_traits(t.type).name)},
                           {"shape", t.shape},
                           {"n_elements", t.n_elements()},
                           {"bytes", t.nbytes},
                           {"offset", t.offset},
                           {"file_offset", f.data_offset() + t.offset}});
  }
  j["tensors"] = tensors;
  j["totals"] = Json{{"tensors", f.tensors().size()}, {"parameters", s.parameters}, {"bytes", s.tensor_bytes}};
  j["bits_per_weight"] = s.bits_per_weight;
  return j;
}

void print_group(const char* title, const std::vector<const std::pair<std::string, Value>*>& entries,
                 size_t strip) {
  if (entries.empty()) return;
  size_t width = 0;
  for (const auto* e : entries) width = std::max(width, e->first.size() - strip);
  fmt::print("\n{}\n", title);
  for (const auto* e : entries) fmt::print("  {:<{}}  {}\n", e->first.substr(strip), width, to_text(e->second));
}

template <typename T>
std::string or_dash(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_same_v<T, std::string>) return *v;
  else return std::to_string(*v);
}

void print_text(const gguf::File& f, const Summary& s) {
  fmt::print("{:<14}{}\n", "file", f.path());
  fmt::print("{:<14}GGUF v{}, alignment {}, data at byte offset {}, {} ({} bytes)\n", "format", f.version(),
             f.alignment(), f.data_offset(), human_bytes(f.file_size()), f.file_size());
  fmt::print("{:<14}{}\n", "architecture", s.architecture.empty() ? "-" : s.architecture);
  fmt::print("{:<14}{} (llamaprof runs {})\n", "supported", find_arch(s.architecture) ? "yes" : "no",
             supported_arch_names());
  print_group(fmt::format("hyperparameters ({}.*)", s.architecture).c_str(), s.hyperparameters,
              s.architecture.size() + 1);
  print_group("general", s.general, 0);

  fmt::print("\ntokenizer\n");
  fmt::print("  {:<12}{}\n", "model", or_dash(s.tokenizer_model));
  fmt::print("  {:<12}{}\n", "supported", "llama (SentencePiece BPE), gpt2 (byte-level BPE)");
  fmt::print("  {:<12}{}\n", "vocab size", or_dash(s.vocab_size));
  fmt::print("  {:<12}{}\n", "bos id", or_dash(s.bos_id));
  fmt::print("  {:<12}{}\n", "eos id", or_dash(s.eos_id));
  print_group("tokenizer metadata", s.tokenizer, 0);
  print_group("other metadata", s.other, 0);

  size_t name_w = 4, shape_w = 5;
  for (const auto& t : f.tensors()) {
    name_w = std::max(name_w, t.name.size());
    shape_w = std::max(shape_w, shape_text(t.shape).size());
  }
  fmt::print("\ntensors ({})\n", f.tensors().size());
  fmt::print("  {:<{}}  {:<5}  {:<{}}  {:>14}  {:>14}\n", "name", name_w, "type", "shape", shape_w, "bytes",
             "offset");
  for (const auto& t : f.tensors()) {
    fmt::print("  {:<{}}  {:<5}  {:<{}}  {:>14}  {:>14}\n", t.name, name_w, type_traits(t.type).name,
               shape_text(t.shape), shape_w, t.nbytes, t.offset);
  }
  fmt::print("\ntotals\n");
  fmt::print("  {:<17}{}\n", "tensors", f.tensors().size());
  fmt::print("  {:<17}{} ({})\n", "parameters", s.parameters, human_count(s.parameters));
  fmt::print("  {:<17}{} ({})\n", "bytes", s.tensor_bytes, human_bytes(s.tensor_bytes));
  fmt::print("  {:<17}{:.4f}\n", "bits per weight", s.bits_per_weight);
}

}  // namespace

void register_info(CLI::App& app, int* exit_code) {
  struct Options {
    std::string file;
    bool json = false;
    bool system = false;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("info", "Show what a GGUF file holds: metadata, tensors, totals");
  cmd->add_option("file", opts->file, "GGUF file");
  cmd->add_flag("--json", opts->json, "Print one JSON object with all metadata and the tensor list");
  cmd->add_flag("--system", opts->system, "Show the CPU, its features and the kernels chosen (FILE optional)");
  cmd->callback([opts, exit_code] {
    if (opts->file.empty() && !opts->system) {
      throw Error(ErrorKind::InvalidArgument, "info: a FILE is required (or --system)");
    }
    if (opts->system) lp::cli::print_system_info(opts->json);
    if (!opts->file.empty()) {
      const gguf::File file = gguf::File::open(opts->file);
      const Summary summary = summarize(file);
      if (opts->json) {
        // Invalid UTF-8 in a string value is replaced (U+FFFD) rather than failing the dump.
        fmt::print("{}\n", info_json(file, summary).dump(2, ' ', false, Json::error_handler_t::replace));
      } else {
        print_text(file, summary);
      }
    }
    std::fflush(stdout);
    *exit_code = 0;
  });
}

}  // namespace lp::cli
