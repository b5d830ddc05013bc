// Embeddings from a Context's final-normed hidden states: pooling and normalization.
#include "llamaprof/embed.h"

#include <cmath>

#include "llamaprof/error.h"

namespace lp {

Pooling pooling_from_name(std::string_view name) {
  if (name == "none") return Pooling::None;
  if (name == "mean") return Pooling::Mean;
  if (name == "cls") return Pooling::Cls;
  if (name == "last") return Pooling::Last;
  throw Error(ErrorKind::InvalidArgument, "unknown pooling '" + std::string(name) + "' (none, mean, cls, last)");
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::None: return "none";
    case Pooling::Mean: return "mean";
    case Pooling::Cls: return "cls";
    case Pooling::Last: return "last";
  }
  return "none";
}

Pooling default_pooling(const Model& model) {
  const std::string key = model.hparams().arch + ".pooling_type";
  if (std::optional<std::string> v = model.metadata(key)) {
    if (*v == "1") return Pooling::Mean;
    if (*v == "2") return Pooling::Cls;
    if (*v == "3") return Pooling::Last;
    if (*v == "0") return Pooling::None;
    throw Error(ErrorKind::Unsupported, model.path() + ": " + key + " = " + *v +
                                            " is a pooling llamaprof does not implement (0-3: none, mean, cls, last)");
  }
  return Pooling::None;
}

namespace {

void l2_normalize(std::vector<float>& row) {
  double sum = 0;
  for (float v : row) sum += double(v) * double(v);
  if (sum <= 0) return;  // an all-zero row stays as it is (llama-cpp-python does the same)
  const double inv = 1.0 / std::sqrt(sum);
  for (float& v : row) v = float(double(v) * inv);
}

}  // namespace

std::vector<std::vector<float>> embed(Context& ctx, std::span<const TokenId> tokens, Pooling pooling,
                                      bool normalize) {
  if (tokens.empty()) throw Error(ErrorKind::InvalidArgument, "embed: no tokens (the text is empty)");
  ctx.kv_clear();
  struct ClearAfter {
    Context& c;
    ~ClearAfter() { c.kv_clear(); }
  } clear_after{ctx};
  ctx.eval(tokens);  // throws for a context without room; embeddings_at throws without embeddings
  const int n = int(tokens.size());
  std::vector<std::vector<float>> out;
  auto row = [&](int i) {
    std::span<const float> r = ctx.embeddings_at(i);
    return std::vector<float>(r.begin(), r.end());
  };
  switch (pooling) {
    case Pooling::None:
      for (int i = 0; i < n; ++i) out.push_back(row(i));
      break;
    case Pooling::Cls: out.push_back(row(0)); break;
    case Pooling::Last: out.push_back(row(n - 1)); break;
    case Pooling::Mean: {
      std::vector<double> sum(ctx.embeddings_at(0).size(), 0.0);
      for (int i = 0; i < n; ++i) {
        std::span<const float> r = ctx.embeddings_at(i);
        for (size_t k = 0; k < r.size(); ++k) sum[k] += r[k];
      }
      std::vector<float> mean(sum.size());
      for (size_t k = 0; k < sum.size(); ++k) mean[k] = float(sum[k] / n);
      out.push_back(std::move(mean));
      break;
    }
  }
  if (normalize) {
    for (auto& r : out) l2_normalize(r);
  }
  return out;
}

}  // namespace lp
