// The grammar as a sampler stage: which tokens can come next, and advancing by the chosen one.
//
// A token is allowed when its bytes (the piece generation appends to the text) keep some parse
// stack alive; an end-of-generation token only when the text is a complete match. Filtering the
// whole vocabulary walks a trie of the tokens' code points once per parse stack: tokens sharing a
// prefix share the work, and a character class prunes whole subtrees at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "sampling/grammar_matcher.h"
#include "sampling/sampler.h"

namespace lp {

// A vocabulary as the grammar sees it, built once per vocabulary (shareable between generations).
class GrammarVocab {
 public:
  // pieces[id]: the bytes token id adds to the text ("" for control tokens: never allowed);
  // eog[id]: end of generation (allowed only when the grammar is complete).
  GrammarVocab(std::vector<std::string> pieces, std::vector<bool> eog);

  size_t size() const { return pieces_.size(); }
  const std::string& piece(int32_t id) const { return pieces_[size_t(id)]; }
  bool is_eog(int32_t id) const { return eog_[size_t(id)]; }

  // The trie: node 0 is the root; the children of a node are contiguous and sorted by code point.
  struct Node {
    uint32_t child_begin = 0, child_end = 0;
    uint32_t tok_begin = 0, tok_end = 0;    // tokens whose code points end here
    uint32_t part_begin = 0, part_end = 0;  // ... followed by an unfinished UTF-8 sequence
  };
  struct PartialTail {
    int32_t id;
    uint32_t lo, hi;  // the code points the unfinished sequence can become
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<uint32_t>& node_cp() const { return cp_; }
  const std::vector<int32_t>& node_tokens() const { return tokens_; }
  const std::vector<PartialTail>& node_partials() const { return partials_; }
  size_t max_depth() const { return max_depth_; }  // the longest token, in code points

 private:
  std::vector<std::string> pieces_;
  std::vector<bool> eog_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> cp_;  // per node: the code point of the edge into it
  std::vector<int32_t> tokens_;
  std::vector<PartialTail> partials_;
  size_t max_depth_ = 0;
};

class GrammarStage : public TokenConstraint {
 public:
  GrammarStage(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocab> vocab);

  bool allows(int32_t id) override;
  size_t filter(std::span<Candidate> cands) override;
  // Advances by the chosen token (end-of-generation tokens change nothing). Throws
  // lp::Error(InvalidArgument) for a token the grammar does not allow.
  void accept(int32_t id);
  bool is_complete() const { return matcher_.is_complete(); }
  // False once the text is complete and nothing can follow: generation is over.
  bool can_continue() const { return matcher_.can_continue(); }
  const GrammarMatcher& matcher() const { return matcher_; }
  size_t vocab_size() const { return vocab_->size(); }
  // Fills allowed[id] (vocabulary-sized) for every token; what filter() uses.
  void allowed_tokens(std::vector<uint8_t>& allowed);

 private:
  void walk(uint32_t node, const StackNode* s, size_t depth);

  std::shared_ptr<const GrammarVocab> vocab_;
  GrammarMatcher matcher_;
  StackArena scratch_;
  std::vector<uint8_t> allowed_;
  uint8_t* allowed_ptr_ = nullptr;  // the array walk() marks
  // Expansions memoized per filter: what follows the top of a stack, by (top position, parent).
  // Nodes are interned, so inside a string (a loop of one class) the same stacks recur at every
  // depth of the trie and each expansion is computed once.
  struct Key {
    uint32_t pos;
    const StackNode* parent;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<const void*>()(k.parent) * 0x9e3779b97f4a7c15ull ^ k.pos; }
  };
  StackInterner interner_;  // over scratch_
  std::unordered_map<Key, std::pair<uint32_t, uint32_t>, KeyHash> memo_;  // -> range of memo_stacks_
  std::vector<const StackNode*> memo_stacks_;
  std::vector<const StackNode*> tmp_;
};

}  // namespace lp
