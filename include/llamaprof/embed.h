// Embeddings: the hidden state after the model's output norm (what llama.cpp calls the token
// embeddings), per token or pooled over a text, optionally L2-normalized.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llamaprof/context.h"

namespace lp {

// llama.cpp's pooling types, by its names (and its numbering in <arch>.pooling_type:
// 0 none, 1 mean, 2 cls, 3 last).
enum class Pooling { None = 0, Mean = 1, Cls = 2, Last = 3 };

// "none" | "mean" | "cls" | "last"; throws lp::Error(InvalidArgument) listing them.
Pooling pooling_from_name(std::string_view name);
const char* pooling_name(Pooling p);
// The model's <arch>.pooling_type when the file has it (embedding models), else None: what
// llama.cpp uses when the caller leaves pooling unspecified.
Pooling default_pooling(const Model& model);

// Evaluates tokens from an empty KV cache in ctx (created with ContextParams::embeddings; the
// cache is cleared before and after) and returns one row per token (Pooling::None) or one pooled
// row: the mean of the rows, the first row (cls) or the last row. normalize: each returned row
// divided by its Euclidean norm (unless that is 0). Throws lp::Error(InvalidArgument) for an
// empty token list, a context without embeddings, or tokens that do not fit in the context.
std::vector<std::vector<float>> embed(Context& ctx, std::span<const TokenId> tokens, Pooling pooling,
                                      bool normalize);

}  // namespace lp
