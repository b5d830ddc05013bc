// A compiled GBNF grammar (llama.cpp's grammar format): rules of alternatives of symbol sequences.
//
// Every alternative is stored flat in one symbol array and ends with an End symbol, so a parse
// position is one index: "the next symbol to match". Groups and repetitions become generated
// rules while parsing (x* is `r ::= x r |`, right-recursive so that a matcher's stacks stay flat).
// Terminals are character classes over Unicode code points.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lp {

struct GrammarSymbol {
  enum Kind : uint8_t { End, RuleRef, Chars };
  Kind kind = End;
  bool negate = false;   // Chars: matches the code points NOT in the ranges
  uint32_t index = 0;    // RuleRef: the rule; Chars: first range in Grammar::ranges()
  uint32_t count = 0;    // Chars: number of ranges
  uint64_t ascii[2] = {0, 0};  // Chars: which code points < 128 match (negation applied)
};

struct CharRange {
  uint32_t lo, hi;  // inclusive
};

class Grammar {
 public:
  // Parses GBNF text. Throws lp::Error(InvalidArgument) "grammar: line L, column C: ..." for a
  // syntax error, an undefined rule, a missing `root`, a bad escape, left recursion, ...
  static std::shared_ptr<const Grammar> parse(std::string_view text);

  uint32_t root() const { return root_; }
  size_t n_rules() const { return rule_alts_.size(); }
  const std::string& rule_name(uint32_t rule) const { return rule_names_[rule]; }
  // Start positions of the rule's alternatives.
  std::span<const uint32_t> alternatives(uint32_t rule) const {
    return std::span<const uint32_t>(alt_starts_).subspan(rule_alts_[rule].first, rule_alts_[rule].second);
  }
  const GrammarSymbol& symbol(uint32_t pos) const { return symbols_[pos]; }
  size_t n_symbols() const { return symbols_.size(); }
  std::span<const CharRange> ranges(const GrammarSymbol& s) const {
    return std::span<const CharRange>(ranges_).subspan(s.index, s.count);
  }

  // Whether the Chars symbol at pos matches code point cp.
  bool matches(uint32_t pos, uint32_t cp) const {
    const GrammarSymbol& s = symbols_[pos];
    if (cp < 128) return (s.ascii[cp >> 6] >> (cp & 63)) & 1;
    bool in = false;
    for (const CharRange& r : ranges(s)) {
      if (cp >= r.lo && cp <= r.hi) {
        in = true;
        break;
      }
    }
    return in != s.negate;
  }
  // Whether the Chars symbol at pos matches some code point in [lo, hi] (a partial UTF-8
  // sequence stands for such a range).
  bool matches_some(uint32_t pos, uint32_t lo, uint32_t hi) const;

  const std::string& source() const { return source_; }

 private:
  friend class GrammarBuilder;
  std::string source_;
  std::vector<GrammarSymbol> symbols_;
  std::vector<CharRange> ranges_;
  std::vector<uint32_t> alt_starts_;
  std::vector<std::pair<uint32_t, uint32_t>> rule_alts_;  // per rule: first alternative, count
  std::vector<std::string> rule_names_;
  uint32_t root_ = 0;
};

}  // namespace lp
