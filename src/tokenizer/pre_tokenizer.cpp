// Pre-tokenizer families (llama.cpp's regex lists, keyed by tokenizer.ggml.pre) and the PCRE2
// matching loop.
//
// llama.cpp runs its own hand-written matchers (gpt2, llama3, qwen2, qwen35) or std::regex over
// text whose non-ASCII code points are "collapsed" to one byte per Unicode category. Both amount
// to the regex over code points with llama.cpp's category tables, with one difference from
// PCRE2's \s: llama.cpp counts U+0085 (NEXT LINE) as white space, PCRE2 with UCP does not. The
// patterns are therefore rewritten once: \s becomes [\s\x{85}], \S becomes [^\s\x{85}].
// And PCRE2 10.42 (Debian 12) knows Unicode 14, llama.cpp's tables Unicode 15.1: the 5,109 code
// points assigned since are added to \p{L}, \p{N}, \p{M}, \p{P}, \p{S} (they are the only
// category differences between the two, checked code point by code point).
#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

#include "llamaprof/error.h"

namespace lp::tokenizer_detail {

namespace {

// Regex strings are llama.cpp's (llama-vocab.cpp), specification data reproduced verbatim.
constexpr std::string_view kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr std::string_view kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "
    "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct Family {
  const char* name;
  std::vector<std::string_view> aliases;  // tokenizer.ggml.pre values (the name is one too)
  std::vector<std::string_view> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
  bool clean_spaces = true;
};

// clang-format off
const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"default", {"default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}},
      {"llama3",
       {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
       {kLlama3},
       true,
       true},
      {"dbrx", {"dbrx", "smaug-bpe"}, {kLlama3}},
      {"deepseek-llm",
       {"deepseek-llm"},
       {"[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
        "\\s+$",
        "[一-龥ࠀ-一가-퟿]+",
        "\\p{N}+"},
       false,
       false,
       false},
      {"deepseek-coder",
       {"deepseek-coder"},
       {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"},
       false,
       false,
       false},
      {"falcon", {"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"}},
      {"starcoder", {"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, {"\\p{N}", kGpt2}},
      {"starcoder-nc", {"command-r", "smollm"}, {"\\p{N}", kGpt2}, false, false, false},
      {"gpt2", {"gpt-2", "phi-2", "gigachat", "a.x-4.0", "mellum", "exaone4", "mpt", "olmo", "jais"}, {kGpt2}},
      {"gpt2-nc", {"trillion", "granite-docling"}, {kGpt2}, false, false, false},
      {"qwen2", {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2"}, {kQwen2}, false, false, false},
      {"stablelm2", {"stablelm2", "megrez"}, {kQwen2}},
      {"qwen35", {"qwen35"}, {kQwen35}, false, false, false},
      // Gemma 4: only newlines split words (its BPE runs over whole lines of "▁"-escaped text).
      {"gemma4", {"gemma4"}, {"[^\\n]+|[\\n]+"}, false, true},
  };
  return f;
}
// clang-format on

// Code points assigned in Unicode 15.0/15.1, with llama.cpp's category (unicode-data.cpp).
struct CategoryAddition {
  std::string_view property;
  std::string_view ranges;  // PCRE2 class items
};
constexpr CategoryAddition kUnicode15[] = {
    {"L",
     "\\x{1123F}-\\x{11240}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}\\x{1342F}\\x{13441}-\\x{"
     "13446}"
     "\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{2B739}"
     "\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{323AF}"},
    {"N", "\\x{11F50}-\\x{11F59}\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}"},
    {"M",
     "\\x{CF3}\\x{ECE}\\x{10EFD}-\\x{10EFF}\\x{11241}\\x{11F00}-\\x{11F01}\\x{11F03}\\x{11F34}-\\x{11F3A}"
     "\\x{11F3E}-\\x{11F42}\\x{13440}\\x{13447}-\\x{13455}\\x{1E08F}\\x{1E4EC}-\\x{1E4EF}"},
    {"P", "\\x{11B00}-\\x{11B09}\\x{11F43}-\\x{11F4F}"},
    {"S",
     "\\x{2FFC}-\\x{2FFF}\\x{31EF}\\x{1F6DC}\\x{1F774}-\\x{1F776}\\x{1F77B}-\\x{1F77F}\\x{1F7D9}"
     "\\x{1FA75}-\\x{1FA77}\\x{1FA87}-\\x{1FA88}\\x{1FAAD}-\\x{1FAAF}\\x{1FABB}-\\x{1FABD}\\x{1FABF}"
     "\\x{1FACE}-\\x{1FACF}\\x{1FADA}-\\x{1FADB}\\x{1FAE8}\\x{1FAF7}-\\x{1FAF8}"},
};

// The pattern as PCRE2 must see it to match like llama.cpp: see the file comment.
std::string for_pcre2(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
        continue;
      }
      if (e == 'S') {
        if (in_class) throw std::logic_error("\\S inside a character class");
        out += "[^\\s\\x{85}]";
        continue;
      }
      if (e == 'p' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
        const size_t close = pattern.find('}', i);
        const std::string_view property = pattern.substr(i + 2, close - i - 2);
        for (const CategoryAddition& a : kUnicode15) {
          if (a.property != property) continue;
          if (!in_class) out += '[';
          out += "\\p{";
          out += property;
          out += '}';
          out += a.ranges;
          if (!in_class) out += ']';
          i = close;
          break;
        }
        if (i == close) continue;
      }
      out += c;
      out += e;
      continue;
    }
    if (c == '[' && !in_class)
      in_class = true;
    else if (c == ']' && in_class)
      in_class = false;
    out += c;
  }
  return out;
}

// Per-thread match state: match data (only the whole-match offsets are read) and a JIT stack
// large enough for long runs of one character class.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  MatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

size_t utf8_len(unsigned char lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

std::string PreTokenizer::known_names() {
  std::string out;
  for (const Family& f : families()) {
    for (std::string_view a : f.aliases) {
      if (!out.empty()) out += ", ";
      out += a;
    }
  }
  return out;
}

std::unique_ptr<PreTokenizer> PreTokenizer::create(std::string_view pre, const std::string& where) {
  const Family* family = nullptr;
  for (const Family& f : families()) {
    for (std::string_view a : f.aliases) {
      if (a == pre) family = &f;
    }
  }
  if (!family) {
    throw Error(ErrorKind::Unsupported, where + ": tokenizer.ggml.pre = \"" + std::string(pre) +
                                            "\" is not a supported pre-tokenizer (known: " + known_names() +
                                            ")");
  }
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  p->name_ = std::string(pre);
  p->ignore_merges_ = family->ignore_merges;
  p->add_bos_ = family->add_bos;
  p->clean_spaces_ = family->clean_spaces;
  // DOLLAR_ENDONLY: std::regex's $ (deepseek-llm's "\s+$") matches only at the very end.
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | PCRE2_DOLLAR_ENDONLY;
  for (std::string_view source : family->regexes) {
    const std::string pattern = for_pcre2(source);
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    auto r = std::make_unique<Regex>();
    r->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err,
                            &err_offset, nullptr);
    if (!r->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw Error(ErrorKind::Runtime, where + ": pre-tokenizer " + family->name +
                                          ": PCRE2 cannot compile regex at " + std::to_string(err_offset) +
                                          ": " + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) it still matches
    p->regexes_.push_back(std::move(r));
  }
  return p;
}

void PreTokenizer::split(std::string_view text, std::vector<uint32_t>& ends) const {
  ends.clear();
  if (text.empty()) return;
  ends.push_back(static_cast<uint32_t>(text.size()));
  MatchState& state = match_state();
  std::vector<uint32_t> next;
  for (const auto& regex : regexes_) {
    next.clear();
    next.reserve(ends.size() * 2);
    uint32_t word_begin = 0;
    for (uint32_t word_end : ends) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + word_begin);
      const size_t len = word_end - word_begin;
      size_t start = 0, done = 0;  // done: end of what has been emitted, relative to the word
      while (start < len) {
        const int rc =
            pcre2_match(regex->code, subject, len, start, PCRE2_NO_UTF_CHECK, state.data, state.context);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof msg);
          throw Error(ErrorKind::Runtime, "pre-tokenizer " + name_ +
                                              ": PCRE2 match failed: " + reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
        if (ov[1] == ov[0]) {  // an empty match makes no word; step over one character
          start = ov[0] + utf8_len(static_cast<unsigned char>(text[word_begin + ov[0]]));
          continue;
        }
        if (ov[0] > done) next.push_back(word_begin + static_cast<uint32_t>(ov[0]));
        next.push_back(word_begin + static_cast<uint32_t>(ov[1]));
        done = start = ov[1];
      }
      if (done < len) next.push_back(word_end);
      word_begin = word_end;
    }
    ends.swap(next);
  }
}

}  // namespace lp::tokenizer_detail
