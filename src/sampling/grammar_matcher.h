// Incremental matching of text against a Grammar: a set of parse stacks, advanced one code point
// at a time, with UTF-8 sequences that may be split across tokens.
//
// A stack is a linked list of positions (the top is the next symbol to match, always a character
// class; below it are the positions to return to). Lists share their tails, so advancing copies
// nothing; nodes live in an arena. An empty stack (nullptr) means the text so far is a complete
// match of `root`.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sampling/grammar.h"

namespace lp {

struct StackNode {
  uint32_t pos;              // index into Grammar's symbols
  const StackNode* parent;   // where to continue when this position's alternative ends
};

// Stable addresses in chunks; reset() keeps the memory for the next use.
class StackArena {
 public:
  const StackNode* make(uint32_t pos, const StackNode* parent);
  void reset() { chunk_ = 0, used_ = 0, live_ = 0; }
  size_t size() const { return live_; }

 private:
  static constexpr size_t kChunk = 4096;
  std::vector<std::unique_ptr<StackNode[]>> chunks_;
  size_t chunk_ = 0, used_ = 0, live_ = 0;
};

// Hash-consing over an arena: equal (pos, parent) give the same node, so stacks built from equal
// parts are the same pointer (the token trie walk memoizes expansions by node). Use one arena with
// it; clear() forgets the nodes (call it with the arena's reset()).
class StackInterner {
 public:
  const StackNode* make(StackArena& arena, uint32_t pos, const StackNode* parent);
  void clear() { nodes_.clear(); }

 private:
  struct Key {
    uint32_t pos;
    const StackNode* parent;
    bool operator==(const Key&) const = default;
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.parent) * 0x9e3779b97f4a7c15ull ^ k.pos;
    }
  };
  std::unordered_map<Key, const StackNode*, Hash> nodes_;
};

// Follows rule references and ends of alternatives from a position until every path reaches a
// character class (or the end of root: nullptr), appending those stacks to `out`. New nodes come
// from `interner` when given, else from `arena`. Throws lp::Error(InvalidArgument) when a grammar
// is so ambiguous that this explodes.
void expand_stacks(const Grammar& g, StackArena& arena, uint32_t pos, const StackNode* parent,
                   std::vector<const StackNode*>& out, StackInterner* interner = nullptr);

// A UTF-8 sequence begun by earlier bytes: `need` more continuation bytes, the next in [lo, hi].
struct Utf8Partial {
  uint32_t value = 0;
  uint8_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  enum Step { Char, More, Invalid };
  // Feeds one byte: a complete code point (in cp), more bytes needed, or invalid UTF-8 (with the
  // stream decoder's rules: no overlong forms, surrogates or code points above U+10FFFF).
  Step push(unsigned char b, uint32_t& cp);
  // The code points this sequence can still become.
  uint32_t min_cp() const;
  uint32_t max_cp() const;
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

  const Grammar& grammar() const { return *grammar_; }
  // Advances by the bytes (any split of UTF-8). Returns false, leaving the state unchanged, when
  // the grammar cannot accept them (invalid UTF-8 included).
  bool accept(std::string_view bytes);
  // Whether accept(bytes) would succeed; the state does not change.
  bool accepts(std::string_view bytes);
  // The text so far is a complete match (no partial UTF-8 pending).
  bool is_complete() const;
  // Some continuation of the text is possible.
  bool can_continue() const;
  bool has_partial() const { return partial_.need > 0; }
  const std::vector<const StackNode*>& stacks() const { return stacks_; }
  void reset();

 private:
  bool run(std::string_view bytes, std::vector<const StackNode*>& stacks, Utf8Partial& partial, StackArena& arena);
  void compact();

  std::shared_ptr<const Grammar> grammar_;
  std::vector<const StackNode*> stacks_;
  Utf8Partial partial_;
  StackArena arena_;    // nodes of stacks_
  StackArena scratch_;  // accepts()
  std::vector<const StackNode*> tmp_, tmp2_;
};

// Removes duplicate stacks (equal positions all the way down).
void dedupe_stacks(std::vector<const StackNode*>& stacks);

}  // namespace lp
