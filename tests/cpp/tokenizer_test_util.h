// Helpers for the tokenizer tests: load a tokenizer from an in-memory GGUF, or the error it throws.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "llamaprof/error.h"
#include "tokenizer/tokenizer.h"

namespace lp::test {

inline Tokenizer load_tokenizer(const gguf::Writer& w) {
  const std::vector<uint8_t> bytes = w.to_bytes();
  const gguf::File file = gguf::File::from_bytes(bytes, "vocab.gguf");
  return Tokenizer::from_gguf(file);
}

// The error from loading w: its kind and message.
inline Error tokenizer_load_error(const gguf::Writer& w) {
  try {
    load_tokenizer(w);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "loading succeeded";
  return Error(ErrorKind::Runtime, "");
}

}  // namespace lp::test
