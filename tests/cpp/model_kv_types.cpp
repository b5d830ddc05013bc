// KV caches of F32 and Q8_0 elements (ContextParams::type_k / type_v) against the F16 default:
// memory, logits, batch vs single-token decode, state, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/ops.h"  // kv_type_name
#include "llamaprof/context.h"
#include "llamaprof/error.h"
#include "llamaprof/model.h"
#include "model_test_util.h"

namespace lp {
namespace {

// head_dim 32: one Q8_0 block per head.
const Model& tiny_model() {
  static Model m = [] {
    test::TinyModelSpec spec;
    spec.n_embd = 128;
    spec.n_head = 4;
    spec.n_head_kv = 2;
    return Model::load(test::write_tiny_model(test::temp_path("kv_types.gguf"), spec));
  }();
  return m;
}

const std::vector<TokenId> kPrompt = {1, 40, 77, 200, 262, 263, 100, 7, 9, 260, 261, 50, 51, 52, 90, 91, 3, 4, 5};

ContextParams params(KvType k, KvType v, int n_batch = 32) {
  ContextParams p;
  p.n_ctx = 64;
  p.n_batch = n_batch;
  p.n_threads = 2;
  p.type_k = k;
  p.type_v = v;
  return p;
}

std::vector<float> logits_of(KvType k, KvType v, int n_batch = 32) {
  Context c(tiny_model(), params(k, v, n_batch));
  c.eval(kPrompt);
  std::span<const float> l = c.logits();
  return {l.begin(), l.end()};
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float max_abs(const std::vector<float>& a) {
  float m = 0;
  for (float x : a) m = std::max(m, std::fabs(x));
  return m;
}

TEST(KvTypes, Memory) {
  const size_t f16 = Context(tiny_model(), params(KvType::F16, KvType::F16)).kv_cache_bytes();
  EXPECT_EQ(Context(tiny_model(), params(KvType::F32, KvType::F32)).kv_cache_bytes(), 2 * f16);
  EXPECT_EQ(Context(tiny_model(), params(KvType::Q8_0, KvType::Q8_0)).kv_cache_bytes(), f16 * 17 / 32);
  EXPECT_EQ(Context(tiny_model(), params(KvType::Q8_0, KvType::F16)).kv_cache_bytes(), f16 / 2 + f16 / 2 * 17 / 32);
}

TEST(KvTypes, LogitsCloseToF16AndTheErrorOrdered) {
  const std::vector<float> f16 = logits_of(KvType::F16, KvType::F16);
  const std::vector<float> f32 = logits_of(KvType::F32, KvType::F32);
  const std::vector<float> q8 = logits_of(KvType::Q8_0, KvType::Q8_0);
  const std::vector<float> mixed = logits_of(KvType::Q8_0, KvType::F32);
  const float scale = max_abs(f32);
  ASSERT_GT(scale, 1.0f);
  // F16 rounds K/V to 11 bits, Q8_0 to 8 bits per block: both near the F32 cache, Q8_0 further.
  const float d16 = max_abs_diff(f16, f32), d8 = max_abs_diff(q8, f32);
  EXPECT_LT(d16, 0.01f * scale);
  EXPECT_LT(d8, 0.05f * scale);
  EXPECT_GT(d8, d16);
  EXPECT_GT(d16, 0.0f);  // the types really differ
  EXPECT_LT(max_abs_diff(mixed, f32), 0.05f * scale);
  const auto argmax = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
  EXPECT_EQ(argmax(f32), argmax(f16));
}

TEST(KvTypes, BatchEqualsTokenByToken) {
  for (KvType t : {KvType::F32, KvType::Q8_0}) {
    const std::vector<float> batch = logits_of(t, t, 32);
    Context single(tiny_model(), params(t, t, 1));
    std::span<const float> l;
    for (TokenId id : kPrompt) l = single.eval(std::vector<TokenId>{id});
    // The cache holds the same rows either way; only the mat-mul summation order differs.
    EXPECT_LT(max_abs_diff(batch, {l.begin(), l.end()}), 2e-3f * std::max(1.0f, max_abs(batch))) << kv_type_name(t);
  }
}

TEST(KvTypes, StateRoundTripAndTypeMismatch) {
  Context a(tiny_model(), params(KvType::Q8_0, KvType::F32));
  a.eval(kPrompt);
  const std::string state = a.save_state();
  const std::vector<TokenId> next = {30, 31};
  std::span<const float> after = a.eval(next);
  const std::vector<float> expect(after.begin(), after.end());
  Context b(tiny_model(), params(KvType::Q8_0, KvType::F32));
  b.load_state(state);
  std::span<const float> got = b.eval(next);
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), expect);
  Context f16(tiny_model(), params(KvType::F16, KvType::F16));
  try {
    f16.load_state(state);
    FAIL() << "a Q8_0/F32 state loaded into an F16 cache";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache types"), std::string::npos) << e.what();
  }
}

TEST(KvTypes, Q8NeedsWholeBlocksPerHead) {
  const Model m = Model::load(test::write_tiny_model(test::temp_path("kv_types_hd16.gguf")));  // head_dim 16
  ASSERT_EQ(m.hparams().head_dim, 16);
  try {
    Context c(m, params(KvType::F16, KvType::Q8_0));
    FAIL() << "a Q8_0 cache with head_dim 16";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("type_v Q8_0 needs head_dim a multiple of 32"), std::string::npos) << e.what();
  }
  Context f32(m, params(KvType::F32, KvType::F32));  // F32 has no block constraint
  EXPECT_NO_THROW(f32.eval(kPrompt));
}

}  // namespace
}  // namespace lp
