// The private state behind lp::Tokenizer, shared by tokenizer.cpp and gguf_vocab.cpp.
#pragma once

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace lp {

struct Tokenizer::Impl {
  tokenizer_detail::Vocab vocab;
};

}  // namespace lp
